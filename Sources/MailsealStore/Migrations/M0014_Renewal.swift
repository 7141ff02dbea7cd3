import FluentKit
import SQLKit

/// Renewal: a request may renew a certificate and reuse the identity
/// evidence of an earlier request; reminders before expiry are recorded
/// so that each is sent once.
struct M0014_Renewal: AsyncMigration {
  var name: String { "M0014_Renewal" }

  func prepare(on database: any Database) async throws {
    // One column per statement: SQLite adds one at a time.
    for column in ["renewal_of", "evidence_request_id"] {
      try await database.schema("certificate_requests").field(.string(column), .uuid).update()
    }
    try await database.schema("renewal_reminders")
      .field("certificate_id", .uuid, .required, .references("certificates", "id"))
      .field("days", .int, .required)
      .field("sent_at", .datetime, .required)
      .compositeIdentifier(over: "certificate_id", "days")
      .create()
    let sql = try database.sql
    // The reminder job looks for active certificates by expiry.
    try await sql.create(index: "certificates_status_not_after").on("certificates")
      .column("status").column("not_after").run()
  }

  func revert(on database: any Database) async throws {
    let sql = try database.sql
    try await sql.drop(index: "certificates_status_not_after").ifExists().run()
    try await database.schema("renewal_reminders").delete()
    for column in ["renewal_of", "evidence_request_id"] {
      try await database.schema("certificate_requests").deleteField(.string(column)).update()
    }
  }
}
