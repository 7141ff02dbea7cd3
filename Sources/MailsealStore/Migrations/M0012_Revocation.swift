import FluentKit
import SQLKit

/// Revocation: the published CRL of each CA with its number, an index for
/// the revoked certificates of an issuer, and who revoked.
struct M0012_Revocation: AsyncMigration {
  var name: String { "M0012_Revocation" }

  func prepare(on database: any Database) async throws {
    try await database.schema("crls")
      .field("issuer_id", .uuid, .identifier(auto: false), .references("issuers", "id"))
      .field("number", .int64, .required)
      .field("this_update", .datetime, .required)
      .field("next_update", .datetime, .required)
      .field("der", .data, .required)
      .field("entries", .int64, .required)
      // Set by a revocation, cleared by the CRL that lists it.
      .field("stale_since", .datetime)
      .create()
    try await database.schema("certificates").field("revoked_by", .string).update()
    let sql = try database.sql
    try await sql.create(index: "certificates_issuer_status").on("certificates")
      .column("issuer_id").column("status").column("not_after").run()
  }

  func revert(on database: any Database) async throws {
    let sql = try database.sql
    try await sql.drop(index: "certificates_issuer_status").ifExists().run()
    try await database.schema("certificates").deleteField("revoked_by").update()
    try await database.schema("crls").delete()
  }
}
