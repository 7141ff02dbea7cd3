public import FluentKit
import Foundation
import Logging
public import MailsealCA
import MailsealModel
public import MailsealStore

/// One certificate to issue: the request as received and the subject the
/// registration authority validated.
public struct IssuanceOrder: Sendable {
  /// The PKCS#10 request, PEM or DER.
  public let request: [UInt8]
  /// Who the certificate is for.
  public let subject: ValidatedSubject
  /// The certificate request it answers, if any (recorded with the certificate).
  public let requestID: UUID?
  /// What the key is for: one dual-use key, or one of a signing and an
  /// encryption key (key escrow).
  public let purpose: KeyPurpose
  /// The request's number, for an upstream's own records.
  public var number: String?
  /// An upstream's order of `mailseal ca issue` (no request): its id, the
  /// same for every attempt to finish it.
  public var upstreamOrderID: UUID?

  public init(
    request: [UInt8], subject: ValidatedSubject, requestID: UUID? = nil,
    purpose: KeyPurpose = .dualUse
  ) {
    self.request = request
    self.subject = subject
    self.requestID = requestID
    self.purpose = purpose
  }
}

/// Issues certificates in Boulder's order, a batch at a time:
///
/// 1. check every request (size, form, proof of possession, key type);
/// 2. check the keys against the store (certified for another mailbox,
///    blocked after a key compromise);
/// 3. build each certificate from the validated subject and lint its
///    to-be-signed bytes, parsed back under a placeholder signature;
/// 4. record the intents durably (one transaction);
/// 5. sign each once with the CA key;
/// 6. store the certificates and close the intents (one transaction).
///
/// CPU-bound steps run on all cores; the store sees three statements per
/// batch, not three per certificate. A refusal in steps 1–3 refuses that
/// certificate only; a failure of the store fails the batch, and nothing
/// was signed whose intent is not recorded.
public struct IssuanceService: Sendable {
  /// The signing CA.
  public let authority: CertificateAuthority
  /// Its record's id.
  public let issuerID: UUID
  let database: any Database
  /// Tests set this to fail the batch between signing and storing, as a
  /// crash or a lost database would.
  var faultBeforeStoring: (@Sendable () throws -> Void)?
  /// Runs inside the transaction that stores certificates, so that what
  /// follows from them (the request marked issued, the pickup mail queued)
  /// is stored with them or not at all.
  public var afterStoring: (@Sendable (any Database, [StoredCertificate]) async throws -> Void)?
  /// Where the batch timings go (debug level).
  public var logger = Logger(label: "mailseal.issuance")

  public init(authority: CertificateAuthority, issuerID: UUID, database: any Database) {
    self.authority = authority
    self.issuerID = issuerID
    self.database = database
  }

  /// What runs in the transaction that stores certificates: what follows
  /// from them (``afterStoring``), then the CA's record of each issuance.
  func storingStep(now: Date) -> @Sendable (Store, [StoredCertificate]) async throws -> Void {
    let afterStoring = self.afterStoring
    return { store, signed in
      try await afterStoring?(store.database, signed)
      try await AuditTrail.append(
        signed.map { item in
          AuditEvent(
            actor: AuditEvent.ca, action: .certificateIssued,
            subject: item.certificate.prepared.serialHex,
            details: [
              "mailbox": item.certificate.prepared.subject.mailbox.address,
              "notAfter": UTCDateFields(item.certificate.prepared.notAfter).internetDateTime,
              "request": item.requestID?.uuidString ?? "command line",
            ])
        }, on: store.database, now: now)
    }
  }

  /// Issues one certificate.
  public func issue(_ order: IssuanceOrder, now: Date = Date()) async throws -> SignedCertificate {
    try await issue([order], now: now)[0].get()
  }

  /// How many certificates go through the pipeline together. Chunks
  /// overlap: while the transaction that records one chunk commits, the
  /// chunk before it is signed and the next is checked, built and linted.
  static let chunkSize = 256

