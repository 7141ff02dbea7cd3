import FluentKit
import SQLKit

/// Orders at an upstream certificate authority: one per approved request
/// and key purpose, recorded before it is sent, with the upstream's
/// reference and where the order stands (so that a lost answer is looked
/// up, never ordered again). A request an admin must look at is held
/// (`upstream_held_at`): the worker leaves it alone.
struct M0027_UpstreamOrders: AsyncMigration {
  var name: String { "M0027_UpstreamOrders" }

  func prepare(on database: any Database) async throws {
    try await database.schema("upstream_orders")
      .id()
      .field("request_id", .uuid, .references("certificate_requests", "id"))
      .field("purpose", .string, .required)
      .field("upstream", .string, .required)
      .field("state", .string, .required)
      .field("reference", .string)
      .field("progress", .data)
      .field("attempts", .int, .required)
      .field("next_attempt_at", .datetime, .required)
      .field("last_error", .string)
      .field("certificate_der", .data)
      .field("created_at", .datetime, .required)
      .field("updated_at", .datetime, .required)
      .unique(on: "request_id", "purpose")
      .create()
    try await database.sql.create(index: "upstream_orders_state").on("upstream_orders")
      .column("state").run()
    // Revocations asked of an upstream, sent until it confirms.
    try await database.schema("upstream_revocations")
      .id()
      .field("certificate_id", .uuid, .required, .references("certificates", "id"))
      .field("reason", .string, .required)
      .field("requested_by", .string, .required)
      .field("state", .string, .required)
      .field("attempts", .int, .required)
      .field("next_attempt_at", .datetime, .required)
      .field("last_error", .string)
      .field("created_at", .datetime, .required)
      .field("done_at", .datetime)
      .unique(on: "certificate_id")
      .create()
    try await database.schema("certificates").field("revocation_requested_at", .datetime)
      .update()
    // One column per statement: SQLite adds one at a time.
    try await database.schema("certificate_requests").field("upstream_held_at", .datetime)
      .update()
    try await database.schema("certificate_requests").field("upstream_held_reason", .string)
      .update()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("certificate_requests").deleteField("upstream_held_reason").update()
    try await database.schema("certificate_requests").deleteField("upstream_held_at").update()
    try await database.schema("upstream_orders").delete()
    try await database.schema("certificates").deleteField("revocation_requested_at").update()
    try await database.schema("upstream_revocations").delete()
  }
}
