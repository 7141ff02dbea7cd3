public import FluentKit
public import Foundation
public import Logging
import MailsealStore
import SQLKit

/// Applies the queued changes with the ``Publisher``: for each address the
/// oldest change not yet applied, and only when no earlier change of that
/// address waits (so a removal never overtakes its own publication); a
/// failure is tried again with backoff (30 s, doubling, at most 30
/// minutes) for as long as it takes — a directory away for hours loses
/// nothing — unless the publisher says trying again cannot help. Claims
/// hold a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so several
/// instances never apply one change at once.
public actor PublicationWorker {
  let database: any Database
  let publisher: any Publisher
  let logger: Logger
  let lease: TimeInterval
  let pollInterval: Duration
  private let doorbell = Doorbell()

  public init(
    database: any Database, publisher: any Publisher, logger: Logger, lease: TimeInterval = 120,
    pollInterval: Duration = .seconds(5)
  ) {
    self.database = database
    self.publisher = publisher
    self.logger = logger
    self.lease = lease
    self.pollInterval = pollInterval
  }

  /// The wait before attempt `attempts + 1`.
  static func backoff(afterAttempts attempts: Int) -> TimeInterval {
    min(30 * pow(2, Double(max(0, attempts - 1))), 1_800)
  }

  /// Applies what is due once (at most one change per address); returns
  /// how many were applied.
  @discardableResult
  public func applyDue(now: Date = Date(), limit: Int = 100) async throws -> Int {
    let sql = try database.sql
    let skipLocked = sql.dialect.name == "postgresql" ? " FOR UPDATE SKIP LOCKED" : ""
    let queued = PublicationQueue.State.queued.rawValue
    // One statement claims: the first waiting change of each address whose
    // earlier changes are all applied or set aside.
    let claimed = try await sql.raw(
      """
      UPDATE publications SET lease_until = \(bind: now.addingTimeInterval(lease)),
        attempts = attempts + 1
      WHERE id IN (
        SELECT p.id FROM publications p
        WHERE p.state = \(bind: queued) AND p.next_attempt_at <= \(bind: now)
          AND (p.lease_until IS NULL OR p.lease_until < \(bind: now))
          AND NOT EXISTS (SELECT 1 FROM publications e WHERE e.mailbox = p.mailbox
            AND e.sequence < p.sequence AND e.state = \(bind: queued))
        ORDER BY p.sequence LIMIT \(literal: limit)\(unsafeRaw: skipLocked))
      RETURNING id, sequence, kind, mailbox, serial, der, reason, attempts
      """
    ).all()
    var applied = 0
    for row in claimed.sorted(by: {
      ((try? $0.decode(column: "sequence", as: Int64.self)) ?? 0)
        < ((try? $1.decode(column: "sequence", as: Int64.self)) ?? 0)
    }) {
      let id = try row.decode(column: "id", as: UUID.self)
      let attempts = try row.decode(column: "attempts", as: Int.self)
      let change = PublicationChange(
        sequence: try row.decode(column: "sequence", as: Int64.self),
        kind: PublicationChange.Kind(rawValue: try row.decode(column: "kind", as: String.self))
          ?? .publish,
        mailbox: try row.decode(column: "mailbox", as: String.self),
        serial: try row.decode(column: "serial", as: String.self),
        certificate: Array(try row.decode(column: "der", as: Data.self)),
        reason: try row.decode(column: "reason", as: String.self))
      do {
        try await publisher.apply(change)
      } catch {
        try await failed(id, change, error: error, attempts: attempts, now: now)
        continue
      }
      try await sql.raw(
        """
        UPDATE publications SET state = \(bind: PublicationQueue.State.done.rawValue),
          done_at = \(bind: now), lease_until = NULL, last_error = NULL WHERE id = \(bind: id)
        """
      ).run()
      applied += 1
      logger.info(
        "publication applied",
        metadata: [
          "kind": "\(change.kind.rawValue)", "mailbox": "\(change.mailbox)",
          "serial": "\(change.serial)", "publisher": "\(publisher.name)",
        ])
    }
    return applied
  }

  /// A change that failed: tried again later, or set aside (audited).
  private func failed(
    _ id: UUID, _ change: PublicationChange, error: any Error, attempts: Int, now: Date
  ) async throws {
    let failure = error as? PublicationFailure
    let reason = String((failure?.reason ?? "\(error)").prefix(500))
    if failure?.isPermanent == true {
      let publisherName = publisher.name
      try await database.transaction { database in
        try await database.sql.raw(
          """
          UPDATE publications SET state = \(bind: PublicationQueue.State.setAside.rawValue),
            lease_until = NULL, last_error = \(bind: reason) WHERE id = \(bind: id)
          """
        ).run()
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.ca, action: .publicationSetAside, subject: change.serial,
            details: [
              "kind": change.kind.rawValue, "mailbox": change.mailbox, "reason": reason,
              "publisher": publisherName,
            ]),
          on: database, now: now)
      }
      logger.error(
        "publication set aside",
        metadata: [
          "mailbox": "\(change.mailbox)", "serial": "\(change.serial)", "why": "\(reason)",
        ])
      return
    }
    try await database.sql.raw(
      """
      UPDATE publications SET lease_until = NULL, last_error = \(bind: reason),
        next_attempt_at = \(bind: now.addingTimeInterval(Self.backoff(afterAttempts: attempts)))
      WHERE id = \(bind: id)
      """
    ).run()
    logger.warning(
      "publication failed; will retry",
      metadata: [
        "mailbox": "\(change.mailbox)", "serial": "\(change.serial)", "attempt": "\(attempts)",
        "error": "\(reason)",
      ])
  }

  /// Asks the worker to look now (after a change was queued).
  public nonisolated func nudge() {
    doorbell.ring()
  }

  /// Applies until cancelled: when nudged, and every poll interval.
  public func run() async {
    logger.notice("publication worker started", metadata: ["publisher": "\(publisher.name)"])
    while !Task.isCancelled {
      do {
        while try await applyDue() > 0 {}
      } catch {
        logger.backgroundFailure("publication worker could not read its queue", error)
      }
      await doorbell.wait(upTo: pollInterval)
    }
  }
}
