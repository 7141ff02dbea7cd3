public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// Certificate requests, from the browser's CSR to issuance. Each change
/// of state is one guarded statement (it names the states it may leave),
/// true when it changed the request.
public struct CertificateRequests: Sendable {
  let database: any Database

  /// Stores a new request and the words the desk finds it by. A number
  /// drawn twice fails on its unique index: ``DuplicateEntry``.
  public func add(_ request: CertificateRequest) async throws {
    let record = CertificateRequestRecord(request)
    try await DuplicateEntry.mapping { try await record.create(on: database) }
    try await SearchTerms.save(record.searchTerms, for: request.id, on: database)
  }

  /// The request with this number (already normalised).
  public func find(number: String) async throws -> CertificateRequest? {
    try await CertificateRequestRecord.query(on: database).filter(\.$number == number).first()?
      .value
  }

  /// The request whose pickup link has this token hash.
  public func find(pickupTokenHash: String) async throws -> CertificateRequest? {
    try await CertificateRequestRecord.query(on: database)
      .filter(\.$pickupTokenHash == pickupTokenHash).first()?.value
  }

  /// The request whose encryption certificate this is (key escrow).
  public func find(encryptionCertificate id: UUID) async throws -> CertificateRequest? {
    try await CertificateRequestRecord.query(on: database)
      .filter(\.$encryptionCertificateID == id).first()?.value
  }

  /// The request with this id.
  public func find(_ id: UUID) async throws -> CertificateRequest? {
    try await CertificateRequestRecord.find(id, on: database)?.value
  }

  /// How many requests are in `state`.
  public func count(in state: CertificateRequest.State) async throws -> Int {
    try await CertificateRequestRecord.query(on: database).filter(\.$state == state).count()
  }

  /// The requests of a mailbox, newest first.
  public func of(mailbox: String, limit: Int = 200) async throws -> [CertificateRequest] {
    try await CertificateRequestRecord.query(on: database).filter(\.$mailbox == mailbox)
      .sort(\.$createdAt, .descending).limit(limit).all().map { try $0.value }
  }

  /// The mailboxes other than `mailbox` whose requests (withdrawn,
  /// rejected and expired ones aside) hold the key `fingerprint`, as the
  /// signing or the encryption key; at most one is named.
  public func keyHolders(of fingerprint: String, otherThan mailbox: String) async throws
    -> [String]
  {
    try await CertificateRequestRecord.query(on: database)
      .group(.or) { group in
        group.filter(\.$keyFingerprint == fingerprint)
          .filter(\.$encryptionKeyFingerprint == fingerprint)
      }
      .filter(\.$mailbox != mailbox)
      .filter(\.$state !~ [.withdrawn, .rejected, .expired]).limit(1).all().map(\.mailbox)
  }

  /// Withdrawn by its requester, from submitted or verified.
  public func withdraw(_ id: UUID, now: Date) async throws -> Bool {
    try await changed(
      """
      UPDATE certificate_requests SET state = \(CertificateRequest.State.withdrawn), updated_at = \(bind: now)
      WHERE id = \(bind: id) AND state IN (\([CertificateRequest.State.submitted, .verified])) RETURNING id
      """)
  }

  /// Verified by `staff` (identity evidence recorded), from submitted —
  /// never for a mailbox the account has or had, decided in the statement.
  public func verify(_ id: UUID, by staff: StaffMember, now: Date) async throws -> Bool {
    try await changed(
      """
      UPDATE certificate_requests SET state = \(CertificateRequest.State.verified), verified_by = \(bind: staff.id), verified_at = \(bind: now),
        updated_at = \(bind: now) WHERE id = \(bind: id) AND state = \(CertificateRequest.State.submitted)
        AND NOT \(StaffAddresses.held(by: staff, column: "certificate_requests.mailbox")) RETURNING id
      """)
  }

