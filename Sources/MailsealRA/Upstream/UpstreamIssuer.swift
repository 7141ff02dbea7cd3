import Crypto
public import FluentKit
import Foundation
public import Logging
public import MailsealCA
import MailsealModel
import MailsealStore
import SwiftASN1
import X509

/// An upstream certificate authority as an ``Issuer``: the same for every
/// upstream (CMP, Sectigo, HARICA), which differ only in their
/// ``UpstreamConnector``.
///
/// - An order is recorded before it is sent (``UpstreamOrder``). An order
///   recorded before is never sent again: it is asked after (`resume`),
///   which looks it up when its answer was lost.
/// - What comes back is delivered only if it passes the RA's check
///   (``UpstreamCertificateCheck``): the request's key, exactly the
///   validated mailbox and names, the configured chain, valid now,
///   emailProtection. Otherwise the request is held for an admin with the
///   reason and the certificate.
/// - An upstream that cannot be asked (unreachable, 5xx, 429) leaves the
///   order as it is, retried with back-off (`Retry-After` when it says so);
///   an answer not understood is retried as a lost one, then held.
/// - Orders of several requests are in flight at once, up to
///   `concurrency`; the certificates of one request (a key-escrow pair)
///   are stored together, with what follows (`afterStoring`), in one
///   transaction.
public struct UpstreamIssuer: Issuer {
  public let connector: any UpstreamConnector
  let trust: UpstreamTrust
  let concurrency: Int
  let database: any Database
  let logger: Logger
  let issuers: UpstreamIssuerRecords
  public let health: UpstreamHealth
  /// How long an order may stay pending at the upstream before an admin is
  /// asked to look.
  var pendingLimit: TimeInterval = 3 * 86_400
  /// How many times in a row an order may fail with an answer not
  /// understood before an admin is asked to look.
  var faultLimit = 8

  public init(
    connector: any UpstreamConnector, trust: UpstreamTrust, concurrency: Int,
    database: any Database, logger: Logger, health: UpstreamHealth = UpstreamHealth()
  ) {
    self.connector = connector
    self.trust = trust
    self.concurrency = max(1, concurrency)
    self.database = database
    self.logger = logger
    self.issuers = UpstreamIssuerRecords(database: database)
    self.health = health
  }

  public var name: String { connector.name }

  public func ensureReady() async throws {
    do {
      try await connector.ensureReady()
      if connector.signsIn { await health.signedIn() }
    } catch {
      await health.failed("\(error)")
      throw error
    }
  }

  public func issue(_ orders: [IssuanceOrder], now: Date, afterStoring: @escaping AfterStoring)
    async throws -> [IssuanceOutcome]
  {
    var outcomes = [IssuanceOutcome?](repeating: nil, count: orders.count)
    // The orders of one request go together (a key-escrow pair).
    var groups: [UUID: [Int]] = [:]
    var sequence: [UUID] = []
    for (index, order) in orders.enumerated() {
      // A request's orders go by the request; the command line's by the
      // order's own id.
      guard let requestID = order.requestID ?? order.upstreamOrderID else {
        outcomes[index] = .refused(
          CAError(
            .upstreamRefused,
            "An order at an upstream certificate authority needs a request or an order id."))
        continue
      }
      if groups[requestID] == nil { sequence.append(requestID) }
      groups[requestID, default: []].append(index)
    }
    let store = Store(database).upstreamOrders
    let recorded =
      try await store.orders(of: sequence)
      + store.orders(ids: orders.compactMap { $0.requestID == nil ? $0.upstreamOrderID : nil })
    let records = Dictionary(
      recorded.map { ("\($0.requestID ?? $0.id)/\($0.purpose)", $0) }, uniquingKeysWith: { $1 })
    try await withThrowingTaskGroup(of: [(Int, IssuanceOutcome)].self) { group in
      var inFlight = 0
      for requestID in sequence {
        let indices = groups[requestID]!
        let batch = indices.map { orders[$0] }
        let known = batch.map { records["\(requestID)/\($0.purpose.rawValue)"] }
        if inFlight == concurrency, let done = try await group.next() {
          for (index, outcome) in done { outcomes[index] = outcome }
          inFlight -= 1
        }
        group.addTask {
          let results = try await process(
            batch, records: known, now: now, afterStoring: afterStoring)
          return Array(zip(indices, results))
        }
        inFlight += 1
      }
      for try await done in group {
        for (index, outcome) in done { outcomes[index] = outcome }
      }
    }
    return outcomes.map { $0! }
  }

