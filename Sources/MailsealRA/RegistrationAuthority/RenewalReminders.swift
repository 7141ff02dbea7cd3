package import FluentKit
import Foundation
import Logging
import MailsealModel
import MailsealStore

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
    let horizon = now.addingTimeInterval(TimeInterval(days) * 86_400)
    let reuseSince = now.addingTimeInterval(-RequestRules.evidenceReuseLifetime)
    let rows = try await Store(database).certificates.dueForReminder(
      days: days, horizon: horizon, now: now, limit: Self.batchSize)
    guard !rows.isEmpty else { return 0 }
    let due = rows.map { row in
      Due(
        id: row.id, serial: row.serial, mailbox: row.mailbox, notAfter: row.notAfter,
        language: Language(rawValue: row.language ?? "") ?? .de,
        evidenceReusable: row.evidenceCheckedAt.map { $0 > reuseSince } ?? false)
    }
    let configuration = self.configuration
    let reminded = try await Store(database).transaction { store -> [Due] in
      // This threshold and every larger one: a late mail covers them all.
      // Recording the reminder is the claim: whoever inserts the row for
      // this threshold mails, so two instances never remind twice.
      let claimed = try await store.certificates.claimReminders(
        due.map(\.id), thresholds: Set(covered + [days]), days: days, now: now)
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
        }, on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        due.map {
          AuditEvent(
            actor: AuditEvent.ca, action: .renewalReminded, subject: $0.serial,
            details: ["mailbox": $0.mailbox, "days": "\(days)"])
        }, on: store.database, now: now)
      return due
    }
    logger.info(
      "renewal reminders queued", metadata: ["count": "\(reminded.count)", "days": "\(days)"])
    return reminded.count
  }
}
