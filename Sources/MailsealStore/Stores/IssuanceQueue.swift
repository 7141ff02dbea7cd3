public import FluentKit
import Foundation
import MailsealModel
import SQLKit

/// What the issuance worker needs of a claimed request, read in one query
/// without building Fluent models (whose reflection costs more than the
/// query).
public struct IssuingRequest: Sendable {
  public let id: UUID
  public let number: String
  public let mailbox: String
  public let mailboxType: String
  public let givenName: String?
  public let surname: String?
  public let pseudonym: String?
  public let csrDER: [UInt8]
  /// Key escrow: the encryption key's request, issued beside the signing one.
  public let encryptionCSRDER: [UInt8]?
  public let approvedAt: Date?
  public let mailboxValidatedAt: Date
  public let verifiedBy: UUID?
  public let approvedBy: UUID?
  /// Whether the account that checked the ID or approved has (or had)
  /// the request's mailbox as its address (``StaffAddresses``).
  public let decidedByHolder: Bool
  /// When the identity evidence it rests on was checked (its own, or for a
  /// renewal the earlier request's).
  public let evidenceCheckedAt: Date?
}

/// A request the worker marks issued: its certificates, its pickup link,
/// and how long its evidence is kept.
public struct IssuedRequest: Sendable {
  public let requestID: UUID
  public let certificateID: UUID
  public let encryptionCertificateID: UUID?
  public let pickupTokenHash: String
  public let evidenceRetainUntil: Date

  public init(
    requestID: UUID, certificateID: UUID, encryptionCertificateID: UUID?,
    pickupTokenHash: String, evidenceRetainUntil: Date
  ) {
    self.requestID = requestID
    self.certificateID = certificateID
    self.encryptionCertificateID = encryptionCertificateID
    self.pickupTokenHash = pickupTokenHash
    self.evidenceRetainUntil = evidenceRetainUntil
  }
}

/// Whom a pickup mail or a notice goes to.
public struct RequestRecipient: Sendable {
  public let id: UUID
  public let number: String
  public let mailbox: String
  public let language: String
  /// The holder's answer to publishing (nil: not asked).
  public var publishConsent: Bool? = nil
}

/// The approved requests on their way to the issuer: claimed with a lease
/// (two workers never issue one request at once), marked issued in the
/// transaction that stores their certificates.
extension IssuanceRecords {
  /// Claims up to `limit` approved requests whose mailbox validation is
  /// not older than `validSince`, until `leaseUntil`, oldest approval
  /// first, in one statement.
  public func claimApproved(validSince: Date, leaseUntil: Date, limit: Int, now: Date)
    async throws -> [UUID]
  {
    let sql = try database.sql
    return try await sql.raw(
      """
      UPDATE certificate_requests SET issuing_lease_until = \(bind: leaseUntil)
      WHERE id IN (
        SELECT id FROM certificate_requests
        WHERE state = \(CertificateRequest.State.approved) AND (issuing_lease_until IS NULL OR issuing_lease_until < \(bind: now))
          AND mailbox_validated_at >= \(bind: validSince) AND upstream_held_at IS NULL
        ORDER BY approved_at LIMIT \(literal: limit)\(unsafeRaw: sql.skipLocked))
      RETURNING id
      """
    ).all().map { try $0.decode(column: "id", as: UUID.self) }
  }

  /// Gives back the claims of `ids` that this claim (`leaseUntil`) still
  /// holds and that are still approved.
  public func releaseClaims(_ ids: [UUID], leaseUntil: Date) async throws {
    guard !ids.isEmpty else { return }
    try await database.sql.raw(
      """
      UPDATE certificate_requests SET issuing_lease_until = NULL
      WHERE id IN (\(binds: ids)) AND state = \(CertificateRequest.State.approved)
        AND issuing_lease_until = \(bind: leaseUntil)
      """
    ).run()
  }

  /// Holds approved requests whose mailbox validation is older than
  /// `validSince` and not held yet, in one statement (two workers never
  /// tell twice); those newly held.
  public func holdStale(validSince: Date, now: Date) async throws -> [RequestRecipient] {
    try await database.sql.raw(
      """
      UPDATE certificate_requests SET issuance_held_at = \(bind: now), updated_at = \(bind: now)
      WHERE state = \(CertificateRequest.State.approved) AND mailbox_validated_at < \(bind: validSince) AND issuance_held_at IS NULL
      RETURNING id, number, mailbox, language
      """
    ).all().map(Self.recipient)
  }

