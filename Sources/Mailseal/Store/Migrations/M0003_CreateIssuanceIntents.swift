import FluentKit
import SQLKit

/// Issuance intents: what the CA key is about to sign, recorded first.
struct M0003_CreateIssuanceIntents: AsyncMigration {
  var name: String { "M0003_CreateIssuanceIntents" }

  func prepare(on database: any Database) async throws {
    try await database.schema("issuance_intents")
      .id()
      .field("issuer_id", .uuid, .required, .references("issuers", "id"))
      .field("serial", .string, .required)
      .field("tbs_der", .data, .required)
      .field("mailbox", .string, .required)
      .field("key_fingerprint", .string, .required)
      .field("state", .string, .required)
      .field("created_at", .datetime, .required)
      .field("completed_at", .datetime)
      .unique(on: "serial")
      .create()
    let sql = database as! any SQLDatabase
    try await sql.create(index: "issuance_intents_state").on("issuance_intents").column("state")
      .run()
    try await sql.create(index: "issuance_intents_key_fingerprint").on("issuance_intents").column(
      "key_fingerprint"
    ).run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("issuance_intents").delete()
  }
}
