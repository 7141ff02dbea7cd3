public import Foundation
public import MailsealCA
public import MailsealModel
import MailsealStore

extension RevocationReason {
  /// The reason as the pages and mails name it (the catalogue's
  /// `reason.<name>`).
  public func label(_ language: Language) -> String {
    Catalogue.text(labelID, language)
  }

  /// The catalogue ID of ``label(_:)``.
  public var labelID: String { "reason_\(Catalogue.idPart(name))" }

  /// The reasons staff may choose: the subscriber's and privilegeWithdrawn
  /// (S/MIME BR §4.9.1.1). cACompromise is the command line's.
  public static let staffChoices: [RevocationReason] =
    subscriberChoices.filter { $0 != .unspecified } + [.privilegeWithdrawn, .unspecified]
}

extension CertificateService {
  /// A certificate of this installation by serial (hex, any case, colons
  /// and spaces ignored).
  public func certificate(serial: String) async throws -> IssuedCertificate {
    let normalized = serial.lowercased().filter { $0.isHexDigit }
    guard !normalized.isEmpty, normalized.count <= 40,
      let record = try await store.certificates.find(serial: normalized)
    else { throw MailsealError.notFound }
    return record
  }

  /// The certificate with this id, if any.
  public func certificate(id: UUID) async throws -> IssuedCertificate? {
    try await store.certificates.find(id)
  }

  /// The number of the request with this id, if any (for a certificate's
  /// page).
  public func requestNumber(id: UUID) async throws -> String? {
    try await store.requests.find(id)?.number
  }

  /// The certificates of a mailbox, newest first (at most 200).
  public func certificates(of mailbox: String) async throws -> [IssuedCertificate] {
    try await store.certificates.of(mailbox: mailbox)
  }

  /// Revokes a certificate: at once in the store (so OCSP says revoked
  /// from the next query on), the CRL marked stale (the publisher re-issues
  /// it shortly), for keyCompromise the key blocked for good, the
  /// requester told by mail, and the audit trail written — all in one
  /// transaction.
  ///
  /// A requester may revoke only certificates of the mailbox they are
  /// signed in for, with the subscriber's reasons; an auditor never.
  @discardableResult
  public func revoke(
    serial: String, reason: RevocationReason, by revoker: Principal, now: Date = Date()
  ) async throws -> IssuedCertificate {
    let record = try await certificate(serial: serial)
    switch revoker {
    case .requester(let mailbox, _):
      // Another mailbox's certificate does not exist for this requester.
      guard record.mailbox == mailbox else { throw MailsealError.notFound }
      guard RevocationReason.subscriberChoices.contains(reason) else {
        throw MailsealError(.reasonNotAllowed)
      }
    case .staff:
      guard revoker.permissions.decide else { throw MailsealError.forbiddenForRole }
      guard RevocationReason.staffChoices.contains(reason) else {
        throw MailsealError(
          .reasonNotAllowed, message: Message("problem_reason_not_allowed_command_line"))
      }
    case .commandLine:
      break
    case .anonymous, .ca:
      throw MailsealError.forbiddenForRole
    }
    guard record.status == .active, record.revocationRequestedAt == nil else {
      throw MailsealError(.alreadyRevoked)
    }
    guard record.notAfter > now else {
      throw MailsealError(.certificateExpired)
    }
    if try await store.issuers.find(record.issuerID)?.role == .upstream {
      return try await requestUpstreamRevocation(record, reason: reason, by: revoker, now: now)
    }
    return try await recordRevocation(record, reason: reason, actor: revoker.auditActor, now: now)
  }

  /// An upstream CA's certificate: its revocation is asked of the
  /// upstream (the issuance worker sends it, again until it confirms) and
  /// recorded here once it does. The key is blocked at once for a key
  /// compromise; the audit trail says who asked, and why.
  func requestUpstreamRevocation(
    _ record: IssuedCertificate, reason: RevocationReason, by revoker: Principal, now: Date
  ) async throws -> IssuedCertificate {
    try await store.transaction { store in
      guard
        try await store.upstreamRevocations.request(
          certificateID: record.id, reason: reason.name, by: revoker.auditActor, now: now)
      else { throw MailsealError(.alreadyRevoked) }
      if reason == .keyCompromise {
        try await store.certificates.blockKey(
          record.keyFingerprint, reason: "keyCompromise of certificate \(record.serial)", now: now)
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: revoker.auditActor, action: .revocationRequested, subject: record.serial,
          details: [
            "reason": reason.name, "mailbox": record.mailbox,
            "upstream": configuration.upstream?.connector.name ?? "upstream",
          ]), on: store.database, now: now)
    }
    authority.issuanceResumed()
    logger.notice(
      "revocation requested at the upstream CA",
      metadata: ["serial": "\(record.serial)", "reason": "\(reason.name)"])
    var requested = record
    requested.revocationRequestedAt = now
    return requested
  }

  /// Records a revocation here (the embedded CA's at once; an upstream's
  /// once it confirmed), in one transaction with what follows from it.
  @discardableResult
  public func recordRevocation(
    _ record: IssuedCertificate, reason: RevocationReason, actor: String, now: Date,
    details: [String: String] = [:]
  ) async throws -> IssuedCertificate {
    var record = record
    let revokedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    let configuration = self.configuration
    try await store.transaction { [record] store in
      // Numbered in commit order, so that every instance's OCSP responder
      // reads it (RevocationSequence); someone else may have revoked it a
      // moment ago.
      guard
        try await store.certificates.revoke(
          record.id, at: revokedAt, reason: reason.name, by: actor)
      else {
        throw MailsealError(.alreadyRevoked)
      }
      if reason == .keyCompromise {
        try await store.certificates.blockKey(
          record.keyFingerprint, reason: "keyCompromise of certificate \(record.serial)", now: now)
      }
      try await store.certificates.markCRLStale(issuer: record.issuerID, since: now)
      let language =
        try await record.requestID.asyncFlatMap { try await store.requests.find($0) }
        .flatMap { Language(rawValue: $0.language) } ?? .de
      try await Outbox.enqueue(
        MailTemplates.certificateRevoked(
          record, reason: reason.label(language), portalURL: configuration.publicURL,
          from: configuration.mail.from, language: language),
        on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: actor, action: .certificateRevoked, subject: record.serial,
          details: [
            "reason": reason.name, "mailbox": record.mailbox,
            "keyBlocked": reason == .keyCompromise ? "true" : "false",
          ].merging(details) { $1 }), on: store.database, now: now)
      // Taken off the directory after its publication (in that order).
      if configuration.publishes {
        try await PublicationQueue.enqueueRemoval(
          serial: record.serial, reason: "revoked", on: store.database, now: now)
      }
      try await store.certificates.announceRevocation()
    }
    revocationRecorded(
      RevocationNotice(
        serial: record.serial, issuerID: record.issuerID, revokedAt: revokedAt, reason: reason,
        notAfter: record.notAfter))
    mailQueued()
    logger.notice(
      "certificate revoked",
      metadata: [
        "serial": "\(record.serial)", "reason": "\(reason.name)", "by": "\(actor)",
      ])
    record.status = .revoked
    record.revokedAt = revokedAt
    record.revocationReason = reason.name
    record.revokedBy = actor
    return record
  }

}
