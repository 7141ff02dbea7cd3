import FluentKit
import SQLKit

/// Every address a staff account has ever had. Separation of duties
/// ("nobody decides about their own mailbox") is decided by the account:
/// an address changed at the identity provider does not make the old
/// mailbox — or the new one — someone else's. Filled with each account's
/// address of today.
struct M0024_OperatorAddresses: AsyncMigration {
  var name: String { "M0024_OperatorAddresses" }

  func prepare(on database: any Database) async throws {
    try await database.schema("operator_addresses")
      .field("operator_id", .uuid, .required, .references("operators", "id"))
      .field("address", .string, .required)
      .field("first_seen_at", .datetime, .required)
      .compositeIdentifier(over: "operator_id", "address")
      .create()
    try await database.sql.create(index: "operator_addresses_address").on("operator_addresses")
      .column("address").run()
    try await database.sql.raw(
      """
      INSERT INTO operator_addresses (operator_id, address, first_seen_at)
      SELECT id, email, created_at FROM operators
      """
    ).run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("operator_addresses").delete()
  }
}
