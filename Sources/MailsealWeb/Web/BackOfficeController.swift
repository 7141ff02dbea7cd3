import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
import Vapor

/// The service desk: the queue of requests, a request, the identity check,
/// approval and rejection.
enum BackOfficeController {
  struct QueueRow: Encodable {
    let number: String
    let mailbox: String
    let name: String
    let mailboxType: String
    let keyType: String
    let state: String
    let stateLabel: String
    let created: String
  }

  /// An option of a select: the value sent, the words shown.
  struct Choice: Encodable {
    let value: String
    let label: String
    var selected = false
  }

  struct QueuePage: Encodable {
    let isAdmin: Bool
    let issuancePaused: Bool
    let query: String
    let state: String
    let rows: [QueueRow]
    let nextPage: Int?
    let states: [Choice]
  }

  static let pageSize = 50

  /// `GET /operator/queue?q=&state=&page=`: open requests oldest first, or
  /// what a search finds (number, address, name).
  @Sendable
  static func queue(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request)
    // Whoever sees recoveries and not the desk (recovery officers):
    // their start page.
    if !current.may.seeDesk, current.may.seeRecoveries {
      return request.redirect(to: .operatorRecoveries)
    }
    guard current.may.seeDesk else { throw MailsealError.forbiddenForRole }
    let query = String((request.query[String.self, at: "q"] ?? "").prefix(200)).trimmingCharacters(
      in: .whitespaces)
    let stateText = request.query[String.self, at: "state"] ?? ""
    let page = max(0, min(request.query[Int.self, at: "page"] ?? 0, 10_000))
    let language = Language.of(request)
    let zone = request.timeZone
    // A certificate's serial (32 hex digits, colons or spaces allowed)
    // leads to the certificate, e.g. to revoke it.
    let hex = query.lowercased().filter { $0 != ":" && $0 != " " }
    if hex.count >= 16, hex.count <= 40, hex.allSatisfy(\.isHexDigit) {
      // No such certificate: the text is searched like any other. A store
      // that cannot be read is not "nothing found" (503, as everywhere).
      do {
        let certificate = try await request.registrationAuthority.certificates.certificate(
          serial: hex)
        return request.redirect(to: .certificate(serial: certificate.serial, staff: true))
      } catch let error as MailsealError where error.code == .notFound {}
    }
    let records = try await request.registrationAuthority.desk.searchRequests(
      query: query, state: CertificateRequest.State(rawValue: stateText),
      offset: page * pageSize,
      limit: pageSize + 1)
    let paused = try await request.registrationAuthority.service.isIssuancePaused()
    let rows = records.prefix(pageSize).map { record in
      let row = RequesterController.row(
        record, language: language, zone: zone, issuancePaused: paused,
        upstream: request.application.mailseal.upstream != nil)
      return QueueRow(
        number: record.number, mailbox: record.mailbox, name: deskName(record),
        mailboxType: RecordWords.mailboxType(record.mailboxType, language),
        keyType: RecordWords.keyType(record.keyType, language), state: record.state.rawValue,
        stateLabel: row.stateLabel, created: row.created)
    }
    return try await Pages.render(
      "queue",
      QueuePage(
        isAdmin: current.may.administer, issuancePaused: paused,
        query: query, state: stateText, rows: Array(rows),
        nextPage: records.count > pageSize ? page + 1 : nil,
        states: CertificateRequest.State.allCases.map {
          Choice(
            value: $0.rawValue, label: RecordWords.state($0, language),
            selected: $0.rawValue == stateText)
        }),
      for: request)
  }

  /// The name the desk sees: a role mailbox's name with its responsible
  /// person, so that the person at the counter is found under either.
  static func deskName(_ record: CertificateRequest) -> String {
    let person = [record.givenName, record.surname].compactMap { $0 }.joined(separator: " ")
    guard let pseudonym = record.pseudonym else { return person }
    return person.isEmpty ? pseudonym : "\(pseudonym) (\(person))"
  }
}

extension BackOfficeController {
  struct EvidenceView: Encodable {
    let method: String
    let documentType: String
    let issuingAuthority: String
    let documentNumber: String
    let documentExpiry: String
    let names: String
    let checkedBy: String
    let checkedAt: String
  }

