import Foundation
import MailsealModel
import MailsealRA
import Vapor

/// The operator's session cookie (apart from requesters'), its CSRF token,
/// and the role checks of the back office.
enum OperatorSession {
  static let cookieName = "mailseal_operator"
  static let csrfCookieName = "mailseal_operator_csrf"

  struct Current {
    let session: StaffSession
    let `operator`: StaffAccount

    /// Who acts, for the registration authority.
    var principal: Principal { .staff(`operator`) }
    /// What they may do.
    var may: Permissions { principal.permissions }
  }

  /// The session of the request at any stage, or nil.
  static func current(_ request: Request) async throws -> Current? {
    guard let token = request.cookies[cookieName]?.string,
      let (session, record) = try await request.application.operatorDirectory.session(token: token)
    else { return nil }
    return Current(session: session, operator: record)
  }

  /// A complete session (password and code), or "please sign in".
  static func require(_ request: Request) async throws -> Current {
    guard let current = try await current(request), current.session.stage == .complete else {
      throw MailsealError.operatorSignInRequired
    }
    return current
  }

  /// A complete session whose principal has `permission`.
  static func require(_ request: Request, may permission: KeyPath<Permissions, Bool>)
    async throws -> Current
  {
    let current = try await require(request)
    guard current.may[keyPath: permission] else { throw MailsealError.forbiddenForRole }
    return current
  }

  static func verifyCSRF(_ request: Request, session: StaffSession, formToken: String?)
    throws
  {
    let token = formToken ?? request.headers.first(name: "X-CSRF-Token")
    guard let token, SecretToken.isWellFormed(token),
      SecretToken.constantTimeEquals(SecretToken.hash(token), session.csrfHash)
    else { throw MailsealError.csrf }
  }

  static func setCookies(_ response: Response, tokens: OperatorDirectory.Tokens, secure: Bool) {
    for (name, value) in [(cookieName, tokens.session), (csrfCookieName, tokens.csrf)] {
      response.cookies[name] = HTTPCookies.Value(
        string: value, maxAge: Int(OperatorDirectory.sessionLifetime), path: "/", isSecure: secure,
        isHTTPOnly: true,
        sameSite: .strict)
    }
  }

  static func clearCookies(_ response: Response, secure: Bool) {
    for name in [cookieName, csrfCookieName] {
      response.cookies[name] = HTTPCookies.Value(
        string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/", isSecure: secure,
        isHTTPOnly: true,
        sameSite: .strict)
    }
  }
}
