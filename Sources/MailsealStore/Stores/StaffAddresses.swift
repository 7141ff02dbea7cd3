public import FluentKit
import Foundation
public import MailsealModel
package import SQLKit

/// Every address a staff account has ever had (`operator_addresses`).
///
/// "Nobody decides about their own mailbox" is a rule about people, and a
/// person is an account here: an address that the identity provider
/// changes (many let their users edit it) must not turn the account's old
/// mailbox — or its new one — into someone else's. So the rules ask this
/// set, never the address the account has now alone.
public struct StaffAddresses: Sendable {
  let database: any Database

  /// The addresses of `member`: its address now and every one it had.
  public func of(_ member: StaffMember) async throws -> Set<String> {
    var addresses: Set<String> = [member.email]
    for row in try await database.sql.raw(
      "SELECT address FROM operator_addresses WHERE operator_id = \(bind: member.id)"
    ).all() {
      addresses.insert(try row.decode(column: "address", as: String.self))
    }
    return addresses
  }

  /// Records that the account `id` has `address` (kept for good; a second
  /// time changes nothing).
  public func record(_ address: String, for id: UUID, now: Date) async throws {
    try await database.sql.raw(
      """
      INSERT INTO operator_addresses (operator_id, address, first_seen_at)
      VALUES (\(bind: id), \(bind: address), \(bind: now))
      ON CONFLICT (operator_id, address) DO NOTHING
      """
    ).run()
  }

  /// A condition for a statement that decides: the account `member` has
  /// (or had) the address in `column` — the same rule as ``of(_:)``,
  /// inside the statement, so that an address recorded meanwhile counts.
  package static func held(by member: StaffMember, column: String) -> SQLQueryString {
    """
    (\(unsafeRaw: column) = \(bind: member.email) OR EXISTS (SELECT 1 FROM operator_addresses held_address
      WHERE held_address.operator_id = \(bind: member.id) AND held_address.address = \(unsafeRaw: column)))
    """
  }

  /// Staff accounts whose address changed: each with its address now and
  /// those it had before, the newest change first (for administrators).
  public func changed(limit: Int = 50) async throws -> [AddressChange] {
    var changes: [UUID: AddressChange] = [:]
    var order: [UUID] = []
    for row in try await database.sql.raw(
      """
      SELECT o.id, o.name, o.email, a.address, a.first_seen_at FROM operators o
      JOIN operator_addresses a ON a.operator_id = o.id
      WHERE o.id IN (SELECT operator_id FROM operator_addresses GROUP BY operator_id HAVING COUNT(*) > 1)
      ORDER BY a.first_seen_at DESC
      """
    ).all() {
      let id = try row.decode(column: "id", as: UUID.self)
      let address = try row.decode(column: "address", as: String.self)
      let seen = try row.decode(column: "first_seen_at", as: Date.self)
      if changes[id] == nil {
        guard order.count < limit else { continue }
        order.append(id)
        changes[id] = AddressChange(
          name: try row.decode(column: "name", as: String.self),
          address: try row.decode(column: "email", as: String.self), changedAt: seen, former: [])
      }
      if address != changes[id]!.address { changes[id]!.former.append(address) }
    }
    return order.map { changes[$0]! }
  }
}
