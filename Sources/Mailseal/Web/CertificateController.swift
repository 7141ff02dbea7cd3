import Fluent
import Foundation
import MailsealCA
import Vapor

/// A certificate's page and its revocation: for the requester signed in
/// for its mailbox (`/certificates/…`) and for staff
/// (`/operator/certificates/…`).
enum CertificateController {
  struct CertificateRow: Encodable {
    let serial: String
    let name: String
    let mailbox: String
    let validFrom: String
    let validUntil: String
    let status: String
    let statusLabel: String
    let revokedAt: String?
    let reason: String?
    let canRevoke: Bool
    /// Always offered: whether the identity check is reused is the renewal
    /// form's to say.
    let canRenew: Bool
  }

  struct ReasonChoice: Encodable {
    let value: String
    let label: String
  }

  struct CertificatePage: Encodable {
    let certificate: CertificateRow
    let reasons: [ReasonChoice]
    let requestNumber: String?
    /// Where the revocation form posts.
    let action: String
    let error: String?
    let justRevoked: Bool
  }

  static func row(_ record: CertificateRecord, language: Language, now: Date = Date())
    -> CertificateRow
  {
    let expired = record.notAfter <= now
    let status = record.status == .revoked ? "revoked" : expired ? "expired" : "active"
    return CertificateRow(
      serial: record.serial,
      name: record.pseudonym
        ?? [record.givenName, record.surname].compactMap { $0 }.joined(separator: " "),
      mailbox: record.mailbox,
      validFrom: BackOfficeController.format(record.notBefore, language),
      validUntil: BackOfficeController.format(record.notAfter, language),
      status: status, statusLabel: Strings.all["certificate_\(status)"]?[language] ?? status,
      revokedAt: record.revokedAt.map { BackOfficeController.format($0, language) },
      reason: record.revocationReason.flatMap(RevocationReason.init(name:))?.label(language),
      canRevoke: status == "active", canRenew: true)
  }

  static func page(
    _ record: CertificateRecord, reasons: [RevocationReason], request: Request,
    action: String, error: MailsealError?
  ) async throws -> CertificatePage {
    let language = Language.of(request)
    var number: String?
    if let requestID = record.requestID {
      number = try await CertificateRequestRecord.find(requestID, on: request.db)?.number
    }
    return CertificatePage(
      certificate: row(record, language: language),
      reasons: reasons.map { ReasonChoice(value: $0.name, label: $0.label(language)) },
      requestNumber: number, action: action,
      error: error.map {
        ([$0.detail[language]] + $0.fields.values.map { $0[language] }).joined(separator: " ")
      },
      justRevoked: request.query[String.self, at: "revoked"] != nil)
  }

  struct RevokePost: Content {
    var csrf: String
    var reason: String?
  }

  static func reason(_ text: String) throws -> RevocationReason {
    guard let reason = RevocationReason(name: text) else {
      throw MailsealError(
        code: "reason-missing", status: .unprocessableEntity,
        detail: LocalizedText(
          de: "Bitte wählen Sie einen Grund für den Widerruf.",
          en: "Please choose a reason for the revocation."))
    }
    return reason
  }

  // MARK: Requester

  /// The certificate of the signed-in mailbox; another mailbox's does not
  /// exist for this requester.
  static func requesterCertificate(_ request: Request, mailbox: String) async throws
    -> CertificateRecord
  {
    let record = try await request.application.registrationAuthority.certificate(
      serial: request.parameters.get("serial") ?? "")
    guard record.mailbox == mailbox else { throw MailsealError.notFound }
    return record
  }

  /// `GET /certificates/:serial`: the certificate and, while it is valid,
  /// the revocation form.
  @Sendable
  static func show(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    let record = try await requesterCertificate(request, mailbox: session.mailbox)
    return try await Pages.render(
      "certificate",
      try await page(
        record, reasons: RevocationReason.subscriberChoices, request: request,
        action: "/certificates/\(record.serial)/revoke", error: nil),
      for: request)
  }

  /// `POST /certificates/:serial/revoke`.
  @Sendable
  static func revoke(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    let form = try? request.content.decode(RevokePost.self)
    try RequesterSession.verifyCSRF(request, session: session, formToken: form?.csrf)
    let record = try await requesterCertificate(request, mailbox: session.mailbox)
    do {
      try await request.application.registrationAuthority.revoke(
        serial: record.serial, reason: try reason(form?.reason ?? ""),
        by: .requester(mailbox: session.mailbox))
    } catch let error as MailsealError where error.status.code < 500 && error.code != "not-found" {
      return try await Pages.render(
        "certificate",
        try await page(
          record, reasons: RevocationReason.subscriberChoices, request: request,
          action: "/certificates/\(record.serial)/revoke", error: error),
        for: request, status: error.status)
    }
    return request.redirect(to: "/certificates/\(record.serial)?revoked=1")
  }

  // MARK: Staff

  /// `GET /operator/certificates/:serial`.
  @Sendable
  static func deskShow(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request)
    let record = try await request.application.registrationAuthority.certificate(
      serial: request.parameters.get("serial") ?? "")
    return try await Pages.render(
      "desk-certificate",
      try await page(
        record,
        reasons: current.operator.role.mayDecide ? RevocationReason.staffChoices : [],
        request: request, action: "/operator/certificates/\(record.serial)/revoke", error: nil),
      for: request)
  }

  /// `POST /operator/certificates/:serial/revoke`.
  @Sendable
  static func deskRevoke(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request)
    let form = try? request.content.decode(RevokePost.self)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: form?.csrf)
    let authority = request.application.registrationAuthority
    let record = try await authority.certificate(serial: request.parameters.get("serial") ?? "")
    do {
      try await authority.revoke(
        serial: record.serial, reason: try reason(form?.reason ?? ""),
        by: .staff(current.operator))
    } catch let error as MailsealError where error.status.code < 500 && error.code != "not-found" {
      return try await Pages.render(
        "desk-certificate",
        try await page(
          record, reasons: current.operator.role.mayDecide ? RevocationReason.staffChoices : [],
          request: request, action: "/operator/certificates/\(record.serial)/revoke",
          error: error),
        for: request, status: error.status)
    }
    return request.redirect(to: "/operator/certificates/\(record.serial)?revoked=1")
  }
}
