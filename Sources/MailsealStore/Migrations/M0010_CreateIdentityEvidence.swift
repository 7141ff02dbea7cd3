import FluentKit
import SQLKit

/// Identity evidence, and the installation's settings.
struct M0010_CreateIdentityEvidence: AsyncMigration {
  var name: String { "M0010_CreateIdentityEvidence" }

  func prepare(on database: any Database) async throws {
    try await database.schema("identity_evidence")
      .id()
      .field("request_id", .uuid, .required, .references("certificate_requests", "id"))
      .field("method", .string, .required)
      .field("document_type", .string, .required)
      .field("issuing_authority", .string, .required)
      .field("document_number", .string, .required)
      .field("document_expiry", .datetime, .required)
      .field("verified_given_name", .string, .required)
      .field("verified_surname", .string, .required)
      .field("checked_by", .uuid, .required, .references("operators", "id"))
      .field("checked_at", .datetime, .required)
      .field("retain_until", .datetime, .required)
      .unique(on: "request_id")
      .create()
    let sql = try database.sql
    try await sql.create(index: "identity_evidence_retain_until").on("identity_evidence").column(
      "retain_until"
    ).run()
    try await database.schema("settings")
      .field("key", .string, .identifier(auto: false))
      .field("value", .string, .required)
      .field("updated_at", .datetime, .required)
      .create()
    try await sql.create(index: "certificate_requests_approved").on("certificate_requests")
      .column("state").column("approved_at").run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("settings").delete()
    try await database.schema("identity_evidence").delete()
  }
}
