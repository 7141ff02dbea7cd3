import FluentKit

/// Operators and their sessions.
struct M0009_CreateOperators: AsyncMigration {
  var name: String { "M0009_CreateOperators" }

  func prepare(on database: any Database) async throws {
    try await database.schema("operators")
      .id()
      .field("email", .string, .required)
      .field("name", .string, .required)
      .field("role", .string, .required)
      .field("password_hash", .string)
      .field("totp_secret_sealed", .data)
      .field("totp_last_step", .int64, .required)
      .field("enrolment_token_hash", .string)
      .field("enrolment_expires_at", .datetime)
      .field("failed_attempts", .int, .required)
      .field("locked_until", .datetime)
      .field("is_enabled", .bool, .required)
      .field("created_at", .datetime, .required)
      .unique(on: "email")
      .create()
    try await database.schema("operator_sessions")
      .id()
      .field("operator_id", .uuid, .required, .references("operators", "id", onDelete: .cascade))
      .field("token_hash", .string, .required)
      .field("csrf_hash", .string, .required)
      .field("stage", .string, .required)
      .field("created_at", .datetime, .required)
      .field("expires_at", .datetime, .required)
      .unique(on: "token_hash")
      .create()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("operator_sessions").delete()
    try await database.schema("operators").delete()
  }
}
