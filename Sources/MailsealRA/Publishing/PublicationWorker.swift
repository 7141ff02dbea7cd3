public import FluentKit
public import Foundation
public import Logging
import MailsealModel
import MailsealStore

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
  /// With it, each change is checked against the present before it is
  /// applied (see ``applyDue(now:limit:)``); without (tests), applied as
  /// queued.
  let configuration: MailsealConfiguration?
  private let doorbell = Doorbell()

  public init(
    database: any Database, publisher: any Publisher, logger: Logger, lease: TimeInterval = 300,
    pollInterval: Duration = .seconds(5), configuration: MailsealConfiguration? = nil
  ) {
    self.configuration = configuration
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
  /// how many are done (applied, or found no longer wanted).
  @discardableResult
  public func applyDue(now: Date = Date(), limit: Int = 100) async throws -> Int {
    let claimed = try await Store(database).publications.claimDue(
      now: now, lease: lease, limit: limit)
    var applied = 0
    var chains: [UUID: [[UInt8]]] = [:]
    for item in claimed.sorted(by: { $0.change.sequence < $1.change.sequence }) {
      let (id, attempts) = (item.id, item.attempts)
      var change = item.change
      do {
        // Changes may have been queued from what was read a moment before
        // (a sync, a consent beside a revocation): one that no longer
        // matches whether the certificate should be published now is
        // done without touching the directory — so every order of them
        // ends with the directory holding what it should.
        if let configuration,
          try await DirectoryService(
            authority: RegistrationAuthority(
              database: database, configuration: configuration, logger: logger)
          ).shouldBePublished(serial: change.serial, now: now) != (change.kind == .publish)
        {
          try await Store(database).publications.markDone(id, now: max(now, Date()))
          logger.info(
            "publication skipped: no longer what should be there",
            metadata: ["kind": "\(change.kind.rawValue)", "serial": "\(change.serial)"])
          applied += 1
          continue
        }
        change.chain = try await chain(of: change.serial, &chains)
        try await publisher.apply(change)
      } catch {
        try await failed(id, change, error: error, attempts: attempts, now: now)
        continue
      }
      // When it was applied (the round's time, or later).
      try await Store(database).publications.markDone(id, now: max(now, Date()))
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

  /// The issuing CA(s) and root of certificate `serial` (DER), by issuer.
  private func chain(of serial: String, _ known: inout [UUID: [[UInt8]]]) async throws
    -> [[UInt8]]
  {
    let store = Store(database)
    guard let certificate = try await store.certificates.find(serial: serial) else { return [] }
    if let chain = known[certificate.issuerID] { return chain }
    let chain = try await store.issuers.chain(from: certificate.issuerID).map {
      Array($0.certificateDER)
    }
    known[certificate.issuerID] = chain
    return chain
  }

  /// A change that failed: tried again later, or set aside (audited).
  private func failed(
    _ id: UUID, _ change: PublicationChange, error: any Error, attempts: Int, now: Date
  ) async throws {
    let failure = error as? PublicationFailure
    let reason = String((failure?.reason ?? "\(error)").prefix(500))
    if failure?.isPermanent == true {
      let publisherName = publisher.name
      try await Store(database).transaction { store in
        try await store.publications.setAside(id, reason: reason)
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.ca, action: .publicationSetAside, subject: change.serial,
            details: [
              "kind": change.kind.rawValue, "mailbox": change.mailbox, "reason": reason,
              "publisher": publisherName,
            ]),
          on: store.database, now: now)
      }
      logger.error(
        "publication set aside",
        metadata: [
          "mailbox": "\(change.mailbox)", "serial": "\(change.serial)", "why": "\(reason)",
        ])
      return
    }
    try await Store(database).publications.retry(
      id, reason: reason, next: now.addingTimeInterval(Self.backoff(afterAttempts: attempts)))
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
