import Foundation
import MailsealModel
import MailsealRA
import Vapor

/// The requester's pages: start, login link, requests, the form.
enum RequesterController {
  /// Phones and tablets: key generation and later use belong on a desktop.
  static let desktopCookieName = "mailseal_desktop"

  /// Phones and tablets (by their user agent) get an explanation instead
  /// of a form — unless the person said, by the page's link, that this is
  /// a desktop computer after all (remembered in a cookie).
  static func isMobile(_ request: Request) -> Bool {
    if request.query[String.self, at: "desktop"] == "1"
      || request.cookies[desktopCookieName]?.string == "1"
    {
      return false
    }
    let agent = request.headers.first(name: .userAgent) ?? ""
    return [
      "iPhone", "iPad", "iPod", "Android", "Mobile", "Tablet", "Silk/", "Kindle", "Opera Mini",
      "IEMobile",
    ]
    .contains { agent.contains($0) }
  }

  struct StartPage: Encodable {
    let formToken: String
    let address: String
    let mobile: Bool
    let error: String?
    /// "Sign in with <organisation>", when requesters may use the provider.
    let provider: String?
    /// The look-up of colleagues' certificates is on (MAILSEAL_PUBLISH).
    var directory = false
  }

  /// `GET /`: the address form, or the requests when signed in.
  @Sendable
  static func start(_ request: Request) async throws -> Response {
    if try await RequesterSession.current(request) != nil {
      return request.redirect(to: .requests)
    }
    return try await startPage(request, address: "", error: nil, status: .ok)
  }

  static func startPage(
    _ request: Request, address: String, error: String?, status: HTTPResponseStatus
  ) async throws -> Response {
    var token = SecretToken.make()
    if let existing = request.cookies[RequesterSession.anonymousCSRFCookieName]?.string,
      SecretToken.isWellFormed(existing)
    {
      token = existing
    }
    let response = try await Pages.render(
      "start",
      StartPage(
        formToken: token, address: address, mobile: isMobile(request), error: error,
        provider: request.application.mailseal.oidc?.requesters == true
          ? OIDCController.buttonText(request) : nil,
        directory: request.application.mailseal.directory.mode != .off),
      for: request, status: status)
    response.cookies[RequesterSession.anonymousCSRFCookieName] = HTTPCookies.Value(
      string: token, maxAge: 86_400, path: "/",
      isSecure: request.application.mailseal.portal.secureCookies,
      isHTTPOnly: true, sameSite: .strict)

    return response
  }

  struct LoginForm: Content {
    var address: String
    var csrf: String
  }

  /// `POST /login`: sends the login link; the same page whatever the address.
  @Sendable
  static func requestLink(_ request: Request) async throws -> Response {
    let form = try request.content.decode(LoginForm.self)
    guard let cookie = request.cookies[RequesterSession.anonymousCSRFCookieName]?.string,
      SecretToken.isWellFormed(form.csrf), SecretToken.constantTimeEquals(cookie, form.csrf)
    else { throw MailsealError.csrf }
    guard form.address.utf8.count <= 320 else {
      return try await startPage(
        request, address: "", error: Catalogue.text("address_label", .de),
        status: .unprocessableEntity)
    }
    let settings = request.application.mailseal.portal
    do {
      try await request.registrationAuthority.mailboxSignIn.requestLoginLink(
        address: form.address, language: Language.of(request),
        clientAddress: RequesterSession.clientAddress(request, settings: settings))
    } catch let error as MailsealError where error.status == .unprocessableEntity {
      return try await startPage(
        request, address: String(form.address.prefix(320)),
        error: error.detail(Language.of(request)),
        status: .unprocessableEntity)
    }
    // Post, redirect, get: the answer is a page of its own, whose language
    // link works and which a reload does not send again.
    return request.redirect(to: .loginLinkSent)
  }

  /// `GET /login/sent`: the same neutral page whatever the address.
  @Sendable
  static func linkSent(_ request: Request) async throws -> Response {
    try await Pages.render("link-sent", Pages.Empty(), for: request)
  }

  /// `GET /login/:token`: opens the login link, signs the browser in.
  @Sendable
  static func openLink(_ request: Request) async throws -> Response {
    let token = request.parameters.get("token") ?? ""
    let authority = request.registrationAuthority
    let signIn = try await authority.mailboxSignIn.redeemLoginLink(token)
    let response = request.redirect(
      to: try await isNew(signIn.mailbox, request) ? .newRequest : .requests)
    RequesterSession.setCookies(
      response, signIn: signIn, settings: request.application.mailseal.portal)
    return response
  }