  /// Approved by `staff`, from verified (the same rule on mailboxes).
  public func approve(_ id: UUID, by staff: StaffMember, now: Date) async throws -> Bool {
    try await changed(
      """
      UPDATE certificate_requests SET state = \(CertificateRequest.State.approved), approved_by = \(bind: staff.id), approved_at = \(bind: now),
        updated_at = \(bind: now) WHERE id = \(bind: id) AND state = \(CertificateRequest.State.verified)
        AND NOT \(StaffAddresses.held(by: staff, column: "certificate_requests.mailbox")) RETURNING id
      """)
  }

  /// Rejected by `staff` for `reason`, from submitted or verified (the
  /// same rule on mailboxes).
  public func reject(_ id: UUID, reason: String, by staff: StaffMember, now: Date) async throws
    -> Bool
  {
    try await changed(
      """
      UPDATE certificate_requests SET state = \(CertificateRequest.State.rejected), decided_by = \(bind: staff.id), rejection_reason = \(bind: reason),
        updated_at = \(bind: now) WHERE id = \(bind: id) AND state IN (\([CertificateRequest.State.submitted, .verified]))
        AND NOT \(StaffAddresses.held(by: staff, column: "certificate_requests.mailbox")) RETURNING id
      """)
  }

  /// A fresh mailbox validation counts for the mailbox's open requests
  /// (submitted, verified, approved): their validation time and method
  /// become these, and an issuance held for want of a fresh one may go on.
  /// `personalOnly`: not for role mailboxes (which only a login link
  /// validates).
  public func revalidate(
    mailbox: String, at date: Date, by method: MailboxValidation, personalOnly: Bool = false
  ) async throws {
    let types: [CertificateRequest.MailboxType] = personalOnly ? [.personal] : [.personal, .role]
    try await database.sql.raw(
      """
      UPDATE certificate_requests SET mailbox_validated_at = \(bind: date), issuance_held_at = NULL,
        mailbox_validation_method = \(bind: method.rawValue)
      WHERE mailbox = \(bind: mailbox) AND mailbox_type IN (\(literals: types.map(\.rawValue), joinedBy: ", "))
        AND state IN (\([CertificateRequest.State.submitted, .verified, .approved]))
      """
    ).run()
  }

  /// The requests staff look for: with `number` (exact) or any word of a
  /// name or of the address beginning with one of `spellings`
  /// (``SearchTerms``), in `state` — or, for no query, the open ones —
  /// oldest first. Every prefix is a range on the terms' index, so a
  /// search costs about the same with a hundred requests or a million.
  /// `narrow`: how many terms a query may match before it counts as broad
  /// and is checked request by request in the order shown.
  public func search(
    spellings: [String], number: String?, state: CertificateRequest.State?, offset: Int,
    limit: Int, narrow: Int
  ) async throws -> [CertificateRequest] {
    var builder = CertificateRequestRecord.query(on: database)
    if !spellings.isEmpty || number != nil {
      var matches: SQLQueryString?
      if !spellings.isEmpty {
        let collation = database.byteOrderCollation
        let ranges = spellings.map { text -> SQLQueryString in
          "(term\(unsafeRaw: collation) >= \(bind: text) AND term\(unsafeRaw: collation) < \(bind: text + "\u{10FFFF}"))"
        }.joined(separator: " OR ")
        // A narrow query names its requests (at most a few thousand, read
        // off the index); a broad one ("example.edu") is checked request
        // by request in the order shown, so that the first page is found
        // without sorting every match.
        let sample = try await database.sql.raw(
          "SELECT request_id FROM \(ident: SearchTerms.table) WHERE \(ranges) LIMIT \(literal: narrow + 1)"
        ).all().map { try $0.decode(column: "request_id", as: UUID.self) }
        if sample.count <= narrow {
          let ids = Array(Set(sample))
          matches = ids.isEmpty ? nil : "id IN (\(binds: ids))"
        } else {
          // PostgreSQL would otherwise turn the EXISTS into a join over
          // every match; OFFSET 0 keeps it a check per row.
          let keep = try database.sql.dialect.name == "postgresql" ? " OFFSET 0" : ""
          matches =
            "EXISTS (SELECT 1 FROM \(ident: SearchTerms.table) t WHERE t.request_id = certificate_requests.id AND (\(ranges))\(unsafeRaw: keep))"
        }
      }
      switch (number, matches) {
      case (nil, nil): return []
      case (let number?, nil): builder = builder.filter(\.$number == number)
      case (nil, let matches?): builder = builder.filter(.sql(embed: matches))
      case (let number?, let matches?):
        builder = builder.group(.or) { group in
          group.filter(\.$number == number)
          group.filter(.sql(embed: matches))
        }
      }
    }
    if let state {
      builder = builder.filter(\.$state == state)
    } else if spellings.isEmpty && number == nil {
      builder = builder.filter(\.$state ~~ [.submitted, .verified, .approved])
    }
    return try await builder.sort(\.$createdAt, .ascending).range(offset..<(offset + limit)).all()
      .map { try $0.value }
  }

