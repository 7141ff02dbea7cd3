import FluentKit

/// Key escrow: the recovery certificates installed in the portal, to which
/// browsers encrypt the keys they escrow. Only certificates: the recovery
/// keys never come near the portal.
struct M0020_RecoveryCertificates: AsyncMigration {
  var name: String { "M0020_RecoveryCertificates" }

  func prepare(on database: any Database) async throws {
    try await database.schema("recovery_certificates")
      .id()
      .field("sha256_fingerprint", .string, .required)
      .field("der", .data, .required)
      .field("subject", .string, .required)
      .field("not_after", .datetime, .required)
      .field("installed_at", .datetime, .required)
      .unique(on: "sha256_fingerprint")
      .create()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("recovery_certificates").delete()
  }
}
