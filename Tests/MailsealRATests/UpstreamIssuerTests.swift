import Crypto
import FluentKit
import Foundation
import Logging
import MailsealCA
import MailsealModel
import Synchronization
import Testing
import UpstreamTestSupport
import X509

@testable import MailsealRA
@testable import MailsealStore

/// An upstream of the test's own behind the connector seam: it issues from
/// its own CA, keeps what it issued by reference (so that a look-up finds
/// it), and fails as each test tells it to.
final class ScriptedUpstream: UpstreamConnector {
  enum Fault: Sendable, Equatable {
    /// 5xx/429: nothing ordered.
    case unavailable(retryAfter: TimeInterval?)
    /// Issued, then the connection closed before the answer.
    case lostAfterIssuing
    /// Taken; collectable at the next look-up.
    case pending
    case wrongKey
    case wrongMailbox
    case refuse
  }

  struct State {
    var faults: [Fault] = []
    /// reference → what the upstream issued.
    var issued: [String: [UInt8]] = [:]
    var placed = 0
    var resumed = 0
    var settled: [String?] = []
    var revoked: [(String, RevocationReason)] = []
    /// Revocations to refuse before one is accepted.
    var refuseRevocations = 0
    /// Look-ups that find no connection before one gets through.
    var unreachableLookUps = 0
  }

  let ca: UpstreamTestCA
  let name: String
  let state = Mutex(State())

  init(ca: UpstreamTestCA, name: String = "scripted", faults: [Fault] = []) {
    self.ca = ca
    self.name = name
    state.withLock { $0.faults = faults }
  }

  func ensureReady() async throws {}

  func prepare(_ order: UpstreamOrderRequest) -> (reference: String?, progress: Data?) {
    ("mailseal-\(order.number)-\(order.purpose.rawValue)", nil)
  }

  func place(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    let fault = state.withLock { state -> Fault? in
      state.placed += 1
      return state.faults.isEmpty ? nil : state.faults.removeFirst()
    }
    let reference = order.record.reference!
    func issue(_ mailbox: String?, _ key: Certificate.PublicKey?) throws -> [UInt8] {
      let der = try ca.issue(
        csr: order.csrDER, for: order.subject, mailbox: mailbox, key: key
      ).derBytes
      state.withLock { $0.issued[reference] = der }
      return der
    }
    switch fault {
    case .unavailable(let retryAfter):
      throw UpstreamUnavailable("HTTP 429", retryAfter: retryAfter, nothingTaken: true)
    case .lostAfterIssuing:
      _ = try issue(nil, nil)
      throw UpstreamUnavailable("the connection closed before the answer")
    case .pending:
      _ = try issue(nil, nil)
      return .pending(reference: reference, progress: nil, retryAfter: 30)
    case .wrongKey:
      return .certificate(
        try issue(nil, .init(P256.Signing.PrivateKey().publicKey)), reference: reference,
        progress: nil)
    case .wrongMailbox:
      return .certificate(
        try issue("someone.else@example.edu", nil), reference: reference, progress: nil)
    case .refuse:
      return .refused("the domain is not validated for this organisation")
    case nil:
      return .certificate(try issue(nil, nil), reference: reference, progress: nil)
    }
  }

  func resume(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    if state.withLock({ state in
      defer { state.unreachableLookUps = max(0, state.unreachableLookUps - 1) }
      return state.unreachableLookUps > 0
    }) {
      throw UpstreamUnavailable("connection refused", nothingTaken: true)
    }
    let found = state.withLock { state -> [UInt8]? in
      state.resumed += 1
      return state.issued[order.record.reference ?? ""]
    }
    guard let found else {
      return .unknown("no order \(order.record.reference ?? "?") at the upstream")
    }
    return .certificate(found, reference: order.record.reference, progress: nil)
  }

  func settle(_ order: UpstreamOrderRequest, certificate: Certificate, refusal: String?)
    async throws
  {
    state.withLock { $0.settled.append(refusal) }
  }

  func revoke(_ certificate: Certificate, reference: String?, reason: RevocationReason) async throws
  {
    try state.withLock { state in
      if state.refuseRevocations > 0 {
        state.refuseRevocations -= 1
        throw UpstreamUnavailable("HTTP 503")
      }
      state.revoked.append((reference ?? "", reason))
    }
  }
}