  /// Issues a batch; the results are in the order of the orders.
  ///
  /// A failure of the store fails the call. Certificates committed before
  /// it stay committed; the intents of those signed but not stored stay
  /// pending, so no signature is ever without its record.
  public func issue(_ orders: [IssuanceOrder], now: Date = Date()) async throws -> [Result<
    SignedCertificate, CAError
  >] {
    var results = [Result<SignedCertificate, CAError>?](repeating: nil, count: orders.count)
    guard !orders.isEmpty else { return [] }
    let store = Store(database).issuance
    let chunks = Self.chunks(of: orders)
    var stages = StageTimer()

    // Chunk 0 is prepared alone. After that, each round runs three things
    // at once: the commit that records chunk k and stores chunk k−2, the
    // signing of chunk k−1 (recorded by the round before), and the build
    // of chunk k+1 (with the check of chunk k+2). When nothing is left to
    // record, the last chunk is signed and stored with the one before it
    // in one commit. A chunk is signed only after the commit that
    // recorded it, and stored by a later one.
    var current: PreparedChunk? = await build(
      try await vet(check(chunks[0], of: orders), of: orders, facts: KeyFacts(), store: store),
      of: orders, now: now)
    var checkedNext = chunks.count > 1 ? await check(chunks[1], of: orders) : []
    stages.lap("prepare")
    var toSign: [ReadyCertificate] = []
    var toStore: [StoredCertificate] = []
    var issued = 0
    var number = 0
    while let chunk = current {
      for (index, failure) in chunk.refused { results[index] = .failure(failure) }
      if !toStore.isEmpty { try faultBeforeStoring?() }
      // The keys of chunk k+1 are looked up before the commit begins: on
      // SQLite the lookup would wait for the commit's connection.
      let vetted =
        number + 1 < chunks.count
        ? try await vet(checkedNext, of: orders, facts: chunk.facts, store: store) : nil
      let (storing, signing) = (toStore, toSign)
      async let committed = StageTimer.measure {
        try await store.commit(
          storing: storing, recording: chunk.ready.map(\.prepared), issuerID: issuerID,
          now: now, afterStoring: storingStep(now: now))
      }
      async let signatures = StageTimer.measure { await sign(signing) }
      let later = number + 2 < chunks.count ? chunks[number + 2] : []
      // One core is left to the commit and the signatures: the commit's
      // statements hop between the store's event loop and thread, and
      // each hop would wait for a core saturated by the build. In the
      // first round nothing is signed yet, and the build takes every core.
      let leavingCores = signing.isEmpty ? 0 : 1
      async let next = StageTimer.measure {
        await prepare(vetted, checking: later, of: orders, now: now, leavingCores: leavingCores)
      }
      let (signed, signTime) = await signatures
      let ((), commitTime) = try await committed
      issued += storing.count
      stages.add("sign", signTime)
      stages.add("commit", commitTime)
      stages.lap("round")
      let outcome = collect(signed, of: signing, orders: orders, into: &results)
      if let fault = outcome.custodyFault {
        _ = await next
        // The intents just recorded will not be signed either.
        try await stopForCustody(
          fault, storing: outcome.stored,
          unsigned: outcome.unsigned + chunk.ready.map(\.prepared.serialHex),
          storedBefore: issued, store: store, now: now)
      }
      (toStore, toSign) = (outcome.stored, chunk.ready)
      let (prepared, prepareTime) = await next
      (current, checkedNext) = prepared
      stages.add("prepare", prepareTime)
      stages.lap("wait")
      number += 1
    }
    // The last chunk: signed, then stored with the chunk before in one
    // commit (it would wait for the signatures anyway).
    let outcome = collect(await sign(toSign), of: toSign, orders: orders, into: &results)
    stages.lap("sign")
    if let fault = outcome.custodyFault {
      try await stopForCustody(
        fault, storing: toStore + outcome.stored, unsigned: outcome.unsigned,
        storedBefore: issued, store: store, now: now)
    }
    toStore += outcome.stored
    if !toStore.isEmpty { try faultBeforeStoring?() }
    try await store.commit(
      storing: toStore, recording: [], issuerID: issuerID, now: now,
      afterStoring: storingStep(now: now))
    issued += toStore.count
    stages.lap("commit")
    logger.debug(
      "issued a batch",
      metadata: stages.metadata.merging(["orders": "\(orders.count)", "issued": "\(issued)"]) { $1 }
    )
    return results.map { $0! }
  }

