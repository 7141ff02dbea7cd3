import Foundation
import MailsealModel
import Testing
import Vapor

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("The JSON API: never cached, 405 for methods it does not list")
struct APITests {
  @Test("the answers that name a mailbox's requests are Cache-Control: no-store")
  func noStore() async throws {
    try await TestInstallation.withApp(environment: EnrollmentTests.environment) { app in
      var browser = TestBrowser(app)
      try await EnrollmentTests.signIn(&browser, "zoe@example.edu")
      let created = try await browser.send(
        .POST, "/api/v1/requests", json: try EnrollmentTests.form(),
        headers: EnrollmentTests.csrf(browser), page: false)
      #expect(created.status == .created)
      let number = try #require(created.headers.first(name: .location)?.split(separator: "/").last)
      for path in ["/api/v1/requests", "/api/v1/requests/\(number)"] {
        let answer = try await browser.send(.GET, path, page: false)
        #expect(answer.status == .ok)
        #expect(answer.headers.first(name: .cacheControl) == "no-store", "\(path)")
      }
    }
  }

  @Test("a method the description does not list is 405 with Allow, an unknown path still 404")
  func methodNotAllowed() async throws {
    try await TestInstallation.withApp { app in
      var browser = TestBrowser(app)
      for (method, path, allow) in [
        (HTTPMethod.PUT, "/api/v1/requests", "GET, POST, HEAD"),
        (HTTPMethod.DELETE, "/api/v1/requests/R-AAAA-AAAA", "GET, HEAD"),
        (HTTPMethod.GET, "/api/v1/requests/R-AAAA-AAAA/withdraw", "POST"),
        (HTTPMethod(rawValue: "QUERY"), "/api/v1/requests", "GET, POST, HEAD"),
      ] {
        let answer = try await browser.send(method, path, page: false)
        #expect(answer.status == .methodNotAllowed, "\(method) \(path)")
        #expect(answer.headers.first(name: "Allow") == allow, "\(method) \(path)")
      }
      let unknown = try await browser.send(.GET, "/api/v1/nothing", page: false)
      #expect(unknown.status == .notFound)
    }
  }
}
