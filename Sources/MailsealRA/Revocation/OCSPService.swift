public import FluentKit
public import Foundation
public import Logging
public import MailsealCA
import MailsealStore
import NIOPosix
import SQLKit
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
/// "good".
///
/// Responses without a nonce are signed ahead of demand in the background
/// for every certificate on the board (SHA-1 CertIDs, as clients send
/// them), again when ``refreshAge`` old and at once after a revocation, so
/// that a query is answered from memory without waiting:
/// ``immediateAnswer(to:now:)``, which the web layer calls on the thread
/// that read the request. A request with a nonce is signed for itself, as
/// the nonce is in the signed data.
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
  /// Responses for other CertID encodings and for unknown serials: at most
  /// this many, each for a few minutes.
  static let otherLimit = 20_000
  static let otherAge: TimeInterval = 300
  /// Responders are reloaded this often (new CA, renewed responder).
  static let responderReload: TimeInterval = 300
  /// Signatures made ahead per batch (one lock per batch).
  static let signingBatch = 256

  struct Responder: Sendable {
    let issuerID: UUID
    let responder: OCSPResponder
  }

  /// A certificate on the board: issuer and serial (INTEGER octets).
  struct SerialKey: Hashable, Sendable {
    let issuerID: UUID
    let serial: [UInt8]
  }

  /// A signed response and the CertID bytes it answers.
  struct Signed: Sendable {
    let certID: [UInt8]
    let der: [UInt8]
    let thisUpdate: Date
  }

  struct Entry: Sendable {
    var status: OCSPCertStatus
    let notAfter: Date
    /// Signed for `status` only: emptied when the status changes.
    var signed: [Signed] = []
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
    /// Responses for unknown serials and unusual CertID encodings.
    var other: [[UInt8]: (status: OCSPCertStatus, signed: Signed)] = [:]
    /// The entry of each CertID encoding a response was signed for, so
    /// that a request is answered by its bytes, without reading it whole.
    var index: [[UInt8]: SerialKey] = [:]
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
  public enum Outcome: String, Sendable, CaseIterable {
    case good, revoked, unknown, malformedRequest, unauthorized, tryLater, internalError
  }

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
  private let doorbell = Doorbell()
  let catchUpInterval: Duration
  let freshness: TimeInterval
  let listens: Bool

  /// A responder on `database`; the intervals are the defaults above
  /// except in tests (a test of notifications alone reads the store
  /// seldom; one of the safety net alone does not listen).
  public init(
    database: any Database, configuration: MailsealConfiguration, logger: Logger,
    catchUpInterval: Duration = OCSPService.catchUpInterval,
    freshness: TimeInterval = OCSPService.freshness, listens: Bool = true
  ) {
    self.database = database
    self.configuration = configuration
    self.logger = logger
    self.catchUpInterval = catchUpInterval
    self.freshness = freshness
    self.listens = listens
  }

  // MARK: - Answers

  /// The answer from memory, without waiting for anything: a response
  /// signed ahead, a malformed request's answer, or (with a nonce, when the
  /// key is in memory) one signed right here. Nil when the request needs
  /// the store, a token or a response not yet signed: then
  /// ``respond(to:now:)``.
  public func immediateAnswer(to body: [UInt8], now: Date = Date()) -> Answer? {
    if let certID = Self.soleCertID(in: body) {
      let encoded = Array(certID)
      let found: Answer? = board.withLock { board in
        guard board.isCurrent(now, freshness: freshness), let responders = board.responders,
          now.timeIntervalSince(responders.loaded) < Self.responderReload,
          let key = board.index[encoded], let entry = board.entries[key],
          let signed = entry.signed.first(where: { $0.certID == encoded }),
          now.timeIntervalSince(signed.thisUpdate) < Self.refreshAge
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
    enum Found {
      case answer(Answer)
      case toSign(Responder, [OCSPCertStatus])
    }
    let cacheable = request.certIDs.count == 1 && request.nonce == nil
    let found: Found? = board.withLock { board in
      guard board.isCurrent(now, freshness: freshness), let responders = board.responders,
        now.timeIntervalSince(responders.loaded) < Self.responderReload,
        let signer = responders.list.first(where: { $0.responder.isForIssuer(request.certIDs[0]) })
      else { return nil }
      var statuses: [OCSPCertStatus] = []
      for certID in request.certIDs {
        guard signer.responder.isForIssuer(certID),
          let entry = board.entries[
            SerialKey(issuerID: signer.issuerID, serial: certID.serialNumber)]
        else { return nil }
        if cacheable {
          guard let signed = entry.signed.first(where: { $0.certID == certID.encoded }),
            now.timeIntervalSince(signed.thisUpdate) < Self.refreshAge
          else { return nil }
          return .answer(.signed(signed, entry.status))
        }
        statuses.append(entry.status)
      }
      return .toSign(signer, statuses)
    }
    switch found {
    case .answer(let answer):
      return answer
    case .toSign(let signer, let statuses) where signer.responder.signsInProcess:
      return try? sign(request, statuses: statuses, by: signer, now: now)
    default:
      return nil
    }
  }

  /// The CertID of a request for one certificate with nothing else — no
  /// version, requestor name, extension or signature — in DER (minimal
  /// lengths, nothing after): `SEQUENCE { SEQUENCE { SEQUENCE { SEQUENCE {
  /// CertID } } } }`, as OpenSSL, NSS and Windows send it without a nonce.
  /// Its bytes are looked up in the board's index, which holds only
  /// CertIDs that were read or made whole; anything else is nil and is
  /// read by ``OCSPRequest``.
  static func soleCertID(in body: [UInt8]) -> ArraySlice<UInt8>? {
    var bytes = body[...]
    for _ in 0..<4 {
      guard let content = sequenceContent(bytes) else { return nil }
      bytes = content
    }
    return bytes.first == 0x30 ? bytes : nil
  }

  /// The content of a DER SEQUENCE that is exactly `bytes`.
  static func sequenceContent(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
    let start = bytes.startIndex
    guard bytes.count >= 2, bytes[start] == 0x30 else { return nil }
    let length: Int
    let header: Int
    switch bytes[start + 1] {
    case 0..<0x80:
      (length, header) = (Int(bytes[start + 1]), 2)
    case 0x81 where bytes.count >= 3 && bytes[start + 2] >= 0x80:
      (length, header) = (Int(bytes[start + 2]), 3)
    case 0x82 where bytes.count >= 4 && bytes[start + 2] != 0:
      (length, header) = (Int(bytes[start + 2]) << 8 | Int(bytes[start + 3]), 4)
    default:
      return nil
    }
    guard bytes.count == header + length else { return nil }
    return bytes[(start + header)...]
  }

  /// Answers one DER request; never throws: every failure is an OCSP
  /// error response.
  public func respond(to body: [UInt8], now: Date = Date()) async -> Answer {
    if let answer = immediateAnswer(to: body, now: now) { return answer }
    let request: OCSPRequest
    do {
      request = try OCSPRequest(derEncoded: body)
    } catch {
      return .error(.malformedRequest, .malformedRequest)
    }
    do {
      return try await answer(request, now: now)
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

  func answer(_ request: OCSPRequest, now: Date) async throws -> Answer {
    let all = try await loadResponders(now: now)
    guard let signer = all.first(where: { $0.responder.isForIssuer(request.certIDs[0]) }),
      request.certIDs.allSatisfy({ signer.responder.isForIssuer($0) })
    else {
      return .error(.unauthorized, .unauthorized)
    }
    let statuses = try await status(of: request.certIDs.map(\.serialNumber), signer, now: now)
    guard request.certIDs.count == 1, request.nonce == nil else {
      return try sign(request, statuses: statuses, by: signer, now: now)
    }
    let certID = request.certIDs[0]
    let status = statuses[0]
    let key = SerialKey(issuerID: signer.issuerID, serial: certID.serialNumber)
    if let cached = board.withLock({ board -> Signed? in
      guard let other = board.other[certID.encoded], other.status == status,
        now.timeIntervalSince(other.signed.thisUpdate) < Self.otherAge
      else { return nil }
      return other.signed
    }) {
      return .signed(cached, status)
    }
    let signed = try Self.signAhead(certID, status, by: signer.responder, now: now)
    board.withLock { board in
      // Kept only if the status is still the one signed: a revocation
      // that came meanwhile empties the entry's responses.
      if board.entries[key]?.status == status {
        board.keep(signed, for: key)
      } else if board.entries[key] == nil {
        if board.other.count >= Self.otherLimit { board.other.removeAll(keepingCapacity: true) }
        board.other[certID.encoded] = (status, signed)
      }
    }
    return .signed(signed, status)
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
    return Signed(certID: certID.encoded, der: der, thisUpdate: thisUpdate)
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

  /// Rows of `certificates` as board entries.
  static func entry(_ row: any SQLRow) throws -> (SerialKey, OCSPCertStatus, Date)? {
    guard
      let serial = [UInt8](hexString: try row.decode(column: "serial", as: String.self))
    else { return nil }
    let key = SerialKey(
      issuerID: try row.decode(column: "issuer_id", as: UUID.self), serial: serial)
    let notAfter = try row.decode(column: "not_after", as: Date.self)
    guard try row.decode(column: "status", as: String.self) == "revoked" else {
      return (key, .good, notAfter)
    }
    return (
      key,
      .revoked(
        at: try row.decode(column: "revoked_at", as: Date.self),
        reason: RevocationReason(
          name: try row.decode(column: "revocation_reason", as: String?.self) ?? "")
          ?? .unspecified), notAfter
    )
  }

  static let columns = [
    "serial", "issuer_id", "status", "revoked_at", "revocation_reason", "not_after",
  ]

  func storedStatus(of serials: [String], issuerID: UUID) async throws
    -> [SerialKey: (OCSPCertStatus, Date)]
  {
    var result: [SerialKey: (OCSPCertStatus, Date)] = [:]
    for row in try await database.sql.select().columns(Self.columns).from("certificates")
      .where("serial", .in, serials).where("issuer_id", .equal, issuerID).all()
    {
      if let (key, status, notAfter) = try Self.entry(row) { result[key] = (status, notAfter) }
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
  }

  // MARK: - Keeping the board current

  /// Keeps this instance's board current and its responses signed, until
  /// the task is cancelled: loads every status of certificates not yet
  /// expired, then reads revocations as they are announced and every
  /// ``catchUpInterval``, and signs what is not signed or getting old.
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
      await group.waitForAll()
    }
  }

  func keepCurrent() async {
    var loggedFailure = false
    var lastSigning = Date.distantPast
    while !Task.isCancelled {
      let now = Date()
      do {
        if !board.withLock({ $0.loaded }) {
          try await load(now: now)
          logger.info(
            "OCSP: \(board.withLock { $0.entries.count }) certificate statuses in memory")
        } else {
          try await catchUp(now: now)
        }
        if loggedFailure {
          logger.notice("OCSP: revocations are read from the store again")
          loggedFailure = false
        }
        // Signing ahead: a minute after the last round, or a second after
        // something changed (a revocation, a certificate first asked for).
        let since = now.timeIntervalSince(lastSigning)
        if since >= 60 || (since >= 1 && board.withLock({ $0.changed })) {
          lastSigning = now
          try await signAhead(now: now)
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

  /// Every status of certificates not yet expired. The revocation number
  /// is read first: a revocation after it is read again by ``catchUp(now:)``.
  func load(now: Date) async throws {
    let sql = try database.sql
    let sequence = try await Self.lastNumber(sql)
    _ = try await loadResponders(now: now)
    var loaded: [(SerialKey, OCSPCertStatus, Date)] = []
    for row in try await sql.select().columns(Self.columns).from("certificates")
      .where("not_after", .greaterThan, now).all()
    {
      if let entry = try Self.entry(row) { loaded.append(entry) }
    }
    board.withLock { board in
      board.entries.reserveCapacity(loaded.count)
      for (key, status, notAfter) in loaded { board.learn(key, status, notAfter: notAfter) }
      board.sequence = sequence
      board.loaded = true
      board.caughtUpAt = now
    }
  }

  static func lastNumber(_ sql: any SQLDatabase) async throws -> Int64 {
    try await sql.raw(
      "SELECT COALESCE(MAX(revocation_seq), 0) AS n FROM certificates WHERE revocation_seq IS NOT NULL"
    ).first()?
    .decode(column: "n", as: Int64.self) ?? 0
  }

  /// The revocations numbered after the last one read.
  func catchUp(now: Date) async throws {
    let sql = try database.sql
    var sequence = board.withLock { $0.sequence }
    while true {
      let rows = try await sql.select().columns(Self.columns + ["revocation_seq"])
        .from("certificates").where("revocation_seq", .greaterThan, sequence)
        .orderBy("revocation_seq").limit(1_000).all()
      var learnt: [(SerialKey, OCSPCertStatus, Date)] = []
      for row in rows {
        sequence = max(sequence, try row.decode(column: "revocation_seq", as: Int64.self))
        if let entry = try Self.entry(row) { learnt.append(entry) }
      }
      let last = sequence
      board.withLock { board in
        for (key, status, notAfter) in learnt { board.learn(key, status, notAfter: notAfter) }
        board.sequence = max(board.sequence, last)
        if rows.count < 1_000 { board.caughtUpAt = max(board.caughtUpAt ?? now, now) }
      }
      if rows.count < 1_000 { return }
    }
  }

  /// Signs, outside the lock and on every core, the responses of board
  /// entries that have none (or one getting old), for the first responder
  /// of their issuer; drops entries expired a day ago.
  func signAhead(now: Date) async throws {
    let responders = try await loadResponders(now: now)
    let due: [(SerialKey, OCSPCertStatus)] = board.withLock { board in
      board.changed = false
      if now.timeIntervalSince(board.prunedAt) > 3_600 {
        board.entries = board.entries.filter { $0.value.notAfter > now.addingTimeInterval(-86_400) }
        board.index = board.index.filter { board.entries[$0.value] != nil }
        board.prunedAt = now
      }
      return board.entries.compactMap { key, entry in
        guard
          !entry.signed.contains(where: {
            now.timeIntervalSince($0.thisUpdate) < Self.refreshAge / 2
          })
        else { return nil }
        return (key, entry.status)
      }
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
          var signed: [(SerialKey, OCSPCertStatus, Signed)] = []
          for (key, status) in batch {
            guard let responder = byIssuer[key.issuerID] else { continue }
            let certID = responder.certID(serialNumber: key.serial)
            signed.append(
              (key, status, try Self.signAhead(certID, status, by: responder, now: now)))
          }
          self.board.withLock { board in
            for (key, status, response) in signed where board.entries[key]?.status == status {
              board.keep(response, for: key)
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
    for issuer in try await IssuerRecord.query(on: database).filter(\.$role == .issuing).all()
    where issuer.keyReference != nil {
      do {
        list.append(
          Responder(
            issuerID: issuer.id!,
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
  /// per CertID encoding, at most two encodings.
  mutating func keep(_ signed: OCSPService.Signed, for key: OCSPService.SerialKey) {
    guard var entry = entries.removeValue(forKey: key) else { return }
    entry.signed.removeAll { $0.certID == signed.certID }
    if entry.signed.count >= 2 { entry.signed.removeFirst() }
    entry.signed.append(signed)
    entries[key] = entry
    index[signed.certID] = key
  }
}

/// A revocation this process committed, as the OCSP responder needs it.
public struct RevocationNotice: Sendable {
  public let serial: String
  public let issuerID: UUID
  public let revokedAt: Date
  public let reason: RevocationReason
  public let notAfter: Date
}
