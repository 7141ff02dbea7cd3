import Foundation
import MailsealAdapters
import MailsealModel
import MailsealRA
import Vapor

/// Staff sign-in (password, then TOTP code) and enrolment.
enum OperatorController {
  struct FormPage: Encodable {
    let formToken: String
    let error: String?
    /// "Sign in with <organisation>", when an OpenID provider is configured.
    var provider: String? = nil
    /// Whether the password form is offered (`MAILSEAL_LOCAL_STAFF_LOGIN`).
    var localSignIn = true
  }

  static func anonymousToken(_ request: Request) -> String {
    if let existing = request.cookies[RequesterSession.anonymousCSRFCookieName]?.string,
      SecretToken.isWellFormed(existing)
    {
      return existing
    }
    return SecretToken.make()
  }

  static func renderWithToken(
    _ template: String, error: String?, for request: Request, status: HTTPResponseStatus = .ok
  ) async throws
    -> Response
  {
    let token = anonymousToken(request)
    let configuration = request.application.mailseal
    let page = FormPage(
      formToken: token, error: error,
      provider: configuration.oidc == nil ? nil : OIDCController.buttonText(request),
      localSignIn: configuration.localStaffLogin)
    let response = try await Pages.render(template, page, for: request, status: status)
    response.cookies[RequesterSession.anonymousCSRFCookieName] = HTTPCookies.Value(
      string: token, maxAge: 86_400, path: "/",
      isSecure: request.application.mailseal.portal.secureCookies,
      isHTTPOnly: true, sameSite: .strict)
    return response
  }

  static func checkAnonymousToken(_ request: Request, _ formToken: String) throws {
    guard let cookie = request.cookies[RequesterSession.anonymousCSRFCookieName]?.string,
      SecretToken.isWellFormed(formToken), SecretToken.constantTimeEquals(cookie, formToken)
    else { throw MailsealError.csrf }
  }

  /// `GET /operator`.
  @Sendable
  static func home(_ request: Request) async throws -> Response {
    if let current = try await OperatorSession.current(request), current.session.stage == .complete
    {
      return request.redirect(to: .operatorQueue)
    }
    return request.redirect(to: .operatorLogin)
  }

  /// `GET /operator/login`.
  @Sendable
  static func loginForm(_ request: Request) async throws -> Response {
    try await renderWithToken("operator-login", error: nil, for: request)
  }

  struct LoginForm: Content {
    var email: String
    var password: String
    var csrf: String
  }

  /// `POST /operator/login`: the password step.
  @Sendable
  static func login(_ request: Request) async throws -> Response {
    // With the password sign-in switched off the form is gone, and so is
    // its POST.
    guard request.application.mailseal.localStaffLogin else {
      throw MailsealError(.localSignInOff)
    }
    let form = try request.content.decode(LoginForm.self)
    try checkAnonymousToken(request, form.csrf)
    let language = Language.of(request)
    do {
      let tokens = try await request.operatorDirectory.signIn(
        email: form.email, password: form.password,
        clientAddress: RequesterSession.clientAddress(
          request, settings: request.application.mailseal.portal))
      let response = request.redirect(to: .operatorCode)
      OperatorSession.setCookies(
        response, tokens: tokens, secure: request.application.mailseal.portal.secureCookies)
      return response
    } catch let error as MailsealError
      where error.status == .unauthorized || error.status == .locked
    {
      return try await renderWithToken(
        "operator-login", error: error.detail(language), for: request, status: error.status)
    }
  }

  /// `GET /operator/code`.
  @Sendable
  static func codeForm(_ request: Request) async throws -> Response {
    guard let current = try await OperatorSession.current(request),
      current.session.stage == .password
    else {
      return request.redirect(to: .operatorLogin)
    }
    return try await renderWithToken("operator-code", error: nil, for: request)
  }

  struct CodeForm: Content {
    var code: String
    var csrf: String
  }

  /// `POST /operator/code`: the second factor; rotates the session.
  @Sendable
  static func code(_ request: Request) async throws -> Response {
    guard request.application.mailseal.localStaffLogin else {
      throw MailsealError(.localSignInOff)
    }
    let form = try request.content.decode(CodeForm.self)
    try checkAnonymousToken(request, form.csrf)
    guard let pending = request.cookies[OperatorSession.cookieName]?.string else {
      return request.redirect(to: .operatorLogin)
    }
    let language = Language.of(request)
    do {
      let tokens = try await request.operatorDirectory.completeSignIn(
        pendingToken: pending, code: form.code)
      let response = request.redirect(to: .operatorQueue)
      OperatorSession.setCookies(
        response, tokens: tokens, secure: request.application.mailseal.portal.secureCookies)
      return response
    } catch let error as MailsealError
      where error.status == .unauthorized || error.status == .locked
    {
      if error.code == .operatorSignInRequired {
        return request.redirect(to: .operatorLogin)
      }
      return try await renderWithToken(
        "operator-code", error: error.detail(language), for: request, status: error.status)
    }
  }