  /// Where one order of a request stands after this pass.
  enum Step {
    case delivered(StoredCertificate, chain: [Certificate], UpstreamOrder)
    case wait(until: Date, reference: String?)
    case refused(CAError)
    case held(String)
  }

  /// The orders of one request: stored together once all came back.
  func process(
    _ orders: [IssuanceOrder], records: [UpstreamOrder?], now: Date,
    afterStoring: @escaping AfterStoring
  ) async throws -> [IssuanceOutcome] {
    var steps: [Step] = []
    for (order, record) in zip(orders, records) {
      steps.append(try await step(order, record: record, now: now))
    }
    let held = steps.compactMap { step -> String? in
      if case .held(let reason) = step { return reason }
      return nil
    }
    let refused = steps.compactMap { step -> CAError? in
      if case .refused(let reason) = step { return reason }
      return nil
    }
    let delivered = steps.compactMap { step -> (StoredCertificate, [Certificate], UpstreamOrder)? in
      if case .delivered(let stored, let chain, let record) = step {
        return (stored, chain, record)
      }
      return nil
    }
    if let reason = held.first ?? (delivered.isEmpty ? nil : refused.first?.message) {
      if let requestID = orders[0].requestID {
        try await hold(requestID, number: orders[0].number, reason: reason, now: now)
      }
      return orders.map { _ in .held(reason) }
    }
    if let refusal = refused.first {
      return orders.map { _ in .refused(refusal) }
    }
    if delivered.count == orders.count {
      try await store(delivered, now: now, afterStoring: afterStoring)
      return delivered.map { .issued($0.0.certificate) }
    }
    var until = Date.distantFuture
    var reference: String?
    for step in steps {
      if case .wait(let date, let named) = step {
        until = min(until, date)
        reference = reference ?? named
      }
    }
    return orders.map { _ in .pending(reference: reference ?? "", retryAt: until) }
  }

