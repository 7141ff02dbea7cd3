import Foundation
import MailsealModel
import SQLKit
import SoftHSMSupport
import Testing
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStatus
@testable import MailsealStore
@testable import MailsealWeb

/// The portal with its CA keys in SoftHSM2: the ceremony and import on the
/// command line, and the faults of a token while the portal serves.
@Suite("The portal with its CA keys in a PKCS#11 token (SoftHSM2)")
struct HSMPortalTests {
  /// The settings of an installation whose keys are in `token`.
  static func environment(token: SoftHSM.Token, name: Bool = true) -> [String: String] {
    var environment = SoftHSM.shared.environment
    environment["MAILSEAL_PKCS11_MODULE"] = SoftHSM.modulePath
    environment["MAILSEAL_PKCS11_PIN_FILE"] = token.pinFile
    if name { environment["MAILSEAL_PKCS11_TOKEN"] = token.label }
    return environment
  }

  static func privateKeys(in token: SoftHSM.Token) throws -> [Substring] {
    let listing = try SoftHSM.run(
      "pkcs11-tool",
      [
        "--module", SoftHSM.modulePath, "--token-label", token.label, "--login", "--pin",
        token.pin, "--list-objects", "--type", "privkey",
      ], environment: SoftHSM.shared.environment)
    return listing.split(separator: "\n").filter { $0.contains("Access:") }
  }

