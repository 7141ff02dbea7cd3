import FluentKit
import SQLKit

/// Key recovery in the portal: a recovery of an escrowed encryption key,
/// asked for by the person or an administrator with a reason, and the
/// approvals of recovery officers — one per officer (unique), so that two
/// approvals are two people.
struct M0022_KeyRecoveries: AsyncMigration {
  var name: String { "M0022_KeyRecoveries" }

  func prepare(on database: any Database) async throws {
    try await database.schema("key_recoveries")
      .id()
      .field("number", .string, .required)
      .field("certificate_id", .uuid, .required)
      .field("request_id", .uuid, .required)
      .field("mailbox", .string, .required)
      .field("state", .string, .required)
      .field("reason", .string, .required)
      .field("asked_by", .string, .required)
      .field("asked_by_operator_id", .uuid)
      .field("language", .string, .required)
      .field("approvals", .int, .required)
      .field("created_at", .datetime, .required)
      .field("expires_at", .datetime, .required)
      .field("approved_at", .datetime)
      .field("declined_by", .string)
      .field("decline_reason", .string)
      .field("declined_at", .datetime)
      .field("downloads", .int, .required)
      .field("last_downloaded_at", .datetime)
      .field("last_downloaded_by", .string)
      .unique(on: "number")
      .create()
    // At most one open recovery per certificate: a second ask while one
    // waits is refused by the store itself.
    try await database.sql.raw(
      """
      CREATE UNIQUE INDEX key_recoveries_open ON key_recoveries (certificate_id)
      WHERE state IN ('requested', 'approved')
      """
    ).run()
    try await database.sql.create(index: "key_recoveries_state").on("key_recoveries")
      .column("state").column("created_at").run()
    try await database.schema("key_recovery_approvals")
      .id()
      .field("recovery_id", .uuid, .required)
      .field("operator_id", .uuid, .required)
      .field("operator_email", .string, .required)
      .field("approved_at", .datetime, .required)
      .unique(on: "recovery_id", "operator_id")
      .create()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("key_recovery_approvals").delete()
    try await database.schema("key_recoveries").delete()
  }
}
