import FluentKit
import SQLKit

/// Certificates: every certificate the CA signed.
struct M0002_CreateCertificates: AsyncMigration {
  var name: String { "M0002_CreateCertificates" }

  func prepare(on database: any Database) async throws {
    try await database.schema("certificates")
      .id()
      .field("issuer_id", .uuid, .required, .references("issuers", "id"))
      .field("serial", .string, .required)
      .field("der", .data, .required)
      .field("mailbox", .string, .required)
      .field("profile", .string, .required)
      .field("common_name", .string, .required)
      .field("given_name", .string)
      .field("surname", .string)
      .field("pseudonym", .string)
      .field("key_fingerprint", .string, .required)
      .field("key_type", .string, .required)
      .field("not_before", .datetime, .required)
      .field("not_after", .datetime, .required)
      .field("status", .string, .required)
      .field("revoked_at", .datetime)
      .field("revocation_reason", .string)
      .field("created_at", .datetime, .required)
      .field("request_id", .uuid)
      .unique(on: "serial")
      .create()
    let sql = try database.sql
    try await sql.create(index: "certificates_mailbox").on("certificates").column("mailbox").run()
    // Covers the "certified for another mailbox" lookup.
    try await sql.create(index: "certificates_key_fingerprint_mailbox").on("certificates")
      .column("key_fingerprint").column("mailbox").run()
    try await sql.create(index: "certificates_not_after").on("certificates").column("not_after")
      .run()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("certificates").delete()
  }
}
