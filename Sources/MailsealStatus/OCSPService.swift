public import FluentKit
public import Foundation
public import Logging
import MailsealCA
import MailsealModel
public import MailsealRA
import MailsealStore
import NIOPosix
import Synchronization
import X509

/// The OCSP responder (RFC 6960): answers for every issuing CA of this
/// installation, signed by the CA's delegated responder certificate (or
/// the CA key itself, `MAILSEAL_OCSP_SIGNER=ca`).
///
/// Each instance keeps the status of every certificate in memory (the
/// *board*): loaded at start, and kept current by revocations — at once
/// for those made in this process (``apply(_:)``), and for those of other
/// processes by reading the store's numbered revocations
/// (``RevocationSequence``) when PostgreSQL announces one and, as a safety
/// net, every ``catchUpInterval``. Answers come from the board only while
/// its last look at the store is at most ``freshness`` old; otherwise
/// every query reads the store, as a board that cannot see revocations must
/// not answer "good" (and while the store is away, the answer is
/// tryLater). So a certificate revoked a second ago is never answered
/// "good". Reading revocations never waits for signing: the two run
/// side by side.
///
/// Responses without a nonce are signed ahead of demand in the background
/// for every certificate on the board (SHA-1 CertIDs, as clients send
/// them), again when ``refreshAge`` old and at once after a revocation, so
/// that a query is answered from memory without waiting:
/// ``immediateAnswer(to:client:now:)``, which the web layer calls on the
/// thread that read the request. They are kept per certificate and hash
/// algorithm — one response each for SHA-1, SHA-256, SHA-384 and SHA-512
/// CertIDs (the others signed at their first query), whatever parameters
/// the request's AlgorithmIdentifier carries — so no sequence of requests
/// can evict what others are answered from.
///
/// A response for one request alone (with its nonce, for several
/// certificates, or for a serial this CA never issued) is signed off the
/// event loop and only through the ``OCSPSigningGate``; beyond it a nonce
/// is ignored and the response signed ahead is sent.
public final class OCSPService: Sendable {
  let database: any Database
  let configuration: MailsealConfiguration
  let logger: Logger

  /// Responses say they are good for this long (S/MIME BR §4.9.10: at least
  /// 8 hours, at most 10 days) …
  public static let validity: TimeInterval = 4 * 86_400
  /// … and are signed afresh when this old (the BR: at the latest 4 days
  /// after thisUpdate), well before half their validity.
  public static let refreshAge: TimeInterval = 12 * 3_600
  /// The store is asked for new revocations this often, notified or not …
  public static let catchUpInterval: Duration = .milliseconds(250)
  /// … and answers come from memory only while the last look that
  /// succeeded began at most this long ago.
  public static let freshness: TimeInterval = 1
  /// Responses for serials the board does not hold: at most this many,
  /// each for a few minutes.
  static let otherLimit = 20_000
  static let otherAge: TimeInterval = 300
  /// Responders are reloaded this often (new CA, renewed responder).
  static let responderReload: TimeInterval = 300
  /// Signatures made ahead per batch (one lock per batch).
  static let signingBatch = 256
  /// CertID encodings remembered per certificate and algorithm: with and
  /// without NULL parameters.
  static let encodingsPerAlgorithm = 2

  struct Responder: Sendable {
    let issuerID: UUID
    let responder: OCSPResponder
  }

  /// A certificate on the board: issuer and serial (INTEGER octets).
  struct SerialKey: Hashable, Sendable {
    let issuerID: UUID
    let serial: [UInt8]
  }

  /// A signed response: for which hash algorithm of the CertID, and when.
  struct Signed: Sendable {
    let algorithm: OCSPHashAlgorithm
    let der: [UInt8]
    let thisUpdate: Date
  }

  struct Entry: Sendable {
    var status: OCSPCertStatus
    let notAfter: Date
    /// Signed for `status` only, at most one per hash algorithm: emptied
    /// when the status changes.
    var signed: [Signed] = []

    /// The response for `algorithm`, while younger than ``refreshAge``.
    func response(_ algorithm: OCSPHashAlgorithm, now: Date) -> Signed? {
      guard let signed = signed.first(where: { $0.algorithm == algorithm }),
        now.timeIntervalSince(signed.thisUpdate) < OCSPService.refreshAge
      else { return nil }
      return signed
    }
  }

