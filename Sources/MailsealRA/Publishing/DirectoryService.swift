import Crypto
public import Foundation
import MailsealCA
public import MailsealModel
import MailsealStore

/// The certificates made findable: the look-up (`/directory`), the
/// holder's consent, what the directory could not take, and the repair of
/// a directory that lost or kept values (`directory sync`).
public struct DirectoryService: AuthorityPart {
  let authority: RegistrationAuthority
}

extension RegistrationAuthority {
  public var directory: DirectoryService { DirectoryService(authority: self) }
}

/// What the look-up allows per client (a person looking up colleagues,
/// not a harvest).
public enum DirectoryRules {
  public static let lookUpsPerClient = 60
  public static let lookUpWindow: TimeInterval = 600
}

/// A change the directory could not take (set aside): shown to admins.
public struct NotPublished: Sendable {
  public let serial: String
  public let mailbox: String
  public let kind: PublicationChange.Kind
  public let reason: String
  public let queuedAt: Date
}

/// What `directory sync` found and did.
public struct DirectorySyncReport: Sendable {
  /// A difference: a certificate to add or to remove.
  public struct Difference: Sendable {
    public let kind: PublicationChange.Kind
    public let mailbox: String
    public let serial: String
  }
  public var addresses = 0
  public var differences: [Difference] = []
  /// Addresses whose entry cannot be read (none, several), with the reason.
  public var unreadable: [(mailbox: String, reason: String)] = []
}

extension DirectoryService {
  /// Whether the look-up and publishing are on.
  public var isOn: Bool { configuration.directory.mode != .off }

  /// Whether the request form asks the question.
  public var asksConsent: Bool { configuration.directory.mode == .consent }

  /// The published, valid certificates for encryption of exactly
  /// `address`, newest first; none for an address without (whether or
  /// not it exists). Counted per client.
  public func lookUp(address: String, clientAddress: String, now: Date = Date()) async throws
    -> [IssuedCertificate]
  {
    guard isOn else { throw MailsealError.notFound }
    let mailbox: Mailbox
    do {
      guard address.utf8.count <= 320 else { throw MailsealError(.invalidAddress) }
      mailbox = try Mailbox(address)
    } catch {
      throw MailsealError(.invalidAddress, fields: ["mailbox": Message("field_address_invalid")])
    }
    try await RateLimiter(database: database).admitOrRefuse(
      [
        .init(
          key: "directory.client:\(clientAddress)", limit: DirectoryRules.lookUpsPerClient,
          window: DirectoryRules.lookUpWindow)
      ], now: now, logger: logger)
    return try await published(of: [mailbox.address], now: now)[mailbox.address] ?? []
  }

  /// Whether certificate `serial` should be in the directory now: for
  /// encryption, from a request, valid, and its holder agreed (or the
  /// organisation publishes all).
  func shouldBePublished(serial: String, now: Date) async throws -> Bool {
    guard let certificate = try await store.certificates.find(serial: serial) else { return false }
    return try await published(of: [certificate.mailbox], now: now)[certificate.mailbox]?
      .contains(where: { $0.serial == serial }) == true
  }

  /// The published, valid certificate with this serial (a look-up's
  /// download); none otherwise.
  public func publishedCertificate(serial: String, now: Date = Date()) async throws
    -> IssuedCertificate
  {
    guard isOn, serial.count <= 64, try await shouldBePublished(serial: serial, now: now),
      let certificate = try await store.certificates.find(serial: serial)
    else { throw MailsealError.notFound }
    return certificate
  }

  /// The certificate's SHA-256 fingerprint, hex with colons (as
  /// `openssl x509 -fingerprint -sha256` prints it).
  public static func fingerprint(_ certificate: IssuedCertificate) -> String {
    SHA256.hash(data: certificate.der).map { String(format: "%02X", $0) }.joined(separator: ":")
  }

  /// The certificate with its chain as a degenerate PKCS#7 (`.p7c`).
  public func pkcs7(_ certificate: IssuedCertificate) async throws -> [UInt8] {
    let chain = try await store.issuers.chain(from: certificate.issuerID)
    return try CertificateBundle.certsOnly(
      [Array(certificate.der)] + chain.map { Array($0.certificateDER) })
  }

  /// The certificates of `mailboxes` that are published now.
  func published(of mailboxes: [String], now: Date) async throws -> [String: [IssuedCertificate]] {
    let policy = configuration.directory
    var found: [String: [IssuedCertificate]] = [:]
    for candidate in try await store.directory.candidates(of: mailboxes)
    where candidate.hasRequest && candidate.isValid(at: now)
      && policy.publishes(consent: candidate.consent)
    {
      found[candidate.certificate.mailbox, default: []].append(candidate.certificate)
    }
    return found
  }

  /// The holder's answer for the request of certificate `serial` (shown
  /// on its pages): nil when not asked.
  public func consent(of certificate: IssuedCertificate) async throws -> Bool? {
    guard let requestID = certificate.requestID else { return nil }
    return try await store.requests.find(requestID)?.publishConsent
  }

