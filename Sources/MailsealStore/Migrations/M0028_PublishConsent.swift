import FluentKit
import SQLKit

/// The holder's answer to "may your certificate be published?" (asked
/// with `MAILSEAL_PUBLISH=consent`; NULL: not asked), kept with the
/// request its certificates belong to, and when it last changed; the
/// certificates' mailbox index for the look-up.
struct M0028_PublishConsent: AsyncMigration {
  var name: String { "M0028_PublishConsent" }

  func prepare(on database: any Database) async throws {
    // One column per statement: SQLite adds one at a time.
    try await database.schema("certificate_requests").field("publish_consent", .bool).update()
    try await database.schema("certificate_requests").field("publish_consent_at", .datetime)
      .update()
    try await database.sql.create(index: "certificates_mailbox_lookup").on("certificates")
      .column("mailbox").column("not_after").run()
  }

  func revert(on database: any Database) async throws {
    try await database.sql.drop(index: "certificates_mailbox_lookup").run()
    try await database.schema("certificate_requests").deleteField("publish_consent").update()
    try await database.schema("certificate_requests").deleteField("publish_consent_at").update()
  }
}
