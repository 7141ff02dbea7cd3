import FluentKit
import SQLKit

/// Key escrow: what a certificate's key is for (dual use, signing only,
/// encryption only); and, with a request that escrows its encryption key,
/// that key's request and fingerprint, the envelope the browser made for
/// the recovery certificates, when the requester consented, and the
/// encryption certificate issued beside the signing one.
struct M0021_KeyEscrow: AsyncMigration {
  var name: String { "M0021_KeyEscrow" }

  func prepare(on database: any Database) async throws {
    try await database.schema("certificates")
      .field("key_purpose", .string, .required, .sql(.default("dual-use"))).update()
    // One column per statement: SQLite adds one at a time.
    try await database.schema("certificate_requests").field("encryption_csr_der", .data).update()
    try await database.schema("certificate_requests")
      .field("encryption_key_fingerprint", .string).update()
    try await database.schema("certificate_requests").field("escrow_envelope", .data).update()
    try await database.schema("certificate_requests")
      .field("escrow_consented_at", .datetime).update()
    try await database.schema("certificate_requests")
      .field("encryption_certificate_id", .uuid).update()
    try await database.sql.create(index: "certificate_requests_encryption_key")
      .on("certificate_requests").column("encryption_key_fingerprint").run()
  }

  func revert(on database: any Database) async throws {
    try await database.sql.drop(index: "certificate_requests_encryption_key").run()
    for field in [
      "encryption_certificate_id", "escrow_consented_at", "escrow_envelope",
      "encryption_key_fingerprint", "encryption_csr_der",
    ] {
      try await database.schema("certificate_requests").deleteField(.string(field)).update()
    }
    try await database.schema("certificates").deleteField("key_purpose").update()
  }
}
