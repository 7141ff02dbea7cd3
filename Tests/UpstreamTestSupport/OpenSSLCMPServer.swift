public import Foundation

/// OpenSSL's own CMP server (`openssl cmp -port 0`, the mock that ships
/// with OpenSSL 3): independent code on the other side. It answers every
/// enrolment with the certificate it was started with (`-rsp_cert`), so a
/// test makes that certificate from its request first.
public final class OpenSSLCMPServer: @unchecked Sendable {
  let process = Process()
  public let port: Int
  let output = Pipe()

  /// Starts the server with `arguments` after `-port 0`.
  public init(_ arguments: [String]) throws {
    // stdbuf: the server prints its port on standard output, which is
    // block-buffered into a pipe otherwise.
    process.executableURL = URL(fileURLWithPath: "/usr/bin/stdbuf")
    process.arguments = ["-oL", "/usr/bin/openssl", "cmp", "-port", "0"] + arguments
    process.standardOutput = output
    process.standardError = output
    try process.run()
    // It names the port it bound in its first line: "ACCEPT [::]:PORT PID=…".
    var seen = Data()
    var found: Int?
    while found == nil {
      let chunk = output.fileHandleForReading.availableData
      guard !chunk.isEmpty else { break }
      seen += chunk
      let text = String(decoding: seen, as: UTF8.self)
      if let match = text.firstMatch(of: /ACCEPT \S*:(\d+)/) { found = Int(match.1) }
    }
    guard let found else {
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      throw OpenSSLCMPServerFailure(
        description: "openssl cmp did not start: \(String(decoding: seen, as: UTF8.self))")
    }
    port = found
  }

  /// Where clients send their messages.
  public var url: URL { URL(string: "http://127.0.0.1:\(port)/pkix/")! }

  /// Ends the server (it does not stop on SIGTERM while it waits for a
  /// connection).
  public func stop() {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }
}

public struct OpenSSLCMPServerFailure: Error, CustomStringConvertible {
  public let description: String
}
