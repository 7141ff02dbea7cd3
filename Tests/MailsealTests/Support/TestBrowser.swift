import Foundation
import MailsealModel
import NIOCore
import Vapor
import VaporTesting

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// A browser for in-memory requests: keeps cookies, sends forms and JSON,
/// asks for pages (Accept: text/html) in a chosen language.
struct TestBrowser {
  let app: Application
  var cookies: [String: String] = [:]
  var language = "en"
  var userAgent =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"

  init(_ app: Application) { self.app = app }

  struct Page {
    let status: HTTPResponseStatus
    let headers: HTTPHeaders
    let body: String
  }

  mutating func send(
    _ method: HTTPMethod, _ path: String, form: [String: String]? = nil,
    json: (any Encodable)? = nil,
    headers extra: [String: String] = [:], page: Bool = true
  ) async throws -> Page {
    var headers = HTTPHeaders()
    headers.add(name: .acceptLanguage, value: language)
    headers.add(name: .userAgent, value: userAgent)
    headers.add(name: .accept, value: page ? "text/html,application/xhtml+xml" : "application/json")
    if !cookies.isEmpty {
      headers.add(
        name: .cookie, value: cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))
    }
    var body: ByteBuffer?
    if let form {
      headers.add(name: .contentType, value: "application/x-www-form-urlencoded")
      var components = URLComponents()
      components.queryItems = form.map { URLQueryItem(name: $0.key, value: $0.value) }
      let encoded = components.percentEncodedQuery!.replacingOccurrences(of: "+", with: "%2B")
      body = ByteBuffer(string: encoded)
    }
    if let json {
      headers.add(name: .contentType, value: "application/json")
      body = ByteBuffer(data: try JSONEncoder().encode(json))
    }
    for (name, value) in extra { headers.replaceOrAdd(name: name, value: value) }
    let response = try await app.testing().sendRequest(method, path, headers: headers, body: body)
    for header in response.headers[.setCookie] {
      let pair = header.split(separator: ";").first ?? ""
      let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { continue }
      if header.contains("Max-Age=0") || parts[1].isEmpty {
        cookies.removeValue(forKey: parts[0])
      } else {
        cookies[parts[0]] = parts[1]
      }
    }
    return Page(status: response.status, headers: response.headers, body: response.body.string)
  }

  /// The hidden `csrf` field of the last page.
  static func formToken(in html: String) -> String? {
    guard
      let range = html.range(
        of: #"name="csrf" value="([A-Za-z0-9_-]{43})""#, options: .regularExpression)
    else { return nil }
    return String(html[range].dropFirst(#"name="csrf" value=""#.count).dropLast())
  }
}