  /// One order: sent if new, asked after if recorded, its answer recorded.
  func step(_ order: IssuanceOrder, record known: UpstreamOrder?, now: Date) async throws -> Step {
    let request: CheckedRequest
    do {
      request = try CertificateRequestCheck.check(order.request)
    } catch {
      return .refused(error)
    }
    var record: UpstreamOrder
    var answer: UpstreamProgress
    if let known {
      record = known
      if record.upstream != connector.name {
        // The old upstream's order is an admin's to settle (it may still
        // issue there): held, with its details.
        return try await holdOrder(&record, Self.elsewhere(record), now: now)
      }
      switch record.state {
      case .refused:
        return .refused(CAError(.upstreamRefused, record.lastError ?? "refused by the upstream"))
      case .held, .issued, .revoking, .revoked:
        return .held(record.lastError ?? "held for an admin")
      case .ordering, .pending, .notTaken: break
      }
      if let der = record.certificateDER {
        // Came back and was settled before this process stopped: delivered
        // from the record, never asked for again.
        let step = await deliver(
          Array(der), order: order, request: request, record: record, now: now)
        if case .held(let reason) = step { return try await holdOrder(&record, reason, now: now) }
        return step
      }
      if record.nextAttemptAt > now {
        return .wait(until: record.nextAttemptAt, reference: record.reference)
      }
      // An order the upstream may have is held after the limit; one it
      // certainly does not have (an outage) just waits on.
      if record.state != .notTaken, now.timeIntervalSince(record.createdAt) > pendingLimit {
        return try await holdOrder(
          &record,
          "not finished by the upstream after \(Int(pendingLimit / 3600)) hours (reference \(record.reference ?? "none"))",
          now: now)
      }
      // Never taken: sent again. Otherwise asked after (looked up), and
      // sent only when the look-up shows the upstream does not have it.
      var placing = record.state == .notTaken
      do {
        if placing {
          answer = try await connector.place(connectorRequest(order, record))
        } else {
          answer = try await connector.resume(connectorRequest(order, record))
          if case .absent = answer {
            placing = true
            answer = try await connector.place(connectorRequest(order, record))
          }
        }
      } catch {
        return try await failed(&record, error, placing: placing, now: now)
      }
      // Sent now after an outage that took nothing: the limit for an
      // unfinished order runs from here.
      if placing, record.state == .notTaken { record.createdAt = now }
    } else {
      // The key rules hold for an upstream too: a key blocked after a
      // compromise, or certified for another mailbox, is not ordered.
      let fingerprint = request.keyFingerprint.hexString
      if let refusal = try await Store(database).issuance.keyFacts([fingerprint])
        .refusal(of: fingerprint, for: order.subject.mailbox.address)
      {
        return .refused(refusal)
      }
      var new = UpstreamOrder(
        id: order.upstreamOrderID ?? UUID(), requestID: order.requestID,
        purpose: order.purpose.rawValue, upstream: connector.name,
        state: .ordering, nextAttemptAt: now, createdAt: now, updatedAt: now)
      (new.reference, new.progress) = connector.prepare(connectorRequest(order, new))
      guard try await Store(database).upstreamOrders.record(new) else {
        // Another worker recorded it a moment ago: it is that one's.
        return .wait(until: now.addingTimeInterval(60), reference: nil)
      }
      record = new
      do {
        answer = try await connector.place(connectorRequest(order, record))
      } catch {
        return try await failed(&record, error, placing: true, now: now)
      }
    }
    await health.reached()
    return try await handle(answer, order: order, request: request, record: &record, now: now)
  }

  func handle(
    _ answer: UpstreamProgress, order: IssuanceOrder, request: CheckedRequest,
    record: inout UpstreamOrder, now: Date
  ) async throws -> Step {
    let orders = Store(database).upstreamOrders
    record.updatedAt = now
    switch answer {
    case .certificate(let der, let reference, let progress):
      record.reference = reference ?? record.reference
      record.progress = progress ?? record.progress
      record.certificateDER = Data(der)
      record.lastError = nil
      let checked = await deliver(der, order: order, request: request, record: record, now: now)
      if case .held(let reason) = checked {
        record.state = .held
        record.lastError = reason
      }
      // Recorded before the upstream is told (CMP's certConf), so that it
      // is told once.
      try await orders.update(record)
      let refusal: String? =
        if case .held(let reason) = checked { reason } else { nil }
      do {
        try await connector.settle(
          connectorRequest(order, record), certificate: try Certificate(derEncoded: der),
          refusal: refusal)
      } catch {
        logger.warning(
          "the upstream was not told about the certificate it sent",
          metadata: ["order": "\(record.id)", "error": "\(error)"])
      }
      return checked
    case .pending(let reference, let progress, let retryAfter):
      record.reference = reference ?? record.reference
      record.progress = progress ?? record.progress
      record.state = .pending
      record.attempts += 1
      record.lastError = nil
      record.nextAttemptAt = now.addingTimeInterval(max(1, retryAfter))
      try await orders.update(record)
      return .wait(until: record.nextAttemptAt, reference: record.reference)
    case .refused(let reason):
      record.state = .refused
      record.lastError = reason
      try await orders.update(record)
      return .refused(CAError(.upstreamRefused, reason))
    case .unknown(let reason):
      return try await holdOrder(&record, reason, now: now)
    case .absent:
      return try await holdOrder(
        &record, "the upstream has no such order after it was sent", now: now)
    }
  }

