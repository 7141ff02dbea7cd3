public import FluentKit
public import Foundation
public import Logging
import MailsealCA
import MailsealModel
import MailsealStore
import X509

/// Issues approved requests: claims them with a lease (`FOR UPDATE SKIP
/// LOCKED` on PostgreSQL, so several instances never take the same one),
/// hands them to the ``Issuer`` (the embedded CA's pipeline by default),
/// and — in the transaction that stores each certificate — marks its
/// request issued and queues the pickup mail. A request is therefore
/// issued once: either its certificate and its new state are stored
/// together, or neither is and the lease runs out. An order the issuer
/// finishes later (`pending`) keeps its claim until the lease runs out and
/// is then handed to the issuer again, which looks it up.
public actor IssuanceWorker {
  let database: any Database
  let configuration: MailsealConfiguration
  let logger: Logger
  let mailQueued: @Sendable () -> Void
  /// How long a claim holds; a worker that dies frees its requests then.
  let lease: TimeInterval
  let batchSize: Int
  let pollInterval: Duration
  /// Makes the issuer when first needed (tests give their own); nil: the
  /// embedded CA of the installation.
  let makeIssuer: (@Sendable () async throws -> any Issuer)?
  private var issuer: (any Issuer)?
  private let doorbell = Doorbell()
  let metrics: MailsealMetrics?

  public init(
    database: any Database, configuration: MailsealConfiguration, logger: Logger,
    lease: TimeInterval = 120,
    batchSize: Int = 256, pollInterval: Duration = .seconds(5), metrics: MailsealMetrics? = nil,
    issuer makeIssuer: (@Sendable () async throws -> any Issuer)? = nil,
    mailQueued: @escaping @Sendable () -> Void = {}
  ) {
    self.makeIssuer = makeIssuer
    self.metrics = metrics
    self.database = database
    self.configuration = configuration
    self.logger = logger
    self.lease = lease
    self.batchSize = batchSize
    self.pollInterval = pollInterval
    self.mailQueued = mailQueued
  }

  /// The issuer: the given one, or the embedded CA of the installation.
  func currentIssuer() async throws -> any Issuer {
    if let issuer { return issuer }
    let made: any Issuer
    if let makeIssuer {
      made = try await makeIssuer()
    } else {
      let (authority, issuerID) = try await CAInstallation(
        database: database, configuration: configuration
      ).loadActiveAuthority()
      var service = IssuanceService(authority: authority, issuerID: issuerID, database: database)
      service.logger = logger
      made = EmbeddedIssuer(service: service)
    }
    issuer = made
    return made
  }

  /// Issues what is approved and unclaimed, a batch at a time; returns how
  /// many certificates were issued.
  @discardableResult
  public func issueDue(now: Date = Date()) async throws -> Int {
    // An upstream's revocations go on while issuance is paused.
    if makeIssuer != nil, let upstream = try await currentIssuer() as? UpstreamIssuer {
      try await sendRevocations(upstream, now: now)
    }
    guard try await !Settings(database: database).isIssuancePaused() else { return 0 }
    try await holdStaleValidations(now: now)
    // The issuer must be able to take orders before anything is claimed:
    // while the CA key's token is away, approved requests simply wait, and
    // nothing is recorded for them.
    let issuer = try await currentIssuer()
    try await issuer.ensureReady()
    // Only requests whose mailbox validation may still be relied on
    // (RequestRules.mailboxValidationFresh); the others wait for a fresh
    // login link.
    let validSince = now.addingTimeInterval(-RequestRules.mailboxValidationLifetime)
    let leaseUntil = now.addingTimeInterval(lease)
    let issuance = Store(database).issuance
    let ids = try await issuance.claimApproved(
      validSince: validSince, leaseUntil: leaseUntil, limit: batchSize, now: now)
    guard !ids.isEmpty else { return 0 }
    let started = ContinuousClock.now
    var requests = try await issuance.issuingRequests(ids)
    if !(issuer is UpstreamIssuer) {
      // Back to the embedded CA after an upstream: a request with an
      // unfinished order there is an admin's to decide, never issued twice.
      let open = try await Store(database).upstreamOrders.orders(of: requests.map(\.id))
        .filter { [.ordering, .pending, .notTaken].contains($0.state) }
      if !open.isEmpty {
        let upstream = UpstreamIssuer.heldElsewhere(open, now: now)
        for var order in open {
          order.state = .held
          order.lastError = order.requestID.flatMap { upstream[$0] }
          order.updatedAt = now
          try await Store(database).upstreamOrders.update(order)
        }
        for (requestID, reason) in upstream {
          try await UpstreamIssuer.hold(
            requestID, reason: reason, upstream: open.first { $0.requestID == requestID }!.upstream,
            database: database, logger: logger, now: now)
        }
        requests.removeAll { upstream[$0.id] != nil }
      }
    }
    var orders: [IssuanceOrder] = []
    var refused: [(IssuingRequest, any Error)] = []
    for request in requests {
      do {
        try request.checkRules(fourEyes: configuration.portal.fourEyes, now: now)
        let subject = try request.subject()
        var made: [IssuanceOrder]
        if let encryption = request.encryptionCSRDER {
          // Key escrow: a signing and an encryption certificate, from one
          // identity check, issued together.
          made = [
            IssuanceOrder(
              request: request.csrDER, subject: subject, requestID: request.id, purpose: .signing),
            IssuanceOrder(
              request: encryption, subject: subject, requestID: request.id, purpose: .encryption),
          ]
        } else {
          made = [IssuanceOrder(request: request.csrDER, subject: subject, requestID: request.id)]
        }
        for index in made.indices { made[index].number = request.number }
        orders += made
      } catch {
        refused.append((request, error))
      }
    }
    let results: [IssuanceOutcome]
    let configuration = self.configuration
    do {
      results = try await issuer.issue(orders, now: now) { database, stored in
        try await Self.markIssued(stored, on: database, configuration: configuration)
      }
    } catch let error as CAError where error.isCustodyFault {
      // The key went away mid-batch: what was signed is stored and issued;
      // the rest stays approved and is claimable again at once — only what
      // this claim still holds (another worker may have claimed a request
      // since).
      try await issuance.releaseClaims(ids, leaseUntil: leaseUntil)
      mailQueued()
      throw error
    }
    var issued = 0
    let stored = Date()
    let approvals = Dictionary(
      requests.compactMap { request in request.approvedAt.map { (request.id, $0) } },
      uniquingKeysWith: { first, _ in first })
    var pending = 0
    var held = 0
    var later: [Date: Set<UUID>] = [:]
    for (order, result) in zip(orders, results) {
      switch result {
      case .issued:
        issued += 1
        if let requestID = order.requestID, let approvedAt = approvals[requestID] {
          metrics?.issuanceLatency.record(
            .milliseconds(Int64(stored.timeIntervalSince(approvedAt) * 1000)))
        }
      case .pending(_, let retryAt):
        // Taken by the issuer: the claim holds until the lease runs out,
        // or until the issuer wants to be asked again.
        pending += 1
        if let retryAt, let requestID = order.requestID {
          later[retryAt, default: []].insert(requestID)
        }
      case .held:
        // Held for an admin (audited by the issuer): the request stays
        // approved and is not claimed again.
        held += 1
      case .refused(let error):
        // Both certificates of a pair are refused together: the request once.
        if let request = requests.first(where: { $0.id == order.requestID }),
          !refused.contains(where: { $0.0.id == request.id })
        {
          refused.append((request, error))
        }
      }
    }
    for (request, reason) in refused {
      try await refuse(request, because: reason, now: now)
    }
    for (retryAt, ids) in later {
      try await Store(database).upstreamOrders.extendClaims(
        Array(ids), leaseUntil: leaseUntil, until: retryAt)
    }
    if issued > 0 || !refused.isEmpty { mailQueued() }
    metrics?.issued.increment(by: Int64(issued))
    metrics?.issuanceRefused.increment(by: Int64(refused.count))
    metrics?.issuanceBatch.record(ContinuousClock.now - started)
    logger.info(
      "issued approved requests",
      metadata: [
        "issued": "\(issued)", "refused": "\(refused.count)", "pending": "\(pending)",
        "held": "\(held)",
        "issuer": "\(issuer.name)",
      ])
    return issued
  }

  /// Sends the revocations asked of the upstream CA (a certificate's, and
  /// an admin's of a certificate held back); each is recorded here once the
  /// upstream confirmed it, and asked again with back-off until then.
  func sendRevocations(_ upstream: UpstreamIssuer, now: Date) async throws {
    let store = Store(database)
    let due = try await store.upstreamRevocations.claimDue(
      now: now, until: now.addingTimeInterval(lease))
    let authority = RegistrationAuthority(
      database: database, configuration: configuration, logger: logger, mailQueued: mailQueued)
    for item in due {
      guard let record = try await store.certificates.find(item.certificateID),
        let reason = RevocationReason(name: item.reason)
      else { continue }
      if record.status == .revoked {
        try await store.upstreamRevocations.done(item.id, now: now)
        continue
      }
      let reference = try await store.upstreamOrders.orders(of: record.requestID.map { [$0] } ?? [])
        .first { $0.purpose == record.keyPurpose }?.reference
      do {
        try await upstream.connector.revoke(
          try Certificate(derEncoded: Array(record.der)), reference: reference, reason: reason)
        try await authority.certificates.recordRevocation(
          record, reason: reason, actor: item.requestedBy, now: now,
          details: ["upstream": upstream.name, "confirmedBy": "upstream"])
        try await store.upstreamRevocations.done(item.id, now: now)
      } catch {
        try await store.upstreamRevocations.failed(
          item.id, attempts: item.attempts + 1,
          next: now.addingTimeInterval(UpstreamIssuer.backOff(after: item.attempts + 1)),
          error: "\(error)")
        logger.warning(
          "the upstream CA has not confirmed a revocation yet",
          metadata: ["serial": "\(record.serial)", "error": "\(error)"])
      }
    }
    try await upstream.revokeHeld(now: now)
  }

  /// Approved requests whose mailbox validation grew older than 30 days
  /// (a long pause): they are not issued; the requester is told once, by
  /// mail, to open a fresh login link, which lets them be issued; the
  /// audit trail says so. One statement decides which are newly held, so
  /// two workers never tell twice.
  func holdStaleValidations(now: Date) async throws {
    let validSince = now.addingTimeInterval(-RequestRules.mailboxValidationLifetime)
    let configuration = self.configuration
    let held = try await Store(database).transaction { store in
      let rows = try await store.issuance.holdStale(validSince: validSince, now: now)
      var messages: [MailMessage] = []
      var events: [AuditEvent] = []
      for row in rows {
        let (number, mailbox) = (row.number, row.mailbox)
        let language = Language(rawValue: row.language) ?? .de
        messages.append(
          MailTemplates.issuanceHeld(
            number: number, mailbox: mailbox, portalURL: configuration.publicURL,
            from: configuration.mail.from, language: language))
        events.append(
          AuditEvent(
            actor: AuditEvent.ca, action: .issuanceHeld, subject: number,
            details: [
              "mailbox": mailbox, "reason": MailsealError.Code.mailboxValidationStale.rawValue,
            ]))
      }
      if !rows.isEmpty {
        try await Outbox.enqueue(
          messages, on: store.database, messageDomain: configuration.mail.domain, now: now)
        try await AuditTrail.append(events, on: store.database, now: now)
      }
      return rows.count
    }
    if held > 0 {
      mailQueued()
      logger.warning(
        "approved requests wait for a fresh mailbox validation",
        metadata: ["requests": "\(held)"])
    }
  }

  /// Inside the storing transaction: the requests become issued, their
  /// pickup links are made, the evidence's retention runs from each
  /// certificate's expiry, and the pickup mails are queued. A few statements
  /// per chunk, whatever its size.
  static func markIssued(
    _ stored: [StoredCertificate], on database: any Database, configuration: MailsealConfiguration
  )
    async throws
  {
    let issuance = Store(database).issuance
    let now = Date()
    let expires = now.addingTimeInterval(TimeInterval(configuration.portal.pickupDays) * 86_400)
    for chunk in stored.filter({ $0.requestID != nil }).chunked(into: 400) {
      let certificateIDs = try await issuance.certificateIDs(
        serials: chunk.map(\.certificate.prepared.serialHex))
      // A request that escrows its encryption key is issued with both of
      // its certificates, never with one (the service keeps them in one
      // chunk; a key lost between the two signatures leaves it approved).
      var byRequest: [UUID: (main: StoredCertificate?, encryption: StoredCertificate?)] = [:]
      for item in chunk {
        if item.purpose == .encryption {
          byRequest[item.requestID!, default: (nil, nil)].encryption = item
        } else {
          byRequest[item.requestID!, default: (nil, nil)].main = item
        }
      }
      let pairs = try await issuance.escrowing(Array(byRequest.keys))
      var tokens: [UUID: String] = [:]
      var issued: [IssuedRequest] = []
      for (requestID, certificates) in byRequest {
        guard let main = certificates.main,
          pairs.contains(requestID) == (certificates.encryption != nil)
        else { continue }
        guard let certificateID = certificateIDs[main.certificate.prepared.serialHex] else {
          throw IssuedTwice()
        }
        var encryptionID: UUID?
        if let encryption = certificates.encryption {
          guard let id = certificateIDs[encryption.certificate.prepared.serialHex] else {
            throw IssuedTwice()
          }
          encryptionID = id
        }
        let token = SecretToken.make()
        tokens[requestID] = token
        issued.append(
          IssuedRequest(
            requestID: requestID, certificateID: certificateID,
            encryptionCertificateID: encryptionID, pickupTokenHash: SecretToken.hash(token),
            evidenceRetainUntil: main.certificate.prepared.notAfter.addingTimeInterval(
              TimeInterval(configuration.portal.evidenceRetentionDays) * 86_400)))
      }
      guard !tokens.isEmpty else { continue }
      let recipients = try await issuance.markIssued(issued, pickupExpires: expires, now: now)
      let pickups = recipients.map { recipient in
        (
          number: recipient.number, mailbox: recipient.mailbox, token: tokens[recipient.id]!,
          language: Language(rawValue: recipient.language) ?? .de
        )
      }
      if configuration.publishes {
        // The certificates for encryption whose holder agreed (or all,
        // by the organisation's policy).
        let published = Set(
          recipients.filter { configuration.directory.publishes(consent: $0.publishConsent) }
            .map(\.id))
        try await PublicationQueue.enqueue(
          chunk.filter { published.contains($0.requestID!) && $0.purpose != .signing }.map {
            item in
            PublicationQueue.Item(
              kind: .publish, mailbox: item.certificate.prepared.subject.mailbox.address,
              serial: item.certificate.prepared.serialHex, certificate: item.certificate.der,
              reason: "issued")
          }, on: database, now: now)
      }
      // The mails are made on every core (nothing else runs while the last
      // chunk is stored).
      try await Outbox.enqueue(
        await Parallel.map(pickups) { pickup in
          MailTemplates.certificateReady(
            number: pickup.number, mailbox: pickup.mailbox,
            pickupURL: PortalPath.pickup.url(base: configuration.publicURL, pickup.token),
            days: configuration.portal.pickupDays,
            portalURL: configuration.publicURL, from: configuration.mail.from,
            language: pickup.language)
        },
        on: database, messageDomain: configuration.mail.domain, now: now)
    }
  }

  /// An approved request the CA will not issue (its key was certified for
  /// another mailbox or blocked meanwhile, a rule no longer holds, a lint
  /// failed): rejected with the reason, audited, and the requester told —
  /// in one transaction, like every other transition.
  func refuse(_ request: IssuingRequest, because error: any Error, now: Date) async throws {
    let reason = Self.reasonText(error)
    let code = (error as? CAError)?.code.rawValue ?? (error as? MailsealError)?.code.rawValue
    logger.error(
      "approved request could not be issued",
      metadata: ["number": "\(request.number)", "reason": "\(reason)"])
    let configuration = self.configuration
    try await Store(database).transaction { store in
      guard
        let recipient = try await store.issuance.refuseApproved(
          request.id, reason: reason, now: now)
      else { return }
      let language = Language(rawValue: recipient.language) ?? .de
      try await Outbox.enqueue(
        MailTemplates.issuanceRefused(
          number: request.number, mailbox: request.mailbox, reason: Self.mailReason(error),
          from: configuration.mail.from, language: language),
        on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.ca, action: .issuanceRefused, subject: request.number,
          details: ["mailbox": request.mailbox, "reason": reason, "code": code ?? "other"]),
        on: store.database, now: now)
    }
  }

  /// The reason as operators read it (English, precise).
  static func reasonText(_ error: any Error) -> String {
    switch error {
    case let error as CAError: return error.message
    case let error as MailsealError: return error.detail(.en)
    default: return "\(error)"
    }
  }

  /// The reason as the requester's mail says it (a catalogue sentence).
  static func mailReason(_ error: any Error) -> String {
    switch error {
    case let error as CAError
    where error.code == .keyAlreadyCertified || error.code == .keyCompromised:
      return "@mail_issuance_refused_key_taken"
    case let error as MailsealError:
      return "@problem_\(Catalogue.idPart(error.code.rawValue))"
    default:
      return "@mail_issuance_refused_other"
    }
  }

  /// Asks the worker to look now (after an approval).
  public nonisolated func nudge() {
    doorbell.ring()
  }

  /// Issues until cancelled: when nudged, and every poll interval.
  public func run() async {
    logger.notice("issuance worker started")
    while !Task.isCancelled {
      do {
        while try await issueDue() > 0 {}
      } catch let error as CAError where error.isCustodyFault {
        CustodyFaultLog.shared.note(error, logger: logger)
      } catch {
        logger.backgroundFailure("issuance worker", error)
      }
      await doorbell.wait(upTo: pollInterval)
    }
  }
}

