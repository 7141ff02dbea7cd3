import FluentKit

/// An approved request whose mailbox validation grew older than 30 days
/// waits for a fresh login link: when the requester was told so (once per
/// wait; a fresh validation clears it).
struct M0015_IssuanceHeld: AsyncMigration {
  var name: String { "M0015_IssuanceHeld" }

  func prepare(on database: any Database) async throws {
    try await database.schema("certificate_requests").field("issuance_held_at", .datetime)
      .update()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("certificate_requests").deleteField("issuance_held_at").update()
  }
}
