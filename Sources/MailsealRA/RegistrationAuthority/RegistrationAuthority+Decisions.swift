public import Foundation
import MailsealCA
public import MailsealModel
import MailsealStore

/// What the operator records after seeing the photo ID.
public struct EvidenceForm: Codable, Sendable {
  public var method: String
  public var documentType: String
  public var issuingAuthority: String
  public var documentNumber: String
  /// `YYYY-MM-DD`.
  public var documentExpiry: String
  public var verifiedGivenName: String
  public var verifiedSurname: String

  public init(
    method: String, documentType: String, issuingAuthority: String, documentNumber: String,
    documentExpiry: String,
    verifiedGivenName: String, verifiedSurname: String
  ) {
    self.method = method
    self.documentType = documentType
    self.issuingAuthority = issuingAuthority
    self.documentNumber = documentNumber
    self.documentExpiry = documentExpiry
    self.verifiedGivenName = verifiedGivenName
    self.verifiedSurname = verifiedSurname
  }
}

extension Desk {
  /// The deciding staff member: a principal that may decide, or refused.
  func decider(_ principal: Principal) throws -> StaffMember {
    guard let staff = principal.staffMember, principal.permissions.decide else {
      throw MailsealError.forbiddenForRole
    }
    return staff
  }

  /// Refuses a decision about a mailbox the operator's account has or had.
  func refuseOwnMailbox(_ record: CertificateRequest, _ staff: StaffMember, in store: Store? = nil)
    async throws
  {
    try RequestRules.notOwnMailbox(
      request: record.mailbox, decidedBy: try await (store ?? self.store).staffAddresses.of(staff))
  }

  /// Why a deciding statement changed nothing: the mailbox became the
  /// operator's meanwhile (an address recorded at a sign-in), or the
  /// request moved on. Asked on the deciding transaction's `database`.
  func undecided(_ record: CertificateRequest, _ staff: StaffMember, in store: Store) async throws
    -> MailsealError
  {
    try await refuseOwnMailbox(record, staff, in: store)
    return MailsealError(.wrongState)
  }

  package func request(number: String) async throws -> CertificateRequest {
    guard let normalized = RequestNumber.normalize(number),
      let record = try await store.requests.find(number: normalized)
    else { throw MailsealError.notFound }
    return record
  }

