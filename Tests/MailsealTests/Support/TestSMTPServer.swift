import Foundation
import StoreTestSupport

/// A real SMTP server (aiosmtpd, from the test environment) on 127.0.0.1,
/// storing what it receives in a Maildir.
final class TestSMTPServer {
  let port: Int
  let maildir: URL
  let arguments: [String]
  private var process: Process?

  init(
    port: Int, maildir: URL, tlsCertificate: URL? = nil, tlsKey: URL? = nil, user: String? = nil,
    password: String? = nil
  ) {
    self.port = port
    self.maildir = maildir
    var arguments = [
      Run.packageRoot.appendingPathComponent("Tests/support/smtp_server.py").path, "--port",
      "\(port)", "--maildir", maildir.path,
    ]
    if let tlsCertificate, let tlsKey {
      arguments += ["--tls-cert", tlsCertificate.path, "--tls-key", tlsKey.path]
    }
    if let user, let password { arguments += ["--user", user, "--password", password] }
    self.arguments = arguments
  }

  static var python: String {
    let venv =
      ProcessInfo.processInfo.environment["MAILSEAL_VENV"]
      ?? Run.packageRoot.appendingPathComponent(".venv").path
    return venv + "/bin/python"
  }

  /// Starts the server and returns once it says READY.
  func start() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.python)
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    self.process = process
    var seen = ""
    while !seen.contains("READY") {
      let chunk = output.fileHandleForReading.availableData
      guard !chunk.isEmpty else { throw TestSetupError("the SMTP server did not start: \(seen)") }
      seen += String(decoding: chunk, as: UTF8.self)
    }
  }

  /// Stops it (SIGKILL: a server that goes away without a word); the port
  /// is closed when this returns.
  func stop() {
    guard let process, process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    self.process = nil
  }

  deinit { stop() }

  /// The messages received so far, raw.
  func messages() throws -> [String] {
    let new = maildir.appendingPathComponent("new")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: new.path)) ?? []
    return try names.sorted().map {
      try String(contentsOf: new.appendingPathComponent($0), encoding: .utf8)
    }
  }

  /// A free port on 127.0.0.1.
  static func freePort() throws -> Int {
    let result = try Run.program(
      "/usr/bin/env",
      [
        "python3", "-c",
        "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])",
      ])
    guard let port = Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) else {
      throw TestSetupError("no free port: \(result.output)")
    }
    return port
  }
}