  /// What a CertID's bytes name: a certificate on the board and the hash
  /// algorithm of the response that answers it.
  struct Named: Sendable {
    let key: SerialKey
    let algorithm: OCSPHashAlgorithm
  }

  struct Board: Sendable {
    var entries: [SerialKey: Entry] = [:]
    /// All statuses were loaded from the store.
    var loaded = false
    /// The last revocation number read.
    var sequence: Int64 = 0
    /// When the last look at the store that succeeded began.
    var caughtUpAt: Date?
    var responders: (loaded: Date, list: [Responder])?
    /// Responses for serials the board does not hold ("unknown").
    var other: [[UInt8]: (status: OCSPCertStatus, signed: Signed)] = [:]
    /// The certificate and algorithm of each CertID encoding seen in a
    /// request that was read whole (or made here), so that a request is
    /// answered by its bytes. Only encodings of certificates on the
    /// board, at most ``encodingsPerAlgorithm`` per algorithm each.
    var index: [[UInt8]: Named] = [:]
    /// An entry was added or revoked since responses were last signed.
    var changed = false
    /// When entries expired a day ago were last dropped.
    var prunedAt = Date()

    /// Whether answers may come from the board: the statuses are loaded
    /// and the last look at the store began less than `freshness` ago.
    func isCurrent(_ now: Date, freshness: TimeInterval) -> Bool {
      guard loaded, let caughtUpAt else { return false }
      return now.timeIntervalSince(caughtUpAt) < freshness
    }

    /// Records a status read from the store or a revocation. A
    /// revocation is for good: a "good" never replaces it, whatever order
    /// readers and revokers finish in.
    mutating func learn(_ key: SerialKey, _ status: OCSPCertStatus, notAfter: Date) {
      if let entry = entries[key] {
        guard case .revoked = status, entry.status == .good else { return }
        entries[key]?.status = status
        entries[key]?.signed = []
      } else {
        entries[key] = Entry(status: status, notAfter: notAfter)
      }
      changed = true
    }
  }

  /// What an answer was, for metrics and HTTP caching.
  public typealias Outcome = OCSPOutcome

  public struct Answer: Sendable {
    public let der: [UInt8]
    public let outcome: Outcome
    /// For GET responses without a nonce (RFC 5019 §6.2).
    public let thisUpdate: Date?
    public let nextUpdate: Date?

    /// An unsuccessful answer: just the status (RFC 6960 §4.2.1).
    static func error(_ status: OCSPResponseStatus, _ outcome: Outcome) -> Answer {
      Answer(der: status.responseDER, outcome: outcome, thisUpdate: nil, nextUpdate: nil)
    }

    static func signed(_ signed: Signed, _ status: OCSPCertStatus) -> Answer {
      Answer(
        der: signed.der, outcome: OCSPService.outcome(status), thisUpdate: signed.thisUpdate,
        nextUpdate: signed.thisUpdate.addingTimeInterval(validity))
    }
  }

  let board = Mutex(Board())
  /// Wakes the reader of revocations (a notification, a revocation here).
  private let doorbell = Doorbell()
  /// Wakes the signer (a revocation, a certificate first asked for).
  private let signingDoorbell = Doorbell()
  let catchUpInterval: Duration
  let freshness: TimeInterval
  let listens: Bool
  /// Who may have a response signed for their request alone.
  public let gate: OCSPSigningGate
  /// Awaited before each round of signing ahead (tests hold it to show
  /// that revocations are read meanwhile).
  let beforeSigningAhead: @Sendable () async -> Void

  /// A responder on `database`; the intervals are the defaults above
  /// except in tests (a test of notifications alone reads the store
  /// seldom; one of the safety net alone does not listen).
  public init(
    database: any Database, configuration: MailsealConfiguration, logger: Logger,
    catchUpInterval: Duration = OCSPService.catchUpInterval,
    freshness: TimeInterval = OCSPService.freshness, listens: Bool = true,
    gate: OCSPSigningGate = .forThisMachine(),
    beforeSigningAhead: @escaping @Sendable () async -> Void = {}
  ) {
    self.database = database
    self.configuration = configuration
    self.logger = logger
    self.catchUpInterval = catchUpInterval
    self.freshness = freshness
    self.listens = listens
    self.gate = gate
    self.beforeSigningAhead = beforeSigningAhead
  }

