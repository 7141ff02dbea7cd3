import Fluent
import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import StoreTestSupport
import Testing
import UpstreamTestSupport
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// The `mailseal` executable as an administrator runs it.
@Suite("The mailseal command line")
struct CommandLineTests {
  /// A data folder and database of its own, and the environment naming them.
  struct Sandbox {
    let folder: URL
    let environment: [String: String]
    let drop: @Sendable () async -> Void

    static func make(_ extra: [String: String] = [:]) async throws -> Sandbox {
      let folder = try Run.temporaryDirectory()
      let database = try await TestDatabase.make(in: folder)
      var environment = ProcessInfo.processInfo.environment.filter {
        !$0.key.hasPrefix("MAILSEAL_")
      }
      environment.merge(
        TestInstallation.environment(
          dataDirectory: folder.appendingPathComponent("data"), databaseURL: database.url)
      ) { $1 }
      // The commands speak the shell's language; these tests read English.
      environment["LC_ALL"] = "C.UTF-8"
      environment.merge(extra) { $1 }
      return Sandbox(folder: folder, environment: environment, drop: database.drop)
    }

    func mailseal(_ arguments: String...) throws -> Run.Result {
      try Run.program(Run.mailsealExecutable, arguments, environment: environment)
    }

    func cleanUp() async {
      await drop()
      try? FileManager.default.removeItem(at: folder)
    }
  }