  /// What signing a chunk gave: the certificates to store, the serials the
  /// key's custody refused, and why. Each order's result is set.
  func collect(
    _ signed: [Result<SignedCertificate, CAError>], of chunk: [ReadyCertificate],
    orders: [IssuanceOrder], into results: inout [Result<SignedCertificate, CAError>?]
  ) -> (stored: [StoredCertificate], unsigned: [String], custodyFault: CAError?) {
    var stored: [StoredCertificate] = []
    var unsigned: [String] = []
    var custodyFault: CAError?
    for (item, result) in zip(chunk, signed) {
      results[item.index] = result
      switch result {
      case .success(let certificate):
        stored.append(
          StoredCertificate(
            certificate: certificate, keyType: item.keyType,
            requestID: orders[item.index].requestID, purpose: orders[item.index].purpose))
      case .failure(let error) where error.isCustodyFault:
        unsigned.append(item.prepared.serialHex)
        custodyFault = custodyFault ?? error
      case .failure:
        break
      }
    }
    return (stored, unsigned, custodyFault)
  }

  /// The key's custody went away mid-batch: what was signed is stored, the
  /// intents never signed are closed as unsigned, and the rest of the
  /// batch waits for the key (the caller keeps those requests approved).
  func stopForCustody(
    _ fault: CAError, storing signed: [StoredCertificate], unsigned: [String],
    storedBefore: Int, store: IssuanceRecords, now: Date
  ) async throws -> Never {
    // Closed first: should storing fail, these serials were still never
    // signed (and must not end up on a CRL as abandoned).
    try await store.markUnsigned(unsigned, now: now)
    try await store.commit(
      storing: signed, recording: [], issuerID: issuerID, now: now,
      afterStoring: storingStep(now: now))
    logger.error(
      "the CA key could not sign; the batch stops until it is back",
      metadata: [
        "stored": "\(storedBefore + signed.count)", "unsigned": "\(unsigned.count)",
        "reason": "\(fault.message)",
      ])
    throw fault
  }

  /// Beside a round's commit and signatures: step 3 for the next chunk,
  /// step 1 for the one after, on all cores but `leavingCores`.
  func prepare(
    _ vetted: VettedChunk?, checking later: [Int], of orders: [IssuanceOrder], now: Date,
    leavingCores: Int
  ) async -> (PreparedChunk?, [CheckedOrder]) {
    var built: PreparedChunk?
    if let vetted {
      built = await build(vetted, of: orders, now: now, leavingCores: leavingCores)
    }
    return (built, await check(later, of: orders, leavingCores: leavingCores))
  }

  /// Step 5 for one chunk whose intents are on disk: one signature each,
  /// on every core. A key in a token is asked once per chunk whether it is
  /// there (a session opened before may sign from memory after the token
  /// went).
  func sign(_ chunk: [ReadyCertificate]) async -> [Result<SignedCertificate, CAError>] {
    guard !chunk.isEmpty else { return [] }
    let authority = self.authority
    do throws(CAError) {
      try authority.signingKey.ensureAvailable()
    } catch {
      return chunk.map { _ in .failure(error) }
    }
    return await Parallel.map(chunk) { item in
      Result { () throws(CAError) in try authority.sign(item.prepared) }
    }
  }

