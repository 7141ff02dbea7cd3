public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// What the look-up and `directory sync` read: the certificates for
/// encryption of an address, whether their holders agreed to publishing,
/// and which of them Mailseal ever queued for the directory.
public struct DirectoryRecords: Sendable {
  let database: any Database

  /// A certificate for encryption with its holder's answer.
  public struct Candidate: Sendable {
    public let certificate: IssuedCertificate
    /// The request's answer (nil: not asked, or no request).
    public let consent: Bool?
    /// Issued through a request (the command line's certificates are
    /// never published).
    public var hasRequest: Bool { certificate.requestID != nil }

    /// Valid now: active, no revocation asked, within its validity.
    public func isValid(at now: Date) -> Bool {
      certificate.status == .active && certificate.revocationRequestedAt == nil
        && certificate.notBefore <= now && now < certificate.notAfter
    }
  }

  /// The certificates for encryption (dual-use or encryption-only) of
  /// `mailboxes`, newest first, with their holders' answers.
  public func candidates(of mailboxes: [String]) async throws -> [Candidate] {
    guard !mailboxes.isEmpty else { return [] }
    let records = try await CertificateRecord.query(on: database)
      .filter(\.$mailbox ~~ mailboxes).filter(\.$keyPurpose != "signing")
      .sort(\.$notBefore, .descending).all()
    let requestIDs = Array(Set(records.compactMap(\.requestID)))
    var consent: [UUID: Bool] = [:]
    for chunk in requestIDs.chunked(into: 500).map(Array.init) {
      for row in try await database.sql.select().columns("id", "publish_consent")
        .from("certificate_requests").where(SQLAmong("id", chunk)).all()
      {
        if let answer = try row.decode(column: "publish_consent", as: Bool?.self) {
          consent[try row.decode(column: "id", as: UUID.self)] = answer
        }
      }
    }
    return try records.map { record in
      Candidate(certificate: try record.value, consent: record.requestID.flatMap { consent[$0] })
    }
  }

  /// The next `limit` addresses with a certificate for encryption, in
  /// order, after `after`.
  public func mailboxes(after: String, limit: Int) async throws -> [String] {
    try await database.sql.raw(
      """
      SELECT DISTINCT mailbox FROM certificates WHERE mailbox > \(bind: after)
        AND key_purpose <> 'signing' ORDER BY mailbox LIMIT \(literal: limit)
      """
    ).all().map { try $0.decode(column: "mailbox", as: String.self) }
  }

  /// Of `serials`, those Mailseal ever queued for publication.
  public func everQueued(_ serials: [String]) async throws -> Set<String> {
    var queued: Set<String> = []
    for chunk in serials.chunked(into: 500).map(Array.init) {
      for row in try await database.sql.raw(
        """
        SELECT DISTINCT serial FROM publications WHERE \(SQLAmong("serial", chunk))
          AND kind = \(bind: PublicationChange.Kind.publish.rawValue)
        """
      ).all() {
        queued.insert(try row.decode(column: "serial", as: String.self))
      }
    }
    return queued
  }

  /// Records the holder's answer for a request, in one statement; false
  /// when it was that already (nothing to do).
  public func setConsent(request id: UUID, to consent: Bool, now: Date) async throws -> Bool {
    try await database.sql.raw(
      """
      UPDATE certificate_requests SET publish_consent = \(bind: consent),
        publish_consent_at = \(bind: now)
      WHERE id = \(bind: id) AND (publish_consent IS NULL OR publish_consent <> \(bind: consent))
      RETURNING id
      """
    ).first() != nil
  }

  /// A change that trying again cannot make work.
  public struct SetAside: Sendable {
    public let serial: String
    public let mailbox: String
    public let kind: PublicationChange.Kind
    public let reason: String
    public let queuedAt: Date
  }

  /// The changes set aside (newest first, at most `limit`) and how many
  /// there are.
  public func setAside(limit: Int) async throws -> (count: Int, changes: [SetAside]) {
    let state = PublicationState.setAside.rawValue
    let count =
      try await database.sql.raw(
        "SELECT COUNT(*) AS n FROM publications WHERE state = \(bind: state)"
      ).first()?.decode(column: "n", as: Int.self) ?? 0
    let changes = try await database.sql.raw(
      """
      SELECT serial, mailbox, kind, last_error, created_at FROM publications
      WHERE state = \(bind: state) ORDER BY sequence DESC LIMIT \(literal: limit)
      """
    ).all().map { row in
      SetAside(
        serial: try row.decode(column: "serial", as: String.self),
        mailbox: try row.decode(column: "mailbox", as: String.self),
        kind: PublicationChange.Kind(rawValue: try row.decode(column: "kind", as: String.self))
          ?? .publish,
        reason: try row.decode(column: "last_error", as: String?.self) ?? "",
        queuedAt: try row.decode(column: "created_at", as: Date.self))
    }
    return (count, changes)
  }
}