  /// The upstream could not be asked, or its answer was not understood:
  /// the order stays as it is and is asked after later (a lost answer is
  /// looked up then); after ``faultLimit`` answers not understood in a
  /// row, an admin is asked.
  /// `placing`: the failure was of sending the order (not of a look-up,
  /// whose failure says nothing about whether the upstream has it).
  func failed(_ record: inout UpstreamOrder, _ error: any Error, placing: Bool, now: Date)
    async throws -> Step
  {
    await health.failed("\(error)")
    record.attempts += 1
    record.lastError = String("\(error)".prefix(1_000))
    record.updatedAt = now
    let unavailable = error as? UpstreamUnavailable
    // An order the upstream certainly did not take stays "not taken"; one
    // it may have taken is looked up next time. A failed look-up changes
    // nothing: the order stays as it was.
    if placing {
      record.state = unavailable?.nothingTaken == true ? .notTaken : .ordering
    }
    if unavailable == nil, record.attempts >= faultLimit {
      return try await holdOrder(
        &record, "the upstream's answers were not understood \(record.attempts) times: \(error)",
        now: now)
    }
    record.nextAttemptAt = now.addingTimeInterval(
      unavailable?.retryAfter.map { min($0, 3_600) } ?? Self.backOff(after: record.attempts))
    try await Store(database).upstreamOrders.update(record)
    logger.warning(
      "upstream order waits",
      metadata: [
        "order": "\(record.id)", "upstream": "\(record.upstream)", "error": "\(error)",
        "retry": "\(record.nextAttemptAt)",
      ])
    return .wait(until: record.nextAttemptAt, reference: record.reference)
  }

  /// 15 s, doubling, at most 15 minutes.
  static func backOff(after attempts: Int) -> TimeInterval {
    min(900, 15 * pow(2, Double(min(max(attempts - 1, 0), 10))))
  }

  func holdOrder(_ record: inout UpstreamOrder, _ reason: String, now: Date) async throws -> Step {
    record.state = .held
    record.lastError = reason
    record.updatedAt = now
    try await Store(database).upstreamOrders.update(record)
    return .held(reason)
  }

  /// A certificate that came back, through the RA's check.
  func deliver(
    _ der: [UInt8], order: IssuanceOrder, request: CheckedRequest, record: UpstreamOrder,
    now: Date
  ) async -> Step {
    do {
      let chain = try await UpstreamCertificateCheck.check(
        der, request: request, subject: order.subject, trust: trust, now: now)
      let slug = UpstreamIssuerRecords.slug(of: chain.count > 1 ? chain[1] : chain[0])
      let signed = try SignedCertificate(
        upstream: chain[0], subject: order.subject, issuerSlug: slug)
      return .delivered(
        StoredCertificate(
          certificate: signed, keyType: request.keyType, requestID: order.requestID,
          purpose: order.purpose), chain: chain, record)
    } catch let refusal as UpstreamCertificateRefusal {
      return .held("the certificate from the upstream is not delivered: \(refusal)")
    } catch {
      return .held("the certificate from the upstream is not delivered: \(error)")
    }
  }

  /// The certificates of one request, with what follows from them, in one
  /// transaction; their orders marked issued.
  func store(
    _ delivered: [(StoredCertificate, [Certificate], UpstreamOrder)], now: Date,
    afterStoring: @escaping AfterStoring
  ) async throws {
    var found: [UUID] = []
    for (_, chain, _) in delivered {
      found.append(try await issuers.issuer(of: chain))
    }
    let issuerIDs = found
    let upstream = connector.name
    try await Store(database).transaction { store in
      for ((stored, _, _), issuerID) in zip(delivered, issuerIDs) {
        try await store.issuance.store([stored], issuerID: issuerID, now: now)
      }
      try await afterStoring(store.database, delivered.map(\.0))
      try await AuditTrail.append(
        delivered.map { stored, _, record in
          AuditEvent(
            actor: AuditEvent.ca, action: .certificateIssued,
            subject: stored.certificate.prepared.serialHex,
            details: [
              "mailbox": stored.certificate.prepared.subject.mailbox.address,
              "notAfter": UTCDateFields(stored.certificate.prepared.notAfter).internetDateTime,
              "request": record.requestID?.uuidString ?? "command line",
              "upstream": upstream,
              "reference": record.reference ?? "",
            ])
        }, on: store.database, now: now)
      for (_, _, record) in delivered {
        var record = record
        record.state = .issued
        record.updatedAt = now
        try await store.upstreamOrders.update(record)
      }
    }
  }