  // MARK: - Answers

  /// The answer from memory, without waiting for anything and without
  /// signing: a response signed ahead, or a malformed request's answer.
  /// A request with a nonce gets the response signed ahead (without its
  /// nonce) when the gate is closed to `client`. Nil when the request
  /// needs the store, a signature or a token: then
  /// ``respond(to:client:now:)``.
  public func immediateAnswer(
    to body: [UInt8], client: @autoclosure () -> String = "", now: Date = Date()
  ) -> Answer? {
    if let certID = OCSPRequest.soleCertID(in: body) {
      let encoded = Array(certID)
      let found: Answer? = board.withLock { board in
        guard board.isCurrent(now, freshness: freshness), let responders = board.responders,
          now.timeIntervalSince(responders.loaded) < Self.responderReload,
          let named = board.index[encoded], let entry = board.entries[named.key],
          let signed = entry.response(named.algorithm, now: now)
        else { return nil }
        return .signed(signed, entry.status)
      }
      if let found { return found }
    }
    let request: OCSPRequest
    do {
      request = try OCSPRequest(derEncoded: body)
    } catch {
      return .error(.malformedRequest, .malformedRequest)
    }
    guard request.certIDs.count == 1 else { return nil }
    let certID = request.certIDs[0]
    // A nonce is answered from memory only when no signature may be made
    // for it now.
    if request.nonce != nil, !gate.isClosed(to: client(), now: now) { return nil }
    return board.withLock { board in
      guard board.isCurrent(now, freshness: freshness), let responders = board.responders,
        now.timeIntervalSince(responders.loaded) < Self.responderReload,
        let signer = responders.list.first(where: { $0.responder.isForIssuer(certID) })
      else { return nil }
      let key = SerialKey(issuerID: signer.issuerID, serial: certID.serialNumber)
      guard let entry = board.entries[key],
        let signed = entry.response(certID.hashAlgorithm, now: now)
      else { return nil }
      board.remember(certID, as: Named(key: key, algorithm: certID.hashAlgorithm))
      return .signed(signed, entry.status)
    }
  }

  /// Answers one DER request from `client` (its address, for the gate);
  /// never throws: every failure is an OCSP error response.
  public func respond(to body: [UInt8], client: String = "", now: Date = Date()) async -> Answer {
    if let answer = immediateAnswer(to: body, client: client, now: now) { return answer }
    let request: OCSPRequest
    do {
      request = try OCSPRequest(derEncoded: body)
    } catch {
      return .error(.malformedRequest, .malformedRequest)
    }
    do {
      return try await answer(request, client: client, now: now)
    } catch {
      // While the database is away a relying party should ask again
      // (RFC 6960 §4.2.1), not conclude that something is wrong.
      if let unavailable = StoreUnavailable.classify(error) {
        StoreRefusalLog.shared.note(unavailable, logger: logger)
        return .error(.tryLater, .tryLater)
      }
      // The responder's key is in a token that is away: ask again later.
      if let error = error as? CAError, error.code == .keyUnavailable {
        CustodyFaultLog.shared.note(error, logger: logger)
        return .error(.tryLater, .tryLater)
      }
      logger.error("OCSP response failed: \(String(reflecting: error))")
      return .error(.internalError, .internalError)
    }
  }

  func answer(_ request: OCSPRequest, client: String, now: Date) async throws -> Answer {
    let all = try await loadResponders(now: now)
    guard let signer = all.first(where: { $0.responder.isForIssuer(request.certIDs[0]) }),
      request.certIDs.allSatisfy({ signer.responder.isForIssuer($0) })
    else {
      return .error(.unauthorized, .unauthorized)
    }
    let statuses = try await status(of: request.certIDs.map(\.serialNumber), signer, now: now)
    let single = request.certIDs.count == 1
    if single, request.nonce == nil {
      return try answerAhead(request.certIDs[0], statuses[0], signer, client: client, now: now)
    }
    // Signed for this request alone: only through the gate.
    if gate.admit(client, now: now) {
      defer { gate.release() }
      return try sign(request, statuses: statuses, by: signer, now: now)
    }
    guard single else { return .error(.tryLater, .tryLater) }
    // The nonce is ignored (RFC 5019 §4, RFC 6960 §4.4.1): the response
    // signed ahead, as for a request without one.
    return try answerAhead(request.certIDs[0], statuses[0], signer, client: client, now: now)
  }

