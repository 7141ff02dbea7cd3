import Foundation
import MailsealModel
import SQLKit
import StoreTestSupport
import Testing
import Vapor
import VaporTesting

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Faults at the edges: full disk, read-only folder, help, long paths, cookies, metrics")
struct FaultTests {
  /// An environment with nothing of Mailseal's in it.
  static var bareEnvironment: [String: String] {
    ProcessInfo.processInfo.environment.filter {
      !$0.key.hasPrefix("MAILSEAL_") && $0.key != "DATABASE_URL"
    }
  }

  @Test("--help and read-only commands touch nothing: no ./data, no database, no passphrase")
  func helpTouchesNothing() throws {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let help = try Run.program(
      Run.mailsealExecutable, ["--help"], environment: Self.bareEnvironment, in: folder)
    #expect(help.status == 0 && help.output.contains("Usage"), "\(help.output)")
    let show = try Run.program(
      Run.mailsealExecutable, ["ca", "show"], environment: Self.bareEnvironment, in: folder)
    #expect(show.status == 78, "\(show.output)")
    #expect(show.output.contains("no Mailseal installation"), "\(show.output)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
  }

  @Test("a data folder this user cannot write stops the start with exit status 78, naming it")
  func readOnlyDataFolder() throws {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let data = folder.appendingPathComponent("data")
    try FileManager.default.createDirectory(
      at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o555])
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
    var environment = Self.bareEnvironment
    environment["MAILSEAL_DATA_DIR"] = data.path
    // root may write anywhere: run it as nobody then.
    let asRoot = getuid() == 0
    let result = try Run.program(
      asRoot ? "/usr/sbin/runuser" : Run.mailsealExecutable,
      (asRoot ? ["-u", "nobody", "--", Run.mailsealExecutable] : []) + ["serve", "--port", "1"],
      environment: environment, in: folder)
    #expect(result.status == 78, "\(result.output)")
    #expect(result.output.contains(data.path), "\(result.output)")
    #expect(result.output.contains("cannot be written"), "\(result.output)")
  }

  @Test("a full disk is a 503 with Retry-After that says the service cannot store data")
  func fullDisk() async throws {
    guard TestDatabase.kind == "sqlite" else { return }
    try await TestInstallation.withApp(environment: EnrollmentTests.environment) { app in
      var browser = TestBrowser(app)
      let start = try await browser.send(.GET, "/")
      let token = try #require(TestBrowser.formToken(in: start.body))
      // No page more for the file on any connection: SQLITE_FULL, as on a
      // full file system.
      for loop in app.eventLoopGroup.makeIterator() {
        let database = try #require(
          try app.databases.database(.sqlite, logger: app.logger, on: loop)?.sql)
        let pages = try #require(
          try await database.raw("PRAGMA page_count").first()?.decode(
            column: "page_count", as: Int.self))
        try await database.raw("PRAGMA max_page_count = \(unsafeRaw: String(pages))").run()
      }
      for index in 0..<40 {
        let answer = try await browser.send(
          .POST, "/login", form: ["address": "user\(index)@example.edu", "csrf": token])
        if answer.status == .seeOther { continue }
        #expect(answer.status == .serviceUnavailable, "\(answer.body)")
        #expect(answer.headers.first(name: "Retry-After") == "60")
        #expect(answer.body.contains("cannot store data"), "\(answer.body)")
        return
      }
      Issue.record("the database never filled up")
    }
  }

  @Test("an overlong path or segment is 404 (OCSP: malformedRequest), never 500")
  func longPaths() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let tester = try app.testing()
      for path in [
        "/" + String(repeating: "a", count: 300), "/css/" + String(repeating: "b", count: 5000),
        "/js/pki/" + String(repeating: "c", count: 256) + "/x.js",
      ] {
        let answer = try await tester.sendRequest(.GET, path)
        #expect(answer.status == .notFound, "\(path.prefix(20))")
      }
      let ocsp = try await tester.sendRequest(
        .GET, "/ocsp/" + String(repeating: "QUJD", count: 1500))
      #expect(ocsp.status == .ok)
      #expect(Array(ocsp.body.readableBytesView) == [0x30, 0x03, 0x0A, 0x01, 0x01])
    }
  }

  @Test("behind https the language cookie is Secure, like every other cookie")
  func languageCookieSecure() async throws {
    try await TestInstallation.withApp { app in
      let answer = try await app.testing().sendRequest(.GET, "/?lang=en")
      let cookie = try #require(answer.headers[.setCookie].first { $0.hasPrefix("mailseal_lang=") })
      #expect(cookie.contains("Secure"), "\(cookie)")
    }
  }

  @Test("/metrics: open on a loopback public URL, off on a public one without a token")
  func metricsAccess() async throws {
    try await TestInstallation.withApp { app in
      let answer = try await app.testing().sendRequest(.GET, "/metrics")
      #expect(answer.status == .notFound)
    }
    try await TestInstallation.withApp(environment: [
      "MAILSEAL_PUBLIC_URL": "http://127.0.0.1:8080"
    ]) { app in
      let answer = try await app.testing().sendRequest(.GET, "/metrics")
      #expect(answer.status == .ok)
    }
  }
}