  /// The holder agrees or withdraws: recorded with the request (one
  /// statement: a second click changes nothing), audited, and the
  /// directory changes queued for the request's certificates that are
  /// valid — a withdrawal is applied by the publication worker within its
  /// poll interval.
  public func setConsent(
    serial: String, consent: Bool, mailbox: String, now: Date = Date()
  ) async throws {
    guard configuration.directory.mode == .consent else { throw MailsealError(.wrongState) }
    guard let certificate = try await store.certificates.find(serial: serial),
      certificate.mailbox == mailbox, let requestID = certificate.requestID
    else { throw MailsealError.notFound }
    let publishes = configuration.publishes
    try await store.transaction { store in
      guard try await store.directory.setConsent(request: requestID, to: consent, now: now)
      else { return }
      var queued = 0
      if publishes {
        let request = try await store.requests.find(requestID)
        let ids = Set([request?.certificateID, request?.encryptionCertificateID].compactMap { $0 })
        for candidate in try await store.directory.candidates(of: [mailbox])
        where ids.contains(candidate.certificate.id) && candidate.isValid(at: now) {
          let certificate = candidate.certificate
          if consent {
            try await PublicationQueue.enqueue(
              [
                .init(
                  kind: .publish, mailbox: certificate.mailbox, serial: certificate.serial,
                  certificate: Array(certificate.der), reason: "consent-given")
              ], on: store.database, now: now)
            queued += 1
          } else if try await PublicationQueue.enqueueRemoval(
            serial: certificate.serial, reason: "consent-withdrawn", on: store.database, now: now)
          {
            queued += 1
          }
        }
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.requester(mailbox),
          action: consent ? .publicationConsentGiven : .publicationConsentWithdrawn,
          subject: certificate.serial, details: ["directoryChanges": "\(queued)"]),
        on: store.database, now: now)
    }
  }

  /// The changes the directory could not take, for the administrators.
  public func notPublished(for administrator: Principal, limit: Int = 200) async throws
    -> (count: Int, changes: [NotPublished])
  {
    try ServiceControl.refuseUnlessAdministrator(administrator)
    let (count, changes) = try await store.directory.setAside(limit: limit)
    return (
      count,
      changes.map {
        NotPublished(
          serial: $0.serial, mailbox: $0.mailbox, kind: $0.kind, reason: $0.reason,
          queuedAt: $0.queuedAt)
      }
    )
  }

  /// Compares what the directory holds with what it should: a certificate
  /// published and valid must be in every attribute of its entry; a value
  /// Mailseal queued once whose certificate is no longer published must
  /// not be there. Values anyone else put there are not looked at. Without
  /// `dryRun` the repairs are queued (in order, after every change queued
  /// before) and audited; the caller applies them.
  public func sync(
    with publisher: any Publisher, dryRun: Bool, actor: String, now: Date = Date(),
    progress: @Sendable (Int) -> Void = { _ in }
  ) async throws -> DirectorySyncReport {
    var report = DirectorySyncReport()
    var after = ""
    while true {
      let mailboxes = try await store.directory.mailboxes(after: after, limit: 500)
      guard let last = mailboxes.last else { break }
      after = last
      let candidates = try await store.directory.candidates(of: mailboxes)
      let queued = try await store.directory.everQueued(candidates.map(\.certificate.serial))
      let shouldHold = try await published(of: mailboxes, now: now)
      var byMailbox: [String: [DirectoryRecords.Candidate]] = [:]
      for candidate in candidates {
        byMailbox[candidate.certificate.mailbox, default: []].append(candidate)
      }
      var repairs: [PublicationQueue.Item] = []
      for mailbox in mailboxes {
        let wanted = shouldHold[mailbox] ?? []
        let ours = (byMailbox[mailbox] ?? []).filter { queued.contains($0.certificate.serial) }
        guard !wanted.isEmpty || !ours.isEmpty else { continue }
        report.addresses += 1
        let holdings: [[[UInt8]]]
        do {
          holdings = try await publisher.holdings(of: mailbox)
        } catch let failure as PublicationFailure {
          report.unreadable.append((mailbox, failure.reason))
          continue
        }
        let wantedSerials = Set(wanted.map(\.serial))
        for certificate in wanted
        where !holdings.allSatisfy({ $0.contains(Array(certificate.der)) }) {
          repairs.append(
            .init(
              kind: .publish, mailbox: mailbox, serial: certificate.serial,
              certificate: Array(certificate.der), reason: "sync"))
        }
        for candidate in ours where !wantedSerials.contains(candidate.certificate.serial) {
          let der = Array(candidate.certificate.der)
          guard holdings.contains(where: { $0.contains(der) }) else { continue }
          repairs.append(
            .init(
              kind: .unpublish, mailbox: mailbox, serial: candidate.certificate.serial,
              certificate: der, reason: "sync"))
        }
      }
      report.differences += repairs.map {
        DirectorySyncReport.Difference(kind: $0.kind, mailbox: $0.mailbox, serial: $0.serial)
      }
      if !dryRun, !repairs.isEmpty {
        // In a transaction: the head row's lock numbers them in commit
        // order (after every change committed before).
        try await store.transaction { [repairs] store in
          try await PublicationQueue.enqueue(repairs, on: store.database, now: now)
        }
      }
      progress(report.addresses)
    }
    if !dryRun {
      try await AuditTrail.append(
        AuditEvent(
          actor: actor, action: .directorySynced, subject: publisher.name,
          details: [
            "addresses": "\(report.addresses)",
            "added": "\(report.differences.filter { $0.kind == .publish }.count)",
            "removed": "\(report.differences.filter { $0.kind == .unpublish }.count)",
            "unreadable": "\(report.unreadable.count)",
          ]),
        on: database, now: now)
    }
    return report
  }
}
