import FluentKit
import SQLKit

/// Sign-in through an OpenID provider: the sign-ins under way (only hashes
/// of their state and browser binding), the staff account's subject at the
/// provider, whether a staff session came from the provider, and how a
/// requester's mailbox was validated (login link or identity provider) —
/// for the session and for each request — and the names the provider
/// gave, to pre-fill the request form.
struct M0018_IdentityProvider: AsyncMigration {
  var name: String { "M0018_IdentityProvider" }

  func prepare(on database: any Database) async throws {
    try await database.schema("oidc_logins")
      .id()
      .field("state_hash", .string, .required)
      .field("browser_hash", .string, .required)
      .field("purpose", .string, .required)
      .field("created_at", .datetime, .required)
      .field("expires_at", .datetime, .required)
      .unique(on: "state_hash")
      .create()
    try await database.schema("operators").field("oidc_subject", .string).update()
    let sql = try database.sql
    try await sql.create(index: "operators_oidc_subject").on("operators").column("oidc_subject")
      .unique().run()
    try await database.schema("operator_sessions")
      .field("via_identity_provider", .bool, .required, .sql(.default(false))).update()
    // One column per statement: SQLite adds one at a time.
    try await database.schema("sessions")
      .field("validation_method", .string, .required, .sql(.default("login-link"))).update()
    try await database.schema("sessions").field("given_name_hint", .string).update()
    try await database.schema("sessions").field("surname_hint", .string).update()
    try await database.schema("certificate_requests")
      .field("mailbox_validation_method", .string, .required, .sql(.default("login-link")))
      .update()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("certificate_requests").deleteField("mailbox_validation_method")
      .update()
    for field in ["surname_hint", "given_name_hint", "validation_method"] {
      try await database.schema("sessions").deleteField(.string(field)).update()
    }
    try await database.schema("operator_sessions").deleteField("via_identity_provider").update()
    try await database.sql.drop(index: "operators_oidc_subject").run()
    try await database.schema("operators").deleteField("oidc_subject").update()
    try await database.schema("oidc_logins").delete()
  }
}
