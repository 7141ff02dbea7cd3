import FluentKit
import SQLKit

/// The mail outbox.
struct M0005_CreateOutbox: AsyncMigration {
  var name: String { "M0005_CreateOutbox" }

  func prepare(on database: any Database) async throws {
    try await database.schema("outbox_messages")
      .id()
      .field("recipient", .string, .required)
      .field("sender", .string, .required)
      .field("subject", .string, .required)
      .field("message", .string, .required)
      .field("state", .string, .required)
      .field("attempts", .int, .required)
      .field("next_attempt_at", .datetime, .required)
      .field("leased_until", .datetime)
      .field("last_error", .string)
      .field("created_at", .datetime, .required)
      .field("sent_at", .datetime)
      .create()
    let sql = try database.sql
    try await sql.raw(
      "CREATE INDEX outbox_messages_due ON outbox_messages (next_attempt_at) WHERE state = 'queued'"
    ).run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("outbox_messages").delete()
  }
}
