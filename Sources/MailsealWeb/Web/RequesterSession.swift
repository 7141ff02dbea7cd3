import Foundation
import MailsealModel
import MailsealRA
import Vapor

/// The requester's session, read from its cookie, and the CSRF token the
/// pages and scripts send back.
enum RequesterSession {
  static let cookieName = "mailseal_session"
  static let csrfCookieName = "mailseal_csrf"
  /// The double-submit token of forms used before signing in.
  static let anonymousCSRFCookieName = "mailseal_form"

  /// The live session of the request, or nil.
  static func current(_ request: Request) async throws -> MailboxSession? {
    if let cached = request.storage[CachedSession.self] { return cached.session }
    var session: MailboxSession?
    if let token = request.cookies[cookieName]?.string {
      session = try await request.registrationAuthority.mailboxSignIn.session(token: token)
    }
    request.storage[CachedSession.self] = CachedSession(session: session)
    return session
  }

  /// The session, or "please sign in".
  static func require(_ request: Request) async throws -> MailboxSession {
    guard let session = try await current(request) else { throw MailsealError.signInRequired }
    return session
  }

  /// The session's CSRF token as the browser holds it (for pages to embed).
  static func csrfToken(_ request: Request) -> String? {
    request.cookies[csrfCookieName]?.string
  }

  /// Refuses a state-changing request whose CSRF token (form field `csrf`
  /// or header `X-CSRF-Token`) is not the session's.
  static func verifyCSRF(_ request: Request, session: MailboxSession, formToken: String?) throws {
    let token = formToken ?? request.headers.first(name: "X-CSRF-Token")
    guard MailboxSignIn.verifyCSRF(token, session: session) else {
      throw MailsealError.csrf
    }
  }

  /// Cookies of a new session.
  static func setCookies(
    _ response: Response, signIn: RequesterSignIn, settings: PortalSettings
  ) {
    response.cookies[cookieName] = cookie(signIn.sessionToken, settings: settings)
    response.cookies[csrfCookieName] = cookie(signIn.csrfToken, settings: settings)
  }

  static func clearCookies(_ response: Response, settings: PortalSettings) {
    for name in [cookieName, csrfCookieName] {
      var expired = cookie("", settings: settings)
      expired.maxAge = 0
      expired.expires = Date(timeIntervalSince1970: 0)
      response.cookies[name] = expired
    }
  }

  static func cookie(
    _ value: String, settings: PortalSettings, sameSite: HTTPCookies.SameSitePolicy = .lax
  ) -> HTTPCookies.Value {
    HTTPCookies.Value(
      string: value, expires: nil, maxAge: Int(settings.sessionLifetime), domain: nil, path: "/",
      isSecure: settings.secureCookies, isHTTPOnly: true, sameSite: sameSite)
  }

  /// The client address for rate limits: the peer, or the last
  /// X-Forwarded-For entry behind a trusted proxy.
  static func clientAddress(_ request: Request, settings: PortalSettings) -> String {
    if settings.trustForwardedFor,
      let forwarded = forwardedClient(request.headers[.xForwardedFor])
    {
      return forwarded
    }
    return request.remoteAddress?.ipAddress ?? "unknown"
  }

  /// The client a trusted proxy names in X-Forwarded-For: the proxy
  /// appends the address it saw, so the last entry of the last header
  /// (what a client put before it is the client's to choose), at most 64
  /// characters. The portal's port and the OCSP listener both use it.
  static func forwardedClient(_ headerValues: [String]) -> String? {
    guard let last = headerValues.last?.split(separator: ",").last else { return nil }
    let address = last.trimmingCharacters(in: .whitespaces)
    return address.isEmpty ? nil : String(address.prefix(64))
  }

  private struct CachedSession: StorageKey {
    typealias Value = CachedSession
    let session: MailboxSession?
  }
}
