import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
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
    /// Always offered (but for an encryption-only certificate, renewed
    /// with its signing certificate): whether the identity check is reused
    /// is the renewal form's to say.
    let canRenew: Bool
    /// Key escrow: "signing only" or "encryption only, key escrowed"
    /// (nil for a dual-use certificate).
    var purpose: String? = nil
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
    /// Key recovery, for a certificate whose key was escrowed.
    let recovery: RecoveryPanel?
    /// Publishing (`MAILSEAL_PUBLISH`), for a certificate for encryption.
    var publication: PublicationPanel? = nil
  }

  /// Whether the certificate is published and, for its holder under
  /// `consent`, the form that changes it.
  struct PublicationPanel: Encodable {
    let published: Bool
    let words: String
    let canChange: Bool
    let action: String
    let justChanged: Bool
  }

  /// The recoveries of an escrowed key and, for who may ask, the form.
  struct RecoveryPanel: Encodable {
    let action: String
    let canAsk: Bool
    let staff: Bool
    let rows: [RecoveryController.Row]
    let error: String?
    let justAsked: Bool
    let reasonLimit: Int
  }

  static func row(
    _ record: IssuedCertificate, language: Language, zone: TimeZone, now: Date = Date()
  )
    -> CertificateRow
  {
    let expired = record.notAfter <= now
    let status =
      record.status == .revoked
      ? "revoked"
      : expired
        ? "expired" : record.revocationRequestedAt != nil ? "revocation_requested" : "active"
    return CertificateRow(
      serial: record.serial,
      name: record.pseudonym
        ?? [record.givenName, record.surname].compactMap { $0 }.joined(separator: " "),
      mailbox: record.mailbox,
      validFrom: BackOfficeController.format(record.notBefore, language, zone),
      validUntil: BackOfficeController.format(record.notAfter, language, zone),
      status: status, statusLabel: Catalogue.entries["certificate_\(status)"]?[language] ?? status,
      revokedAt: record.revokedAt.map { BackOfficeController.format($0, language, zone) },
      reason: record.revocationReason.flatMap(RevocationReason.init(name:))?.label(language),
      canRevoke: status == "active", canRenew: record.keyPurpose != KeyPurpose.encryption.rawValue,
      purpose: record.keyPurpose == KeyPurpose.dualUse.rawValue
        ? nil : Catalogue.text("purpose_\(record.keyPurpose)", language))
  }

  /// Where a certificate is shown: the requester's pages or the back
  /// office, each with its template, its paths and the reasons it offers.
  struct Side {
    let template: String
    let staff: Bool
    let reasons: [RevocationReason]

    /// Who may ask for a key recovery here: the person, an administrator.
    let mayAskRecovery: Bool

    static let requester = Side(
      template: "certificate", staff: false, reasons: RevocationReason.subscriberChoices,
      mayAskRecovery: true)

    static func staff(_ may: Permissions) -> Side {
      Side(
        template: "desk-certificate", staff: true,
        reasons: may.decide ? RevocationReason.staffChoices : [],
        mayAskRecovery: may.askRecoveryForOthers)
    }
  }

  /// The certificate's page on `side`, with a refused revocation's (or
  /// recovery's) reason.
  static func render(
    _ record: IssuedCertificate, on side: Side, for request: Request,
    error: MailsealError? = nil, recoveryError: MailsealError? = nil
  ) async throws -> Response {
    let language = Language.of(request)
    let zone = request.timeZone
    var number: String?
    if let requestID = record.requestID {
      number = try await request.registrationAuthority.certificates.requestNumber(id: requestID)
    }
    let authority = request.registrationAuthority
    var panel: RecoveryPanel?
    if try await authority.recovery.isEscrowed(record) {
      let recoveries = try await authority.recovery.recoveries(of: record)
      let now = Date()
      panel = RecoveryPanel(
        action: SiteURL.certificate(serial: record.serial, staff: side.staff).path + "/recovery",
        canAsk: side.mayAskRecovery
          && !recoveries.contains { KeyRecovery.State.open.contains($0.state(at: now)) },
        staff: side.staff,
        rows: recoveries.map {
          RecoveryController.row($0, serial: record.serial, language: language, zone: zone)
        },
        error: recoveryError?.sentence(language),
        justAsked: request.query[String.self, at: "recovery"] != nil,
        reasonLimit: RecoveryRules.reasonLimit)
    }
    let page = CertificatePage(
      certificate: row(record, language: language, zone: zone),
      reasons: side.reasons.map { ReasonChoice(value: $0.name, label: $0.label(language)) },
      requestNumber: number,
      action: SiteURL.certificate(serial: record.serial, staff: side.staff).path + "/revoke",
      error: error?.sentence(language),
      justRevoked: request.query[String.self, at: "revoked"] != nil, recovery: panel,
      publication: try await publicationPanel(record, on: side, for: request))
    return try await Pages.render(
      side.template, page, for: request,
      status: error?.status ?? recoveryError?.status ?? .ok)
  }

  /// The publication panel: only with `MAILSEAL_PUBLISH` on, for a
  /// certificate for encryption issued through a request.
  static func publicationPanel(_ record: IssuedCertificate, on side: Side, for request: Request)
    async throws -> PublicationPanel?
  {
    let policy = request.application.mailseal.directory
    guard policy.mode != .off, record.requestID != nil,
      record.keyPurpose != KeyPurpose.signing.rawValue
    else { return nil }
    let language = Language.of(request)
    let consent = try await request.registrationAuthority.directory.consent(of: record)
    let published = policy.publishes(consent: consent)
    let active = record.status == .active && record.notAfter > Date()
    let words =
      policy.mode == .always
      ? "publish_state_always" : published ? "publish_state_yes" : "publish_state_no"
    return PublicationPanel(
      published: published && active, words: Catalogue.text(words, language),
      canChange: !side.staff && policy.mode == .consent && active,
      action: SiteURL.certificate(serial: record.serial, staff: false).path + "/publish",
      justChanged: request.query[String.self, at: "published"] != nil)
  }

  /// Asks for the recovery of the certificate's escrowed key; a refusal
  /// shows the page again.
  static func askRecovery(
    _ record: IssuedCertificate, form: RecoveryPost?, by asker: Principal, on side: Side,
    for request: Request
  ) async throws -> Response {
    let recovery: KeyRecovery
    do {
      recovery = try await request.registrationAuthority.recovery.askRecovery(
        serial: record.serial, reason: form?.reason ?? "", by: asker,
        language: Language.of(request))
    } catch let error as MailsealError where error.isShownOnPage {
      return try await render(record, on: side, for: request, recoveryError: error)
    }
    if side.staff { return request.redirect(to: .operatorRecovery(number: recovery.number)) }
    return request.redirect(
      to: SiteURL.certificate(serial: record.serial, staff: false).path + "?recovery=asked")
  }

  struct RecoveryPost: Content {
    var csrf: String
    var reason: String?
  }

  /// Revokes with the form's reason; a refusal shows the page again.
  static func revoke(
    _ record: IssuedCertificate, form: RevokePost?, by revoker: Principal, on side: Side,
    for request: Request
  ) async throws -> Response {
    do {
      try await request.registrationAuthority.certificates.revoke(
        serial: record.serial, reason: try reason(form?.reason ?? ""), by: revoker)
    } catch let error as MailsealError where error.isShownOnPage {
      return try await render(record, on: side, for: request, error: error)
    }
    return request.redirect(
      to: .certificate(serial: record.serial, staff: side.staff, revoked: true))
  }

  struct RevokePost: Content {
    var csrf: String
    var reason: String?
  }

  static func reason(_ text: String) throws -> RevocationReason {
    guard let reason = RevocationReason(name: text) else {
      throw MailsealError(.reasonMissing)
    }
    return reason
  }

  // MARK: Requester

  /// The certificate of the signed-in mailbox; another mailbox's does not
  /// exist for this requester.
  static func requesterCertificate(_ request: Request, mailbox: String) async throws
    -> IssuedCertificate
  {
    let record = try await request.registrationAuthority.certificates.certificate(
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
    return try await render(record, on: .requester, for: request)
  }

  /// `POST /certificates/:serial/revoke`.
  @Sendable
  static func revoke(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    let form = try? request.content.decode(RevokePost.self)
    try RequesterSession.verifyCSRF(request, session: session, formToken: form?.csrf)
    let record = try await requesterCertificate(request, mailbox: session.mailbox)
    return try await revoke(
      record, form: form, by: session.principal, on: .requester, for: request)
  }

  /// `POST /certificates/:serial/recovery`: the person asks for the
  /// recovery of their escrowed key.
  @Sendable
  static func askRecovery(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    let form = try? request.content.decode(RecoveryPost.self)
    try RequesterSession.verifyCSRF(request, session: session, formToken: form?.csrf)
    let record = try await requesterCertificate(request, mailbox: session.mailbox)
    return try await askRecovery(
      record, form: form, by: session.principal, on: .requester,
      for: request)
  }

  // MARK: Staff

  /// `POST /operator/certificates/:serial/recovery`: an administrator asks
  /// (for a person who has left).
  @Sendable
  static func deskAskRecovery(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request, may: \.seeDesk)
    let form = try? request.content.decode(RecoveryPost.self)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: form?.csrf)
    let record = try await request.registrationAuthority.certificates.certificate(
      serial: request.parameters.get("serial") ?? "")
    return try await askRecovery(
      record, form: form, by: current.principal, on: .staff(current.may),
      for: request)
  }

  /// `GET /operator/certificates/:serial`.
  @Sendable
  static func deskShow(_ request: Request) async throws -> Response {
    // Every staff role sees a certificate (recovery officers from a
    // recovery's page); what each may do on it is the page's to offer.
    let current = try await OperatorSession.require(request)
    let record = try await request.registrationAuthority.certificates.certificate(
      serial: request.parameters.get("serial") ?? "")
    return try await render(record, on: .staff(current.may), for: request)
  }

  /// `POST /operator/certificates/:serial/revoke`.
  @Sendable
  static func deskRevoke(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request, may: \.seeDesk)
    let form = try? request.content.decode(RevokePost.self)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: form?.csrf)
    let record = try await request.registrationAuthority.certificates.certificate(
      serial: request.parameters.get("serial") ?? "")
    return try await revoke(
      record, form: form, by: current.principal, on: .staff(current.may),
      for: request)
  }
}