  /// Records the identity check; the request becomes `verified`. The names
  /// on the document must be the request's (for a role mailbox, the person
  /// responsible is checked and named).
  public func recordEvidence(
    number: String, _ form: EvidenceForm, by principal: Principal, now: Date = Date()
  ) async throws -> CertificateRequest {
    let staff = try decider(principal)
    let record = try await request(number: number)
    try await refuseOwnMailbox(record, staff)
    guard record.state == .submitted else {
      throw MailsealError(.wrongState, message: Message("problem_wrong_state_evidence"))
    }
    var fields: [String: Message] = [:]
    func text(_ name: String, _ value: String, max: Int) -> String? {
      let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
      guard !trimmed.isEmpty, trimmed.count <= max,
        !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
      else {
        fields[name] = Message("field_missing_or_invalid")
        return nil
      }
      return trimmed
    }
    let method = IdentityEvidence.Method(rawValue: form.method)
    if method == nil { fields["method"] = Message("field_choose") }
    let document = IdentityEvidence.DocumentType(rawValue: form.documentType)
    if document == nil {
      fields["documentType"] = Message("field_choose")
    }
    let authority = text("issuingAuthority", form.issuingAuthority, max: 128)
    let documentNumber = text("documentNumber", form.documentNumber, max: 64)
    let given = text("verifiedGivenName", form.verifiedGivenName, max: 64)
    let surname = text("verifiedSurname", form.verifiedSurname, max: 64)
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd"
    let expiry = formatter.date(from: form.documentExpiry.trimmingCharacters(in: .whitespaces))
    if expiry == nil {
      fields["documentExpiry"] = Message("field_date_format")
    } else if expiry! < Calendar(identifier: .gregorian).startOfDay(for: now) {
      fields["documentExpiry"] = Message("field_document_expired")
    } else if expiry! > now.addingTimeInterval(RequestRules.documentValidityLimit) {
      fields["documentExpiry"] = Message(
        "field_document_expiry_implausible", ["years": "\(RequestRules.documentValidityYears)"])
    }
    guard fields.isEmpty, let method, let document, let authority, let documentNumber, let given,
      let surname, let expiry
    else {
      throw MailsealError(.invalidEvidence, fields: fields)
    }
    // The person the request names: the holder of a personal mailbox, or
    // the person responsible for a role mailbox (requests made before that
    // rule name nobody; the desk records whom it checked).
    if record.givenName != nil || record.surname != nil {
      guard Person.same(given, record.givenName), Person.same(surname, record.surname) else {
        throw MailsealError(.nameMismatch)
      }
    }
    let evidence = IdentityEvidence(
      id: UUID(), requestID: record.id, method: method, documentType: document,
      issuingAuthority: authority, documentNumber: documentNumber, documentExpiry: expiry,
      verifiedGivenName: given, verifiedSurname: surname, checkedBy: staff.id, checkedAt: now,
      retainUntil: now.addingTimeInterval(TimeInterval(portal.evidenceRetentionDays) * 86_400))
    try await store.transaction { store in
      guard try await store.requests.verify(record.id, by: staff, now: now) else {
        throw try await undecided(record, staff, in: store)
      }
      try await store.evidence.add(evidence)
      // The trail outlives the evidence's retention: it names the kind of
      // check, not the document's number.
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(staff.email), action: .evidenceRecorded,
          subject: record.number,
          details: [
            "method": evidence.method.rawValue, "documentType": evidence.documentType.rawValue,
            "mailbox": record.mailbox,
          ]), on: store.database, now: now)
    }
    logger.info(
      "identity evidence recorded",
      metadata: ["number": "\(record.number)", "by": "\(staff.email)"])
    return try await request(number: record.number)
  }

  /// Approves a verified request; the issuance worker then issues it.
  public func approve(number: String, by principal: Principal, now: Date = Date()) async throws
    -> CertificateRequest
  {
    let staff = try decider(principal)
    let record = try await request(number: number)
    try await refuseOwnMailbox(record, staff)
    guard record.state == .verified else {
      throw MailsealError(.wrongState, message: Message("problem_wrong_state_approve"))
    }
    try RequestRules.fourEyes(
      enabled: portal.fourEyes, verifiedBy: record.verifiedBy, approvedBy: staff.id)
    try RequestRules.mailboxValidationFresh(record.mailboxValidatedAt, now: now)
    try await store.transaction { store in
      guard try await store.requests.approve(record.id, by: staff, now: now) else {
        throw try await undecided(record, staff, in: store)
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(staff.email), action: .requestApproved,
          subject: record.number, details: ["mailbox": record.mailbox]), on: store.database,
        now: now)
    }
    logger.info(
      "certificate request approved",
      metadata: ["number": "\(record.number)", "by": "\(staff.email)"])
    return try await request(number: record.number)
  }

  /// Rejects a request that is not yet approved; the requester gets the reason by mail.
  public func reject(number: String, reason: String, by principal: Principal, now: Date = Date())
    async throws
    -> CertificateRequest
  {
    let staff = try decider(principal)
    let record = try await request(number: number)
    try await refuseOwnMailbox(record, staff)
    let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty, trimmed.count <= 500 else {
      throw MailsealError(.invalidReason, fields: ["reason": Message("field_reason_invalid")])
    }
    guard record.state == .submitted || record.state == .verified else {
      throw MailsealError(.wrongState, message: Message("problem_wrong_state_reject"))
    }
    let language = Language(rawValue: record.language) ?? .de
    try await store.transaction { store in
      guard try await store.requests.reject(record.id, reason: trimmed, by: staff, now: now) else {
        throw try await undecided(record, staff, in: store)
      }
      try await Outbox.enqueue(
        MailTemplates.requestRejected(
          record, reason: trimmed, from: configuration.mail.from, language: language),
        on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(staff.email), action: .requestRejected,
          subject: record.number, details: ["mailbox": record.mailbox, "reason": trimmed]),
        on: store.database, now: now)
    }
    mailQueued()
    logger.info(
      "certificate request rejected",
      metadata: ["number": "\(record.number)", "by": "\(staff.email)"])
    return try await request(number: record.number)
  }

  /// The evidence of a request, if recorded.
  public func evidence(for record: CertificateRequest) async throws -> IdentityEvidence? {
    // A renewal's evidence is the earlier request's.
    try await store.evidence.of(request: record.evidenceRequestID ?? record.id)
  }
}
