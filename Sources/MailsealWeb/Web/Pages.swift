import Foundation
import Leaf
import MailsealModel
import MailsealRA
import Vapor

/// Every page is a view model rendered into a Leaf template inside the
/// layout, with the texts of the request's language.
enum Pages {
  struct Context<Page: Encodable>: Encodable {
    let lang: String
    let otherLang: String
    let t: [String: String]
    let mailbox: String?
    let csrf: String?
    let staff: Staff?
    /// The service notice and the pause, on requester pages only.
    let service: Service?
    let path: String
    /// The same page in the other language: the path and its query
    /// (without `lang`), then `lang=`.
    let languageLink: String
    let page: Page
  }

  struct Service: Encodable {
    let notice: String?
    let issuancePaused: Bool
  }

  /// The signed-in operator, on back-office pages: the name, the role in
  /// words, and what they may do (the navigation follows it; templates
  /// never compare roles).
  struct Staff: Encodable {
    let name: String
    let roleLabel: String
    let may: Permissions
    let csrf: String?
  }

  struct Empty: Encodable {}

  /// Renders `template` with `page`.
  static func render<Page: Encodable>(
    _ template: String, _ page: Page, for request: Request, status: HTTPResponseStatus = .ok
  ) async throws -> Response {
    let language = Language.of(request)
    var session: MailboxSession?
    var staff: Staff?
    var service: Service?
    if SiteURL.area(of: request.url.path) == .staff {
      if let current = try? await OperatorSession.current(request),
        current.session.stage == .complete
      {
        staff = Staff(
          name: current.operator.name,
          roleLabel: RecordWords.role(current.operator.role, language), may: current.may,
          csrf: request.cookies[OperatorSession.csrfCookieName]?.string)
      }
    } else {
      session = try? await RequesterSession.current(request)
      // A page is still shown when the settings cannot be read.
      if let state = try? await request.registrationAuthority.service.serviceState(),
        state.notice != nil || state.issuancePaused
      {
        service = Service(notice: state.notice?[language], issuancePaused: state.issuancePaused)
      }
    }
    let context = Context(
      lang: language.rawValue, otherLang: language == .de ? "en" : "de",
      t: Catalogue.table(language),
      mailbox: session?.mailbox, csrf: session == nil ? nil : RequesterSession.csrfToken(request),
      staff: staff, service: service,
      path: request.url.path, languageLink: languageLink(request), page: page)
    let view = try await request.view.render(template, context)
    let response = try await view.encodeResponse(for: request)
    response.status = status
    // "I am on a desktop computer" (a browser taken for a phone): remembered.
    if request.query[String.self, at: "desktop"] == "1" {
      response.cookies[RequesterController.desktopCookieName] = HTTPCookies.Value(
        string: "1", maxAge: 30 * 86_400, path: "/",
        isSecure: request.application.mailseal.portal.secureCookies,
        isHTTPOnly: true, sameSite: .lax)
    }
    response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    response.headers.replaceOrAdd(name: .contentLanguage, value: language.rawValue)
    return response
  }

  /// The same page in the other language. An answer to a form (POST) has
  /// no address of its own: its link goes to the page the form was on.
  static func languageLink(_ request: Request) -> String {
    guard request.method == .GET || request.method == .HEAD else {
      return SiteURL.pageOfForm(request.url.path) + "?lang="
    }
    var components = URLComponents()
    components.queryItems = URLComponents(string: request.url.string)?.queryItems?.filter {
      $0.name != "lang"
    }
    let query = components.percentEncodedQuery ?? ""
    return request.url.path + "?" + (query.isEmpty ? "" : query + "&") + "lang="
  }

  struct ErrorPage: Encodable {
    let code: String
    let detail: String
    let reference: String?
    let fields: [String]
    let offerNewLink: Bool
  }

  /// The page for an error; falls back to plain text if rendering fails.
  static func error(
    _ error: ProblemMiddleware.Description, reference: String?, for request: Request
  ) async throws -> Response {
    let language = Language.of(request)
    let linkCodes: [MailsealError.Code] = [
      .loginLinkInvalid, .loginLinkExpired, .loginLinkUsed, .signInRequired,
    ]
    let page = ErrorPage(
      code: error.code, detail: error.detail(language), reference: reference,
      fields: error.fields.values.map { Catalogue.text($0, language) }.sorted(),
      offerNewLink: linkCodes.map(\.rawValue).contains(error.code))
    do {
      return try await render("error", page, for: request, status: error.status)
    } catch {
      let response = Response(status: .internalServerError, body: .init(string: page.detail))
      response.headers.contentType = .plainText
      return response
    }
  }
}

/// Remembers a language chosen with `?lang=` in a cookie.
struct LanguageMiddleware: AsyncMiddleware {
  func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
    let response = try await next.respond(to: request)
    if let chosen = request.query[String.self, at: "lang"],
      let language = Language(rawValue: chosen)
    {
      response.cookies[Language.cookieName] = HTTPCookies.Value(
        string: language.rawValue, maxAge: 365 * 86_400, path: "/",
        isSecure: request.application.mailseal.portal.secureCookies,
        isHTTPOnly: true, sameSite: .lax)
    }
    return response
  }
}