  /// Holds a request for an admin: once, audited.
  func hold(_ requestID: UUID, number: String?, reason: String, now: Date) async throws {
    try await Self.hold(
      requestID, reason: reason, upstream: connector.name, database: database, logger: logger,
      now: now)
  }

  /// The reasons to hold requests whose unfinished orders are at an
  /// upstream that no longer issues.
  static func heldElsewhere(_ orders: [UpstreamOrder], now: Date) -> [UUID: String] {
    Dictionary(
      orders.compactMap { order in order.requestID.map { ($0, elsewhere(order)) } },
      uniquingKeysWith: { first, _ in first })
  }

  /// Why an order at another upstream is an admin's to settle.
  static func elsewhere(_ order: UpstreamOrder) -> String {
    "ordered at \(order.upstream) (reference \(order.reference ?? "none")), which is no longer the upstream"
  }

  /// Holds a request for an admin: once, audited.
  static func hold(
    _ requestID: UUID, reason: String, upstream: String, database: any Database, logger: Logger,
    now: Date
  ) async throws {
    try await Store(database).transaction { store in
      guard let held = try await store.upstreamOrders.hold(requestID, reason: reason, now: now)
      else { return }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.ca, action: .upstreamHeld, subject: held.number,
          details: ["mailbox": held.mailbox, "upstream": upstream, "reason": reason]),
        on: store.database, now: now)
    }
    logger.error(
      "request held for an admin",
      metadata: ["request": "\(requestID)", "reason": "\(reason)"])
  }

  func connectorRequest(_ order: IssuanceOrder, _ record: UpstreamOrder) -> UpstreamOrderRequest {
    UpstreamOrderRequest(
      record: record, number: order.number ?? "cli-\(record.id.uuidString.prefix(8).lowercased())",
      csrDER: Self.der(order.request),
      subject: order.subject, purpose: order.purpose)
  }
}

extension UpstreamIssuer {
  /// A request given as PEM or DER, as DER.
  static func der(_ request: [UInt8]) -> [UInt8] {
    guard request.starts(with: Array("-----".utf8)),
      let document = try? PEMDocument(pemString: String(decoding: request, as: UTF8.self))
    else { return request }
    return document.derBytes
  }
}