  /// Runs a guarded change; true when it changed a row.
  private func changed(_ statement: SQLQueryString) async throws -> Bool {
    !(try await database.sql.raw(statement).all()).isEmpty
  }
}

extension CertificateRequestRecord {
  /// A record for a request to store.
  convenience init(_ value: CertificateRequest) {
    self.init()
    id = value.id
    number = value.number
    mailbox = value.mailbox
    mailboxType = value.mailboxType
    givenName = value.givenName
    surname = value.surname
    pseudonym = value.pseudonym
    keyType = value.keyType
    keyFingerprint = value.keyFingerprint
    csrDER = value.csrDER
    state = value.state
    language = value.language
    mailboxValidatedAt = value.mailboxValidatedAt
    mailboxValidationMethod = value.mailboxValidationMethod
    createdAt = value.createdAt
    updatedAt = value.updatedAt
    verifiedBy = value.verifiedBy
    verifiedAt = value.verifiedAt
    approvedBy = value.approvedBy
    approvedAt = value.approvedAt
    decidedBy = value.decidedBy
    rejectionReason = value.rejectionReason
    certificateID = value.certificateID
    encryptionCSRDER = value.encryptionCSRDER
    encryptionKeyFingerprint = value.encryptionKeyFingerprint
    escrowEnvelope = value.escrowEnvelope
    escrowConsentedAt = value.escrowConsentedAt
    escrowSealedTo = value.escrowSealedTo
    encryptionCertificateID = value.encryptionCertificateID
    renewalOf = value.renewalOf
    evidenceRequestID = value.evidenceRequestID
    issuingLeaseUntil = value.issuingLeaseUntil
    issuanceHeldAt = value.issuanceHeldAt
    upstreamHeldAt = value.upstreamHeldAt
    upstreamHeldReason = value.upstreamHeldReason
    pickupTokenHash = value.pickupTokenHash
    pickupExpiresAt = value.pickupExpiresAt
    publishConsent = value.publishConsent
    publishConsentAt = value.publishConsentAt
  }
}

/// The identity evidence the desk recorded.
public struct IdentityEvidenceStore: Sendable {
  let database: any Database

  public func add(_ evidence: IdentityEvidence) async throws {
    let record = IdentityEvidenceRecord()
    record.id = evidence.id
    record.requestID = evidence.requestID
    record.method = evidence.method
    record.documentType = evidence.documentType
    record.issuingAuthority = evidence.issuingAuthority
    record.documentNumber = evidence.documentNumber
    record.documentExpiry = evidence.documentExpiry
    record.verifiedGivenName = evidence.verifiedGivenName
    record.verifiedSurname = evidence.verifiedSurname
    record.checkedBy = evidence.checkedBy
    record.checkedAt = evidence.checkedAt
    record.retainUntil = evidence.retainUntil
    try await record.create(on: database)
  }

  /// The evidence recorded for the request `requestID`, if any.
  public func of(request requestID: UUID) async throws -> IdentityEvidence? {
    try await IdentityEvidenceRecord.query(on: database).filter(\.$requestID == requestID).first()?
      .value
  }
}
