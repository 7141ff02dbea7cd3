import Foundation
import MailsealCA
import MailsealModel
import StoreTestSupport
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// An installation for one test: its own data folder and database, the
/// application configured as `mailseal` configures it.
enum TestInstallation {
  static let passphrase = "test-ca-passphrase-not-secret"

  /// The environment of a test installation; public-suffix names so that
  /// pkilint can judge what it issues.
  static func environment(dataDirectory: URL, databaseURL: String) -> [String: String] {
    [
      "MAILSEAL_DATA_DIR": dataDirectory.path,
      "DATABASE_URL": databaseURL,
      // The whole suite runs at once on two cores: a statement may wait
      // for its pool's one connection far longer than in service.
      "MAILSEAL_DB_WAIT_SECONDS": "30",
      "MAILSEAL_CA_PASSPHRASE": passphrase,
      "MAILSEAL_PUBLIC_URL": "https://smime.example.edu",
      "MAILSEAL_ORG_NAME": "Universität Beispielstadt",
      "MAILSEAL_ORG_ID": "NTRDE-DEB1101.HRB123456",
      "MAILSEAL_ORG_COUNTRY": "DE",
    ]
  }

  /// Runs `body` with a configured application; everything is removed
  /// afterwards.
  static func withApp(
    environment extra: [String: String] = [:],
    adjust: (inout MailsealConfiguration) -> Void = { _ in },
    _ body: (Application) async throws -> Void
  ) async throws {
    let folder = try Run.temporaryDirectory()
    let database = try await TestDatabase.make(in: folder)
    let environment = Self.environment(
      dataDirectory: folder.appendingPathComponent("data"), databaseURL: database.url
    )
    .merging(extra) { $1 }
    var configuration = try MailsealConfiguration.load(from: environment)
    configuration.keyIterations = 1_000
    adjust(&configuration)
    let app = try await Application.make(
      Environment(name: "testing", arguments: ["mailseal", "test"]))
    do {
      try await configure(app, with: configuration)
      try await body(app)
    } catch {
      try? await app.asyncShutdown()
      await database.drop()
      try? FileManager.default.removeItem(at: folder)
      throw error
    }
    try await app.asyncShutdown()
    await database.drop()
    try? FileManager.default.removeItem(at: folder)
  }
}

/// Runs programs: OpenSSL, psql, and the `mailseal` executable itself.
enum Run {
  struct Result {
    let status: Int32
    let output: String
  }

  static func program(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
    input: Data? = nil, in folder: URL? = nil
  ) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let folder { process.currentDirectoryURL = folder }
    // The commands speak the shell's language: English here, unless the
    // test gives another (LC_ALL in `environment`).
    var environment =
      environment ?? ProcessInfo.processInfo.environment.merging(["LC_ALL": "C.UTF-8"]) { $1 }
    if environment["LC_ALL"] == nil { environment["LC_ALL"] = "C.UTF-8" }
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(input) }
    try stdin.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
  }

  /// An OCSP request (DER, no nonce) made by OpenSSL for `serial` (hex)
  /// of `issuer`.
  static func ocspRequest(issuer: Certificate, serial: String) throws -> [UInt8] {
    let folder = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let issuerFile = folder.appendingPathComponent("issuer.pem")
    try issuer.serializeAsPEM().pemString.write(to: issuerFile, atomically: true, encoding: .utf8)
    let requestFile = folder.appendingPathComponent("request.der")
    let made = try openssl([
      "ocsp", "-issuer", issuerFile.path, "-serial", "0x" + serial, "-no_nonce", "-reqout",
      requestFile.path,
    ])
    guard made.status == 0 else { throw TestSetupError("openssl ocsp: \(made.output)") }
    return Array(try Data(contentsOf: requestFile))
  }

  static func openssl(_ arguments: [String], input: Data? = nil) throws -> Result {
    try program("/usr/bin/openssl", arguments, input: input)
  }

  /// The `mailseal` executable built beside the test bundle.
  static var mailsealExecutable: String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let candidates = [
      bundle.appendingPathComponent("mailseal"),
      bundle.deletingLastPathComponent().appendingPathComponent("mailseal"),
      packageRoot.appendingPathComponent(".build/debug/mailseal"),
    ]
    return
      (candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[2])
      .path
  }

  static let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  static func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-app-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// A PEM certificate request made by OpenSSL, with its key.
  static func csr(in folder: URL, name: String, key: String = "rsa:3072") throws -> (
    csr: URL, key: URL
  ) {
    let csr = folder.appendingPathComponent("\(name).csr")
    let keyFile = folder.appendingPathComponent("\(name).key")
    var arguments = [
      "req", "-new", "-nodes", "-subj", "/CN=ignored", "-keyout", keyFile.path, "-out", csr.path,
    ]
    if key.hasPrefix("ec:") {
      arguments += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:\(key.dropFirst(3))"]
    } else {
      arguments += ["-newkey", key]
    }
    let result = try openssl(arguments)
    guard result.status == 0 else { throw TestSetupError("openssl req failed: \(result.output)") }
    return (csr, keyFile)
  }
}
