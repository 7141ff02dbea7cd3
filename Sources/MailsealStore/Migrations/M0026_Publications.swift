import FluentKit
import SQLKit

/// The publication queue: every change a publisher (the directory) must
/// make, numbered in the order it was queued (`publication_head` is the
/// counter every enqueuing transaction takes, as the audit trail's head),
/// with the state of its delivery.
struct M0026_Publications: AsyncMigration {
  var name: String { "M0026_Publications" }

  func prepare(on database: any Database) async throws {
    try await database.schema("publications")
      .id()
      .field("sequence", .int64, .required)
      .field("kind", .string, .required)
      .field("mailbox", .string, .required)
      .field("serial", .string, .required)
      .field("der", .data, .required)
      .field("reason", .string, .required)
      .field("state", .string, .required)
      .field("attempts", .int, .required)
      .field("next_attempt_at", .datetime, .required)
      .field("lease_until", .datetime)
      .field("last_error", .string)
      .field("created_at", .datetime, .required)
      .field("done_at", .datetime)
      .unique(on: "sequence")
      .create()
    try await database.sql.create(index: "publications_due").on("publications")
      .column("state").column("mailbox").column("sequence").run()
    try await database.sql.create(index: "publications_serial").on("publications")
      .column("serial").run()
    try await database.schema("publication_head")
      .field("id", .int64, .identifier(auto: false))
      .field("sequence", .int64, .required)
      .create()
    try await database.sql.insert(into: "publication_head").columns("id", "sequence")
      .values(SQLBind(1), SQLBind(0)).run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("publication_head").delete()
    try await database.schema("publications").delete()
  }
}
