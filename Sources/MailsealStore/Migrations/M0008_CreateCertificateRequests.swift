import FluentKit
import SQLKit

/// Certificate requests.
struct M0008_CreateCertificateRequests: AsyncMigration {
  var name: String { "M0008_CreateCertificateRequests" }

  func prepare(on database: any Database) async throws {
    try await database.schema("certificate_requests")
      .id()
      .field("number", .string, .required)
      .field("mailbox", .string, .required)
      .field("mailbox_type", .string, .required)
      .field("given_name", .string)
      .field("surname", .string)
      .field("pseudonym", .string)
      .field("key_type", .string, .required)
      .field("key_fingerprint", .string, .required)
      .field("csr_der", .data, .required)
      .field("state", .string, .required)
      .field("language", .string, .required)
      .field("mailbox_validated_at", .datetime, .required)
      .field("created_at", .datetime, .required)
      .field("updated_at", .datetime, .required)
      .field("verified_by", .uuid)
      .field("verified_at", .datetime)
      .field("approved_by", .uuid)
      .field("approved_at", .datetime)
      .field("decided_by", .uuid)
      .field("rejection_reason", .string)
      .field("certificate_id", .uuid)
      .field("issuing_lease_until", .datetime)
      .field("pickup_token_hash", .string)
      .field("pickup_expires_at", .datetime)
      .unique(on: "number")
      .create()
    let sql = try database.sql
    try await sql.create(index: "certificate_requests_mailbox").on("certificate_requests")
      .column("mailbox").column("created_at").run()
    try await sql.create(index: "certificate_requests_state_created_at").on("certificate_requests")
      .column("state").column("created_at").run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("certificate_requests").delete()
  }
}
