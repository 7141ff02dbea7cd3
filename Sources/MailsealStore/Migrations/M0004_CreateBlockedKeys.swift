import FluentKit

/// Blocked keys: public keys that must never be certified again.
struct M0004_CreateBlockedKeys: AsyncMigration {
  var name: String { "M0004_CreateBlockedKeys" }

  func prepare(on database: any Database) async throws {
    try await database.schema("blocked_keys")
      .id()
      .field("key_fingerprint", .string, .required)
      .field("reason", .string, .required)
      .field("created_at", .datetime, .required)
      .unique(on: "key_fingerprint")
      .create()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("blocked_keys").delete()
  }
}
