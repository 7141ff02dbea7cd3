public import FluentKit
import Foundation
import MailsealModel
import SQLKit

// Statements that read across aggregates for one purpose each: the
// metrics' gauges, the renewal reminders, the escrow export, and the
// evidence's retention.

extension CertificateRequests {
  /// How many requests are in each state (the metrics' gauge).
  public func countByState() async throws -> [String: Int] {
    try await database.counts(
      "SELECT state AS key, COUNT(*) AS n FROM certificate_requests GROUP BY state")
  }

  /// An escrowed encryption key: its certificate and its envelope.
  public struct EscrowedKey: Sendable {
    public let serial: String
    public let mailbox: String
    public let certificateDER: Data
    public let envelope: Data
  }

  /// The escrowed keys (of the certificate `serial`, or all), oldest
  /// certificate first.
  public func escrowedKeys(serial: String?) async throws -> [EscrowedKey] {
    let sql = try database.sql
    var query = sql.select()
      .column(SQLColumn("serial", table: "e")).column(SQLColumn("mailbox", table: "e"))
      .column(SQLColumn("der", table: "e")).column(SQLColumn("escrow_envelope", table: "r"))
      .from(SQLAlias(SQLIdentifier("certificate_requests"), as: SQLIdentifier("r")))
      .join(
        SQLAlias(SQLIdentifier("certificates"), as: SQLIdentifier("e")),
        on: SQLColumn("id", table: "e"), .equal, SQLColumn("encryption_certificate_id", table: "r")
      )
      .where(SQLColumn("escrow_envelope", table: "r"), .isNot, SQLLiteral.null)
    if let serial {
      query = query.where(SQLColumn("serial", table: "e"), .equal, SQLBind(serial.lowercased()))
    }
    return try await query.orderBy(SQLColumn("created_at", table: "e")).all().map { row in
      EscrowedKey(
        serial: try row.decode(column: "serial", as: String.self),
        mailbox: try row.decode(column: "mailbox", as: String.self),
        certificateDER: try row.decode(column: "der", as: Data.self),
        envelope: try row.decode(column: "escrow_envelope", as: Data.self))
    }
  }
}

extension OutboxStore {
  /// How many mails are in each state but sent (the metrics' gauge).
  public func countUnsentByState() async throws -> [String: Int] {
    try await database.counts(
      "SELECT state AS key, COUNT(*) AS n FROM outbox_messages WHERE state <> \(OutboxMessageRecord.State.sent) GROUP BY state"
    )
  }
}

extension Certificates {
  /// How many unexpired certificates are in each status (the metrics'
  /// gauge).
  public func countValidByStatus(now: Date) async throws -> [String: Int] {
    try await database.counts(
      "SELECT status AS key, COUNT(*) AS n FROM certificates WHERE not_after > \(bind: now) GROUP BY status"
    )
  }

  /// A certificate whose holder is to be reminded of its renewal.
  public struct ReminderDue: Sendable {
    public let id: UUID
    public let serial: String
    public let mailbox: String
    public let notAfter: Date
    /// Its request's language, if it had one.
    public let language: String?
    /// When the identity evidence it rests on was checked, if any.
    public let evidenceCheckedAt: Date?
  }

  /// Active certificates that end within (now, `horizon`], not yet
  /// reminded at `days`, not the newest of their mailbox's, without a
  /// renewal under way; soonest first, at most `limit`.
  public func dueForReminder(days: Int, horizon: Date, now: Date, limit: Int) async throws
    -> [ReminderDue]
  {
    try await database.sql.raw(
      """
      SELECT c.id, c.serial, c.mailbox, c.not_after, q.language, e.checked_at
      FROM certificates c
      LEFT JOIN certificate_requests q ON q.id = c.request_id
      LEFT JOIN identity_evidence e ON e.request_id = COALESCE(q.evidence_request_id, q.id)
      WHERE c.status = \(IssuedCertificate.Status.active) AND c.not_after > \(bind: now) AND c.not_after <= \(bind: horizon)
        AND NOT EXISTS (SELECT 1 FROM renewal_reminders r
                        WHERE r.certificate_id = c.id AND r.days = \(bind: days))
        AND NOT EXISTS (SELECT 1 FROM certificates n
                        WHERE n.mailbox = c.mailbox AND n.status = \(IssuedCertificate.Status.active) AND n.not_after > c.not_after)
        AND NOT EXISTS (SELECT 1 FROM certificate_requests p WHERE p.renewal_of = c.id
                        AND p.state IN (\([CertificateRequest.State.submitted, .verified, .approved])))
      ORDER BY c.not_after LIMIT \(literal: limit)
      """
    ).all().map { row in
      ReminderDue(
        id: try row.decode(column: "id", as: UUID.self),
        serial: try row.decode(column: "serial", as: String.self),
        mailbox: try row.decode(column: "mailbox", as: String.self),
        notAfter: try row.decode(column: "not_after", as: Date.self),
        language: try row.decode(column: "language", as: String?.self),
        evidenceCheckedAt: try row.decode(column: "checked_at", as: Date?.self))
    }
  }

  /// Records reminders of `certificates` at each of `thresholds`; the
  /// record is the claim (whoever inserts it mails). The certificates
  /// claimed at `days`.
  public func claimReminders(
    _ certificates: [UUID], thresholds: Set<Int>, days: Int, now: Date
  ) async throws -> Set<UUID> {
    var insert = try database.sql.insert(into: "renewal_reminders").columns(
      "certificate_id", "days", "sent_at")
    for id in certificates {
      for threshold in thresholds {
        insert = insert.values(SQLBind(id), SQLBind(threshold), SQLBind(now))
      }
    }
    var claimed: Set<UUID> = []
    for row in try await insert.ignoringConflicts(with: ["certificate_id", "days"])
      .returning("certificate_id", "days").all()
    where try row.decode(column: "days", as: Int.self) == days {
      claimed.insert(try row.decode(column: "certificate_id", as: UUID.self))
    }
    return claimed
  }
}

extension IdentityEvidenceStore {
  /// Deletes the evidence whose retention ended before `now`; how many.
  public func purge(before now: Date) async throws -> Int {
    try await database.sql.raw(
      "DELETE FROM identity_evidence WHERE retain_until < \(bind: now) RETURNING id"
    ).all().count
  }
}
