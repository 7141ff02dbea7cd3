package import FluentKit
import Foundation
import Logging
import MailsealStore
import SQLKit

/// Mails before a certificate expires (`MAILSEAL_RENEWAL_REMINDER_DAYS`,
/// default 30 and 7 days), each at most once per certificate and
/// threshold; none for a certificate already renewed (a later one for the
/// mailbox) or with a renewal under way. A certificate that enters a
/// window late (say 5 days left, never reminded) gets one mail, for the
/// nearest threshold.
package struct RenewalReminders: Sendable {
  let database: any Database
  let configuration: MailsealConfiguration
  let logger: Logger

  package init(database: any Database, configuration: MailsealConfiguration, logger: Logger) {
    self.database = database
    self.configuration = configuration
    self.logger = logger
  }

  static let batchSize = 500

  /// Sends what is due at `now`; returns how many mails were queued.
  @discardableResult
  package func sendDue(now: Date = Date()) async throws -> Int {
    let thresholds = Array(Set(configuration.portal.renewalReminderDays)).sorted()
    var sent = 0
    for (index, days) in thresholds.enumerated() {
      while true {
        let count = try await sendBatch(
          days: days, alsoCovering: Array(thresholds[index...]), now: now)
        sent += count
        if count < Self.batchSize { break }
      }
    }
    return sent
  }

  struct Due {
    let id: UUID
    let serial: String
    let mailbox: String
    let notAfter: Date
    let language: Language
    let evidenceReusable: Bool
  }

  func sendBatch(days: Int, alsoCovering covered: [Int], now: Date) async throws -> Int {
    let sql = try database.sql
    let horizon = now.addingTimeInterval(TimeInterval(days) * 86_400)
    let reuseSince = now.addingTimeInterval(-RequestRules.evidenceReuseLifetime)
    let rows = try await sql.raw(
      """
      SELECT c.id, c.serial, c.mailbox, c.not_after, q.language, e.checked_at
      FROM certificates c
      LEFT JOIN certificate_requests q ON q.id = c.request_id
      LEFT JOIN identity_evidence e ON e.request_id = COALESCE(q.evidence_request_id, q.id)
      WHERE c.status = \(CertificateRecord.Status.active) AND c.not_after > \(bind: now) AND c.not_after <= \(bind: horizon)
        AND NOT EXISTS (SELECT 1 FROM renewal_reminders r
                        WHERE r.certificate_id = c.id AND r.days = \(bind: days))
        AND NOT EXISTS (SELECT 1 FROM certificates n
                        WHERE n.mailbox = c.mailbox AND n.status = \(CertificateRecord.Status.active) AND n.not_after > c.not_after)
        AND NOT EXISTS (SELECT 1 FROM certificate_requests p WHERE p.renewal_of = c.id
                        AND p.state IN (\([CertificateRequestRecord.State.submitted, .verified, .approved])))
      ORDER BY c.not_after LIMIT \(unsafeRaw: String(Self.batchSize))
      """
    ).all()
    guard !rows.isEmpty else { return 0 }
    let due = try rows.map { row in
      let checked = try row.decode(column: "checked_at", as: Date?.self)
      return Due(
        id: try row.decode(column: "id", as: UUID.self),
        serial: try row.decode(column: "serial", as: String.self),
        mailbox: try row.decode(column: "mailbox", as: String.self),
        notAfter: try row.decode(column: "not_after", as: Date.self),
        language: Language(rawValue: try row.decode(column: "language", as: String?.self) ?? "")
          ?? .de,
        evidenceReusable: checked.map { $0 > reuseSince } ?? false)
    }
    let configuration = self.configuration
    let reminded = try await database.transaction { database -> [Due] in
      let sql = try database.sql
      // This threshold and every larger one: a late mail covers them all.
      // Recording the reminder is the claim: whoever inserts the row for
      // this threshold mails, so two instances never remind twice.
      var insert = sql.insert(into: "renewal_reminders").columns(
        "certificate_id", "days", "sent_at")
      for item in due {
        for threshold in Set(covered + [days]) {
          insert = insert.values(SQLBind(item.id), SQLBind(threshold), SQLBind(now))
        }
      }
      var claimed: Set<UUID> = []
      for row in try await insert.ignoringConflicts(with: ["certificate_id", "days"])
        .returning("certificate_id", "days").all()
      where try row.decode(column: "days", as: Int.self) == days {
        claimed.insert(try row.decode(column: "certificate_id", as: UUID.self))
      }
      let due = due.filter { claimed.contains($0.id) }
      guard !due.isEmpty else { return [] }
      try await Outbox.enqueue(
        due.map { item in
          MailTemplates.certificateExpiring(
            serial: item.serial, mailbox: item.mailbox, notAfter: item.notAfter,
            days: max(1, Int((item.notAfter.timeIntervalSince(now) / 86_400).rounded(.up))),
            evidenceReusable: item.evidenceReusable, portalURL: configuration.publicURL,
            from: configuration.mail.from, language: item.language,
            zone: configuration.portal.timeZone)
        }, on: database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        due.map {
          AuditEvent(
            actor: AuditEvent.ca, action: .renewalReminded, subject: $0.serial,
            details: ["mailbox": $0.mailbox, "days": "\(days)"])
        }, on: database, now: now)
      return due
    }
    logger.info(
      "renewal reminders queued", metadata: ["count": "\(reminded.count)", "days": "\(days)"])
    return reminded.count
  }
}
