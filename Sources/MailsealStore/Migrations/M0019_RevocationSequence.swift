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
    // Partial: only revoked certificates have a number, and issuance adds
    // no entry to it.
    try await database.sql.raw(
      """
      CREATE UNIQUE INDEX certificates_revocation_seq ON certificates (revocation_seq)
      WHERE revocation_seq IS NOT NULL
      """
    ).run()
  }

  func revert(on database: any Database) async throws {
    try await database.sql.drop(index: "certificates_revocation_seq").run()
    try await database.schema("certificates").deleteField("revocation_seq").update()
  }
}
