public import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// One of the upstream test servers of `Tests/upstream` (Sectigo, HARICA),
/// run with the test environment's Python (`MAILSEAL_VENV`, else the
/// clone's `.venv`): its URL, the chain file of its CA, its faults and
/// what happened at it.
public final class UpstreamTestServer: @unchecked Sendable {
  let process = Process()
  let output = Pipe()
  public let port: Int
  public let folder: URL
  public var chainFile: URL { folder.appendingPathComponent("chain.pem") }
  public var url: URL { URL(string: "http://127.0.0.1:\(port)")! }

  static var root: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent()
  }

  static var python: String {
    let venv =
      ProcessInfo.processInfo.environment["MAILSEAL_VENV"]
      ?? root.appendingPathComponent(".venv").path
    return venv + "/bin/python"
  }

  /// Starts `script` (`sectigo_server.py`, …) with `arguments`.
  public init(_ script: String, _ arguments: [String] = []) throws {
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "upstream-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let scripts = Self.root.appendingPathComponent("Tests/upstream")
    process.executableURL = URL(fileURLWithPath: Self.python)
    process.arguments =
      [
        "-u", scripts.appendingPathComponent(script).path, "--chain-out",
        folder.path + "/chain.pem",
      ]
      + arguments
    process.currentDirectoryURL = scripts
    process.standardOutput = output
    try process.run()
    var seen = Data()
    var found: Int?
    while found == nil {
      let chunk = output.fileHandleForReading.availableData
      guard !chunk.isEmpty else { break }
      seen += chunk
      if let match = String(decoding: seen, as: UTF8.self).firstMatch(of: /LISTENING (\d+)/) {
        found = Int(match.1)
      }
    }
    guard let found else {
      if process.isRunning { process.terminate() }
      throw OpenSSLCMPServerFailure(
        description:
          "\(script) did not start (\(Self.python)): \(String(decoding: seen, as: UTF8.self))"
      )
    }
    port = found
  }

  public func stop() {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    try? FileManager.default.removeItem(at: folder)
  }

  /// Queues faults per operation (`["enroll": ["500"]]`).
  public func faults(_ table: [String: [String]]) async throws {
    var request = URLRequest(url: url.appendingPathComponent("_test/faults"))
    request.httpMethod = "POST"
    request.httpBody = try JSONSerialization.data(withJSONObject: table)
    _ = try await URLSession.shared.data(for: request)
  }

  /// What happened at the server (its `/_test/state`).
  public func state() async throws -> [String: Any] {
    let (data, _) = try await URLSession.shared.data(
      from: url.appendingPathComponent("_test/state"))
    return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
  }

  /// How many orders the server took.
  public func orders() async throws -> Int {
    (try await state()["orders"] as? NSNumber)?.intValue ?? -1
  }
}
