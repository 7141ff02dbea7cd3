import FluentKit
public import Foundation
import MailsealCA
import SQLKit
public import Vapor

/// What the operator records after seeing the photo ID.
public struct EvidenceForm: Content, Sendable {
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

extension RegistrationAuthority {
  /// S/MIME BR §3.2.4: mailbox control may be relied on for at most 30 days
  /// before issuance.
  static let mailboxValidationLifetime: TimeInterval = 30 * 86_400

  static func decisionError(
    _ code: String, _ de: String, _ en: String, status: HTTPResponseStatus = .conflict
  )
    -> MailsealError
  {
    MailsealError(code: code, status: status, detail: LocalizedText(de: de, en: en))
  }

  /// Refuses a decision about the operator's own mailbox.
  func refuseOwnMailbox(_ record: CertificateRequestRecord, _ staff: OperatorRecord) throws {
    guard record.mailbox != staff.email else {
      throw Self.decisionError(
        "own-mailbox", "Sie dürfen keinen Antrag für Ihr eigenes Postfach prüfen oder freigeben.",
        "You may not check or approve a request for your own mailbox.", status: .forbidden)
    }
  }

  func request(number: String) async throws -> CertificateRequestRecord {
    guard let normalized = RequestNumber.normalize(number),
      let record = try await CertificateRequestRecord.query(on: database).filter(
        \.$number == normalized
      ).first()
    else { throw MailsealError.notFound }
    return record
  }

