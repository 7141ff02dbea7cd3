public import Foundation

/// The database a test runs on: SQLite (a fresh file per test) or, when the
/// test script says so, PostgreSQL (a fresh database per test on the server
/// the script started on 127.0.0.1). Shared by the web's tests and the
/// registration authority's (which have no web framework).
public enum TestDatabase {
  public static var kind: String {
    ProcessInfo.processInfo.environment["MAILSEAL_TEST_DATABASE"] ?? "sqlite"
  }

  /// A fresh, empty database; `drop` removes it.
  public static func make(in folder: URL) async throws -> (
    url: String, drop: @Sendable () async -> Void
  ) {
    guard kind == "postgres" else {
      return ("sqlite://" + folder.appendingPathComponent("test.sqlite").path, {})
    }
    guard let admin = ProcessInfo.processInfo.environment["MAILSEAL_TEST_POSTGRES_URL"],
      var components = URLComponents(string: admin)
    else {
      throw TestSetupError(
        "MAILSEAL_TEST_DATABASE=postgres needs MAILSEAL_TEST_POSTGRES_URL; run scripts/test.sh")
    }
    let name =
      "mailseal_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    try psql(admin, "CREATE DATABASE \(name)")
    components.path = "/" + name
    return (
      components.string!,
      {
        _ = try? psql(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
      }
    )
  }

  public static func psql(_ url: String, _ statement: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
    process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-qc", statement]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw TestSetupError("psql failed: \(String(decoding: data, as: UTF8.self))")
    }
  }

  /// A fresh folder of its own under the system's temporary folder.
  public static func temporaryDirectory() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
  }
}

/// A test could not be set up (not a finding about the code under test).
public struct TestSetupError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}