  /// Whether a mailbox just signed in has neither requests nor
  /// certificates: someone new goes straight to the form, anyone else to
  /// their list.
  static func isNew(_ mailbox: String, _ request: Request) async throws -> Bool {
    let authority = request.registrationAuthority
    let hasRequests = try await !authority.enrollment.requests(of: mailbox).isEmpty
    let hasCertificates = try await !authority.certificates.certificates(of: mailbox).isEmpty
    return !hasRequests && !hasCertificates
  }

  /// `POST /logout`.
  @Sendable
  static func signOut(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    try RequesterSession.verifyCSRF(
      request, session: session, formToken: try? request.content.decode(CSRFForm.self).csrf)
    if let token = request.cookies[RequesterSession.cookieName]?.string {
      try await request.registrationAuthority.mailboxSignIn.signOut(token: token)
    }
    // Signed in at the provider: signed out there too (RP-initiated logout).
    var target = SiteURL.start.path
    if session.validation.signedInAtProvider,
      let signIn = request.application.oidcSignIn,
      let logout = await signIn.logoutURL(returnTo: request.application.mailseal.publicURL + "/")
    {
      target = logout
    }
    let response = request.redirect(to: target)
    RequesterSession.clearCookies(response, settings: request.application.mailseal.portal)
    return response
  }

  struct RequestRow: Encodable {
    let number: String
    let created: String
    let state: String
    let stateLabel: String
    let name: String
    let canWithdraw: Bool
    /// Key escrow: when the requester consented (nil: no escrow).
    var escrow: String? = nil
    /// `MAILSEAL_PUBLISH=consent`: the holder's answer in words (nil: not
    /// asked).
    var publish: String? = nil
  }

  struct RequestsPage: Encodable {
    let requests: [RequestRow]
    let certificates: [CertificateController.CertificateRow]
  }

  /// The words for a request's state: an approved request says why it
  /// waits (the pause, a mailbox validation to renew, the upstream
  /// certificate authority, an administrator's look at what it sent).
  static func stateLabel(_ record: CertificateRequest, issuancePaused: Bool, upstream: Bool = false)
    -> String
  {
    guard record.state == .approved else { return "state_\(record.state.rawValue)" }
    if record.issuanceHeldAt != nil { return "state_approved_held" }
    if record.upstreamHeldAt != nil { return "state_approved_upstream_held" }
    if issuancePaused { return "state_approved_paused" }
    return upstream ? "state_approved_upstream" : "state_approved"
  }

  /// A request's line; `actions`: what the viewer may do (from the RA).
  static func row(
    _ record: CertificateRequest, language: Language, zone: TimeZone,
    actions: RequestActions = .init(), issuancePaused: Bool = false, upstream: Bool = false
  ) -> RequestRow {
    let name =
      record.pseudonym
      ?? [record.givenName, record.surname].compactMap { $0 }.joined(separator: " ")
    return RequestRow(
      number: record.number, created: BackOfficeController.format(record.createdAt, language, zone),
      state: record.state.rawValue,
      stateLabel: Catalogue.text(
        stateLabel(record, issuancePaused: issuancePaused, upstream: upstream), language),
      name: name,
      canWithdraw: actions.withdraw,
      escrow: record.escrowConsentedAt.map { BackOfficeController.format($0, language, zone) },
      publish: publishWords(record.publishConsent, at: record.publishConsentAt, language, zone))
  }

  /// The holder's answer to publishing, in words, with when it was given.
  static func publishWords(_ consent: Bool?, at date: Date?, _ language: Language, _ zone: TimeZone)
    -> String?
  {
    guard let consent else { return nil }
    let words = Catalogue.text(consent ? "publish_consent_yes" : "publish_consent_no", language)
    guard let date else { return words }
    return words + " (" + BackOfficeController.format(date, language, zone) + ")"
  }

  /// `GET /requests`.
  @Sendable
  static func requests(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    let language = Language.of(request)
    let zone = request.timeZone
    let authority = request.registrationAuthority
    let records = try await authority.enrollment.requests(of: session.mailbox)
    let certificates = try await authority.certificates.certificates(of: session.mailbox)
    let paused = try await authority.service.isIssuancePaused()
    return try await Pages.render(
      "requests",
      RequestsPage(
        requests: records.map {
          row(
            $0, language: language, zone: zone,
            actions: authority.desk.actions(on: $0, for: session.principal),
            issuancePaused: paused, upstream: request.application.mailseal.upstream != nil)
        },
        certificates: certificates.map {
          CertificateController.row($0, language: language, zone: zone)
        }),
      for: request)
  }