@Suite(
  "An upstream CA issues: recorded before sent, looked up never sent twice, delivered only as validated"
)
struct UpstreamIssuerTests {
  /// An approved request and a worker whose issuer is the upstream.
  static func approved(
    _ installation: RAInstallation, mailbox: String = "zoe@example.edu",
    by approver: Principal? = nil
  ) async throws -> CertificateRequest {
    let anna: Principal
    if let approver {
      anna = approver
    } else {
      anna = try await installation.staff("anna@example.edu")
    }
    let request = try await installation.submit(mailbox)
    _ = try await installation.authority.desk.recordEvidence(
      number: request.number, RAInstallation.evidence(), by: anna)
    return try await installation.authority.desk.approve(number: request.number, by: anna)
  }

  static func worker(
    _ installation: RAInstallation, _ connector: any UpstreamConnector, ca: UpstreamTestCA
  ) throws -> IssuanceWorker {
    try worker(installation, connector, trust: try ca.trust)
  }

  static func worker(
    _ installation: RAInstallation, _ connector: any UpstreamConnector, trust: UpstreamTrust
  ) throws -> IssuanceWorker {
    let issuer = UpstreamIssuer(
      connector: connector, trust: trust, concurrency: 8, database: installation.database,
      logger: RAInstallation.logger)
    return IssuanceWorker(
      database: installation.database, configuration: installation.configuration,
      logger: RAInstallation.logger, lease: 120, issuer: { issuer })
  }

  static func request(_ installation: RAInstallation, _ id: UUID) async throws
    -> CertificateRequestRecord
  {
    try #require(try await CertificateRequestRecord.find(id, on: installation.database))
  }

  static func orders(_ installation: RAInstallation, _ id: UUID) async throws -> [UpstreamOrder] {
    try await Store(installation.database).upstreamOrders.orders(of: [id])
  }

  static func audit(_ installation: RAInstallation, _ action: AuditAction) async throws
    -> [AuditRecord]
  {
    try await AuditTrail.search(
      actor: nil, action: action.rawValue, subject: nil, before: nil, limit: 20,
      on: installation.database)
  }

