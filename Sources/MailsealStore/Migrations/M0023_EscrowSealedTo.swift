import FluentKit

/// Key escrow pinned outside the database: which pinned recovery
/// certificates (SHA-256 fingerprints, hex, comma-separated) a request's
/// envelope was sealed to, for the desk page. Envelopes sealed before pins
/// have none.
struct M0023_EscrowSealedTo: AsyncMigration {
  var name: String { "M0023_EscrowSealedTo" }

  func prepare(on database: any Database) async throws {
    try await database.schema("certificate_requests").field("escrow_sealed_to", .string).update()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("certificate_requests").deleteField("escrow_sealed_to").update()
  }
}
