public import FluentKit
public import Foundation
public import Logging
import MailsealCA
public import MailsealModel
public import MailsealRA
import MailsealStore

/// Publishes the CRL of every CA whose key this installation holds: after
/// revocations (debounced, so that a burst makes one CRL), whenever the
/// published one is a day old, and on first request. Each CRL is one
/// transaction that locks the CA's row in `crls`, reads the revoked,
/// unexpired certificates, signs, and stores the CRL with the next number
/// (``CertificateRevocationList/number(after:at:)``: from the clock);
/// a revocation that commits meanwhile marks the row stale again, so it is
/// in the next CRL a moment later.
public actor CRLPublisher {
  let database: any Database
  let configuration: MailsealConfiguration
  let logger: Logger
  /// How long after a revocation the CRL is re-issued (collects a burst).
  let debounce: Duration
  /// How often the publisher looks without being asked.
  let pollInterval: Duration

  /// A CRL is re-issued when it is this old (S/MIME BR §4.9.7: at least
  /// every 7 days) …
  public static let refreshAge: TimeInterval = 86_400
  /// … and says when the next one is due: 7 days, within the BR's 10.
  public static let validity: TimeInterval = 7 * 86_400

  private let doorbell = Doorbell()
  private var authorities: [UUID: CertificateAuthority] = [:]

  let metrics: MailsealMetrics?

  public init(
    database: any Database, configuration: MailsealConfiguration, logger: Logger,
    debounce: Duration = .seconds(2), pollInterval: Duration = .seconds(600),
    metrics: MailsealMetrics? = nil
  ) {
    self.metrics = metrics
    self.database = database
    self.configuration = configuration
    self.logger = logger
    self.debounce = debounce
    self.pollInterval = pollInterval
  }

  /// What a published CRL is.
  public struct Published: Sendable {
    public let der: [UInt8]
    public let number: Int64
    public let thisUpdate: Date
    public let nextUpdate: Date
    public let entries: Int
  }

  /// The CRL of the CA with `slug`, published now if there is none yet.
  /// Nil when there is no such CA or its key is not held here.
  public func current(slug: String, now: Date = Date()) async throws -> Published? {
    guard
      let issuer = try await Store(database).issuers.find(slug: slug),
      issuer.role != .ocspResponder, issuer.keyReference != nil
    else { return nil }
    if let stored = try await Self.stored(issuerID: issuer.id, on: database),
      stored.nextUpdate > now
    {
      return stored
    }
    return try await publish(issuer, now: now)
  }

  static func stored(issuerID: UUID, on database: any Database) async throws -> Published? {
    guard let crl = try await Store(database).crls.current(issuer: issuerID) else { return nil }
    return Published(
      der: crl.der, number: crl.number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate,
      entries: crl.entries)
  }

  /// Makes and stores a new CRL for `issuer`.
  @discardableResult
  public func publish(_ issuer: CACertificate, now: Date = Date()) async throws -> Published {
    let issuerID = issuer.id
    // The key is decrypted once per process (PBKDF2 with 600,000
    // iterations costs ~80 ms), not once per CRL.
    let authority: CertificateAuthority
    if let loaded = authorities[issuerID] {
      authority = loaded
    } else {
      authority = try await CAInstallation(database: database, configuration: configuration)
        .authority(for: issuer)
      authorities[issuerID] = authority
    }
    let thisUpdate = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    let nextUpdate = thisUpdate.addingTimeInterval(Self.validity)
    let published = try await Store(database).transaction { store in
      // Lock the row first: revocations that commit after this point
      // mark it stale again.
      let last = try await store.crls.lockForNext(issuer: issuerID)
      // From the clock, so that a restore from an older backup cannot
      // publish a number already used.
      let number = CertificateRevocationList.number(after: last, at: now)
      var revoked: [RevokedCertificate] = []
      for entry in try await store.certificates.revoked(issuer: issuerID, unexpiredAt: thisUpdate) {
        revoked.append(
          RevokedCertificate(
            serialNumber: try Self.bytes(hex: entry.serial), revocationDate: entry.revokedAt,
            reason: RevocationReason(name: entry.reason) ?? .unspecified))
      }
      let der = try authority.signCRL(
        revoked: revoked, number: UInt64(number), thisUpdate: thisUpdate, nextUpdate: nextUpdate)
      try await store.crls.save(
        issuer: issuerID, number: number, thisUpdate: thisUpdate, nextUpdate: nextUpdate,
        der: der, entries: revoked.count, replacing: last != nil)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.ca, action: .crlPublished, subject: issuer.slug,
          details: ["number": "\(number)", "entries": "\(revoked.count)"]), on: store.database,
        now: now)
      return Published(
        der: der, number: number, thisUpdate: thisUpdate, nextUpdate: nextUpdate,
        entries: revoked.count)
    }
    metrics?.crlPublished.increment()
    logger.info(
      "CRL published",
      metadata: [
        "issuer": "\(issuer.slug)", "number": "\(published.number)",
        "entries": "\(published.entries)",
      ])
    return published
  }

  static func bytes(hex: String) throws -> [UInt8] {
    guard let bytes = [UInt8](hexString: hex) else { throw BadSerial() }
    return bytes
  }

  struct BadSerial: Error {}

  /// Publishes what is due: CAs with a key and no CRL yet, a stale CRL
  /// (a revocation since), or one older than ``refreshAge``.
  @discardableResult
  public func publishDue(now: Date = Date()) async throws -> Int {
    var published = 0
    let issuers = try await Store(database).issuers.all()
      .filter { $0.role != .ocspResponder && $0.keyReference != nil && $0.notAfter > now }
    for issuer in issuers {
      let crl = try await Store(database).crls.current(issuer: issuer.id)
      if crl == nil || crl?.staleSince != nil
        || now.timeIntervalSince(crl!.thisUpdate) >= Self.refreshAge
      {
        try await publish(issuer, now: now)
        published += 1
      }
    }
    return published
  }

  /// Asks for a CRL soon (after a revocation).
  public nonisolated func nudge() {
    doorbell.ring()
  }

  /// Publishes until cancelled: shortly after a nudge, and every poll
  /// interval.
  public func run() async {
    while !Task.isCancelled {
      do {
        try await publishDue()
      } catch {
        logger.backgroundFailure("CRL publisher", error)
      }
      await doorbell.wait(upTo: pollInterval)
      // Collect the rest of a burst of revocations into one CRL.
      try? await Task.sleep(for: debounce)
    }
  }
}
