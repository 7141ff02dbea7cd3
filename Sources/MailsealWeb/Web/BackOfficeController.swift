import Fluent
import Foundation
import MailsealRA
import MailsealStore
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

  struct QueuePage: Encodable {
    let isAdmin: Bool
    let issuancePaused: Bool
    let query: String
    let state: String
    let rows: [QueueRow]
    let nextPage: Int?
    let states: [String]
  }

  static let pageSize = 50

  /// `GET /operator/queue?q=&state=&page=`: open requests oldest first, or
  /// what a search finds (number, address, name).
  @Sendable
  static func queue(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request)
    let query = String((request.query[String.self, at: "q"] ?? "").prefix(200)).trimmingCharacters(
      in: .whitespaces)
    let stateText = request.query[String.self, at: "state"] ?? ""
    let page = max(0, min(request.query[Int.self, at: "page"] ?? 0, 10_000))
    let language = Language.of(request)
    let zone = request.timeZone
    // A certificate's serial (32 hex digits, colons or spaces allowed)
    // leads to the certificate, e.g. to revoke it.
    let hex = query.lowercased().filter { $0 != ":" && $0 != " " }
    if hex.count >= 16, hex.count <= 40, hex.allSatisfy(\.isHexDigit),
      let certificate = try? await request.registrationAuthority.certificate(
        serial: hex)
    {
      return request.redirect(to: .certificate(serial: certificate.serial, staff: true))
    }
    let records = try await request.registrationAuthority.searchRequests(
      query: query, state: CertificateRequestRecord.State(rawValue: stateText),
      offset: page * pageSize,
      limit: pageSize + 1)
    let rows = records.prefix(pageSize).map { record in
      let row = RequesterController.row(record, language: language, zone: zone)
      return QueueRow(
        number: record.number, mailbox: record.mailbox, name: row.name,
        mailboxType: record.mailboxType.rawValue,
        keyType: record.keyType, state: record.state.rawValue, stateLabel: row.stateLabel,
        created: row.created)
    }
    return try await Pages.render(
      "queue",
      QueuePage(
        isAdmin: current.operator.role == .admin,
        issuancePaused: try await request.registrationAuthority.isIssuancePaused(),
        query: query, state: stateText, rows: Array(rows),
        nextPage: records.count > pageSize ? page + 1 : nil,
        states: CertificateRequestRecord.State.allCases.map(\.rawValue)),
      for: request)
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
    let keyType: String
    let keyFingerprint: String
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
    let methods: [String]
    let documentTypes: [String]
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
    let current = try await OperatorSession.require(request)
    let language = Language.of(request)
    let zone = request.timeZone
    let desk = try await request.registrationAuthority.deskRequest(
      number: number, for: current.operator)
    let record = desk.record
    let row = RequesterController.row(
      record, language: language, zone: zone,
      issuancePaused: try await request.registrationAuthority.isIssuancePaused())
    let evidenceView = desk.evidence.map { evidence in
      EvidenceView(
        method: evidence.method.rawValue, documentType: evidence.documentType.rawValue,
        issuingAuthority: evidence.issuingAuthority, documentNumber: evidence.documentNumber,
        documentExpiry: format(evidence.documentExpiry, language, zone, time: false),
        names: "\(evidence.verifiedGivenName) \(evidence.verifiedSurname)",
        checkedBy: desk.evidenceCheckedBy ?? "?",
        checkedAt: format(evidence.checkedAt, language, zone))
    }
    let page = RequestPage(
      number: record.number, mailbox: record.mailbox, mailboxType: record.mailboxType.rawValue,
      name: row.name,
      keyType: record.keyType, keyFingerprint: record.keyFingerprint, state: record.state.rawValue,
      stateLabel: row.stateLabel, created: row.created,
      mailboxValidated: format(record.mailboxValidatedAt, language, zone),
      mailboxValidationStale: desk.actions.mailboxValidationStale, evidence: evidenceView,
      rejectionReason: record.rejectionReason,
      certificateSerial: desk.certificateSerial, renewalOf: desk.renewalOf,
      evidenceFrom: desk.evidenceFrom,
      canVerify: desk.actions.recordEvidence, canApprove: desk.actions.approve,
      canReject: desk.actions.reject, ownMailbox: desk.actions.ownMailbox,
      error: error?.sentence(language),
      methods: IdentityEvidenceRecord.Method.allCases.map(\.rawValue),
      documentTypes: IdentityEvidenceRecord.DocumentType.allCases.map(\.rawValue))
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
    _ action: (RegistrationAuthority, OperatorRecord, String) async throws -> Void
  ) async throws -> Response {
    let current = try await OperatorSession.require(request)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: csrf)
    let number = request.parameters.get("number") ?? ""
    do {
      try await action(request.registrationAuthority, current.operator, number)
    } catch let error as MailsealError where error.status.code < 500 && error.code != .notFound {
      return try await renderRequest(request, number: number, error: error)
    }
    return request.redirect(to: .operatorRequest(number: number))
  }

  /// `POST /operator/requests/:number/evidence`.
  @Sendable
  static func recordEvidence(_ request: Request) async throws -> Response {
    let form = try request.content.decode(EvidencePost.self)
    return try await decide(request, csrf: form.csrf) { authority, staff, number in
      _ = try await authority.recordEvidence(
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
      _ = try await authority.approve(number: number, by: staff)
    }
    request.application.issuanceWorker?.nudge()
    return response
  }

  /// `POST /operator/requests/:number/reject`.
  @Sendable
  static func reject(_ request: Request) async throws -> Response {
    let form = try request.content.decode(ReasonPost.self)
    return try await decide(request, csrf: form.csrf) { authority, staff, number in
      _ = try await authority.reject(number: number, reason: form.reason, by: staff)
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
    try await request.registrationAuthority.setIssuancePaused(
      form.paused == "true", by: .staff(current.operator))
    return request.redirect(to: form.back == "admin" ? .operatorAdmin() : .operatorQueue)
  }
}