  /// The orders in chunks of about ``chunkSize``; the orders of one
  /// request (a signing and an encryption certificate) are next to each
  /// other and never split, so that they are refused, recorded, signed and
  /// stored together.
  static func chunks(of orders: [IssuanceOrder]) -> [[Int]] {
    var chunks: [[Int]] = []
    var current: [Int] = []
    for index in orders.indices {
      let sameRequest =
        index > 0 && orders[index].requestID != nil
        && orders[index].requestID == orders[index - 1].requestID
      if current.count >= chunkSize && !sameRequest {
        chunks.append(current)
        current = []
      }
      current.append(index)
    }
    if !current.isEmpty { chunks.append(current) }
    return chunks
  }

  /// Key facts known so far in a batch: from the store, and the mailboxes
  /// this batch has already given each key.
  typealias KeyFacts = IssuanceRecords.KeyFacts

  /// An order's request, checked or refused.
  typealias CheckedOrder = (index: Int, result: Result<CheckedRequest, CAError>)

  /// A certificate built and linted, waiting for its intent and signature.
  typealias ReadyCertificate = (
    index: Int, prepared: PreparedCertificate, keyType: SubscriberKeyType
  )

  /// A chunk checked, its keys vetted, built and linted.
  struct PreparedChunk: Sendable {
    var ready: [ReadyCertificate] = []
    var refused: [(Int, CAError)] = []
    var facts: KeyFacts
  }

  /// A chunk whose keys passed the store's checks, waiting to be built.
  struct VettedChunk: Sendable {
    var accepted: [(index: Int, request: CheckedRequest)] = []
    var refused: [(Int, CAError)] = []
    var facts: KeyFacts
  }

  /// Step 1 for one chunk: check each request (CPU only, every core).
  func check(_ indices: [Int], of orders: [IssuanceOrder], leavingCores: Int = 0) async
    -> [CheckedOrder]
  {
    await Parallel.map(indices, leavingCores: leavingCores) { index in
      (
        index,
        Result { () throws(CAError) in try CertificateRequestCheck.check(orders[index].request) }
      )
    }
  }

  /// Step 2 for one chunk: check the keys against the store and the batch
  /// so far (one lookup).
  func vet(
    _ checked: [CheckedOrder], of orders: [IssuanceOrder],
    facts known: KeyFacts, store: IssuanceRecords
  ) async throws -> VettedChunk {
    var chunk = VettedChunk(facts: known)
    guard !checked.isEmpty else { return chunk }
    let fingerprints = checked.compactMap { try? $0.result.get().keyFingerprint.hexString }
    let stored = try await store.keyFacts(fingerprints)
    for (index, result) in checked {
      switch result {
      case .failure(let error):
        chunk.refused.append((index, error))
      case .success(let request):
        let fingerprint = request.keyFingerprint.hexString
        let mailbox = orders[index].subject.mailbox.address
        if let refusal = stored.refusal(of: fingerprint, for: mailbox, also: chunk.facts) {
          chunk.refused.append((index, refusal))
        } else {
          chunk.facts.mailboxes[fingerprint, default: []].insert(mailbox)
          chunk.accepted.append((index, request))
        }
      }
    }
    return chunk
  }