  /// The claimed requests, oldest approval first.
  public func issuingRequests(_ ids: [UUID]) async throws -> [IssuingRequest] {
    var requests: [IssuingRequest] = []
    for chunk in ids.chunked(into: 500) {
      for row in try await database.sql.raw(
        """
        SELECT r.id, r.number, r.mailbox, r.mailbox_type, r.given_name, r.surname, r.pseudonym,
          r.csr_der, r.encryption_csr_der, r.approved_at, r.mailbox_validated_at, r.verified_by, r.approved_by,
          (EXISTS (SELECT 1 FROM operators decider WHERE decider.id IN (r.approved_by, r.verified_by)
              AND decider.email = r.mailbox)
            OR EXISTS (SELECT 1 FROM operator_addresses held WHERE held.operator_id IN (r.approved_by, r.verified_by)
              AND held.address = r.mailbox)) AS decided_by_holder,
          evidence.checked_at AS evidence_checked_at
        FROM certificate_requests r
        LEFT JOIN identity_evidence evidence
          ON evidence.request_id = COALESCE(r.evidence_request_id, r.id)
        WHERE r.id IN (\(binds: Array(chunk))) ORDER BY r.approved_at
        """
      ).all() {
        requests.append(
          IssuingRequest(
            id: try row.decode(column: "id", as: UUID.self),
            number: try row.decode(column: "number", as: String.self),
            mailbox: try row.decode(column: "mailbox", as: String.self),
            mailboxType: try row.decode(column: "mailbox_type", as: String.self),
            givenName: try row.decode(column: "given_name", as: String?.self),
            surname: try row.decode(column: "surname", as: String?.self),
            pseudonym: try row.decode(column: "pseudonym", as: String?.self),
            csrDER: Array(try row.decode(column: "csr_der", as: Data.self)),
            encryptionCSRDER: try row.decode(column: "encryption_csr_der", as: Data?.self).map {
              Array($0)
            },
            approvedAt: try row.decode(column: "approved_at", as: Date?.self),
            mailboxValidatedAt: try row.decode(column: "mailbox_validated_at", as: Date.self),
            verifiedBy: try row.decode(column: "verified_by", as: UUID?.self),
            approvedBy: try row.decode(column: "approved_by", as: UUID?.self),
            decidedByHolder: try row.decode(column: "decided_by_holder", as: Bool.self),
            evidenceCheckedAt: try row.decode(column: "evidence_checked_at", as: Date?.self)))
      }
    }
    return requests
  }

  /// The ids of the stored certificates with these serials.
  public func certificateIDs(serials: [String]) async throws -> [String: UUID] {
    var ids: [String: UUID] = [:]
    for row in try await database.sql.select().column("id").column("serial").from("certificates")
      .where(SQLAmong("serial", serials)).all()
    {
      ids[try row.decode(column: "serial", as: String.self)] = try row.decode(
        column: "id", as: UUID.self)
    }
    return ids
  }

  /// Those of `ids` that escrow an encryption key (issued as a pair).
  public func escrowing(_ ids: [UUID]) async throws -> Set<UUID> {
    var pairs: Set<UUID> = []
    for row in try await database.sql.select().column("id").from("certificate_requests")
      .where(SQLAmong("id", ids)).where("encryption_csr_der", .isNot, SQLLiteral.null).all()
    {
      pairs.insert(try row.decode(column: "id", as: UUID.self))
    }
    return pairs
  }

