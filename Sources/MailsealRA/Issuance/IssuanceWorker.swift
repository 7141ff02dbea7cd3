public import FluentKit
public import Foundation
public import Logging
import MailsealCA
import MailsealModel
import MailsealStore
import SQLKit

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
    guard try await !Settings(database: database).isIssuancePaused() else { return 0 }
    try await holdStaleValidations(now: now)
    // The issuer must be able to take orders before anything is claimed:
    // while the CA key's token is away, approved requests simply wait, and
    // nothing is recorded for them.
    let issuer = try await currentIssuer()
    try await issuer.ensureReady()
    let sql = try database.sql
    let skipLocked = sql.dialect.name == "postgresql" ? " FOR UPDATE SKIP LOCKED" : ""
    // Only requests whose mailbox validation may still be relied on
    // (RequestRules.mailboxValidationFresh); the others wait for a fresh
    // login link.
    let validSince = now.addingTimeInterval(-RequestRules.mailboxValidationLifetime)
    let leaseUntil = now.addingTimeInterval(lease)
    let claimed = try await sql.raw(
      """
      UPDATE certificate_requests SET issuing_lease_until = \(bind: leaseUntil)
      WHERE id IN (
        SELECT id FROM certificate_requests
        WHERE state = \(CertificateRequestRecord.State.approved) AND (issuing_lease_until IS NULL OR issuing_lease_until < \(bind: now))
          AND mailbox_validated_at >= \(bind: validSince)
        ORDER BY approved_at LIMIT \(literal: batchSize)\(unsafeRaw: skipLocked))
      RETURNING id
      """
    ).all()
    guard !claimed.isEmpty else { return 0 }
    let started = ContinuousClock.now
    let ids = try claimed.map { try $0.decode(column: "id", as: UUID.self) }
    let requests = try await IssuingRequest.load(ids, on: sql)
    var orders: [IssuanceOrder] = []
    var refused: [(IssuingRequest, any Error)] = []
    for request in requests {
      do {
        try request.checkRules(fourEyes: configuration.portal.fourEyes, now: now)
        let subject = try request.subject()
        if let encryption = request.encryptionCSRDER {
          // Key escrow: a signing and an encryption certificate, from one
          // identity check, issued together.
          orders.append(
            IssuanceOrder(
              request: request.csrDER, subject: subject, requestID: request.id, purpose: .signing))
          orders.append(
            IssuanceOrder(
              request: encryption, subject: subject, requestID: request.id, purpose: .encryption))
        } else {
          orders.append(
            IssuanceOrder(request: request.csrDER, subject: subject, requestID: request.id))
        }
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
      try await sql.raw(
        """
        UPDATE certificate_requests SET issuing_lease_until = NULL
        WHERE id IN (\(binds: ids)) AND state = \(CertificateRequestRecord.State.approved)
          AND issuing_lease_until = \(bind: leaseUntil)
        """
      ).run()
      mailQueued()
      throw error
    }
    var issued = 0
    let stored = Date()
    let approvals = Dictionary(
      requests.compactMap { request in request.approvedAt.map { (request.id, $0) } },
      uniquingKeysWith: { first, _ in first })
    var pending = 0
    for (order, result) in zip(orders, results) {
      switch result {
      case .issued:
        issued += 1
        if let requestID = order.requestID, let approvedAt = approvals[requestID] {
          metrics?.issuanceLatency.record(
            .milliseconds(Int64(stored.timeIntervalSince(approvedAt) * 1000)))
        }
      case .pending:
        // Taken by the issuer: the claim holds until the lease runs out.
        pending += 1
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
    if issued > 0 || !refused.isEmpty { mailQueued() }
    metrics?.issued.increment(by: Int64(issued))
    metrics?.issuanceRefused.increment(by: Int64(refused.count))
    metrics?.issuanceBatch.record(ContinuousClock.now - started)
    logger.info(
      "issued approved requests",
      metadata: [
        "issued": "\(issued)", "refused": "\(refused.count)", "pending": "\(pending)",
        "issuer": "\(issuer.name)",
      ])
    return issued
  }

  /// Approved requests whose mailbox validation grew older than 30 days
  /// (a long pause): they are not issued; the requester is told once, by
  /// mail, to open a fresh login link, which lets them be issued; the
  /// audit trail says so. One statement decides which are newly held, so
  /// two workers never tell twice.
  func holdStaleValidations(now: Date) async throws {
    let validSince = now.addingTimeInterval(-RequestRules.mailboxValidationLifetime)
    let configuration = self.configuration
    let held = try await database.transaction { database in
      let rows = try await database.sql.raw(
        """
        UPDATE certificate_requests SET issuance_held_at = \(bind: now), updated_at = \(bind: now)
        WHERE state = \(CertificateRequestRecord.State.approved) AND mailbox_validated_at < \(bind: validSince) AND issuance_held_at IS NULL
        RETURNING number, mailbox, language
        """
      ).all()
      var messages: [MailMessage] = []
      var events: [AuditEvent] = []
      for row in rows {
        let number = try row.decode(column: "number", as: String.self)
        let mailbox = try row.decode(column: "mailbox", as: String.self)
        let language =
          Language(rawValue: try row.decode(column: "language", as: String.self)) ?? .de
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
          messages, on: database, messageDomain: configuration.mail.domain, now: now)
        try await AuditTrail.append(events, on: database, now: now)
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
    let sql = try database.sql
    let now = Date()
    let expires = now.addingTimeInterval(TimeInterval(configuration.portal.pickupDays) * 86_400)
    for chunk in stored.filter({ $0.requestID != nil }).chunked(into: 400) {
      let serials = chunk.map(\.certificate.prepared.serialHex)
      var certificateIDs: [String: UUID] = [:]
      for row in try await sql.select().column("id").column("serial").from("certificates")
        .where(SQLAmong("serial", serials)).all()
      {
        certificateIDs[try row.decode(column: "serial", as: String.self)] = try row.decode(
          column: "id", as: UUID.self)
      }
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
      var pairs: Set<UUID> = []
      for row in try await sql.select().column("id").from("certificate_requests")
        .where(SQLAmong("id", Array(byRequest.keys)))
        .where("encryption_csr_der", .isNot, SQLLiteral.null).all()
      {
        pairs.insert(try row.decode(column: "id", as: UUID.self))
      }
      var tokens: [UUID: String] = [:]
      var certificateCase = SQLCaseBuilder()
      var encryptionCase = SQLCaseBuilder()
      var tokenCase = SQLCaseBuilder()
      var retentionCase = SQLCaseBuilder()
      var retainUntil: [UUID: Date] = [:]
      for (requestID, certificates) in byRequest {
        guard let main = certificates.main,
          pairs.contains(requestID) == (certificates.encryption != nil)
        else { continue }
        guard let certificateID = certificateIDs[main.certificate.prepared.serialHex] else {
          throw IssuedTwice()
        }
        certificateCase.when(requestID, then: certificateID)
        if let encryption = certificates.encryption {
          guard let encryptionID = certificateIDs[encryption.certificate.prepared.serialHex] else {
            throw IssuedTwice()
          }
          encryptionCase.when(requestID, then: encryptionID)
        }
        let token = SecretToken.make()
        tokens[requestID] = token
        tokenCase.when(requestID, then: SecretToken.hash(token))
        let retain = main.certificate.prepared.notAfter.addingTimeInterval(
          TimeInterval(configuration.portal.evidenceRetentionDays) * 86_400)
        retainUntil[requestID] = retain
        retentionCase.when(requestID, then: retain)
      }
      guard !tokens.isEmpty else { continue }
      let encryptionColumn =
        encryptionCase.isEmpty
        ? "" as SQLQueryString
        : "encryption_certificate_id = \(encryptionCase.expression(on: "id")),"
      let requestIDs = Array(tokens.keys)
      let updated = try await sql.raw(
        """
        UPDATE certificate_requests SET state = \(CertificateRequestRecord.State.issued),
          certificate_id = \(certificateCase.expression(on: "id")), \(encryptionColumn)
          pickup_token_hash = \(tokenCase.expression(on: "id")),
          pickup_expires_at = \(bind: expires), issuing_lease_until = NULL, updated_at = \(bind: now)
        WHERE \(SQLAmong("id", requestIDs)) AND state = \(CertificateRequestRecord.State.approved) RETURNING id
        """
      ).all()
      // Another worker stored one of them first (after this one's lease
      // ran out): the whole transaction is undone, so none of these
      // certificates is kept, and the others are issued again.
      guard updated.count == requestIDs.count else { throw IssuedTwice() }
      // A renewal's evidence belongs to the earlier request it reuses: its
      // retention now runs from the new certificate's expiry.
      var evidenceOwners: [UUID: UUID] = [:]
      for row in try await sql.select().columns("id", "evidence_request_id")
        .from("certificate_requests").where(SQLAmong("id", requestIDs))
        .where("evidence_request_id", .isNot, SQLLiteral.null).all()
      {
        evidenceOwners[try row.decode(column: "id", as: UUID.self)] = try row.decode(
          column: "evidence_request_id", as: UUID.self)
      }
      if !evidenceOwners.isEmpty {
        var ownerCase = SQLCaseBuilder()
        for (request, owner) in evidenceOwners {
          guard let retain = retainUntil[request] else { continue }
          ownerCase.when(owner, then: retain)
        }
        try await sql.raw(
          """
          UPDATE identity_evidence SET retain_until = \(ownerCase.expression(on: "request_id"))
          WHERE \(SQLAmong("request_id", Array(Set(evidenceOwners.values))))
          """
        ).run()
      }
      try await sql.raw(
        """
        UPDATE identity_evidence SET retain_until = \(retentionCase.expression(on: "request_id"))
        WHERE \(SQLAmong("request_id", requestIDs))
        """
      ).run()
      let recipients = try await sql.select().columns("id", "number", "mailbox", "language")
        .from("certificate_requests").where(SQLAmong("id", requestIDs)).all()
      let pickups = try recipients.map { row in
        (
          number: try row.decode(column: "number", as: String.self),
          mailbox: try row.decode(column: "mailbox", as: String.self),
          token: tokens[try row.decode(column: "id", as: UUID.self)]!,
          language: Language(rawValue: try row.decode(column: "language", as: String.self)) ?? .de
        )
      }
      if configuration.publishes {
        try await PublicationQueue.enqueue(
          chunk.filter { tokens[$0.requestID!] != nil }.map { item in
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

  struct IssuedTwice: Error {}

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
    try await database.transaction { database in
      let updated = try await database.sql.raw(
        """
        UPDATE certificate_requests SET state = \(CertificateRequestRecord.State.rejected), rejection_reason = \(bind: String(reason.prefix(500))),
          issuing_lease_until = NULL, updated_at = \(bind: now) WHERE id = \(bind: request.id) AND state = \(CertificateRequestRecord.State.approved)
        RETURNING language
        """
      ).all()
      guard let row = updated.first else { return }
      let language = Language(rawValue: try row.decode(column: "language", as: String.self)) ?? .de
      try await Outbox.enqueue(
        MailTemplates.issuanceRefused(
          number: request.number, mailbox: request.mailbox, reason: Self.mailReason(error),
          from: configuration.mail.from, language: language),
        on: database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.ca, action: .issuanceRefused, subject: request.number,
          details: ["mailbox": request.mailbox, "reason": reason, "code": code ?? "other"]),
        on: database, now: now)
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
      return "@mail.issuance-refused.key-taken"
    case let error as MailsealError:
      return "@problem.\(error.code.rawValue)"
    default:
      return "@mail.issuance-refused.other"
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

/// What the worker needs of a claimed request, read in one query without
/// building Fluent models (whose reflection costs more than the query).
struct IssuingRequest: Sendable {
  let id: UUID
  let number: String
  let mailbox: String
  let mailboxType: String
  let givenName: String?
  let surname: String?
  let pseudonym: String?
  let csrDER: [UInt8]
  /// Key escrow: the encryption key's request, issued beside the signing one.
  let encryptionCSRDER: [UInt8]?
  let approvedAt: Date?
  let mailboxValidatedAt: Date
  let verifiedBy: UUID?
  let approvedBy: UUID?
  /// Whether the account that checked the ID or approved has (or had)
  /// the request's mailbox as its address (``StaffAddresses`` in the store).
  let decidedByHolder: Bool
  /// When the identity evidence it rests on was checked (its own, or for a
  /// renewal the earlier request's).
  let evidenceCheckedAt: Date?

  static func load(_ ids: [UUID], on sql: any SQLDatabase) async throws -> [IssuingRequest] {
    var requests: [IssuingRequest] = []
    for chunk in ids.chunked(into: 500) {
      for row in try await sql.raw(
        """
        SELECT r.id, r.number, r.mailbox, r.mailbox_type, r.given_name, r.surname, r.pseudonym,
          r.csr_der, r.encryption_csr_der, r.approved_at, r.mailbox_validated_at, r.verified_by, r.approved_by,
          (EXISTS (SELECT 1 FROM operators decider WHERE decider.id IN (r.approved_by, r.verified_by)
              AND decider.email = r.mailbox)
            OR EXISTS (SELECT 1 FROM operator_addresses held WHERE held.operator_id IN (r.approved_by, r.verified_by)
              AND held.address = r.mailbox)) AS decided_by_holder,
          evidence.checked_at AS evidence_checked_at
        FROM certificate_requests r
        LEFT JOIN identity_evidence evidence
          ON evidence.request_id = COALESCE(r.evidence_request_id, r.id)
        WHERE r.id IN (\(binds: Array(chunk))) ORDER BY r.approved_at
        """
      ).all() {
        requests.append(
          IssuingRequest(
            id: try row.decode(column: "id", as: UUID.self),
            number: try row.decode(column: "number", as: String.self),
            mailbox: try row.decode(column: "mailbox", as: String.self),
            mailboxType: try row.decode(column: "mailbox_type", as: String.self),
            givenName: try row.decode(column: "given_name", as: String?.self),
            surname: try row.decode(column: "surname", as: String?.self),
            pseudonym: try row.decode(column: "pseudonym", as: String?.self),
            csrDER: Array(try row.decode(column: "csr_der", as: Data.self)),
            encryptionCSRDER: try row.decode(column: "encryption_csr_der", as: Data?.self).map {
              Array($0)
            },
            approvedAt: try row.decode(column: "approved_at", as: Date?.self),
            mailboxValidatedAt: try row.decode(column: "mailbox_validated_at", as: Date.self),
            verifiedBy: try row.decode(column: "verified_by", as: UUID?.self),
            approvedBy: try row.decode(column: "approved_by", as: UUID?.self),
            decidedByHolder: try row.decode(column: "decided_by_holder", as: Bool.self),
            evidenceCheckedAt: try row.decode(column: "evidence_checked_at", as: Date?.self)))
      }
    }
    return requests
  }

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
    switch CertificateRequestRecord.MailboxType(rawValue: mailboxType) {
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
