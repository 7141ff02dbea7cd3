import AsyncHTTPClient
import Foundation
import MailsealModel
import MailsealRA
import NIOCore
import Vapor

/// The provider's side of the HTTP: the application's HTTP client (TLS
/// with the system's roots, or `MAILSEAL_OIDC_CA_FILE`'s; no redirects).
/// An answer is read as it arrives and refused as soon as it passes
/// 256 KiB — a provider (or whoever answers in its name) cannot make the
/// portal hold more — and the whole exchange takes at most 10 seconds.
struct VaporOIDCTransport: OIDCTransport {
  let client: HTTPClient
  static let limit = 256 * 1024
  static let timeout = TimeAmount.seconds(10)

  func get(_ url: URL) async throws -> (status: Int, body: Data) {
    var request = HTTPClientRequest(url: url.absoluteString)
    request.headers.replaceOrAdd(name: "Accept", value: "application/json")
    return try await Self.exchange(request, client)
  }

  func postForm(_ url: URL, _ form: [(String, String)], user: String, password: String)
    async throws -> (status: Int, body: Data)
  {
    var request = HTTPClientRequest(url: url.absoluteString)
    request.method = .POST
    // RFC 6749 §2.3.1: the client's ID and secret, form-encoded, as Basic.
    let credentials = "\(Self.formEncoded(user)):\(Self.formEncoded(password))"
    request.headers.replaceOrAdd(
      name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
    request.headers.replaceOrAdd(name: "Accept", value: "application/json")
    request.headers.replaceOrAdd(name: "Content-Type", value: "application/x-www-form-urlencoded")
    request.body = .bytes(
      ByteBuffer(
        string: form.map { "\(Self.formEncoded($0.0))=\(Self.formEncoded($0.1))" }.joined(
          separator: "&")))
    return try await Self.exchange(request, client)
  }

  /// Sends `request` and reads the answer up to ``limit`` bytes.
  static func exchange(_ request: HTTPClientRequest, _ client: HTTPClient) async throws
    -> (status: Int, body: Data)
  {
    let deadline = NIODeadline.now() + timeout
    let response = try await client.execute(request, deadline: deadline)
    if let length = response.headers.first(name: "Content-Length").flatMap(Int.init),
      length > limit
    {
      throw OIDCUnavailable(detail: "an answer of \(length) bytes (at most \(limit))")
    }
    do {
      let body = try await response.body.collect(upTo: limit)
      return (Int(response.status.code), Data(body.readableBytesView))
    } catch is NIOTooManyBytesError {
      throw OIDCUnavailable(detail: "an answer over 256 KiB")
    }
  }

  /// application/x-www-form-urlencoded (only unreserved characters plain).
  static func formEncoded(_ text: String) -> String {
    let allowed = CharacterSet(
      charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
  }
}

/// Sign-in through the organisation's OpenID provider: the buttons' targets
/// and the provider's answer.
enum OIDCController {
  /// The cookie that binds a sign-in to the browser that began it: Lax,
  /// since the provider's answer is a navigation from another site.
  static let cookieName = "mailseal_oidc"

  /// "Sign in with <organisation>" in the request's language.
  static func buttonText(_ request: Request) -> String {
    Catalogue.text(
      Message(
        "provider_sign_in", ["organisation": request.application.mailseal.organization.name.value]),
      Language.of(request))
  }

  static func signIn(_ request: Request) throws -> OIDCSignIn {
    guard let signIn = request.application.oidcSignIn else { throw MailsealError.notFound }
    return signIn
  }

  static func begin(_ request: Request, _ purpose: OIDCSignIn.Purpose) async throws -> Response {
    let started = try await signIn(request).start(
      purpose,
      clientAddress: RequesterSession.clientAddress(
        request, settings: request.application.mailseal.portal))
    let response = request.redirect(to: started.authorizationURL)
    response.cookies[cookieName] = HTTPCookies.Value(
      string: started.browserToken, maxAge: 600, path: "/oidc",
      isSecure: request.application.mailseal.portal.secureCookies, isHTTPOnly: true, sameSite: .lax)
    return response
  }

  /// `GET /operator/login/provider`: staff sign-in at the provider.
  @Sendable
  static func startStaff(_ request: Request) async throws -> Response {
    try await begin(request, .staff)
  }

  /// `GET /login/provider`: a requester's sign-in at the provider.
  @Sendable
  static func startRequester(_ request: Request) async throws -> Response {
    try await begin(request, .requester)
  }

  struct Continue: Encodable {
    let target: String
  }

  /// `GET /signed-in?to=queue|requests|new`: a page of ours that leads on
  /// to where the sign-in was for. The session cookies are SameSite=Strict
  /// and the callback was a navigation from the provider's site: from this
  /// page the next request is same-site and carries them.
  @Sendable
  static func signedIn(_ request: Request) async throws -> Response {
    // A fixed list: no open redirect.
    let target: SiteURL =
      switch request.query[String.self, at: "to"] {
      case "queue": .operatorQueue
      case "new": .newRequest
      default: .requests
      }
    return try await Pages.render("signed-in", Continue(target: target.path), for: request)
  }

  /// `GET /oidc/callback`: the provider's answer.
  @Sendable
  static func callback(_ request: Request) async throws -> Response {
    let query = request.url.query.map { URLComponents(string: "?" + $0)?.queryItems ?? [] } ?? []
    func parameter(_ name: String) -> String? {
      query.first { $0.name == name }?.value.map { String($0.prefix(4096)) }
    }
    let finished = try await signIn(request).finish(
      state: parameter("state"), code: parameter("code"), providerError: parameter("error"),
      browserToken: request.cookies[cookieName]?.string)
    let settings = request.application.mailseal.portal
    let next: String
    switch finished {
    case .staff: next = "queue"
    case .requester(let signIn):
      next = try await RequesterController.isNew(signIn.mailbox, request) ? "new" : "requests"
    }
    let response = request.redirect(to: "/signed-in?to=\(next)")
    response.cookies[cookieName] = HTTPCookies.Value(
      string: "", expires: Date(timeIntervalSince1970: 0), maxAge: 0, path: "/oidc",
      isSecure: settings.secureCookies, isHTTPOnly: true, sameSite: .lax)
    switch finished {
    case .staff(let tokens, _):
      OperatorSession.setCookies(response, tokens: tokens, secure: settings.secureCookies)
    case .requester(let signIn):
      RequesterSession.setCookies(response, signIn: signIn, settings: settings)
    }
    return response
  }
}

extension OIDCController {
  struct LogoutForm: Content {
    var logoutToken: String?
    enum CodingKeys: String, CodingKey { case logoutToken = "logout_token" }
  }

  /// `POST /oidc/backchannel-logout` (OpenID Connect Back-Channel Logout
  /// 1.0 §2.5), called by the provider, not a browser: the logout token
  /// is the authentication. 200 when it was taken (also when no session
  /// was left to end), 400 with an OAuth error otherwise (§2.8).
  @Sendable
  static func backchannelLogout(_ request: Request) async throws -> Response {
    let token = (try? request.content.decode(LogoutForm.self))?.logoutToken ?? ""
    do {
      _ = try await signIn(request).backchannelLogout(token: token)
    } catch let error as MailsealError where error.code == .identityProviderRefused {
      let response = Response(
        status: .badRequest,
        body: .init(
          string: #"{"error":"invalid_request","error_description":"logout token refused"}"#))
      response.headers.contentType = .json
      response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
      return response
    }
    let response = Response(status: .ok)
    response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return response
  }
}

extension Application {
  private struct OIDCSignInKey: StorageKey {
    typealias Value = OIDCSignIn
  }

  /// Sign-in through the OpenID provider, when one is configured.
  var oidcSignIn: OIDCSignIn? {
    get { storage[OIDCSignInKey.self] }
    set { storage[OIDCSignInKey.self] = newValue }
  }
}
