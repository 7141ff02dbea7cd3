import FluentKit
import SQLKit

/// Back-channel logout: a staff session made through the identity
/// provider remembers the provider's session (`sid`), so that a logout
/// token naming it ends exactly that session.
struct M0025_ProviderSessionIDs: AsyncMigration {
  var name: String { "M0025_ProviderSessionIDs" }

  func prepare(on database: any Database) async throws {
    try await database.schema("operator_sessions").field("oidc_sid", .string).update()
    try await database.sql.create(index: "operator_sessions_oidc_sid").on("operator_sessions")
      .column("oidc_sid").run()
  }

  func revert(on database: any Database) async throws {
    try await database.sql.drop(index: "operator_sessions_oidc_sid").run()
    try await database.schema("operator_sessions").deleteField("oidc_sid").update()
  }
}
