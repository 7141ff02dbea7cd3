import Foundation
import MailsealModel
import Testing
import Vapor

@testable import MailsealRA
@testable import MailsealWeb

/// One `PortalPath` for routes and links: every route the web registers is
/// named there, every path named there is served, and links are built
/// with their values encoded.
@Suite("Portal paths: routes and links from one list")
struct PortalPathTests {
  @Test("every registered route is a PortalPath, and every PortalPath is served")
  func routesAreNamed() async throws {
    try await TestInstallation.withApp { app in
      let named = Set(PortalPath.all.map(\.route.string))
      let registered = Set(app.routes.all.map { $0.path.string })
      for route in app.routes.all {
        #expect(
          named.contains(route.path.string),
          "\(route.method) /\(route.path.string) is registered but PortalPath does not name it")
      }
      for path in PortalPath.all {
        #expect(registered.contains(path.route.string), "\(path) is named but not served")
      }
      #expect(Set(PortalPath.all).count == PortalPath.all.count, "a path is named twice")
    }
  }

  @Test("links: parameters filled in order and percent-encoded; absolute under the public URL")
  func links() {
    #expect(PortalPath.loginLink.path("abc-DEF_123") == "/login/abc-DEF_123")
    #expect(PortalPath.request.path("R-AB12 CD") == "/requests/R-AB12%20CD")
    #expect(PortalPath.start.path() == "/")
    #expect(
      PortalPath.pickup.url(base: "https://smime.example.edu", "t0k")
        == "https://smime.example.edu/pickup/t0k")
    #expect(PortalPath.deskRequest.description == "/operator/requests/:number")
    #expect(PortalPath.ocspGet.description == "/ocsp/**")
    #expect(PortalPath("/a/:b/**").segments == [.constant("a"), .parameter("b"), .catchall])
    #expect(PortalPath.request.path("ü/") == "/requests/%C3%BC%2F")
  }
}
