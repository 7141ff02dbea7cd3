import FluentKit
import SQLKit

/// Login links and the lookups of their rate limits.
struct M0006_CreateLoginLinks: AsyncMigration {
  var name: String { "M0006_CreateLoginLinks" }

  func prepare(on database: any Database) async throws {
    try await database.schema("login_links")
      .id()
      .field("token_hash", .string, .required)
      .field("mailbox", .string, .required)
      .field("language", .string, .required)
      .field("client_address", .string, .required)
      .field("created_at", .datetime, .required)
      .field("expires_at", .datetime, .required)
      .field("used_at", .datetime)
      .unique(on: "token_hash")
      .create()
    let sql = try database.sql
    try await sql.create(index: "login_links_mailbox_created_at").on("login_links")
      .column("mailbox").column("created_at").run()
    try await sql.create(index: "login_links_client_address_created_at").on("login_links")
      .column("client_address").column("created_at").run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("login_links").delete()
  }
}
