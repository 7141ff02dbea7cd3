import FluentKit

/// Issuers: the CA certificates. Released migrations are never edited.
struct M0001_CreateIssuers: AsyncMigration {
  var name: String { "M0001_CreateIssuers" }

  func prepare(on database: any Database) async throws {
    try await database.schema("issuers")
      .id()
      .field("role", .string, .required)
      .field("slug", .string, .required)
      .field("subject", .string, .required)
      .field("certificate_der", .data, .required)
      .field("sha256_fingerprint", .string, .required)
      .field("key_reference", .string)
      .field("key_type", .string, .required)
      .field("parent_id", .uuid, .references("issuers", "id"))
      .field("not_before", .datetime, .required)
      .field("not_after", .datetime, .required)
      .field("is_test", .bool, .required)
      .field("is_active", .bool, .required)
      .field("created_at", .datetime)
      .unique(on: "slug")
      .unique(on: "sha256_fingerprint")
      .create()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("issuers").delete()
  }
}
