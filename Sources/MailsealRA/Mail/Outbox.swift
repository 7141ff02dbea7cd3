public import FluentKit
import Foundation
public import Logging
import MailsealModel
import MailsealStore

/// The mail outbox: messages are written here first (in the same
/// transaction as whatever caused them, when there is one), and the worker
/// delivers them, with retries, so that no message is lost while the mail
/// server is down.
public enum Outbox {
  /// Queues a message for delivery now.
  @discardableResult
  public static func enqueue(
    _ message: MailMessage, on database: any Database, messageDomain: String, now: Date = Date()
  ) async throws -> UUID {
    try await enqueue([message], on: database, messageDomain: messageDomain, now: now)[0]
  }

  /// Queues messages for delivery now (one statement per 500 messages on
  /// SQLite, one in all on PostgreSQL).
  @discardableResult
  public static func enqueue(
    _ messages: [MailMessage], on database: any Database, messageDomain: String, now: Date = Date()
  ) async throws -> [UUID] {
    // A few statements, in plain SQL (one on PostgreSQL): a pickup mail
    // per certificate is queued in the transaction that stores the batch.
    // Rendered (MIME, quoted-printable) on every core.
    let rows = await Parallel.map(messages) { message in
      let id = UUID()
      return (
        id: id, message: message,
        text: message.rendered(
          date: now, messageID: "\(id.uuidString.lowercased())@\(messageDomain)",
          boundary: "=_mailseal_\(id.uuidString.replacingOccurrences(of: "-", with: ""))")
      )
    }
    try await Store(database).outbox.enqueue(
      rows.map {
        OutboxStore.Rendered(
          id: $0.id, recipient: $0.message.to, sender: Self.address(of: $0.message.from),
          subject: $0.message.subject, message: $0.text)
      }, now: now)
    return rows.map(\.id)
  }

  /// The bare address of `Name <address>`.
  static func address(of text: String) -> String {
    guard let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close
    else {
      return text.trimmingCharacters(in: .whitespaces)
    }
    return String(text[text.index(after: open)..<close])
  }
}

/// Delivers what the outbox holds: claims due messages with a lease (so
/// that several instances never send one twice), hands each to the
/// transport, and reschedules failures with exponential backoff.
public actor MailWorker {
  let database: any Database
  let transport: any MailTransport
  let logger: Logger
  /// How long a claimed message is held before another worker may retry it.
  let lease: TimeInterval = 300
  /// How often due messages are looked for without a nudge (messages of
  /// other instances, retries).
  let pollInterval: Duration
  /// How long a message is tried before it is given up.
  let giveUpAfter: TimeInterval = 3 * 86_400
  let metrics: MailsealMetrics?

  private let doorbell = Doorbell()

  public init(
    database: any Database, transport: any MailTransport, logger: Logger,
    pollInterval: Duration = .seconds(5), metrics: MailsealMetrics? = nil
  ) {
    self.metrics = metrics
    self.database = database
    self.transport = transport
    self.logger = logger
    self.pollInterval = pollInterval
  }

  /// Asks the worker to look at the outbox now.
  public nonisolated func nudge() {
    doorbell.ring()
  }

  /// The delay before attempt `attempts + 1`: 30 s, doubling, at most 30 min.
  static func backoff(afterAttempts attempts: Int) -> TimeInterval {
    min(30 * pow(2, Double(max(0, attempts - 1))), 1_800)
  }

  /// Messages the transport accepted whose "sent" mark has not reached the
  /// database yet (it went away in between): marked before anything else is
  /// claimed, and never handed to the transport again by this worker.
  private var deliveredUnmarked: [UUID: (attempts: Int, sentAt: Date)] = [:]
  /// Messages this worker claimed and has not finished with when the
  /// database went away: their lease is given back once it returns, so
  /// that they are not held up for the whole lease.
  private var claimedUnfinished: Set<UUID> = []

  /// Delivers every due message once; returns how many were sent.
  @discardableResult
  public func deliverDue(now: Date = Date(), limit: Int = 50) async throws -> Int {
    try await settleEarlierClaims()
    let claimed = try await Store(database).outbox.claimDue(now: now, lease: lease, limit: limit)
    claimedUnfinished = Set(claimed.map(\.id))
    var sent = 0
    for mail in claimed {
      let (id, recipient, attempts, createdAt) = (
        mail.id, mail.recipient, mail.attempts + 1, mail.createdAt
      )
      guard deliveredUnmarked[id] == nil else {
        claimedUnfinished.remove(id)
        continue
      }
      do {
        try await transport.deliver(
          message: mail.message, from: mail.sender, to: recipient, id: id)
      } catch {
        try await reschedule(
          id, to: recipient, after: error, attempts: attempts, createdAt: createdAt, now: now)
        claimedUnfinished.remove(id)
        continue
      }
      // Delivered: from here on only the mark may fail, and a failed mark
      // is retried, never the delivery.
      deliveredUnmarked[id] = (attempts, now)
      claimedUnfinished.remove(id)
      sent += 1
      metrics?.mailDelivered.increment()
      logger.info(
        "mail delivered",
        metadata: ["id": "\(id)", "to": "\(recipient)", "via": "\(transport.description)"])
      try await markDelivered()
    }
    return sent
  }

  /// What was left when the database went away: deliveries to record, and
  /// the leases of claimed messages not tried yet to give back.
  private func settleEarlierClaims() async throws {
    try await markDelivered()
    guard !claimedUnfinished.isEmpty else { return }
    try await Store(database).outbox.release(Array(claimedUnfinished))
    claimedUnfinished = []
  }

  /// Records in the database every delivery that is not recorded yet.
  private func markDelivered() async throws {
    for (id, delivery) in deliveredUnmarked.sorted(by: { $0.value.sentAt < $1.value.sentAt }) {
      try await Store(database).outbox.markSent(
        id, attempts: delivery.attempts, sentAt: delivery.sentAt)
      deliveredUnmarked[id] = nil
    }
  }

  private func reschedule(
    _ id: UUID, to recipient: String, after error: any Error, attempts: Int, createdAt: Date,
    now: Date
  ) async throws {
    let reason = (error as? MailDeliveryError)?.description ?? "\(error)"
    let transient = (error as? MailDeliveryError)?.isTransient ?? true
    let givingUp = !transient || now.timeIntervalSince(createdAt) > giveUpAfter
    try await Store(database).outbox.reschedule(
      id, givingUp: givingUp, attempts: attempts,
      next: now.addingTimeInterval(Self.backoff(afterAttempts: attempts)), error: reason)
    (givingUp ? metrics?.mailGivenUp : metrics?.mailRetried)?.increment()
    if givingUp {
      logger.error(
        "mail given up", metadata: ["id": "\(id)", "to": "\(recipient)", "error": "\(reason)"])
    } else {
      logger.warning(
        "mail delivery failed; will retry",
        metadata: [
          "id": "\(id)", "to": "\(recipient)", "attempt": "\(attempts)", "error": "\(reason)",
        ])
    }
  }

  /// Delivers until the task is cancelled: whenever nudged, and every poll
  /// interval.
  public func run() async {
    logger.notice("mail worker started", metadata: ["transport": "\(transport.description)"])
    while !Task.isCancelled {
      do {
        while try await deliverDue() > 0 {}
      } catch {
        logger.backgroundFailure("mail worker could not read the outbox", error)
      }
      await doorbell.wait(upTo: pollInterval)
    }
  }
}
