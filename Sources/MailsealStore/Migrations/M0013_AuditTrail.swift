import FluentKit
import SQLKit

/// The audit trail: append-only events, each holding the hash of the one
/// before it, and the head of the chain (one row) that appends lock.
struct M0013_AuditTrail: AsyncMigration {
  var name: String { "M0013_AuditTrail" }

  func prepare(on database: any Database) async throws {
    try await database.schema("audit_events")
      .field("seq", .int64, .identifier(auto: false))
      .field("at_ms", .int64, .required)
      .field("actor", .string, .required)
      .field("action", .string, .required)
      .field("subject", .string, .required)
      .field("details", .string, .required)
      .field("previous_hash", .string, .required)
      .field("hash", .string, .required)
      .create()
    try await database.schema("audit_head")
      .field("id", .int64, .identifier(auto: false))
      .field("seq", .int64, .required)
      .field("hash", .string, .required)
      .create()
    let sql = try database.sql
    try await sql.insert(into: "audit_head").columns("id", "seq", "hash")
      .values(SQLBind(1), SQLBind(0), SQLBind(AuditChain.genesisHash)).run()
    for (index, column) in [
      ("audit_events_action", "action"), ("audit_events_subject", "subject"),
      ("audit_events_actor", "actor"),
    ] {
      try await sql.create(index: index).on("audit_events").column(column).column("seq").run()
    }
    // Append-only in the database too: an UPDATE or DELETE is refused.
    // (Whoever can drop a trigger can also rewrite rows; `mailseal audit
    // verify` finds that.)
    if sql.dialect.name == "postgresql" {
      try await sql.raw(
        """
        CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$
        """
      ).run()
      try await sql.raw(
        """
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
        """
      ).run()
    } else {
      for event in ["UPDATE", "DELETE"] {
        try await sql.raw(
          """
          CREATE TRIGGER audit_events_no_\(unsafeRaw: event.lowercased()) BEFORE \(unsafeRaw: event) ON audit_events
          BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END
          """
        ).run()
      }
    }
  }

  func revert(on database: any Database) async throws {
    let sql = try database.sql
    try await database.schema("audit_events").delete()
    try await database.schema("audit_head").delete()
    if sql.dialect.name == "postgresql" {
      try await sql.raw("DROP FUNCTION IF EXISTS audit_events_append_only()").run()
    }
  }
}