  /// `POST /operator/logout`.
  @Sendable
  static func logout(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request)
    try OperatorSession.verifyCSRF(
      request, session: current.session, formToken: try? request.content.decode(CSRFForm.self).csrf)
    if let token = request.cookies[OperatorSession.cookieName]?.string {
      try await request.application.operatorDirectory.signOut(token: token)
    }
    // A session from the provider ends there too (RP-initiated logout).
    var target = SiteURL.operatorLogin.path
    if current.session.viaIdentityProvider, let signIn = request.application.oidcSignIn,
      let logout = await signIn.logoutURL(
        returnTo: request.application.mailseal.publicURL + SiteURL.operatorLogin.path)
    {
      target = logout
    }
    let response = request.redirect(to: target)
    OperatorSession.clearCookies(
      response, secure: request.application.mailseal.portal.secureCookies)
    return response
  }

  struct EnrolPage: Encodable {
    let formToken: String
    let token: String
    let name: String
    let error: String?
  }

  /// `GET /operator/enrol/:token`: choose a password — or, in the browser
  /// that has set it, the QR code and the first code.
  @Sendable
  static func enrolForm(_ request: Request) async throws -> Response {
    let token = request.parameters.get("token") ?? ""
    let directory = request.operatorDirectory
    let form = anonymousToken(request)
    let response: Response
    if let session = request.cookies[OperatorSession.cookieName]?.string,
      let (_, factor) = try await directory.enrolmentInProgress(sessionToken: session)
    {
      response = try await renderQR(request, token: token, formToken: form, factor: factor)
    } else {
      let record = try await directory.enrolling(token: token)
      response = try await Pages.render(
        "operator-enrol", EnrolPage(formToken: form, token: token, name: record.name, error: nil),
        for: request)
    }
    response.cookies[RequesterSession.anonymousCSRFCookieName] = HTTPCookies.Value(
      string: form, maxAge: 86_400, path: "/",
      isSecure: request.application.mailseal.portal.secureCookies,
      isHTTPOnly: true, sameSite: .strict)
    return response
  }

  static func renderQR(
    _ request: Request, token: String, formToken: String,
    factor: OperatorDirectory.SecondFactor, error: String? = nil,
    status: HTTPResponseStatus = .ok
  ) async throws -> Response {
    try await Pages.render(
      "operator-enrol-qr",
      QRPage(
        formToken: formToken, token: token, secret: factor.secret,
        qr: "data:image/svg+xml;base64,"
          + Data(try QRCode(factor.uri).svg().utf8).base64EncodedString(),
        error: error),
      for: request, status: status)
  }

  struct PasswordForm: Content {
    var password: String
    var passwordRepeat: String
    var csrf: String
  }

  struct QRPage: Encodable {
    let formToken: String
    let token: String
    let secret: String
    let qr: String
    let error: String?
  }

  /// `POST /operator/enrol/:token`: sets the password, shows the QR code once.
  @Sendable
  static func enrol(_ request: Request) async throws -> Response {
    let token = request.parameters.get("token") ?? ""
    let form = try request.content.decode(PasswordForm.self)
    try checkAnonymousToken(request, form.csrf)
    let directory = request.operatorDirectory
    let language = Language.of(request)
    do {
      let (_, tokens) = try await directory.setPassword(
        token: token, password: form.password, repeat: form.passwordRepeat,
        clientAddress: RequesterSession.clientAddress(
          request, settings: request.application.mailseal.portal))
      // The QR code is a page of its own (GET), shown to this browser until
      // the first code; only this browser may finish the enrolment.
      let response = request.redirect(to: "/operator/enrol/\(token)")
      OperatorSession.setCookies(
        response, tokens: tokens, secure: request.application.mailseal.portal.secureCookies)
      return response
    } catch let error as MailsealError where error.status == .unprocessableEntity {
      let record = try await directory.enrolling(token: token)
      return try await Pages.render(
        "operator-enrol",
        EnrolPage(
          formToken: form.csrf, token: token, name: record.name, error: error.detail(language)),
        for: request, status: .unprocessableEntity)
    }
  }

  /// `POST /operator/enrol/:token/confirm`: the first code proves the app
  /// holds the secret; then the confirmation is a page of its own.
  @Sendable
  static func confirm(_ request: Request) async throws -> Response {
    let form = try request.content.decode(CodeForm.self)
    try checkAnonymousToken(request, form.csrf)
    let session = request.cookies[OperatorSession.cookieName]?.string ?? ""
    let directory = request.operatorDirectory
    do {
      try await directory.confirmEnrolment(sessionToken: session, code: form.code)
    } catch let error as MailsealError where error.code == .totpInvalid {
      guard let (_, factor) = try await directory.enrolmentInProgress(sessionToken: session)
      else { throw error }
      return try await renderQR(
        request, token: request.parameters.get("token") ?? "", formToken: form.csrf,
        factor: factor, error: error.sentence(Language.of(request)),
        status: .unprocessableEntity)
    }
    let response = request.redirect(to: "/operator/enrolled")
    OperatorSession.clearCookies(
      response, secure: request.application.mailseal.portal.secureCookies)
    return response
  }

  /// `GET /operator/enrolled`: enrolment is complete; sign in.
  @Sendable
  static func enrolled(_ request: Request) async throws -> Response {
    try await Pages.render("operator-enrolled", Pages.Empty(), for: request)
  }
}