  /// Marks approved requests issued, in a few statements whatever their
  /// number: certificates and pickup links set, the evidence kept until
  /// `evidenceRetainUntil` (a renewal's evidence belongs to the earlier
  /// request it reuses). Throws ``IssuedTwice`` when another worker issued
  /// one of them first (the caller's transaction is then undone). Whom to
  /// tell.
  public func markIssued(_ issued: [IssuedRequest], pickupExpires: Date, now: Date)
    async throws -> [RequestRecipient]
  {
    guard !issued.isEmpty else { return [] }
    let sql = try database.sql
    var certificateCase = SQLCaseBuilder()
    var encryptionCase = SQLCaseBuilder()
    var tokenCase = SQLCaseBuilder()
    var retentionCase = SQLCaseBuilder()
    var retainUntil: [UUID: Date] = [:]
    for request in issued {
      certificateCase.when(request.requestID, then: request.certificateID)
      if let encryption = request.encryptionCertificateID {
        encryptionCase.when(request.requestID, then: encryption)
      }
      tokenCase.when(request.requestID, then: request.pickupTokenHash)
      retentionCase.when(request.requestID, then: request.evidenceRetainUntil)
      retainUntil[request.requestID] = request.evidenceRetainUntil
    }
    let encryptionColumn =
      encryptionCase.isEmpty
      ? "" as SQLQueryString
      : "encryption_certificate_id = \(encryptionCase.expression(on: "id")),"
    let requestIDs = issued.map(\.requestID)
    let updated = try await sql.raw(
      """
      UPDATE certificate_requests SET state = \(CertificateRequest.State.issued),
        certificate_id = \(certificateCase.expression(on: "id")), \(encryptionColumn)
        pickup_token_hash = \(tokenCase.expression(on: "id")),
        pickup_expires_at = \(bind: pickupExpires), issuing_lease_until = NULL, updated_at = \(bind: now)
      WHERE \(SQLAmong("id", requestIDs)) AND state = \(CertificateRequest.State.approved) RETURNING id
      """
    ).all()
    // Another worker stored one of them first (after this one's lease ran
    // out): the whole transaction is undone, so none of these
    // certificates is kept, and the others are issued again.
    guard updated.count == requestIDs.count else { throw IssuedTwice() }
    // A renewal's evidence belongs to the earlier request it reuses: its
    // retention now runs from the new certificate's expiry.
    var evidenceOwners: [UUID: UUID] = [:]
    for row in try await sql.select().columns("id", "evidence_request_id")
      .from("certificate_requests").where(SQLAmong("id", requestIDs))
      .where("evidence_request_id", .isNot, SQLLiteral.null).all()
    {
      evidenceOwners[try row.decode(column: "id", as: UUID.self)] = try row.decode(
        column: "evidence_request_id", as: UUID.self)
    }
    if !evidenceOwners.isEmpty {
      var ownerCase = SQLCaseBuilder()
      for (request, owner) in evidenceOwners {
        guard let retain = retainUntil[request] else { continue }
        ownerCase.when(owner, then: retain)
      }
      try await sql.raw(
        """
        UPDATE identity_evidence SET retain_until = \(ownerCase.expression(on: "request_id"))
        WHERE \(SQLAmong("request_id", Array(Set(evidenceOwners.values))))
        """
      ).run()
    }
    try await sql.raw(
      """
      UPDATE identity_evidence SET retain_until = \(retentionCase.expression(on: "request_id"))
      WHERE \(SQLAmong("request_id", requestIDs))
      """
    ).run()
    return try await sql.select().columns("id", "number", "mailbox", "language", "publish_consent")
      .from("certificate_requests").where(SQLAmong("id", requestIDs)).all().map { row in
        var recipient = try Self.recipient(row)
        recipient.publishConsent = try row.decode(column: "publish_consent", as: Bool?.self)
        return recipient
      }
  }

  /// Rejects an approved request the CA will not issue, with the reason,
  /// in one statement; whom to tell, or nil when it is no longer approved.
  public func refuseApproved(_ id: UUID, reason: String, now: Date) async throws
    -> RequestRecipient?
  {
    try await database.sql.raw(
      """
      UPDATE certificate_requests SET state = \(CertificateRequest.State.rejected), rejection_reason = \(bind: String(reason.prefix(500))),
        issuing_lease_until = NULL, updated_at = \(bind: now) WHERE id = \(bind: id) AND state = \(CertificateRequest.State.approved)
      RETURNING id, number, mailbox, language
      """
    ).first().map(Self.recipient)
  }

  static func recipient(_ row: any SQLRow) throws -> RequestRecipient {
    RequestRecipient(
      id: try row.decode(column: "id", as: UUID.self),
      number: try row.decode(column: "number", as: String.self),
      mailbox: try row.decode(column: "mailbox", as: String.self),
      language: try row.decode(column: "language", as: String.self))
  }
}

/// Another worker marked a request issued first.
public struct IssuedTwice: Error, Sendable {
  public init() {}
}
