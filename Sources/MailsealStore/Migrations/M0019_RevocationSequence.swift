import FluentKit
import SQLKit

/// Revocations numbered in the order they were committed, so that every
/// instance's OCSP responder can ask the store "what was revoked after
/// number n?" (see ``RevocationSequence``). Revocations from before carry
/// no number: an instance reads them with every status when it starts.
struct M0019_RevocationSequence: AsyncMigration {
  var name: String { "M0019_RevocationSequence" }

  func prepare(on database: any Database) async throws {
    try await database.schema("certificates").field("revocation_seq", .int64).update()
    try await database.sql.create(index: "certificates_revocation_seq").on("certificates")
      .column("revocation_seq").unique().run()
  }

  func revert(on database: any Database) async throws {
    try await database.sql.drop(index: "certificates_revocation_seq").run()
    try await database.schema("certificates").deleteField("revocation_seq").update()
  }
}
