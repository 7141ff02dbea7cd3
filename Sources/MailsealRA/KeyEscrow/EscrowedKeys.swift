public import FluentKit
import Foundation
import MailsealStore
import SQLKit

/// The escrowed encryption keys this portal holds — envelopes only, each
/// with the encryption certificate it belongs to — for the offline machine:
/// to open one (`mailseal recovery open`) or to check them all
/// (`mailseal recovery check`).
public struct EscrowedKeys: Sendable {
  let database: any Database

  public init(database: any Database) {
    self.database = database
  }

  /// One escrowed key: the envelope and its certificate.
  public struct Entry: Sendable {
    public let serial: String
    public let mailbox: String
    public let certificateDER: Data
    public let envelope: Data
  }

  /// The envelopes of issued requests, oldest first; with `serial`, only
  /// that encryption certificate's. Audited: who takes envelopes off the
  /// portal is in the trail.
  public func export(serial: String? = nil, actor: String, now: Date = Date()) async throws
    -> [Entry]
  {
    let sql = try database.sql
    var query = sql.select()
      .column(SQLColumn("serial", table: "e")).column(SQLColumn("mailbox", table: "e"))
      .column(SQLColumn("der", table: "e")).column(SQLColumn("escrow_envelope", table: "r"))
      .from(SQLAlias(SQLIdentifier("certificate_requests"), as: SQLIdentifier("r")))
      .join(
        SQLAlias(SQLIdentifier("certificates"), as: SQLIdentifier("e")),
        on: SQLColumn("id", table: "e"), .equal, SQLColumn("encryption_certificate_id", table: "r")
      )
      .where(SQLColumn("escrow_envelope", table: "r"), .isNot, SQLLiteral.null)
    if let serial {
      query = query.where(SQLColumn("serial", table: "e"), .equal, SQLBind(serial.lowercased()))
    }
    let entries = try await query.orderBy(SQLColumn("created_at", table: "e")).all().map { row in
      Entry(
        serial: try row.decode(column: "serial", as: String.self),
        mailbox: try row.decode(column: "mailbox", as: String.self),
        certificateDER: try row.decode(column: "der", as: Data.self),
        envelope: try row.decode(column: "escrow_envelope", as: Data.self))
    }
    try await AuditTrail.append(
      AuditEvent(
        actor: actor, action: .escrowExported, subject: serial ?? "all",
        details: [
          "count": "\(entries.count)",
          "serials": entries.map(\.serial).joined(separator: ","),
        ]),
      on: database, now: now)
    return entries
  }
}
