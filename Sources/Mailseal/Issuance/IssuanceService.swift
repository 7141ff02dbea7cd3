public import FluentKit
import Foundation
import Logging
public import MailsealCA

/// One certificate to issue: the request as received and the subject the
/// registration authority validated.
public struct IssuanceOrder: Sendable {
  /// The PKCS#10 request, PEM or DER.
  public let request: [UInt8]
  /// Who the certificate is for.
  public let subject: ValidatedSubject

  public init(request: [UInt8], subject: ValidatedSubject) {
    self.request = request
    self.subject = subject
  }
}

/// Issues certificates in Boulder's order, a batch at a time:
///
/// 1. check every request (size, form, proof of possession, key type);
/// 2. check the keys against the store (certified for another mailbox,
///    blocked after a key compromise);
/// 3. build each certificate from the validated subject and lint it on a
///    copy signed by a throwaway key;
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

  public init(authority: CertificateAuthority, issuerID: UUID, database: any Database) {
    self.authority = authority
    self.issuerID = issuerID
    self.database = database
  }

  /// Issues one certificate.
  public func issue(_ order: IssuanceOrder, now: Date = Date()) async throws -> SignedCertificate {
    try await issue([order], now: now)[0].get()
  }

  /// Issues a batch; the results are in the order of the orders.
  public func issue(_ orders: [IssuanceOrder], now: Date = Date()) async throws -> [Result<
    SignedCertificate, CAError
  >] {
    var results = [Result<SignedCertificate, CAError>?](repeating: nil, count: orders.count)

    // 1. Check the requests.
    let checked = await Parallel.map(orders) { order in
      Result { () throws(CAError) in try CertificateRequestCheck.check(order.request) }
    }

    // 2. The keys against the store and against each other.
    let store = IssuanceStore(database: database)
    let fingerprints = checked.compactMap { try? $0.get().keyFingerprint.hexString }
    var facts = try await store.keyFacts(fingerprints)
    var accepted: [(index: Int, request: CheckedRequest)] = []
    for (index, result) in checked.enumerated() {
      switch result {
      case .failure(let error):
        results[index] = .failure(error)
      case .success(let request):
        let fingerprint = request.keyFingerprint.hexString
        let mailbox = orders[index].subject.mailbox.address
        if facts.blocked.contains(fingerprint) {
          results[index] = .failure(
            CAError(
              .keyCompromised,
              "This key was revoked for key compromise and can never be certified again; make a new key."
            ))
        } else if let others = facts.mailboxes[fingerprint],
          others.contains(where: { $0 != mailbox })
        {
          results[index] = .failure(
            CAError(
              .keyAlreadyCertified,
              "This key is already certified for another mailbox; make a new key for this one."))
        } else {
          facts.mailboxes[fingerprint, default: []].insert(mailbox)
          accepted.append((index, request))
        }
      }
    }

    // 3. Build and lint.
    let authority = self.authority
    let prepared = await Parallel.map(accepted) { item in
      Result { () throws(CAError) in
        try authority.prepare(item.request, for: orders[item.index].subject, now: now)
      }
    }
    var ready: [(index: Int, prepared: PreparedCertificate, keyType: SubscriberKeyType)] = []
    for (item, result) in zip(accepted, prepared) {
      switch result {
      case .failure(let error): results[item.index] = .failure(error)
      case .success(let certificate): ready.append((item.index, certificate, item.request.keyType))
      }
    }

    // 4. Record the intents.
    try await store.recordIntents(ready.map(\.prepared), issuerID: issuerID, now: now)

    // 5. Sign once each.
    let signed = await Parallel.map(ready) { item in
      Result { () throws(CAError) in try authority.sign(item.prepared) }
    }
    var done: [(SignedCertificate, SubscriberKeyType)] = []
    for (item, result) in zip(ready, signed) {
      results[item.index] = result
      if case .success(let certificate) = result { done.append((certificate, item.keyType)) }
    }

    // 6. Store.
    try await store.storeCertificates(done, issuerID: issuerID, now: now)
    return results.map { $0! }
  }

  /// Closes intents left pending by a process that died between recording
  /// and storing; returns their serials (logged, and listed on the CRL
  /// once revocation exists, since they may have been signed).
  public static func recoverAbandonedIntents(
    on database: any Database, logger: Logger, now: Date = Date()
  ) async throws {
    let serials = try await IssuanceStore(database: database).abandonPendingIntents(
      olderThan: now.addingTimeInterval(-300), now: now)
    if !serials.isEmpty {
      logger.warning(
        "Issuance intents left pending by an earlier process were marked abandoned",
        metadata: ["serials": .string(serials.joined(separator: ","))])
    }
  }
}

/// Runs CPU-bound work on every core.
public enum Parallel {
  /// Maps `items` in order, in as many chunks as there are cores (two per
  /// core, so that an uneven chunk does not leave one idle).
  public static func map<Item: Sendable, Output: Sendable>(
    _ items: [Item], _ transform: @escaping @Sendable (Item) -> Output
  ) async -> [Output] {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    guard items.count > 1, cores > 1 else { return items.map(transform) }
    let chunkSize = max(1, (items.count + cores * 2 - 1) / (cores * 2))
    let chunks = items.chunked(into: chunkSize)
    return await withTaskGroup(of: (Int, [Output]).self) { group in
      for (number, chunk) in chunks.enumerated() {
        let chunk = Array(chunk)
        group.addTask { (number, chunk.map(transform)) }
      }
      var parts = [[Output]](repeating: [], count: chunks.count)
      for await (number, outputs) in group { parts[number] = outputs }
      return parts.flatMap { $0 }
    }
  }
}