  struct RequestPage: Encodable {
    let number: String
    let mailbox: String
    let mailboxType: String
    let name: String
    /// Whose photo ID is checked: the names the request gives (nil for a
    /// role request made before responsible persons were asked for), and
    /// the sentence explaining it.
    let person: String?
    let personHint: String
    let keyType: String
    let keyFingerprint: String
    /// Key escrow: the encryption key's fingerprint and when the requester
    /// consented (nil: no escrow).
    var encryptionKeyFingerprint: String? = nil
    var escrow: String? = nil
    /// The pinned recovery certificates the envelope is sealed to (short
    /// fingerprints); empty for an envelope sealed before pins.
    var escrowSealedTo: [String] = []
    /// The holder's answer to publishing (nil: not asked).
    var publish: String? = nil
    let state: String
    let stateLabel: String
    let created: String
    let mailboxValidated: String
    let mailboxValidationStale: Bool
    let evidence: EvidenceView?
    let rejectionReason: String?
    let certificateSerial: String?
    /// For a renewal: the serial it renews and the request whose identity
    /// evidence it reuses.
    let renewalOf: String?
    let evidenceFrom: String?
    let canVerify: Bool
    let canApprove: Bool
    let canReject: Bool
    let ownMailbox: Bool
    let error: String?
    let methods: [Choice]
    let documentTypes: [Choice]
    /// The date picker's bounds (`YYYY-MM-DD`): today, and the furthest
    /// expiry a photo ID can plausibly have.
    let expiryMin: String
    let expiryMax: String
  }

  /// A day as the date input's value, in the installation's zone.
  static func isoDay(_ date: Date, _ zone: TimeZone) -> String {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    let day = calendar.dateComponents([.year, .month, .day], from: date)
    return String(format: "%04d-%02d-%02d", day.year ?? 0, day.month ?? 0, day.day ?? 0)
  }

  /// A date (and time, with its zone) as the pages show it, in the
  /// installation's zone (`MAILSEAL_TIME_ZONE`).
  static func format(_ date: Date, _ language: Language, _ zone: TimeZone, time: Bool = true)
    -> String
  {
    DateWords.format(date, language: language, zone: zone, time: time)
  }

  static func renderRequest(_ request: Request, number: String, error: MailsealError? = nil)
    async throws -> Response
  {
    let current = try await OperatorSession.require(request, may: \.seeDesk)
    let language = Language.of(request)
    let zone = request.timeZone
    let desk = try await request.registrationAuthority.desk.deskRequest(
      number: number, for: current.principal)
    let record = desk.record
    let row = RequesterController.row(
      record, language: language, zone: zone,
      issuancePaused: try await request.registrationAuthority.service.isIssuancePaused(),
      upstream: request.application.mailseal.upstream != nil)
    let evidenceView = desk.evidence.map { evidence in
      EvidenceView(
        method: RecordWords.method(evidence.method, language),
        documentType: RecordWords.document(evidence.documentType, language),
        issuingAuthority: evidence.issuingAuthority, documentNumber: evidence.documentNumber,
        documentExpiry: format(evidence.documentExpiry, language, zone, time: false),
        names: "\(evidence.verifiedGivenName) \(evidence.verifiedSurname)",
        checkedBy: desk.evidenceCheckedBy ?? "?",
        checkedAt: format(evidence.checkedAt, language, zone))
    }
    let person = [record.givenName, record.surname].compactMap { $0 }.joined(separator: " ")
    let page = RequestPage(
      number: record.number, mailbox: record.mailbox,
      mailboxType: RecordWords.mailboxType(record.mailboxType, language),
      name: row.name, person: person.isEmpty ? nil : person,
      personHint: Catalogue.text(
        record.mailboxType == .personal
          ? "desk_person_personal" : person.isEmpty ? "desk_person_unknown" : "desk_person_role",
        language),
      keyType: RecordWords.keyType(record.keyType, language),
      keyFingerprint: record.keyFingerprint,
      encryptionKeyFingerprint: record.encryptionKeyFingerprint, escrow: row.escrow,
      escrowSealedTo: (record.escrowSealedTo ?? "").split(separator: ",").compactMap {
        [UInt8](hexString: $0).map(RecoveryCertificate.shortFingerprint)
      },
      publish: row.publish,
      state: record.state.rawValue,
      stateLabel: row.stateLabel, created: row.created,
      mailboxValidated: format(record.mailboxValidatedAt, language, zone) + " · "
        + Catalogue.text(record.mailboxValidation.deskWordID, language),
      mailboxValidationStale: desk.actions.mailboxValidationStale, evidence: evidenceView,
      rejectionReason: record.rejectionReason,
      certificateSerial: desk.certificateSerial, renewalOf: desk.renewalOf,
      evidenceFrom: desk.evidenceFrom,
      canVerify: desk.actions.recordEvidence, canApprove: desk.actions.approve,
      canReject: desk.actions.reject, ownMailbox: desk.actions.ownMailbox,
      error: error?.sentence(language),
      methods: IdentityEvidence.Method.allCases.map {
        Choice(value: $0.rawValue, label: RecordWords.method($0, language))
      },
      documentTypes: IdentityEvidence.DocumentType.allCases.map {
        Choice(value: $0.rawValue, label: RecordWords.document($0, language))
      },
      expiryMin: isoDay(Date(), zone),
      expiryMax: isoDay(
        Date().addingTimeInterval(RequestRules.documentValidityLimit - 86_400), zone))
    return try await Pages.render("desk-request", page, for: request, status: error?.status ?? .ok)
  }