  @Test("serve on a fresh data folder makes a test CA and answers /healthz")
  func serveOutOfTheBox() async throws {
    // Only the data folder and the database: everything else is the embedded default.
    let sandbox = try await Sandbox.make()
    var environment = sandbox.environment.filter {
      ["MAILSEAL_DATA_DIR", "DATABASE_URL", "PATH", "HOME"].contains($0.key)
    }
    environment["LOG_LEVEL"] = "info"
    let port = try TestSMTPServer.freePort()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Run.mailsealExecutable)
    process.arguments = ["serve", "--hostname", "127.0.0.1", "--port", "\(port)"]
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    // Stop it whatever happens; a server that never starts ends the read below.
    let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
    var log = ""
    while !log.contains("Server started on") {
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      log += String(decoding: chunk, as: UTF8.self)
    }
    #expect(log.contains("Server started on http://127.0.0.1:\(port)"), "\(log)")
    #expect(log.contains("TEST CA was made"))
    #expect(log.contains("generated passphrase"))
    let health = try Run.program(
      "/usr/bin/curl", ["-sS", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/healthz"])
    #expect(health.output.hasSuffix("\n200"), "\(health.output)")
    #expect(health.output.contains("\"status\":\"ok\""))
    process.interrupt()
    process.waitUntilExit()
    watchdog.cancel()
    // The key files are outside the database, encrypted, mode 0600: the
    // root's, the issuing CA's and the delegated OCSP responder's.
    let keys = try FileManager.default.contentsOfDirectory(
      atPath: sandbox.folder.appendingPathComponent("data/ca-keys").path)
    #expect(keys.filter { $0.hasSuffix(".key.pem") }.count == 3)
    await sandbox.cleanUp()
  }

  @Test(
    "ca issue with MAILSEAL_UPSTREAM=sectigo: ordered through the upstream issuer and waited for; --wait 0 names the order, --order goes on with it, never ordered twice"
  )
  func issueThroughUpstream() async throws {
    let server = try UpstreamTestServer("sectigo_server.py")
    defer { server.stop() }
    let secrets = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-cli-upstream-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: secrets, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: secrets) }
    let password = secrets.appendingPathComponent("password")
    try Data("sectigo-test-password\n".utf8).write(to: password)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: password.path)
    let sandbox = try await Sandbox.make([
      "MAILSEAL_UPSTREAM": "sectigo",
      "MAILSEAL_UPSTREAM_URL": server.url.appendingPathComponent("api").absoluteString,
      "MAILSEAL_UPSTREAM_CHAIN_FILE": server.chainFile.path,
      "MAILSEAL_SECTIGO_CUSTOMER_URI": "example-university",
      "MAILSEAL_SECTIGO_LOGIN": "mailseal-api",
      "MAILSEAL_SECTIGO_PASSWORD_FILE": password.path, "MAILSEAL_SECTIGO_ORG_ID": "4242",
      "MAILSEAL_SECTIGO_CERT_TYPE": "1938", "MAILSEAL_SECTIGO_ROLE_CERT_TYPE": "1939",
    ])
    let (csr, _) = try Run.csr(in: sandbox.folder, name: "zoe", key: "ec:P-256")
    let issued = try sandbox.mailseal(
      "ca", "issue", "--csr", csr.path, "--email", "zoe@example.edu", "--given-name", "Zoë",
      "--surname", "Müller", "--wait", "30")
    #expect(issued.status == 0, "\(issued.output)")
    let pem = try #require(
      issued.output.firstMatch(of: /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/))
    let certificate = try Certificate(pemEncoded: String(pem.output))
    #expect(certificate.issuer.description.contains("Upstream Test S/MIME CA"))
    #expect(try await server.orders() == 1)

    let (other, _) = try Run.csr(in: sandbox.folder, name: "yann", key: "ec:P-256")
    let waiting = try sandbox.mailseal(
      "ca", "issue", "--csr", other.path, "--email", "yann@example.edu", "--mailbox-only",
      "--wait", "0")
    #expect(waiting.status != 0)
    let order = try #require(waiting.output.firstMatch(of: /--order ([0-9a-f-]{36})/))
    #expect(try await server.orders() == 2)
    let resumed = try sandbox.mailseal(
      "ca", "issue", "--csr", other.path, "--email", "yann@example.edu", "--mailbox-only",
      "--wait", "30", "--order", String(order.1))
    #expect(resumed.status == 0, "\(resumed.output)")
    #expect(resumed.output.contains("-----BEGIN CERTIFICATE-----"))
    #expect(try await server.orders() == 2)
    await sandbox.cleanUp()
  }

  @Test("ca init, ca show and ca issue: an RSA 4096 hierarchy that issues a pseudonym certificate")
  func administratorFlow() async throws {
    let sandbox = try await Sandbox.make()
    let initialised = try sandbox.mailseal("ca", "init", "--key-type", "rsa4096")
    #expect(initialised.status == 0, "\(initialised.output)")
    let shown = try sandbox.mailseal("ca", "show")
    #expect(shown.status == 0)
    #expect(shown.output.contains("RSA 4096"))
    #expect(shown.output.contains("Mailseal S/MIME CA"))
    #expect(shown.output.contains("http://smime.example.edu/ocsp"))
    #expect(!shown.output.contains("TEST"))

    let (csr, key) = try Run.csr(in: sandbox.folder, name: "secretariat", key: "ec:P-256")
    let out = sandbox.folder.appendingPathComponent("secretariat.pem")
    let issued = try sandbox.mailseal(
      "ca", "issue", "--csr", csr.path, "--email", "Sekretariat@CS.example.edu", "--pseudonym",
      "Sekretariat des Rechenzentrums", "--out", out.path)
    #expect(issued.status == 0, "\(issued.output)")
    let certificate = try Certificate(pemEncoded: String(contentsOf: out, encoding: .utf8))
    #expect(
      try certificate.extensions.subjectAlternativeNames.map(Array.init) == [
        .rfc822Name("sekretariat@cs.example.edu")
      ])
    #expect(certificate.subject.description.contains("Sekretariat des Rechenzentrums"))
    // Its public key is the CSR's.
    let publicKey = try Run.openssl(["pkey", "-in", key.path, "-pubout"])
    #expect(publicKey.output.contains(try certificate.publicKey.serializeAsPEM().pemString))

    // It is recorded like any other issuance.
    try await TestInstallation.withApp(environment: sandbox.environment) { app in
      let record = try await CertificateRecord.query(on: app.db).filter(
        \.$serial == certificate.serialNumber.hex
      ).first()
      #expect(record?.pseudonym == "Sekretariat des Rechenzentrums")
      #expect(record?.mailbox == "sekretariat@cs.example.edu")
    }

    // Standard output without --out, and refusals with a clear message.
    let printed = try sandbox.mailseal(
      "ca", "issue", "--csr", csr.path, "--email", "sekretariat@cs.example.edu", "--mailbox-only")
    #expect(
      printed.status == 0 && printed.output.contains("-----BEGIN CERTIFICATE-----"),
      "\(printed.output)")
    let ambiguous = try sandbox.mailseal(
      "ca", "issue", "--csr", csr.path, "--email", "a@example.edu", "--pseudonym", "X",
      "--mailbox-only")
    #expect(ambiguous.status != 0 && ambiguous.output.contains("exactly one way"))
    let otherMailbox = try sandbox.mailseal(
      "ca", "issue", "--csr", csr.path, "--email", "b@example.edu", "--mailbox-only")
    #expect(
      otherMailbox.status != 0
        && otherMailbox.output.contains("already certified or requested for another mailbox"))
    let badKeyType = try sandbox.mailseal("ca", "init", "--key-type", "rsa1024")
    #expect(badKeyType.status != 0 && badKeyType.output.contains("--key-type must be one of"))
    await sandbox.cleanUp()
  }

  @Test("a malformed environment stops start-up naming every bad variable")
  func configurationError() async throws {
    let sandbox = try await Sandbox.make([
      "MAILSEAL_CERT_DAYS": "10000", "MAILSEAL_ORG_COUNTRY": "XX",
    ])
    let result = try sandbox.mailseal("ca", "show")
    #expect(result.status == 78)
    #expect(result.output.contains("MAILSEAL_CERT_DAYS"))
    #expect(result.output.contains("MAILSEAL_ORG_COUNTRY"))
    await sandbox.cleanUp()
  }

  @Test(
    "ca revoke, notice set/clear, audit verify and export; a tampered record is named by audit verify"
  )
  func lifecycleCommands() async throws {
    let sandbox = try await Sandbox.make()
    #expect(try sandbox.mailseal("ca", "init", "--key-type", "p256").status == 0)
    let (csr, _) = try Run.csr(in: sandbox.folder, name: "zoe", key: "ec:P-256")
    let out = sandbox.folder.appendingPathComponent("zoe.pem")
    #expect(
      try sandbox.mailseal(
        "ca", "issue", "--csr", csr.path, "--email", "zoe@example.edu", "--mailbox-only", "--out",
        out.path
      ).status == 0)
    let serial = try Certificate(pemEncoded: String(contentsOf: out, encoding: .utf8))
      .serialNumber.hex

    let bogus = try sandbox.mailseal("ca", "revoke", "--serial", serial, "--reason", "bogus")
    #expect(bogus.status != 0 && bogus.output.contains("--reason must be one of"))
    let unknown = try sandbox.mailseal(
      "ca", "revoke", "--serial", "ABCDEF", "--reason", "superseded")
    #expect(unknown.status != 0 && unknown.output.contains("No certificate"), "\(unknown.output)")
    let revoked = try sandbox.mailseal(
      "ca", "revoke", "--serial", serial.uppercased(), "--reason", "key-compromise")
    #expect(revoked.status == 0 && revoked.output.contains("Revoked"), "\(revoked.output)")
    let twice = try sandbox.mailseal("ca", "revoke", "--serial", serial, "--reason", "superseded")
    #expect(twice.status != 0 && twice.output.contains("already been revoked"), "\(twice.output)")

    let noEnglish = try sandbox.mailseal("notice", "set", "--de", "Wartung")
    #expect(noEnglish.status != 0 && noEnglish.output.contains("--en"))
    #expect(
      try sandbox.mailseal(
        "notice", "set", "--de", "Die Ausstellung ist derzeit nicht möglich.", "--en",
        "Issuance is currently not possible."
      ).status == 0)
    let shown = try sandbox.mailseal("notice", "show")
    #expect(shown.output.contains("en: Issuance is currently not possible."))
    #expect(try sandbox.mailseal("notice", "clear").status == 0)
    #expect(try sandbox.mailseal("notice", "show").output.contains("no notice"))
    // In a German shell, the same in German.
    var german = sandbox.environment
    german["LC_ALL"] = "de_DE.UTF-8"
    let shownInGerman = try Run.program(
      Run.mailsealExecutable, ["notice", "show"], environment: german)
    #expect(shownInGerman.output.contains("kein Hinweis"), "\(shownInGerman.output)")
    #expect(try sandbox.mailseal("issuance", "pause").status == 0)

    let intact = try sandbox.mailseal("audit", "verify")
    #expect(intact.status == 0 && intact.output.contains("audit trail intact"), "\(intact.output)")
    let export = sandbox.folder.appendingPathComponent("audit.jsonl")
    #expect(try sandbox.mailseal("audit", "export", "--out", export.path).status == 0)
    let lines = try String(contentsOf: export, encoding: .utf8).split(separator: "\n")
    let records = try lines.map {
      try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8))
    }
    #expect(records.map(\.seq) == Array(1...Int64(records.count)))
    let actions = Set(records.map(\.action))
    for action in [
      "ca.created", "ocsp-responder.issued", "certificate.issued", "certificate.revoked",
      "crl.published", "notice.set",
      "notice.cleared", "issuance.paused",
    ] {
      #expect(actions.contains(action), "\(action) in \(actions.sorted())")
    }
    #expect(
      records.first { $0.action == "certificate.revoked" }.map {
        $0.actor == "cli" && $0.subject == serial.lowercased()
          && $0.details.contains("keyCompromise")
      } == true)
    let attributes = try FileManager.default.attributesOfItem(atPath: export.path)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)

    // Change the third record behind the application's back.
    try await TestInstallation.withApp(environment: sandbox.environment) { app in
      let sql = try app.db.sql
      try await AuditTamper.disableGuards(sql)
      try await sql.raw(
        "UPDATE audit_events SET actor = 'operator:mallory@example.edu' WHERE seq = 3"
      )
      .run()
    }
    let broken = try sandbox.mailseal("audit", "verify")
    #expect(broken.status == 1, "\(broken.output)")
    #expect(broken.output.contains("broken at record 3"), "\(broken.output)")
    await sandbox.cleanUp()
  }

}
