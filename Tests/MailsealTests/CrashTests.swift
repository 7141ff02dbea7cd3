import Fluent
import Foundation
import MailsealModel
import SQLKit
import SoftHSMSupport
import StoreTestSupport
import Testing
import Vapor

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("A worker killed in the middle of a batch")
struct CrashTests {
  /// Starts `mailseal serve` on the sandbox and returns once it listens.
  static func serve(_ sandbox: CommandLineTests.Sandbox, port: Int? = nil) throws -> Process {
    try serveWithLog(sandbox, port: port).process
  }

  /// Starts `mailseal serve`; the process and everything it writes from
  /// then on (read while it runs).
  static func serveWithLog(_ sandbox: CommandLineTests.Sandbox, port: Int? = nil) throws -> (
    process: Process, log: ServeLog
  ) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Run.mailsealExecutable)
    process.arguments = [
      "serve", "--hostname", "127.0.0.1", "--port", "\(try port ?? TestSMTPServer.freePort())",
    ]
    process.environment = sandbox.environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    var log = ""
    while !log.contains("Server started on") {
      let chunk = output.fileHandleForReading.availableData
      guard !chunk.isEmpty else { throw TestSetupError("serve did not start: \(log)") }
      log += String(decoding: chunk, as: UTF8.self)
    }
    // Keep draining the output so that the server never blocks on a full pipe.
    let served = ServeLog(log)
    output.fileHandleForReading.readabilityHandler = { handle in
      served.append(String(decoding: handle.availableData, as: UTF8.self))
    }
    return (process, served)
  }

  /// What a served process has written so far.
  final class ServeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var text: String
    init(_ text: String) { self.text = text }
    func append(_ more: String) {
      lock.lock()
      text += more
      lock.unlock()
    }
    var contents: String {
      lock.lock()
      defer { lock.unlock() }
      return text
    }
    /// How often `line` appears.
    func count(_ line: String) -> Int { contents.components(separatedBy: line).count - 1 }
  }

  /// Waits until `condition` holds, checking every 50 ms, for at most `limit`.
  static func waitUntil(limit: Duration = .seconds(120), _ condition: () async throws -> Bool)
    async throws
  {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
      guard ContinuousClock.now < deadline else {
        throw TestSetupError("condition not reached in time")
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  @Test(
    "SIGKILL mid-batch, restart: every approved request issued exactly once, every certificate recorded (CA key in a file, and in a SoftHSM2 token)",
    arguments: ["file", "pkcs11"])
  func killAndRestart(custody: String) async throws {
    var extra = ["MAILSEAL_ISSUANCE_LEASE_SECONDS": "5"]
    if custody == "pkcs11" {
      extra.merge(try HSMPortalTests.environment(token: SoftHSM.shared.token("crash"))) { $1 }
    }
    let sandbox = try await CommandLineTests.Sandbox.make(extra)
    defer { Task { await sandbox.cleanUp() } }
    try await TestInstallation.withApp(environment: sandbox.environment) { app in
      let (_, issuing) = try await app.caInstallation.initialize(keyType: .p256, test: true)
      #expect(issuing.keyReference?.hasPrefix(custody == "pkcs11" ? "pkcs11:" : "file:") == true)
      try await BackOfficeTests.insertApproved(app, count: 1_000)
      let sql = try app.db.sql
      func count(_ query: String) async throws -> Int {
        try await sql.raw(SQLQueryString(query)).first()!.decode(column: "n", as: Int.self)
      }

      // A worker starts issuing; it is killed as soon as certificates appear.
      let first = try Self.serve(sandbox)
      try await Self.waitUntil { try await count("SELECT COUNT(*) AS n FROM certificates") > 0 }
      kill(first.processIdentifier, SIGKILL)
      first.waitUntilExit()
      let issuedBeforeKill = try await count("SELECT COUNT(*) AS n FROM certificates")
      #expect(issuedBeforeKill < 1_000, "the kill came too late to hit a batch")

      // Restarted, it finishes the rest once the dead worker's leases run out.
      let second = try Self.serve(sandbox)
      try await Self.waitUntil {
        try await count("SELECT COUNT(*) AS n FROM certificate_requests WHERE state = 'issued'")
          == 1_000
      }
      second.interrupt()
      second.waitUntilExit()

      #expect(try await count("SELECT COUNT(*) AS n FROM certificates") == 1_000)
      #expect(try await count("SELECT COUNT(DISTINCT request_id) AS n FROM certificates") == 1_000)
      #expect(
        try await count(
          "SELECT COUNT(*) AS n FROM certificate_requests r JOIN certificates c ON c.id = r.certificate_id AND c.request_id = r.id"
        ) == 1_000)
      // Every certificate was recorded as an intent before it was signed.
      #expect(
        try await count(
          "SELECT COUNT(*) AS n FROM certificates c JOIN issuance_intents i ON i.serial = c.serial")
          == 1_000)
      let unfinished = try await count(
        "SELECT COUNT(*) AS n FROM issuance_intents WHERE state <> 'signed'")
      print(
        "killed after \(issuedBeforeKill) certificates; \(unfinished) intents left unfinished by the kill"
      )
    }
  }
}