  /// The response without a nonce for one CertID: the board's (signed
  /// now if its algorithm was never asked for: at most one per algorithm
  /// and certificate), or for a serial the board does not hold, one
  /// kept a few minutes — signed only through the gate, as anyone can
  /// make up serials.
  func answerAhead(
    _ certID: OCSPCertID, _ status: OCSPCertStatus, _ signer: Responder, client: String, now: Date
  ) throws -> Answer {
    let key = SerialKey(issuerID: signer.issuerID, serial: certID.serialNumber)
    enum Kept {
      case board(Signed, OCSPCertStatus)
      case other(Signed)
      case onBoard
      case none
    }
    let kept: Kept = board.withLock { board in
      if let entry = board.entries[key] {
        guard entry.status == status, let signed = entry.response(certID.hashAlgorithm, now: now)
        else { return .onBoard }
        board.remember(certID, as: Named(key: key, algorithm: certID.hashAlgorithm))
        return .board(signed, entry.status)
      }
      guard let other = board.other[certID.encoded], other.status == status,
        now.timeIntervalSince(other.signed.thisUpdate) < Self.otherAge
      else { return .none }
      return .other(other.signed)
    }
    switch kept {
    case .board(let signed, let status):
      return .signed(signed, status)
    case .other(let signed):
      return .signed(signed, status)
    case .onBoard:
      // Bounded: one signature per certificate, algorithm and refresh.
      let canonical = signer.responder.certID(
        serialNumber: certID.serialNumber, hashAlgorithm: certID.hashAlgorithm)
      let signed = try Self.signAhead(canonical, status, by: signer.responder, now: now)
      board.withLock { board in
        // Kept only if the status is still the one signed: a revocation
        // that came meanwhile empties the entry's responses.
        guard board.entries[key]?.status == status else { return }
        board.keep(signed, canonical: canonical.encoded, for: key)
        board.remember(certID, as: Named(key: key, algorithm: certID.hashAlgorithm))
      }
      return .signed(signed, status)
    case .none:
      guard gate.admit(client, now: now) else { return .error(.tryLater, .tryLater) }
      defer { gate.release() }
      let signed = try Self.signAhead(certID, status, by: signer.responder, now: now)
      board.withLock { board in
        guard board.entries[key] == nil else { return }
        if board.other.count >= Self.otherLimit { board.other.removeAll(keepingCapacity: true) }
        board.other[certID.encoded] = (status, signed)
      }
      return .signed(signed, status)
    }
  }

  /// A response for a request with a nonce or several CertIDs: signed for
  /// it alone.
  func sign(_ request: OCSPRequest, statuses: [OCSPCertStatus], by signer: Responder, now: Date)
    throws -> Answer
  {
    let thisUpdate = Self.wholeSecond(now)
    let der = try signer.responder.sign(
      zip(request.certIDs, statuses).map {
        OCSPSingleResponse(
          certID: $0, status: $1, thisUpdate: thisUpdate,
          nextUpdate: thisUpdate.addingTimeInterval(Self.validity))
      }, producedAt: thisUpdate, nonce: request.nonce)
    return Answer(der: der, outcome: Self.outcome(statuses[0]), thisUpdate: nil, nextUpdate: nil)
  }

  /// A response without a nonce, to be kept and served to anyone.
  static func signAhead(
    _ certID: OCSPCertID, _ status: OCSPCertStatus, by responder: OCSPResponder, now: Date
  ) throws -> Signed {
    let thisUpdate = wholeSecond(now)
    let der = try responder.sign(
      [
        OCSPSingleResponse(
          certID: certID, status: status, thisUpdate: thisUpdate,
          nextUpdate: thisUpdate.addingTimeInterval(validity))
      ], producedAt: thisUpdate)
    return Signed(algorithm: certID.hashAlgorithm, der: der, thisUpdate: thisUpdate)
  }

  static func wholeSecond(_ date: Date) -> Date {
    Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
  }