extension IssuingRequest {
  /// The rules of the desk, checked again at issuance: they held at
  /// approval, and must still hold now.
  func checkRules(fourEyes: Bool, now: Date) throws {
    // RequestRules.notOwnMailbox, decided by the query that loaded the
    // request (every address the deciding accounts ever had).
    if decidedByHolder { throw MailsealError(.ownMailbox) }
    try RequestRules.fourEyes(enabled: fourEyes, verifiedBy: verifiedBy, approvedBy: approvedBy)
    try RequestRules.mailboxValidationFresh(mailboxValidatedAt, now: now)
    if let evidenceCheckedAt {
      try RequestRules.evidenceFresh(checkedAt: evidenceCheckedAt, now: now)
    }
  }

  /// The validated subject, from the names the request holds.
  func subject() throws -> ValidatedSubject {
    switch CertificateRequest.MailboxType(rawValue: mailboxType) {
    case .personal:
      return try .person(mailbox: mailbox, givenName: givenName ?? "", surname: surname ?? "")
    case .role:
      return try .pseudonym(mailbox: mailbox, name: pseudonym ?? "")
    case nil:
      throw UnknownMailboxType(description: "unknown mailbox type \(mailboxType)")
    }
  }
}

struct UnknownMailboxType: Error, CustomStringConvertible {
  let description: String
}
