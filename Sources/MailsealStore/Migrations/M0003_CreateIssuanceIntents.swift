import FluentKit
import SQLKit

/// Issuance intents: what the CA key is about to sign, recorded first.
struct M0003_CreateIssuanceIntents: AsyncMigration {
  var name: String { "M0003_CreateIssuanceIntents" }

  func prepare(on database: any Database) async throws {
    try await database.schema("issuance_intents")
      .field("serial", .string, .identifier(auto: false))
      .field("issuer_id", .uuid, .required, .references("issuers", "id"))
      .field("tbs_sha256", .string, .required)
      .field("not_after", .datetime, .required)
      .field("mailbox", .string, .required)
      .field("key_fingerprint", .string, .required)
      .field("state", .string, .required)
      .field("created_at", .datetime, .required)
      .field("completed_at", .datetime)
      .create()
    let sql = try database.sql
    // The "certified for another mailbox" lookup; a key's pairs matter
    // whatever became of the intent, so state is not in it.
    try await sql.create(index: "issuance_intents_key_fingerprint_mailbox").on("issuance_intents")
      .column("key_fingerprint").column("mailbox").run()
    // Start-up recovery looks only at pending intents: a partial index,
    // left by each intent as it is signed.
    try await sql.raw(
      "CREATE INDEX issuance_intents_pending ON issuance_intents (created_at) WHERE state = 'pending'"
    ).run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("issuance_intents").delete()
  }
}