  static func outcome(_ status: OCSPCertStatus) -> Outcome {
    switch status {
    case .good: return .good
    case .revoked: return .revoked
    case .unknown: return .unknown
    }
  }

  // MARK: - Status

  /// The status of serials of one issuer, in order: from the board when it
  /// is current, from the store for what it does not hold (or for all,
  /// when it is not current). A serial the store does not know is
  /// `unknown`: never issued by this CA.
  func status(of serials: [[UInt8]], _ signer: Responder, now: Date) async throws
    -> [OCSPCertStatus]
  {
    let keys = serials.map { SerialKey(issuerID: signer.issuerID, serial: $0) }
    let known: [OCSPCertStatus?] = board.withLock { board in
      guard board.isCurrent(now, freshness: freshness) else { return keys.map { _ in nil } }
      return keys.map { board.entries[$0]?.status }
    }
    let missing = zip(keys, known).filter { $0.1 == nil }.map(\.0)
    if missing.isEmpty { return known.map { $0! } }
    let stored = try await storedStatus(
      of: missing.map(\.serial.hexString), issuerID: signer.issuerID)
    return board.withLock { board in
      for (key, (status, notAfter)) in stored { board.learn(key, status, notAfter: notAfter) }
      return zip(keys, known).map { key, status in
        // What the board holds now wins: it may have learnt of a
        // revocation while the store was read.
        if let status { return status }
        return board.entries[key]?.status ?? .unknown
      }
    }
  }

  /// A stored status as a board entry.
  static func entry(_ stored: StoredStatus) -> (SerialKey, OCSPCertStatus, Date)? {
    guard let serial = [UInt8](hexString: stored.serial) else { return nil }
    let key = SerialKey(issuerID: stored.issuerID, serial: serial)
    guard let revoked = stored.revoked else { return (key, .good, stored.notAfter) }
    return (
      key,
      .revoked(at: revoked.at, reason: RevocationReason(name: revoked.reason) ?? .unspecified),
      stored.notAfter
    )
  }

  func storedStatus(of serials: [String], issuerID: UUID) async throws
    -> [SerialKey: (OCSPCertStatus, Date)]
  {
    var result: [SerialKey: (OCSPCertStatus, Date)] = [:]
    for stored in try await Store(database).certificates.statuses(
      serials: serials, issuerID: issuerID)
    {
      if let (key, status, notAfter) = Self.entry(stored) { result[key] = (status, notAfter) }
    }
    return result
  }

  /// A revocation committed by this process: answered as revoked from
  /// now on, and signed so again in the background.
  public func apply(_ revocation: RevocationNotice) {
    guard let serial = [UInt8](hexString: revocation.serial) else { return }
    board.withLock {
      $0.learn(
        SerialKey(issuerID: revocation.issuerID, serial: serial),
        .revoked(at: revocation.revokedAt, reason: revocation.reason),
        notAfter: revocation.notAfter)
    }
    doorbell.ring()
    signingDoorbell.ring()
  }

  // MARK: - Keeping the board current

  /// Keeps this instance's board current and its responses signed, until
  /// the task is cancelled: loads every status of certificates not yet
  /// expired, then reads revocations as they are announced and every
  /// ``catchUpInterval``; beside that (never in its way), signs what is not
  /// signed or getting old.
  public func run() async {
    await withTaskGroup(of: Void.self) { group in
      if listens, case .postgres(let url) = configuration.database {
        group.addTask { [doorbell, logger] in
          await RevocationSequence.listen(
            url: url, on: MultiThreadedEventLoopGroup.singleton.next(), logger: logger,
            onConnected: { doorbell.ring() }, onNotification: { doorbell.ring() })
        }
      }
      group.addTask { await self.keepCurrent() }
      group.addTask { await self.keepSigned() }
      await group.waitForAll()
    }
  }

  /// Reads the statuses, then every revocation as it comes.
  func keepCurrent() async {
    var loggedFailure = false
    while !Task.isCancelled {
      let now = Date()
      do {
        if !board.withLock({ $0.loaded }) {
          try await load(now: now)
          logger.info(
            "OCSP: \(board.withLock { $0.entries.count }) certificate statuses in memory")
          signingDoorbell.ring()
        } else if try await catchUp(now: now) {
          signingDoorbell.ring()
        }
        if loggedFailure {
          logger.notice("OCSP: revocations are read from the store again")
          loggedFailure = false
        }
      } catch {
        if !loggedFailure {
          logger.backgroundFailure(
            "OCSP: the store cannot be read; answers come from the store (tryLater while it is away)",
            error)
          loggedFailure = true
        }
      }
      await doorbell.wait(upTo: catchUpInterval)
    }
  }

