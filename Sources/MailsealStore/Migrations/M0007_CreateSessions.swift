import FluentKit

/// Server-side sessions.
struct M0007_CreateSessions: AsyncMigration {
  var name: String { "M0007_CreateSessions" }

  func prepare(on database: any Database) async throws {
    try await database.schema("sessions")
      .id()
      .field("token_hash", .string, .required)
      .field("csrf_hash", .string, .required)
      .field("kind", .string, .required)
      .field("mailbox", .string, .required)
      .field("validated_at", .datetime, .required)
      .field("created_at", .datetime, .required)
      .field("expires_at", .datetime, .required)
      .unique(on: "token_hash")
      .create()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("sessions").delete()
  }
}