  @Test(
    "ca init --custody pkcs11 makes root, issuing and OCSP keys in the token; ca show names the URI and the token; ca import --key pkcs11:… takes an issuing key already in a token"
  )
  func ceremonyAndImport() async throws {
    let token = try SoftHSM.shared.token("portal-ceremony")
    let first = try await CommandLineTests.Sandbox.make(Self.environment(token: token, name: false))
    defer { Task { await first.cleanUp() } }

    let unnamed = try first.mailseal("ca", "init", "--custody", "pkcs11", "--key-type", "p384")
    #expect(unnamed.status != 0 && unnamed.output.contains("Name the token"), "\(unnamed.output)")
    let made = try first.mailseal(
      "ca", "init", "--custody", "pkcs11", "--token", token.label, "--key-type", "p384", "--test")
    #expect(made.status == 0, "\(made.output)")
    #expect(made.output.contains("made inside the token"), "\(made.output)")
    let shown = try first.mailseal("ca", "show")
    #expect(
      shown.output.contains("key          pkcs11:token=portal-ceremony;object=issuing-"),
      "\(shown.output)")
    #expect(
      shown.output.contains("token        “portal-ceremony”, made by SoftHSM"), "\(shown.output)")
    #expect(!shown.output.contains(token.pin))
    // Root, issuing CA and the OCSP responder: three keys, all kept in.
    let keys = try Self.privateKeys(in: token)
    #expect(keys.count == 3, "\(keys)")
    #expect(keys.allSatisfy { $0.contains("sensitive") && $0.contains("never extractable") })

    var chainPEM = ""
    var issuingURI = ""
    try await TestInstallation.withApp(environment: first.environment) { app in
      let active = try #require(try await app.caInstallation.activeIssuer())
      issuingURI = try #require(active.keyReference)
      for record in try await app.caInstallation.chain(of: active) {
        chainPEM +=
          try Certificate(derEncoded: Array(record.certificateDER)).serializeAsPEM().pemString
          + "\n"
      }
      // The audit trail names where the keys were made.
      let rows = try await app.db.sql.raw(
        "SELECT details FROM audit_events WHERE action = 'ca.created'"
      ).all()
      #expect(rows.count == 2)
      for row in rows {
        let details = try row.decode(column: "details", as: String.self)
        #expect(details.contains("pkcs11:token=portal-ceremony"), "\(details)")
      }
    }
    let chainFile = first.folder.appendingPathComponent("chain.pem")
    try chainPEM.write(to: chainFile, atomically: true, encoding: .utf8)

    let second = try await CommandLineTests.Sandbox.make(
      Self.environment(token: token, name: false))
    defer { Task { await second.cleanUp() } }
    let withPIN = try second.mailseal(
      "ca", "import", "--chain", chainFile.path, "--key", issuingURI + "?pin-value=\(token.pin)")
    #expect(withPIN.status != 0 && withPIN.output.contains("pin-value is refused"))
    #expect(!withPIN.output.contains(token.pin))
    let imported = try second.mailseal(
      "ca", "import", "--chain", chainFile.path, "--key", issuingURI)
    #expect(imported.status == 0, "\(imported.output)")
    #expect(imported.output.contains("key          \(issuingURI)"), "\(imported.output)")
    // The chain of another key is refused: the key must fit the certificate.
    let otherToken = try SoftHSM.shared.token("portal-other")
    let third = try await CommandLineTests.Sandbox.make(
      Self.environment(token: otherToken, name: true))
    defer { Task { await third.cleanUp() } }
    #expect(try third.mailseal("ca", "init", "--key-type", "p384", "--test").status == 0)
    let thirdShown = try third.mailseal("ca", "show").output
    let otherURI = try #require(
      thirdShown.split(separator: "\n").first { $0.contains("key          pkcs11:") }?
        .split(separator: " ").last.map(String.init))
    let fourth = try await CommandLineTests.Sandbox.make(
      Self.environment(token: otherToken, name: false))
    defer { Task { await fourth.cleanUp() } }
    let mismatch = try fourth.mailseal("ca", "import", "--chain", chainFile.path, "--key", otherURI)
    #expect(mismatch.status != 0, "\(mismatch.output)")
    // A key the token would hand out is refused before anything else,
    // naming the attribute: it may exist outside the HSM.
    try SoftHSM.run(
      "pkcs11-tool",
      [
        "--module", SoftHSM.modulePath, "--token-label", otherToken.label, "--login", "--pin",
        otherToken.pin, "--keypairgen", "--key-type", "EC:secp384r1", "--label",
        "portal-extractable", "--id", "e1", "--usage-sign", "--sensitive", "--extractable",
      ], environment: SoftHSM.shared.environment)
    let extractable = try fourth.mailseal(
      "ca", "import", "--chain", chainFile.path, "--key",
      "pkcs11:token=\(otherToken.label);object=portal-extractable;type=private")
    #expect(extractable.status != 0, "\(extractable.output)")
    #expect(
      extractable.output.contains("is extractable (CKA_EXTRACTABLE true)"), "\(extractable.output)")
  }

  @Test(
    "a wrong PIN or a library that is no PKCS#11 module stops serve at start with exit status 78, naming the PIN file and never the PIN; a PIN file others may read is a configuration error"
  )
  func wrongPINAtStart() async throws {
    let token = try SoftHSM.shared.token("portal-pin")
    let sandbox = try await CommandLineTests.Sandbox.make(Self.environment(token: token))
    defer { Task { await sandbox.cleanUp() } }
    #expect(try sandbox.mailseal("ca", "init", "--key-type", "p256", "--test").status == 0)

    let wrong = sandbox.folder.appendingPathComponent("wrong.pin").path
    #expect(
      FileManager.default.createFile(
        atPath: wrong, contents: Data("11112222\n".utf8), attributes: [.posixPermissions: 0o600]))
    var environment = sandbox.environment
    environment["MAILSEAL_PKCS11_PIN_FILE"] = wrong
    let port = try TestSMTPServer.freePort()
    let refused = try Run.program(
      Run.mailsealExecutable, ["serve", "--hostname", "127.0.0.1", "--port", "\(port)"],
      environment: environment)
    #expect(refused.status == 78, "\(refused.output)")
    #expect(refused.output.contains("refused the PIN in \(wrong)"), "\(refused.output)")
    #expect(!refused.output.contains("11112222"))

    // A library that is no PKCS#11 module: named, exit status 78.
    var notAModule = sandbox.environment
    notAModule["MAILSEAL_PKCS11_MODULE"] = "/usr/lib/x86_64-linux-gnu/libz.so.1"
    let module = try Run.program(
      Run.mailsealExecutable, ["serve", "--hostname", "127.0.0.1", "--port", "\(port)"],
      environment: notAModule)
    #expect(module.status == 78, "\(module.output)")
    #expect(module.output.contains("is not a PKCS#11 module"), "\(module.output)")

    chmod(wrong, 0o644)
    let open = try Run.program(
      Run.mailsealExecutable, ["serve", "--hostname", "127.0.0.1", "--port", "\(port)"],
      environment: environment)
    #expect(open.status == 78, "\(open.output)")
    #expect(open.output.contains("MAILSEAL_PKCS11_PIN_FILE"), "\(open.output)")
    #expect(open.output.contains("chmod 600"), "\(open.output)")
  }

  @Test(
    "OCSP with the responder's key in a token: responses signed ahead through the token, a revocation answered as revoked at once"
  )
  func ocspSignedAheadByTheToken() async throws {
    let token = try SoftHSM.shared.token("portal-ocsp-ahead")
    try await TestInstallation.withApp(environment: Self.environment(token: token)) { app in
      try await prepareToServe(app)
      var issued: [CertificateRecord] = []
      for name in ["anna", "ben", "carla"] {
        issued.append(try await LifecycleTests.issue(app, mailbox: "\(name)@example.edu"))
      }
      var requests: [[UInt8]] = []
      for record in issued { requests.append(try await OCSPBoardTests.request(app, record)) }
      let service = app.ocspService
      try await OCSPBoardTests.running([service]) {
        #expect(
          try await OCSPBoardTests.eventually {
            requests.allSatisfy { service.immediateAnswer(to: $0)?.outcome == .good }
          })
        try await app.registrationAuthority.certificates.revoke(
          serial: issued[1].serial, reason: .keyCompromise, by: .commandLine)
        #expect(await service.respond(to: requests[1]).outcome == .revoked)
        #expect(
          try await OCSPBoardTests.eventually {
            service.immediateAnswer(to: requests[1])?.outcome == .revoked
          })
        #expect(
          try await OCSPBoardTests.eventually {
            service.immediateAnswer(to: requests[0])?.outcome == .good
          })
      }
    }
  }

  @Test(
    "OCSP answers tryLater, not internalError, while the responder's key is in a token that is away; signed answers again once it is back"
  )
  func ocspWhileTheTokenIsAway() async throws {
    let token = try SoftHSM.shared.token("portal-ocsp")
    try await TestInstallation.withApp(environment: Self.environment(token: token)) { app in
      try await prepareToServe(app)
      let active = try #require(try await app.caInstallation.activeIssuer())
      #expect(active.keyReference?.hasPrefix("pkcs11:") == true)
      let request = try Run.ocspRequest(
        issuer: try Certificate(derEncoded: Array(active.certificateDER)),
        serial: "0123456789ABCDEF")
      func fresh() -> OCSPService {
        OCSPService(database: app.db, configuration: app.mailseal, logger: app.logger)
      }
      #expect(await fresh().respond(to: request).outcome == .unknown)

      let away = SoftHSM.shared.folder.appendingPathComponent(
        "away-\(UInt32.random(in: 0...UInt32.max))")
      try FileManager.default.moveItem(at: token.directory, to: away)
      let refused = await fresh().respond(to: request)
      #expect(refused.outcome == .tryLater)
      #expect(refused.der == [0x30, 0x03, 0x0A, 0x01, 0x03])

      try FileManager.default.moveItem(at: away, to: token.directory)
      try await CrashTests.waitUntil(limit: .seconds(20)) {
        await fresh().respond(to: request).outcome == .unknown
      }
    }
  }

  @Test(
    "the token's files removed while serving: /healthz 503, issuance stops, approved requests wait, nothing half-issued; put back, the worker resumes without a restart and every request is issued exactly once"
  )
  func tokenRemovedWhileServing() async throws {
    let token = try SoftHSM.shared.token("portal-fault")
    var extra = Self.environment(token: token)
    extra["MAILSEAL_ISSUANCE_LEASE_SECONDS"] = "5"
    let sandbox = try await CommandLineTests.Sandbox.make(extra)
    defer { Task { await sandbox.cleanUp() } }
    let made = try sandbox.mailseal("ca", "init", "--key-type", "p256", "--test")
    #expect(made.status == 0, "\(made.output)")

    try await TestInstallation.withApp(environment: sandbox.environment) { app in
      let sql = try app.db.sql
      let port = try TestSMTPServer.freePort()
      func count(_ query: String) async throws -> Int {
        try await sql.raw(SQLQueryString(query)).first()!.decode(column: "n", as: Int.self)
      }
      func health() throws -> (code: String, body: String) {
        let answer = try Run.program(
          "/usr/bin/curl", ["-sS", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/healthz"])
        let lines = answer.output.split(separator: "\n")
        return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
      }
      try await BackOfficeTests.insertApproved(app, count: 2_000)
      let (server, log) = try CrashTests.serveWithLog(sandbox, port: port)
      defer {
        server.interrupt()
        server.waitUntilExit()
      }
      #expect(try health().code == "200")

      // The token's files go away while the worker issues.
      try await CrashTests.waitUntil {
        try await count("SELECT COUNT(*) AS n FROM certificates") > 0
      }
      let away = SoftHSM.shared.folder.appendingPathComponent(
        "away-\(UInt32.random(in: 0...UInt32.max))")
      try FileManager.default.moveItem(at: token.directory, to: away)
      let removedAt = try await count("SELECT COUNT(*) AS n FROM certificates")

      try await CrashTests.waitUntil(limit: .seconds(30)) { try health().code == "503" }
      let unavailable = try health()
      #expect(unavailable.body.contains("key-unavailable"), "\(unavailable.body)")
      #expect(unavailable.body.contains("portal-fault"), "\(unavailable.body)")
      #expect(!unavailable.body.contains(token.pin))
      // More approvals arrive while the token is away.
      try await BackOfficeTests.insertApproved(app, count: 200)
      // The worker found the key gone (twice: so it has looked again since)
      // and holds no claim: nothing is being issued.
      try await CrashTests.waitUntil(limit: .seconds(60)) {
        guard log.count("the CA key is unavailable") >= 2 else { return false }
        return try await count(
          "SELECT COUNT(*) AS n FROM certificate_requests WHERE state = 'approved' AND issuing_lease_until IS NOT NULL"
        ) == 0
      }
      let stopped = try await count("SELECT COUNT(*) AS n FROM certificates")
      #expect(
        try await count("SELECT COUNT(*) AS n FROM issuance_intents WHERE state = 'pending'") == 0)
      #expect(
        try await count("SELECT COUNT(*) AS n FROM certificate_requests WHERE state = 'approved'")
          == 2_200 - stopped)
      #expect(
        try await count("SELECT COUNT(*) AS n FROM certificate_requests WHERE state = 'rejected'")
          == 0)
      let looks = log.count("the CA key is unavailable")
      try await CrashTests.waitUntil(limit: .seconds(60)) {
        log.count("the CA key is unavailable") > looks
      }
      #expect(try await count("SELECT COUNT(*) AS n FROM certificates") == stopped)
      print(
        "token removed after \(removedAt) certificates; issuance stopped at \(stopped) of 2200")

      // The files come back: the same process finds the token again.
      try FileManager.default.moveItem(at: away, to: token.directory)
      try await CrashTests.waitUntil(limit: .seconds(60)) { try health().code == "200" }
      try await CrashTests.waitUntil(limit: .seconds(120)) {
        try await count("SELECT COUNT(*) AS n FROM certificate_requests WHERE state = 'issued'")
          == 2_200
      }
      #expect(try await count("SELECT COUNT(*) AS n FROM certificates") == 2_200)
      #expect(try await count("SELECT COUNT(DISTINCT request_id) AS n FROM certificates") == 2_200)
      #expect(
        try await count(
          "SELECT COUNT(*) AS n FROM certificates c JOIN issuance_intents i ON i.serial = c.serial AND i.state = 'signed'"
        ) == 2_200)
      // An intent the token refused has no certificate.
      #expect(
        try await count(
          "SELECT COUNT(*) AS n FROM issuance_intents i JOIN certificates c ON c.serial = i.serial WHERE i.state <> 'signed'"
        ) == 0)
      #expect(
        try await count("SELECT COUNT(*) AS n FROM issuance_intents WHERE state = 'pending'") == 0)
    }
  }
}