  /// Signs ahead: a minute after the last round, or a second after
  /// something changed (a revocation, a certificate first asked for).
  func keepSigned() async {
    var lastSigning = Date.distantPast
    var loggedFailure = false
    while !Task.isCancelled {
      let now = Date()
      let since = now.timeIntervalSince(lastSigning)
      let (loaded, changed) = board.withLock { ($0.loaded, $0.changed) }
      if loaded, since >= 60 || (since >= 1 && changed) {
        lastSigning = now
        do {
          await beforeSigningAhead()
          try await signAhead(now: now)
          loggedFailure = false
        } catch {
          if !loggedFailure {
            logger.backgroundFailure("OCSP: responses cannot be signed ahead now", error)
            loggedFailure = true
          }
        }
      }
      await signingDoorbell.wait(upTo: .seconds(1))
    }
  }

  /// Every status of certificates not yet expired. The revocation number
  /// is read first: a revocation after it is read again by ``catchUp(now:)``.
  func load(now: Date) async throws {
    let store = Store(database)
    let sequence = try await store.certificates.lastRevocationNumber()
    _ = try await loadResponders(now: now)
    var loaded: [(SerialKey, OCSPCertStatus, Date)] = []
    for stored in try await store.certificates.unexpiredStatuses(now: now) {
      if let entry = Self.entry(stored) { loaded.append(entry) }
    }
    board.withLock { board in
      board.entries.reserveCapacity(loaded.count)
      for (key, status, notAfter) in loaded { board.learn(key, status, notAfter: notAfter) }
      board.sequence = sequence
      board.loaded = true
      board.caughtUpAt = now
    }
  }

  /// The revocations numbered after the last one read; whether there were
  /// any.
  @discardableResult
  func catchUp(now: Date) async throws -> Bool {
    let store = Store(database)
    var sequence = board.withLock { $0.sequence }
    var learntAny = false
    while true {
      let rows = try await store.certificates.revocations(after: sequence, limit: 1_000)
      var learnt: [(SerialKey, OCSPCertStatus, Date)] = []
      for row in rows {
        sequence = max(sequence, row.revocationNumber ?? sequence)
        if let entry = Self.entry(row) { learnt.append(entry) }
      }
      let last = sequence
      learntAny = learntAny || !learnt.isEmpty
      board.withLock { board in
        for (key, status, notAfter) in learnt { board.learn(key, status, notAfter: notAfter) }
        board.sequence = max(board.sequence, last)
        if rows.count < 1_000 { board.caughtUpAt = max(board.caughtUpAt ?? now, now) }
      }
      if rows.count < 1_000 { return learntAny }
    }
  }

