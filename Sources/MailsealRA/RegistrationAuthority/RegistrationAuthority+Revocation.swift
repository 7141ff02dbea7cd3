import FluentKit
public import Foundation
public import MailsealCA
public import MailsealStore
import SQLKit

extension RevocationReason {
  /// The reason as the pages and mails name it (the catalogue's
  /// `reason.<name>`).
  public func label(_ language: Language) -> String {
    Catalogue.text(labelID, language)
  }

  /// The catalogue ID of ``label(_:)``.
  public var labelID: String { "reason.\(name)" }

  /// The reasons staff may choose: the subscriber's and privilegeWithdrawn
  /// (S/MIME BR §4.9.1.1). cACompromise is the command line's.
  public static let staffChoices: [RevocationReason] =
    subscriberChoices.filter { $0 != .unspecified } + [.privilegeWithdrawn, .unspecified]
}

extension RegistrationAuthority {
  /// A certificate of this installation by serial (hex, any case, colons
  /// and spaces ignored).
  public func certificate(serial: String) async throws -> CertificateRecord {
    let normalized = serial.lowercased().filter { $0.isHexDigit }
    guard !normalized.isEmpty, normalized.count <= 40,
      let record = try await CertificateRecord.query(on: database).filter(
        \.$serial == normalized
      ).first()
    else { throw MailsealError.notFound }
    return record
  }

  /// The certificates of a mailbox, newest first (at most 200).
  public func certificates(of mailbox: String) async throws -> [CertificateRecord] {
    try await CertificateRecord.query(on: database).filter(\.$mailbox == mailbox)
      .sort(\.$notBefore, .descending).limit(200).all()
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
  ) async throws -> CertificateRecord {
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
          .reasonNotAllowed, message: Message("problem.reason-not-allowed.command-line"))
      }
    case .commandLine:
      break
    case .anonymous, .ca:
      throw MailsealError.forbiddenForRole
    }
    guard record.status == .active else {
      throw MailsealError(.alreadyRevoked)
    }
    guard record.notAfter > now else {
      throw MailsealError(.certificateExpired)
    }
    let revokedAt = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    let configuration = self.configuration
    try await database.transaction { database in
      let sql = try database.sql
      // Numbered in commit order, so that every instance's OCSP responder
      // reads it (RevocationSequence).
      try await RevocationSequence.serialize(on: sql)
      let updated = try await sql.raw(
        """
        UPDATE certificates SET status = \(CertificateRecord.Status.revoked), revoked_at = \(bind: revokedAt),
          revocation_reason = \(bind: reason.name), revoked_by = \(bind: revoker.auditActor),
          revocation_seq = \(RevocationSequence.nextNumber)
        WHERE id = \(bind: record.id!) AND status = \(CertificateRecord.Status.active) RETURNING id
        """
      ).all()
      // Someone else revoked it a moment ago.
      guard !updated.isEmpty else {
        throw MailsealError(.alreadyRevoked)
      }
      if reason == .keyCompromise {
        let blocked = try await sql.select().column("key_fingerprint").from("blocked_keys")
          .where("key_fingerprint", .equal, record.keyFingerprint).first()
        if blocked == nil {
          try await sql.insert(into: "blocked_keys").columns(
            "id", "key_fingerprint", "reason", "created_at"
          ).values(
            SQLBind(UUID()), SQLBind(record.keyFingerprint),
            SQLBind("keyCompromise of certificate \(record.serial)"), SQLBind(now)
          ).run()
        }
      }
      try await sql.raw(
        """
        UPDATE crls SET stale_since = \(bind: now) WHERE issuer_id = \(bind: record.$issuer.id)
        """
      ).run()
      let language =
        try await CertificateRequestRecord.find(record.requestID, on: database)
        .flatMap { Language(rawValue: $0.language) } ?? .de
      try await Outbox.enqueue(
        MailTemplates.certificateRevoked(
          record, reason: reason.label(language), portalURL: configuration.publicURL,
          from: configuration.mail.from, language: language),
        on: database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: revoker.auditActor, action: .certificateRevoked, subject: record.serial,
          details: [
            "reason": reason.name, "mailbox": record.mailbox,
            "keyBlocked": reason == .keyCompromise ? "true" : "false",
          ]), on: database, now: now)
      // Taken off the directory after its publication (in that order).
      if configuration.publishes {
        try await PublicationQueue.enqueueRemoval(
          serial: record.serial, reason: "revoked", on: database, now: now)
      }
      try await RevocationSequence.announce(on: sql)
    }
    revocationRecorded(
      RevocationNotice(
        serial: record.serial, issuerID: record.$issuer.id, revokedAt: revokedAt, reason: reason,
        notAfter: record.notAfter))
    mailQueued()
    logger.notice(
      "certificate revoked",
      metadata: [
        "serial": "\(record.serial)", "reason": "\(reason.name)", "by": "\(revoker.auditActor)",
      ])
    record.status = .revoked
    record.revokedAt = revokedAt
    record.revocationReason = reason.name
    record.revokedBy = revoker.auditActor
    return record
  }

}