  @Test(
    "issued by the upstream: stored with the upstream's chain, the request issued, the pickup mail queued, audited"
  )
  func delivered() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca)
      let request = try await Self.approved(installation)
      let worker = try Self.worker(installation, upstream, ca: ca)
      let mails = try await OutboxMessageRecord.query(on: installation.database).count()
      #expect(try await worker.issueDue() == 1)
      #expect(try await worker.issueDue() == 0)
      let issued = try await Self.request(installation, request.id)
      #expect(issued.state == .issued)
      let certificateID = try #require(issued.certificateID)
      let certificate = try #require(
        try await Store(installation.database).certificates.find(certificateID))
      let parsed = try Certificate(derEncoded: Array(certificate.der))
      #expect(parsed.issuer == ca.issuing.subject)
      // Its issuer and the root kept as the upstream's, linked for the PKCS#12.
      let issuer = try #require(
        try await Store(installation.database).issuers.find(certificate.issuerID))
      #expect(issuer.role == .upstream && issuer.keyReference == nil)
      let parentID = try #require(issuer.parentID)
      let root = try #require(try await Store(installation.database).issuers.find(parentID))
      #expect(root.certificateDER == Data(ca.root.derBytes))
      let pickup = try await installation.authority.pickups.pickup(of: try issued.value)
      #expect(pickup.chain.map(\.id) == [issuer.id, root.id])
      #expect(try await Self.orders(installation, request.id).map(\.state) == [.issued])
      #expect(upstream.state.withLock { ($0.placed, $0.settled) } == (1, [nil]))
      let events = try await Self.audit(installation, .certificateIssued)
      #expect(events.count == 1)
      #expect(events.first?.details.contains("scripted") == true)
      #expect(try await OutboxMessageRecord.query(on: installation.database).count() == mails + 1)
    }
  }

  @Test(
    "a connection closed after the upstream issued: looked up, never ordered again — one certificate at the upstream"
  )
  func lostAnswer() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca, faults: [.lostAfterIssuing])
      let request = try await Self.approved(installation)
      let worker = try Self.worker(installation, upstream, ca: ca)
      let now = Date()
      #expect(try await worker.issueDue(now: now) == 0)
      let waiting = try await Self.orders(installation, request.id)
      #expect(waiting.map(\.state) == [.ordering])
      #expect(waiting.first?.lastError?.contains("closed") == true)
      #expect(try await Self.request(installation, request.id).state == .approved)
      // Asked after once the back-off ran out: looked up, not ordered.
      #expect(try await worker.issueDue(now: now.addingTimeInterval(16)) == 1)
      #expect(upstream.state.withLock { ($0.placed, $0.resumed, $0.issued.count) } == (1, 1, 1))
      #expect(try await Self.request(installation, request.id).state == .issued)
    }
  }

  @Test("429 with Retry-After: the request waits, unasked, until then; nothing lost")
  func retryAfter() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca, faults: [.unavailable(retryAfter: 300)])
      let request = try await Self.approved(installation)
      let worker = try Self.worker(installation, upstream, ca: ca)
      let now = Date()
      #expect(try await worker.issueDue(now: now) == 0)
      #expect(try await Self.request(installation, request.id).issuingLeaseUntil != nil)
      // Past the lease (120 s), before Retry-After (300 s): not asked.
      #expect(try await worker.issueDue(now: now.addingTimeInterval(200)) == 0)
      #expect(upstream.state.withLock { $0.placed + $0.resumed } == 1)
      #expect(try await worker.issueDue(now: now.addingTimeInterval(301)) == 1)
      // The 429 took nothing: ordered again, not looked up.
      #expect(upstream.state.withLock { ($0.placed, $0.resumed, $0.issued.count) } == (2, 0, 1))
    }
  }

  @Test(
    "the wrong key or the wrong mailbox: not delivered, held for an admin with the reason, never claimed again; the upstream told"
  )
  func held() async throws {
    for fault in [ScriptedUpstream.Fault.wrongKey, .wrongMailbox] {
      try await RAInstallation.with { installation in
        let ca = try UpstreamTestCA()
        let upstream = ScriptedUpstream(ca: ca, faults: [fault])
        let request = try await Self.approved(installation)
        let worker = try Self.worker(installation, upstream, ca: ca)
        let now = Date()
        #expect(try await worker.issueDue(now: now) == 0)
        let held = try await Self.request(installation, request.id)
        #expect(held.state == .approved && held.upstreamHeldAt != nil)
        let reason = try #require(held.upstreamHeldReason)
        #expect(reason.contains(fault == .wrongKey ? "wrong-key" : "wrong-mailbox"), "\(reason)")
        let orders = try await Self.orders(installation, request.id)
        #expect(orders.map(\.state) == [.held] && orders.first?.certificateDER != nil)
        #expect(upstream.state.withLock { $0.settled.count == 1 && $0.settled[0] != nil })
        #expect(try await Self.audit(installation, .upstreamHeld).count == 1)
        #expect(try await worker.issueDue(now: now.addingTimeInterval(3600)) == 0)
        #expect(upstream.state.withLock { $0.placed + $0.resumed } == 1)
        #expect(try await CertificateRecord.query(on: installation.database).count() == 0)
        let list = try await Store(installation.database).upstreamOrders.held()
        #expect(list.map(\.0.id) == [request.id])
      }
    }
  }

  @Test(
    "refused by the upstream: the request rejected with the upstream's reason, the requester told")
  func refused() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca, faults: [.refuse])
      let request = try await Self.approved(installation)
      let worker = try Self.worker(installation, upstream, ca: ca)
      let mails = try await OutboxMessageRecord.query(on: installation.database).count()
      #expect(try await worker.issueDue() == 0)
      let rejected = try await Self.request(installation, request.id)
      #expect(rejected.state == .rejected)
      #expect(rejected.rejectionReason?.contains("not validated") == true)
      #expect(try await OutboxMessageRecord.query(on: installation.database).count() == mails + 1)
      #expect(try await Self.orders(installation, request.id).map(\.state) == [.refused])
    }
  }

  @Test(
    "a pending order, then another upstream configured: held with the old order's details, never ordered at the new one"
  )
  func changedUpstream() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let first = ScriptedUpstream(ca: ca, faults: [.pending])
      let request = try await Self.approved(installation)
      let now = Date()
      #expect(try await Self.worker(installation, first, ca: ca).issueDue(now: now) == 0)
      #expect(try await Self.orders(installation, request.id).map(\.state) == [.pending])
      let second = ScriptedUpstream(ca: ca, name: "another")
      #expect(
        try await Self.worker(installation, second, ca: ca).issueDue(
          now: now.addingTimeInterval(31)) == 0)
      #expect(second.state.withLock { $0.placed + $0.resumed } == 0)
      let held = try await Self.request(installation, request.id)
      #expect(held.upstreamHeldReason?.contains("no longer the upstream") == true)
      #expect(held.upstreamHeldReason?.contains("mailseal-\(request.number)") == true)
    }
  }

  @Test(
    "a revocation is asked of the upstream: requested at once (key blocked, audited), revoked here once the upstream confirms, asked again until then"
  )
  func revocation() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca)
      let request = try await Self.approved(installation)
      let worker = try Self.worker(installation, upstream, ca: ca)
      let now = Date()
      #expect(try await worker.issueDue(now: now) == 1)
      let certificateID = try #require(
        try await Self.request(installation, request.id).certificateID)
      let certificates = installation.authority.certificates
      let issued = try #require(try await certificates.certificate(id: certificateID))
      upstream.state.withLock { $0.refuseRevocations = 1 }
      let asked = try await certificates.revoke(
        serial: issued.serial, reason: .keyCompromise, by: .commandLine, now: now)
      #expect(asked.status == .active && asked.revocationRequestedAt != nil)
      await #expect(throws: MailsealError.self) {
        try await certificates.revoke(
          serial: issued.serial, reason: .keyCompromise, by: .commandLine, now: now)
      }
      let facts = try await Store(installation.database).issuance.keyFacts([issued.keyFingerprint])
      #expect(facts.blocked.contains(issued.keyFingerprint))
      #expect(try await Self.audit(installation, .revocationRequested).count == 1)
      // The upstream refuses once (503): still active, asked again later.
      _ = try await worker.issueDue(now: now.addingTimeInterval(1))
      let waiting = try await certificates.certificate(id: certificateID)
      #expect(waiting?.status == .active && waiting?.revocationRequestedAt != nil)
      _ = try await worker.issueDue(now: now.addingTimeInterval(20))
      let revoked = try #require(try await certificates.certificate(id: certificateID))
      #expect(revoked.status == .revoked && revoked.revocationReason == "keyCompromise")
      #expect(upstream.state.withLock { $0.revoked.map(\.1) } == [.keyCompromise])
      #expect(
        upstream.state.withLock { $0.revoked.map(\.0) } == ["mailseal-\(request.number)-dual-use"])
      let events = try await Self.audit(installation, .certificateRevoked)
      #expect(events.count == 1 && events[0].details.contains("confirmedBy"))
      // Done: not sent again.
      _ = try await worker.issueDue(now: now.addingTimeInterval(2000))
      #expect(upstream.state.withLock { $0.revoked.count } == 1)
    }
  }

  @Test(
    "an admin's decisions on a held request: the certificate sent revoked at the upstream, the request ordered again (once), or rejected"
  )
  func adminDecisions() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca, faults: [.wrongMailbox, .wrongKey])
      let admin = try await installation.staff("ada@example.edu", role: .admin)
      let operatorPrincipal = try await installation.staff("otto@example.edu")
      let first = try await Self.approved(installation, by: operatorPrincipal)
      let second = try await Self.approved(
        installation, mailbox: "yann@example.edu", by: operatorPrincipal)
      let worker = try Self.worker(installation, upstream, ca: ca)
      let now = Date()
      #expect(try await worker.issueDue(now: now) == 0)
      let service = installation.authority.service
      await #expect(throws: MailsealError.forbiddenForRole) {
        try await service.heldRequests(for: operatorPrincipal)
      }
      let held = try await service.heldRequests(for: admin)
      #expect(Set(held.map(\.request.number)) == [first.number, second.number])
      let order = try #require(held.first { $0.request.id == first.id }?.orders.first)
      #expect(order.canRevoke && order.certificate?.addresses.contains("example.edu") == true)
      try await service.revokeHeldCertificate(order: order.id, by: admin, now: now)
      await #expect(throws: MailsealError.self) {
        try await service.revokeHeldCertificate(order: order.id, by: admin, now: now)
      }
      // Not released while the revocation is open.
      await #expect(throws: MailsealError.self) {
        try await service.releaseHeld(number: first.number, by: admin, now: now)
      }
      _ = try await worker.issueDue(now: now.addingTimeInterval(1))
      #expect(upstream.state.withLock { $0.revoked.count } == 1)
      #expect(try await Self.orders(installation, first.id).map(\.state) == [.revoked])
      #expect(try await Self.audit(installation, .upstreamHeldRevoked).count == 1)
      // Ordered again by the admin's decision: issued (the upstream is right now).
      try await service.releaseHeld(number: first.number, by: admin, now: now)
      #expect(try await worker.issueDue(now: now.addingTimeInterval(2)) == 1)
      #expect(try await Self.request(installation, first.id).state == .issued)
      #expect(try await Self.audit(installation, .upstreamHoldReleased).count == 1)
      // The other: rejected with the admin's reason.
      try await service.rejectHeld(
        number: second.number, reason: "the upstream misissued twice", by: admin, now: now)
      let rejected = try await Self.request(installation, second.id)
      #expect(
        rejected.state == .rejected && rejected.rejectionReason == "the upstream misissued twice")
      #expect(upstream.state.withLock { $0.placed } == 3)
    }
  }

  @Test(
    "back to the embedded CA with an order open at the upstream: held, not issued twice; released by an admin, issued by the embedded CA"
  )
  func backToEmbedded() async throws {
    try await RAInstallation.with { installation in
      try await installation.makeTestCA()
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca, faults: [.pending])
      let anna = try await installation.staff("anna@example.edu")
      let request = try await Self.approved(installation, by: anna)
      let waiting = try await Self.approved(installation, mailbox: "yann@example.edu", by: anna)
      let now = Date()
      // Only the first is taken by the upstream; then the installation
      // goes back to its embedded CA.
      _ = try await Store(installation.database).upstreamOrders.hold(
        waiting.id, reason: "test: kept out of the upstream's batch", now: now)
      #expect(try await Self.worker(installation, upstream, ca: ca).issueDue(now: now) == 0)
      _ = try await Store(installation.database).upstreamOrders.release(waiting.id, now: now)
      let embedded = IssuanceWorker(
        database: installation.database, configuration: installation.configuration,
        logger: RAInstallation.logger, lease: 120)
      #expect(try await embedded.issueDue(now: now.addingTimeInterval(200)) == 1)
      #expect(try await Self.request(installation, waiting.id).state == .issued)
      let held = try await Self.request(installation, request.id)
      #expect(held.state == .approved)
      #expect(held.upstreamHeldReason?.contains("no longer the upstream") == true)
      #expect(try await Self.orders(installation, request.id).map(\.state) == [.held])
      let admin = try await installation.staff("ada@example.edu", role: .admin)
      try await installation.authority.service.releaseHeld(
        number: request.number, by: admin, now: now)
      #expect(try await embedded.issueDue(now: now.addingTimeInterval(400)) == 1)
      #expect(try await Self.request(installation, request.id).state == .issued)
    }
  }

  @Test(
    "twenty requests at once on the upstream's first answers: each issued once, its CA kept once")
  func concurrentFirstContact() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca)
      let anna = try await installation.staff("anna@example.edu")
      for index in 0..<20 {
        _ = try await Self.approved(installation, mailbox: "person\(index)@example.edu", by: anna)
      }
      #expect(try await Self.worker(installation, upstream, ca: ca).issueDue() == 20)
      #expect(upstream.state.withLock { $0.placed } == 20)
      let kept = try await Store(installation.database).issuers.all(in: .upstream)
      #expect(kept.count == 2)
    }
  }

  @Test(
    "a look-up that finds no connection says nothing about the order: it stays to be looked up, never sent a second time"
  )
  func lookUpUnreachable() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca, faults: [.lostAfterIssuing])
      upstream.state.withLock { $0.unreachableLookUps = 1 }
      let request = try await Self.approved(installation)
      let worker = try Self.worker(installation, upstream, ca: ca)
      let now = Date()
      #expect(try await worker.issueDue(now: now) == 0)
      #expect(try await worker.issueDue(now: now.addingTimeInterval(16)) == 0)
      #expect(try await Self.orders(installation, request.id).map(\.state) == [.ordering])
      #expect(try await worker.issueDue(now: now.addingTimeInterval(60)) == 1)
      #expect(upstream.state.withLock { ($0.placed, $0.issued.count) } == (1, 1))
    }
  }

  @Test(
    "an outage that took nothing waits as long as it lasts; an order the upstream may have is held after 3 days"
  )
  func limits() async throws {
    try await RAInstallation.with { installation in
      let ca = try UpstreamTestCA()
      let upstream = ScriptedUpstream(ca: ca, faults: [.unavailable(retryAfter: nil), .pending])
      let request = try await Self.approved(installation)
      let worker = try Self.worker(installation, upstream, ca: ca)
      let now = Date()
      let day: TimeInterval = 86_400
      #expect(try await worker.issueDue(now: now) == 0)
      #expect(try await Self.orders(installation, request.id).map(\.state) == [.notTaken])
      // Four days of outage later: sent, not held.
      #expect(try await worker.issueDue(now: now.addingTimeInterval(4 * day)) == 0)
      #expect(try await Self.orders(installation, request.id).map(\.state) == [.pending])
      #expect(try await Self.request(installation, request.id).upstreamHeldAt == nil)
      // Taken, and still unfinished more than 3 days after it was recorded: held.
      _ = try await worker.issueDue(now: now.addingTimeInterval(8 * day))
      let held = try await Self.request(installation, request.id)
      #expect(held.upstreamHeldReason?.contains("not finished by the upstream") == true)
      #expect(upstream.state.withLock { $0.placed } == 2)
    }
  }
}