  /// Step 3 for one chunk: build and lint (CPU only, every core).
  func build(
    _ vetted: VettedChunk, of orders: [IssuanceOrder], now: Date, leavingCores: Int = 0
  ) async -> PreparedChunk {
    var chunk = PreparedChunk(refused: vetted.refused, facts: vetted.facts)
    let authority = self.authority
    let prepared = await Parallel.map(vetted.accepted, leavingCores: leavingCores) { item in
      Result { () throws(CAError) in
        let order = orders[item.index]
        return try authority.prepare(
          item.request, for: order.subject, purpose: order.purpose, now: now)
      }
    }
    for (item, result) in zip(vetted.accepted, prepared) {
      switch result {
      case .failure(let error): chunk.refused.append((item.index, error))
      case .success(let certificate):
        chunk.ready.append((item.index, certificate, item.request.keyType))
      }
    }
    // A request's certificates go together: when one is refused, so is
    // the other, before anything is recorded.
    let refusedRequests = Dictionary(
      chunk.refused.compactMap { index, error in orders[index].requestID.map { ($0, error) } },
      uniquingKeysWith: { first, _ in first })
    if !refusedRequests.isEmpty {
      chunk.ready.removeAll { item in
        guard let requestID = orders[item.index].requestID,
          let error = refusedRequests[requestID]
        else { return false }
        chunk.refused.append((item.index, error))
        return true
      }
    }
    return chunk
  }

  /// Closes intents left pending by a process that died between recording
  /// and storing; returns their serials (logged, and listed on the CRL
  /// once revocation exists, since they may have been signed).
  public static func recoverAbandonedIntents(
    on database: any Database, logger: Logger, now: Date = Date()
  ) async throws {
    let serials = try await Store(database).issuance.abandonPendingIntents(
      olderThan: now.addingTimeInterval(-300), now: now)
    if !serials.isEmpty {
      logger.warning(
        "Issuance intents left pending by an earlier process were marked abandoned",
        metadata: ["serials": .string(serials.joined(separator: ","))])
    }
  }
}

/// Milliseconds spent per stage of a batch (summed over its chunks), for
/// the debug log.
struct StageTimer {
  private var last = ContinuousClock.now
  private var sums: [String: Double] = [:]

  /// Adds the time of a stage that ran beside others.
  mutating func add(_ stage: String, _ duration: Duration) {
    let parts = duration.components
    sums[stage, default: 0] += Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
  }

  /// Runs `body`, returning its result and how long it took.
  static func measure<T>(_ body: () async throws -> T) async rethrows -> (T, Duration) {
    let start = ContinuousClock.now
    let result = try await body()
    return (result, ContinuousClock.now - start)
  }

  /// Adds the time since the last lap to `stage`.
  mutating func lap(_ stage: String) {
    let now = ContinuousClock.now
    add(stage, now - last)
    last = now
  }

  var metadata: Logger.Metadata {
    sums.reduce(into: [:]) { $0["\($1.key)_ms"] = "\(($1.value * 10).rounded() / 10)" }
  }
}

/// Runs CPU-bound work on every core.
public enum Parallel {
  /// Maps `items` in order, in eight times as many chunks as there are
  /// workers, at most `workers` at a time: work running beside this map
  /// (the next chunk's build beside this one's signatures) takes turns on
  /// the same cores, and with small chunks the workers still finish
  /// together instead of one core idling through the last long chunk.
  /// `leavingCores` keeps cores free for work running beside this (the
  /// store's connection and its thread): a core saturated by this map
  /// would delay every one of their hand-offs.
  public static func map<Item: Sendable, Output: Sendable>(
    _ items: [Item], leavingCores reserved: Int = 0,
    _ transform: @escaping @Sendable (Item) -> Output
  ) async -> [Output] {
    let workers = max(1, ProcessInfo.processInfo.activeProcessorCount - reserved)
    guard items.count > 1, workers > 1 else { return items.map(transform) }
    let chunkSize = max(1, (items.count + workers * 8 - 1) / (workers * 8))
    let chunks = items.chunked(into: chunkSize)
    return await withTaskGroup(of: (Int, [Output]).self) { group in
      var parts = [[Output]](repeating: [], count: chunks.count)
      var started = 0
      func start() {
        let number = started
        let chunk = Array(chunks[number])
        group.addTask { (number, chunk.map(transform)) }
        started += 1
      }
      while started < min(workers, chunks.count) { start() }
      for await (number, outputs) in group {
        parts[number] = outputs
        if started < chunks.count { start() }
      }
      return parts.flatMap { $0 }
    }
  }
}