  /// `GET /operator/requests/:number`.
  @Sendable
  static func show(_ request: Request) async throws -> Response {
    try await renderRequest(request, number: request.parameters.get("number") ?? "")
  }

  struct EvidencePost: Content {
    var csrf: String
    var method: String
    var documentType: String
    var issuingAuthority: String
    var documentNumber: String
    var documentExpiry: String
    var verifiedGivenName: String
    var verifiedSurname: String
  }

  struct ReasonPost: Content {
    var csrf: String
    var reason: String
  }

  /// Runs a decision, then shows the request again (with the refusal, if any).
  static func decide(
    _ request: Request, csrf: String?,
    _ action: (RegistrationAuthority, Principal, String) async throws -> Void
  ) async throws -> Response {
    let current = try await OperatorSession.require(request)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: csrf)
    let number = request.parameters.get("number") ?? ""
    do {
      try await action(request.registrationAuthority, current.principal, number)
    } catch let error as MailsealError where error.isShownOnPage {
      return try await renderRequest(request, number: number, error: error)
    }
    return request.redirect(to: .operatorRequest(number: number))
  }

  /// `POST /operator/requests/:number/evidence`.
  @Sendable
  static func recordEvidence(_ request: Request) async throws -> Response {
    let form = try request.content.decode(EvidencePost.self)
    return try await decide(request, csrf: form.csrf) { authority, staff, number in
      _ = try await authority.desk.recordEvidence(
        number: number,
        EvidenceForm(
          method: form.method, documentType: form.documentType,
          issuingAuthority: form.issuingAuthority,
          documentNumber: form.documentNumber, documentExpiry: form.documentExpiry,
          verifiedGivenName: form.verifiedGivenName, verifiedSurname: form.verifiedSurname),
        by: staff)
    }
  }

  /// `POST /operator/requests/:number/approve`.
  @Sendable
  static func approve(_ request: Request) async throws -> Response {
    let form = try request.content.decode(CSRFForm.self)
    let response = try await decide(request, csrf: form.csrf) { authority, staff, number in
      _ = try await authority.desk.approve(number: number, by: staff)
    }
    request.application.issuanceWorker?.nudge()
    return response
  }

  /// `POST /operator/requests/:number/reject`.
  @Sendable
  static func reject(_ request: Request) async throws -> Response {
    let form = try request.content.decode(ReasonPost.self)
    return try await decide(request, csrf: form.csrf) { authority, staff, number in
      _ = try await authority.desk.reject(number: number, reason: form.reason, by: staff)
    }
  }
}

extension BackOfficeController {
  struct IssuanceSwitchPost: Content {
    var csrf: String
    var paused: String
    /// `admin` when sent from the admin page, to return there.
    var back: String?
  }

  /// `POST /operator/issuance`: an administrator pauses or resumes issuance.
  @Sendable
  static func switchIssuance(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request)
    let form = try request.content.decode(IssuanceSwitchPost.self)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: form.csrf)
    try await request.registrationAuthority.service.setIssuancePaused(
      form.paused == "true", by: current.principal)
    return request.redirect(to: form.back == "admin" ? .operatorAdmin() : .operatorQueue)
  }
}
