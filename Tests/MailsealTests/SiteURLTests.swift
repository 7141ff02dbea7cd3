import Foundation
import MailsealModel
import Testing
import Vapor

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Links and routes cannot drift: every address a page or a controller names has a route")
struct SiteURLTests {
  /// Whether a route (any method) answers `path`.
  static func routed(_ path: String, in app: Application) -> Bool {
    let segments = path.split(separator: "/").map(String.init)
    return app.routes.all.contains { route in
      var index = 0
      for component in route.path {
        switch component {
        case .catchall: return index < segments.count || route.path.count == 1
        case .anything, .parameter: guard index < segments.count else { return false }
        case .constant(let text):
          guard index < segments.count, segments[index] == text else { return false }
        }
        index += 1
      }
      return index == segments.count
    }
  }

  @Test("every link and form of every template points at a route or a file the portal serves")
  func templateLinks() async throws {
    try await TestInstallation.withApp { app in
      let views = Run.packageRoot.appendingPathComponent("Sources/MailsealWeb/Resources/Views")
      let publicFolder = Run.packageRoot.appendingPathComponent(
        "Sources/MailsealWeb/Resources/Public")
      let link = try Regex(#"(?:href|action)="(/[^"?]*)"#)
      var checked = 0
      var broken: [String] = []
      for file in try FileManager.default.contentsOfDirectory(atPath: views.path)
      where file.hasSuffix(".leaf") {
        let text = try String(contentsOf: views.appendingPathComponent(file), encoding: .utf8)
        for match in text.matches(of: link) {
          // A value filled in by the page stands for one path segment.
          let path = String(text[match.output[1].range!]).replacing(#/#\([^)]*\)/#) { _ in "x" }
          checked += 1
          let file = publicFolder.appendingPathComponent(String(path.dropFirst()))
          if !Self.routed(path, in: app) && !FileManager.default.fileExists(atPath: file.path) {
            broken.append("\(file): \(path)")
          }
        }
      }
      #expect(checked > 30)
      #expect(broken.isEmpty, "\(broken)")
      #expect(!Self.routed("/nothing/here", in: app))
    }
  }

  @Test("every address a controller redirects to has a route; areas by path")
  func siteURLs() async throws {
    try await TestInstallation.withApp { app in
      let urls: [SiteURL] = [
        .start, .requests, .request(number: "R-AAAA-AAAA"),
        .certificate(serial: "ab", staff: false), .certificate(serial: "ab", staff: true),
        .operatorLogin, .operatorCode, .operatorQueue, .operatorRequest(number: "R-AAAA-AAAA"),
        .operatorAdmin(saved: true),
      ]
      for url in urls {
        let path = String(url.path.split(separator: "?")[0])
        #expect(Self.routed(path, in: app), "\(path)")
      }
      #expect(SiteURL.area(of: "/ocsp/MEUw") == .publication)
      #expect(SiteURL.area(of: "/crl/0011.crl") == .publication)
      #expect(SiteURL.area(of: "/api/v1/requests") == .api)
      #expect(SiteURL.area(of: "/operator/queue") == .staff)
      #expect(SiteURL.area(of: "/healthz") == .operations)
      #expect(SiteURL.area(of: "/requests") == .requester)
    }
  }
}