/// The upstream's CA certificates as the store keeps them (role
/// `upstream`, parent links up to the root), added the first time a
/// certificate of theirs is stored — once, however many orders come back
/// at the same moment (one task per certificate; a row another instance
/// added first is found).
actor UpstreamIssuerRecords {
  let database: any Database
  var known: [String: Task<UUID, any Error>] = [:]

  init(database: any Database) {
    self.database = database
  }

  /// A slug for an upstream CA: its name in URLs, never one of ours.
  static func slug(of certificate: Certificate) -> String {
    "upstream-" + fingerprint(of: certificate).prefix(16)
  }

  static func fingerprint(of certificate: Certificate) -> String {
    var serializer = DER.Serializer()
    try? serializer.serialize(certificate)
    return Array(SHA256.hash(data: serializer.serializedBytes)).hexString
  }

  /// The record of the CA that issued `chain[0]` (chain leaf first, up to
  /// the root), with its parents.
  func issuer(of chain: [Certificate]) async throws -> UUID {
    var parent: UUID?
    for certificate in chain.dropFirst().reversed() {
      let fingerprint = Self.fingerprint(of: certificate)
      let task: Task<UUID, any Error>
      if let running = known[fingerprint] {
        task = running
      } else {
        let (database, parentID) = (self.database, parent)
        task = Task {
          try await Self.record(
            certificate, fingerprint: fingerprint, parent: parentID, database: database)
        }
        known[fingerprint] = task
      }
      do {
        parent = try await task.value
      } catch {
        known[fingerprint] = nil
        throw error
      }
    }
    guard let parent else { throw UpstreamProtocolError("the certificate came without its issuer") }
    return parent
  }

  /// Finds or adds one CA certificate.
  static func record(
    _ certificate: Certificate, fingerprint: String, parent: UUID?, database: any Database
  ) async throws -> UUID {
    let issuers = Store(database).issuers
    if let found = try await issuers.find(fingerprint: fingerprint) { return found.id }
    var serializer = DER.Serializer()
    try serializer.serialize(certificate)
    let record = CACertificate(
      id: UUID(), role: .upstream, slug: slug(of: certificate),
      subject: certificate.subject.description, certificateDER: Data(serializer.serializedBytes),
      sha256Fingerprint: fingerprint, keyReference: nil,
      keyType: (try? CertificateRequestCheck.classify(
        subjectPublicKeyInfo: certificate.publicKey.subjectPublicKeyInfoDER
      ).storageName) ?? "other",
      parentID: certificate.issuer == certificate.subject ? nil : parent,
      notBefore: certificate.notValidBefore, notAfter: certificate.notValidAfter, isTest: false,
      isActive: false, createdAt: Date())
    do {
      try await issuers.add(record)
      return record.id
    } catch {
      // Another instance added it a moment ago (a unique index refused
      // this one): that one is it.
      guard (error as? any DatabaseError)?.isConstraintFailure == true,
        let found = try await issuers.find(fingerprint: fingerprint)
      else { throw error }
      return found.id
    }
  }
}

/// What `/healthz` says about the upstream: when it was last reached, and
/// the last error since (no secrets: connectors' errors name none).
public actor UpstreamHealth {
  public private(set) var lastReached: Date?
  public private(set) var lastSignIn: Date?
  public private(set) var lastError: String?
  public private(set) var lastErrorAt: Date?

  public init() {}

  func signedIn() {
    lastSignIn = Date()
    lastReached = lastSignIn
    lastError = nil
  }

  func reached() {
    lastReached = Date()
    lastError = nil
  }

  func failed(_ error: String) {
    lastError = String(error.prefix(300))
    lastErrorAt = Date()
  }
}

extension UpstreamIssuer {
  /// Sends the revocations an admin asked for certificates held back (the
  /// upstream issued what the RA did not validate); each audited once the
  /// upstream confirmed it, asked again with back-off until then.
  public func revokeHeld(now: Date) async throws {
    let orders = Store(database).upstreamOrders
    for var order in try await orders.claimRevoking(now: now, until: now.addingTimeInterval(120)) {
      guard let der = order.certificateDER, order.upstream == connector.name else { continue }
      do {
        let certificate = try Certificate(derEncoded: Array(der))
        try await connector.revoke(certificate, reference: order.reference, reason: .unspecified)
        order.state = .revoked
        order.updatedAt = now
        let upstream = connector.name
        let revoked = order
        try await Store(database).transaction { store in
          try await store.upstreamOrders.update(revoked)
          try await AuditTrail.append(
            AuditEvent(
              actor: AuditEvent.ca, action: .upstreamHeldRevoked,
              subject: certificate.serialNumber.hex,
              details: [
                "upstream": upstream, "reference": revoked.reference ?? "",
                "request": revoked.requestID?.uuidString ?? "command line",
              ]), on: store.database, now: now)
        }
      } catch {
        order.attempts += 1
        order.lastError = String("\(error)".prefix(1_000))
        order.nextAttemptAt = now.addingTimeInterval(Self.backOff(after: order.attempts))
        order.updatedAt = now
        try await orders.update(order)
        logger.warning(
          "the upstream CA has not revoked a held certificate yet",
          metadata: ["order": "\(order.id)", "error": "\(error)"])
      }
    }
  }
}