  /// Signs, outside the lock and on every core, the responses of board
  /// entries that have none (or one getting old), for the first responder
  /// of their issuer; drops entries expired a day ago.
  func signAhead(now: Date) async throws {
    let responders = try await loadResponders(now: now)
    // Due: SHA-1 (what clients send) for every entry, and each other
    // algorithm a client asked for, when missing or half way to
    // ``refreshAge``.
    let due: [(SerialKey, OCSPCertStatus, OCSPHashAlgorithm)] = board.withLock { board in
      board.changed = false
      if now.timeIntervalSince(board.prunedAt) > 3_600 {
        board.entries = board.entries.filter { $0.value.notAfter > now.addingTimeInterval(-86_400) }
        board.index = board.index.filter { board.entries[$0.value.key] != nil }
        board.prunedAt = now
      }
      var due: [(SerialKey, OCSPCertStatus, OCSPHashAlgorithm)] = []
      for (key, entry) in board.entries {
        func young(_ signed: Signed) -> Bool {
          now.timeIntervalSince(signed.thisUpdate) < Self.refreshAge / 2
        }
        if !entry.signed.contains(where: { $0.algorithm == .sha1 && young($0) }) {
          due.append((key, entry.status, .sha1))
        }
        for signed in entry.signed where signed.algorithm != .sha1 && !young(signed) {
          due.append((key, entry.status, signed.algorithm))
        }
      }
      return due
    }
    guard !due.isEmpty else { return }
    let started = ContinuousClock.now
    defer {
      logger.info(
        "OCSP: signed \(due.count) responses ahead in \(ContinuousClock.now - started)")
    }
    let byIssuer = Dictionary(uniqueKeysWithValues: responders.map { ($0.issuerID, $0.responder) })
    // A key in a token blocks its thread for each signature (SoftHSM2:
    // ~0.6 ms): one small batch at a time then, so that the other threads
    // of the shared pool serve pages meanwhile.
    let inProcess = responders.allSatisfy(\.responder.signsInProcess)
    let batchSize = inProcess ? Self.signingBatch : 32
    let batches = stride(from: 0, to: due.count, by: batchSize).map {
      Array(due[$0..<min($0 + batchSize, due.count)])
    }
    let cores = inProcess ? max(1, ProcessInfo.processInfo.activeProcessorCount) : 1
    try await withThrowingTaskGroup(of: Void.self) { group in
      var next = 0
      func addBatch() {
        let batch = batches[next]
        next += 1
        group.addTask {
          var signed: [(SerialKey, OCSPCertStatus, [UInt8], Signed)] = []
          for (key, status, algorithm) in batch {
            guard let responder = byIssuer[key.issuerID] else { continue }
            let certID = responder.certID(serialNumber: key.serial, hashAlgorithm: algorithm)
            signed.append(
              (
                key, status, certID.encoded,
                try Self.signAhead(certID, status, by: responder, now: now)
              ))
          }
          self.board.withLock { board in
            for (key, status, encoded, response) in signed
            where board.entries[key]?.status == status {
              board.keep(response, canonical: encoded, for: key)
            }
          }
        }
      }
      while next < min(cores, batches.count) { addBatch() }
      while try await group.next() != nil {
        if next < batches.count { addBatch() }
      }
    }
  }

  // MARK: - Responders

  /// Every issuing CA with its signer, reloaded every few minutes.
  func loadResponders(now: Date) async throws -> [Responder] {
    if let loaded = board.withLock({ $0.responders }),
      now.timeIntervalSince(loaded.loaded) < Self.responderReload
    {
      return loaded.list
    }
    let installation = CAInstallation(database: database, configuration: configuration)
    var list: [Responder] = []
    for issuer in try await Store(database).issuers.all(in: .issuing)
    where issuer.keyReference != nil {
      do {
        list.append(
          Responder(
            issuerID: issuer.id,
            responder: try await installation.ocspResponder(for: issuer, now: now)))
      } catch let error as CAError where error.code == .keyUnavailable {
        // Not remembered as "no responder": the next request tries again.
        throw error
      } catch {
        logger.backgroundFailure("no OCSP responder for \(issuer.slug)", error)
      }
    }
    board.withLock { $0.responders = (now, list) }
    return list
  }

  /// Forgets the responders (after a new CA or responder certificate).
  public func reloadResponders() {
    board.withLock { $0.responders = nil }
  }
}

extension OCSPService.Board {
  /// Keeps a response of an entry (for its current status): the newest
  /// per hash algorithm, so at most one for each of the four. The CertID
  /// it was signed for (`canonical`) answers from the index at once.
  mutating func keep(
    _ signed: OCSPService.Signed, canonical: [UInt8], for key: OCSPService.SerialKey
  ) {
    guard var entry = entries.removeValue(forKey: key) else { return }
    entry.signed.removeAll { $0.algorithm == signed.algorithm }
    entry.signed.append(signed)
    entries[key] = entry
    index[canonical] = OCSPService.Named(key: key, algorithm: signed.algorithm)
  }

  /// Remembers a CertID encoding a request used for a certificate on the
  /// board (read whole and checked against the responder), so that the
  /// next request with these bytes is answered by them. At most
  /// ``OCSPService/encodingsPerAlgorithm`` encodings per algorithm can
  /// name one certificate (with or without NULL parameters), so the index
  /// stays bounded by the board.
  mutating func remember(_ certID: OCSPCertID, as named: OCSPService.Named) {
    guard index[certID.encoded] == nil, entries[named.key] != nil else { return }
    index[certID.encoded] = named
  }
}