  /// Records the identity check; the request becomes `verified`. The names
  /// on the document must be the request's (for a role mailbox, the person
  /// responsible is checked and named).
  public func recordEvidence(
    number: String, _ form: EvidenceForm, by staff: OperatorRecord, now: Date = Date()
  ) async throws -> CertificateRequestRecord {
    guard staff.role.mayDecide else { throw MailsealError.forbiddenForRole }
    let record = try await request(number: number)
    try refuseOwnMailbox(record, staff)
    guard record.state == .submitted else {
      throw Self.decisionError(
        "wrong-state", "Für diesen Antrag kann keine Prüfung mehr erfasst werden.",
        "Evidence can no longer be recorded for this request.")
    }
    var fields: [String: LocalizedText] = [:]
    func text(_ name: String, _ value: String, max: Int) -> String? {
      let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
      guard !trimmed.isEmpty, trimmed.count <= max,
        !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
      else {
        fields[name] = LocalizedText(de: "Fehlt oder ist ungültig.", en: "Missing or not valid.")
        return nil
      }
      return trimmed
    }
    let method = IdentityEvidenceRecord.Method(rawValue: form.method)
    if method == nil { fields["method"] = LocalizedText(de: "Bitte wählen.", en: "Please choose.") }
    let document = IdentityEvidenceRecord.DocumentType(rawValue: form.documentType)
    if document == nil {
      fields["documentType"] = LocalizedText(de: "Bitte wählen.", en: "Please choose.")
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
      fields["documentExpiry"] = LocalizedText(
        de: "Datum als JJJJ-MM-TT.", en: "A date as YYYY-MM-DD.")
    } else if expiry! < Calendar(identifier: .gregorian).startOfDay(for: now) {
      fields["documentExpiry"] = LocalizedText(
        de: "Der Ausweis ist abgelaufen und kann nicht angenommen werden.",
        en: "The document has expired and cannot be accepted.")
    }
    guard fields.isEmpty, let method, let document, let authority, let documentNumber, let given,
      let surname, let expiry
    else {
      throw MailsealError(
        code: "invalid-evidence", status: .unprocessableEntity,
        detail: LocalizedText(
          de: "Bitte prüfen Sie die markierten Angaben.", en: "Please check the marked fields."),
        fields: fields)
    }
    if record.mailboxType == .personal {
      func same(_ a: String, _ b: String?) -> Bool {
        guard let b, let x = try? SubjectName(a, field: "name", maximumLength: 64),
          let y = try? SubjectName(b, field: "name", maximumLength: 64)
        else { return false }
        return Array(x.value.unicodeScalars) == Array(y.value.unicodeScalars)
      }
      guard same(given, record.givenName), same(surname, record.surname) else {
        throw Self.decisionError(
          "name-mismatch",
          "Die Namen im Ausweis stimmen nicht mit dem Antrag überein. So kann der Antrag nicht freigegeben werden; die antragstellende Person muss einen neuen Antrag mit den Namen aus dem Ausweis stellen.",
          "The names on the document do not match the request. The request cannot be approved like this; the requester must make a new request with the names on the document.",
          status: .unprocessableEntity)
      }
    }
    let evidence = IdentityEvidenceRecord()
    evidence.requestID = try record.requireID()
    evidence.method = method
    evidence.documentType = document
    evidence.issuingAuthority = authority
    evidence.documentNumber = documentNumber
    evidence.documentExpiry = expiry
    evidence.verifiedGivenName = given
    evidence.verifiedSurname = surname
    evidence.checkedBy = try staff.requireID()
    evidence.checkedAt = now
    evidence.retainUntil = now.addingTimeInterval(
      TimeInterval(portal.evidenceRetentionDays) * 86_400)
    try await database.transaction { database in
      let updated = try await (database as! any SQLDatabase).raw(
        """
        UPDATE certificate_requests SET state = 'verified', verified_by = \(bind: staff.id!), verified_at = \(bind: now),
          updated_at = \(bind: now) WHERE id = \(bind: record.id!) AND state = 'submitted' RETURNING id
        """
      ).all()
      guard !updated.isEmpty else {
        throw Self.decisionError(
          "wrong-state", "Der Antrag wurde inzwischen geändert.",
          "The request was changed meanwhile.")
      }
      try await evidence.create(on: database)
      // The trail outlives the evidence's retention: it names the kind of
      // check, not the document's number.
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(staff.email), action: "evidence.recorded",
          subject: record.number,
          details: [
            "method": evidence.method.rawValue, "documentType": evidence.documentType.rawValue,
            "mailbox": record.mailbox,
          ]), on: database, now: now)
    }
    logger.info(
      "identity evidence recorded",
      metadata: ["number": "\(record.number)", "by": "\(staff.email)"])
    return try await request(number: record.number)
  }

  /// Approves a verified request; the issuance worker then issues it.
  public func approve(number: String, by staff: OperatorRecord, now: Date = Date()) async throws
    -> CertificateRequestRecord
  {
    guard staff.role.mayDecide else { throw MailsealError.forbiddenForRole }
    let record = try await request(number: number)
    try refuseOwnMailbox(record, staff)
    guard record.state == .verified else {
      throw Self.decisionError(
        "wrong-state", "Nur Anträge mit geprüfter Identität können freigegeben werden.",
        "Only requests whose identity has been checked can be approved.")
    }
    if portal.fourEyes, record.verifiedBy == staff.id {
      throw Self.decisionError(
        "four-eyes",
        "Vier-Augen-Prinzip: Freigeben muss jemand anderes als die Person, die den Ausweis geprüft hat.",
        "Four-eyes rule: someone other than the person who checked the ID must approve.",
        status: .forbidden)
    }
    guard now.timeIntervalSince(record.mailboxValidatedAt) <= Self.mailboxValidationLifetime else {
      throw Self.decisionError(
        "mailbox-validation-stale",
        "Die Bestätigung des Postfachs ist älter als 30 Tage. Die antragstellende Person muss sich erneut mit einem Anmeldelink anmelden.",
        "The mailbox validation is older than 30 days. The requester must sign in again with a login link."
      )
    }
    try await database.transaction { database in
      let updated = try await (database as! any SQLDatabase).raw(
        """
        UPDATE certificate_requests SET state = 'approved', approved_by = \(bind: staff.id!), approved_at = \(bind: now),
          updated_at = \(bind: now) WHERE id = \(bind: record.id!) AND state = 'verified' RETURNING id
        """
      ).all()
      guard !updated.isEmpty else {
        throw Self.decisionError(
          "wrong-state", "Der Antrag wurde inzwischen geändert.",
          "The request was changed meanwhile.")
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(staff.email), action: "request.approved",
          subject: record.number, details: ["mailbox": record.mailbox]), on: database, now: now)
    }
    logger.info(
      "certificate request approved",
      metadata: ["number": "\(record.number)", "by": "\(staff.email)"])
    return try await request(number: record.number)
  }

  /// Rejects a request that is not yet approved; the requester gets the reason by mail.
  public func reject(number: String, reason: String, by staff: OperatorRecord, now: Date = Date())
    async throws
    -> CertificateRequestRecord
  {
    guard staff.role.mayDecide else { throw MailsealError.forbiddenForRole }
    let record = try await request(number: number)
    let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty, trimmed.count <= 500 else {
      throw MailsealError(
        code: "invalid-reason", status: .unprocessableEntity,
        detail: LocalizedText(
          de: "Bitte geben Sie einen Grund an (höchstens 500 Zeichen).",
          en: "Please give a reason (at most 500 characters)."),
        fields: ["reason": LocalizedText(de: "Fehlt oder zu lang.", en: "Missing or too long.")])
    }
    guard record.state == .submitted || record.state == .verified else {
      throw Self.decisionError(
        "wrong-state", "Dieser Antrag kann nicht mehr abgelehnt werden.",
        "This request can no longer be rejected.")
    }
    let language = Language(rawValue: record.language) ?? .de
    try await database.transaction { database in
      let updated = try await (database as! any SQLDatabase).raw(
        """
        UPDATE certificate_requests SET state = 'rejected', decided_by = \(bind: staff.id!), rejection_reason = \(bind: trimmed),
          updated_at = \(bind: now) WHERE id = \(bind: record.id!) AND state IN ('submitted', 'verified') RETURNING id
        """
      ).all()
      guard !updated.isEmpty else {
        throw Self.decisionError(
          "wrong-state", "Der Antrag wurde inzwischen geändert.",
          "The request was changed meanwhile.")
      }
      try await Outbox.enqueue(
        MailTemplates.requestRejected(
          record, reason: trimmed, from: configuration.mail.from, language: language),
        on: database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(staff.email), action: "request.rejected",
          subject: record.number, details: ["mailbox": record.mailbox, "reason": trimmed]),
        on: database, now: now)
    }
    mailQueued()
    logger.info(
      "certificate request rejected",
      metadata: ["number": "\(record.number)", "by": "\(staff.email)"])
    return try await request(number: record.number)
  }

  /// The evidence of a request, if recorded.
  public func evidence(for record: CertificateRequestRecord) async throws -> IdentityEvidenceRecord?
  {
    // A renewal's evidence is the earlier request's.
    try await IdentityEvidenceRecord.query(on: database).filter(
      \.$requestID == (record.evidenceRequestID ?? record.requireID())
    ).first()
  }
}