  struct FormPage: Encodable {
    let mobile: Bool
    let mailbox: String
    let renewal: RenewalView?
    /// Names the identity provider gave, pre-filled (may be changed).
    var givenName: String? = nil
    var surname: String? = nil
    /// Key escrow: off, optional or required, and the recovery
    /// certificates the browser seals the encryption key for (base64 DER,
    /// separated by spaces).
    var escrow: String = "off"
    var recoveryCertificates: String = ""
    /// The pins the browser checks the certificates against before it
    /// seals (hex SHA-256 of each, separated by spaces), from the
    /// configuration — never from the database.
    var recoveryPins: String = ""
    /// The pinned certificates in short form, as the form shows them.
    var recoveryShort: [String] = []
    /// The installed recovery certificates do not match the pins: no
    /// escrow now (with `required`, no request).
    var escrowStopped = false
    /// `MAILSEAL_PUBLISH`: off, consent (the question is asked) or always.
    var publish = "off"
  }

  /// What the form says about a renewal: the certificate, its names (kept),
  /// and whether the identity check is young enough to be reused.
  struct RenewalView: Encodable {
    let serial: String
    let validUntil: String
    let personal: Bool
    let givenName: String
    let surname: String
    let commonName: String
    let evidenceReused: Bool
    let checkedAt: String?
    let reusableUntil: String?
  }

  /// `GET /requests/new`: the form; the browser's script does the rest.
  @Sendable
  static func newRequest(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    var renewal: RenewalView?
    if let serial = request.query[String.self, at: "renew"] {
      let language = Language.of(request)
      let zone = request.timeZone
      let basis = try await request.registrationAuthority.enrollment.renewalBasis(
        serial: String(serial.prefix(64)), mailbox: session.mailbox)
      let certificate = basis.certificate
      renewal = RenewalView(
        serial: certificate.serial,
        validUntil: BackOfficeController.format(certificate.notAfter, language, zone),
        personal: certificate.pseudonym == nil, givenName: certificate.givenName ?? "",
        surname: certificate.surname ?? "", commonName: certificate.pseudonym ?? "",
        evidenceReused: basis.evidenceRequestID != nil,
        checkedAt: basis.checkedAt.map {
          BackOfficeController.format($0, language, zone, time: false)
        },
        reusableUntil: basis.reusableUntil.map {
          BackOfficeController.format($0, language, zone, time: false)
        })
    }
    let escrow = request.application.mailseal.escrow
    var page = FormPage(
      mobile: isMobile(request), mailbox: session.mailbox, renewal: renewal,
      givenName: session.givenNameHint, surname: session.surnameHint, escrow: escrow.rawValue)
    page.publish = request.application.mailseal.directory.mode.rawValue
    if escrow.isOn {
      do {
        let inForce = try await request.registrationAuthority.enrollment
          .recoveryCertificatesInForce()
        page.recoveryCertificates = inForce.map { Data($0.der).base64EncodedString() }
          .joined(separator: " ")
        page.recoveryPins = request.application.mailseal.recoveryPins.pageText
        page.recoveryShort = inForce.map(\.shortFingerprint)
      } catch let error as MailsealError where error.code == .escrowStopped {
        page.escrowStopped = true
      }
    }
    return try await Pages.render("request-new", page, for: request)
  }

  struct RequestPage: Encodable {
    let request: RequestRow
    let certificateSerial: String?
    let mailbox: String
    let identityCheck: String
    let videoCallURL: String?
    let justSubmitted: Bool
  }

  /// `GET /requests/:number`: the confirmation and the request's state.
  @Sendable
  static func show(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    let language = Language.of(request)
    let zone = request.timeZone
    let record = try await request.registrationAuthority.enrollment.request(
      number: request.parameters.get("number") ?? "", session: session)
    let portal = request.application.mailseal.portal
    return try await Pages.render(
      "request",
      RequestPage(
        request: row(
          record, language: language, zone: zone,
          actions: request.registrationAuthority.desk.actions(
            on: record, for: session.principal),
          issuancePaused: try await request.registrationAuthority.service.isIssuancePaused(),
          upstream: request.application.mailseal.upstream != nil),
        certificateSerial: try await record.certificateID.asyncFlatMap {
          try await request.registrationAuthority.certificates.certificate(id: $0)?.serial
        },
        mailbox: record.mailbox,
        identityCheck: portal.identityCheckText[language.rawValue] ?? "",
        videoCallURL: portal.videoCallURL,
        justSubmitted: request.query[String.self, at: "submitted"] != nil),
      for: request)
  }

  /// `POST /requests/:number/withdraw` (a form on the requests page).
  @Sendable
  static func withdraw(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    try RequesterSession.verifyCSRF(
      request, session: session, formToken: try? request.content.decode(CSRFForm.self).csrf)
    _ = try await request.registrationAuthority.enrollment.withdraw(
      number: request.parameters.get("number") ?? "", session: session)
    return request.redirect(to: .requests)
  }
}
