import Foundation

/// Runs the independent judges (OpenSSL, pkilint) and captures what they say.
enum ExternalTool {
  struct Result {
    let status: Int32
    let output: String
  }

  /// The package's root folder, found from this file's path.
  static let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// Runs a program with arguments; standard output and error together.
  static func run(
    _ executable: String, _ arguments: [String], input: Data? = nil,
    environment: [String: String]? = nil
  ) throws -> Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let inputPipe = Pipe()
    process.standardInput = inputPipe
    try process.run()
    if let input { inputPipe.fileHandleForWriting.write(input) }
    try inputPipe.fileHandleForWriting.close()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
  }

  /// Removes a temporary folder unless artifacts are kept.
  static func cleanUp(_ url: URL) {
    if ProcessInfo.processInfo.environment["MAILSEAL_TEST_ARTIFACTS"] == nil {
      try? FileManager.default.removeItem(at: url)
    }
  }

  static func openssl(_ arguments: [String], input: Data? = nil) throws -> Result {
    try run("/usr/bin/openssl", arguments, input: input)
  }

  /// pkilint's S/MIME linter, from the test virtual environment that the
  /// test script makes (`MAILSEAL_VENV`, default `.venv` in the package).
  static var pkilintSMIME: String { pkilint("lint_cabf_smime_cert") }

  /// One of pkilint's linters, from the same environment.
  static func pkilint(_ linter: String) -> String {
    let venv =
      ProcessInfo.processInfo.environment["MAILSEAL_VENV"]
      ?? packageRoot.appendingPathComponent(".venv").path
    return venv + "/bin/" + linter
  }

  /// A fresh temporary folder; under `MAILSEAL_TEST_ARTIFACTS` when set, so
  /// that what the judges saw can be looked at after the run.
  static func temporaryDirectory() throws -> URL {
    let base =
      ProcessInfo.processInfo.environment["MAILSEAL_TEST_ARTIFACTS"].map {
        URL(fileURLWithPath: $0)
      }
      ?? FileManager.default.temporaryDirectory
    let url = base.appendingPathComponent("mailseal-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}
