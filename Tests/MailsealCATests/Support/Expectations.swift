import Foundation
import Testing

@testable import MailsealCA

/// Expects `body` to throw a ``CAError`` of exactly `code`, and returns the
/// error for further checks. Any other error, or none, fails the test.
@discardableResult
func expectCAError<R>(
  _ code: CAError.Code,
  _ comment: Comment? = nil,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> R
) -> CAError? {
  let error = #expect(throws: CAError.self, comment, sourceLocation: sourceLocation) {
    _ = try body()
  }
  if let error {
    #expect(
      error.code == code, "expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
  }
  return error
}

/// A small deterministic generator, so that "random" test inputs are the
/// same on every run.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func bytes(_ count: Int) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
  }
}

extension Collection where Element == UInt8 {
  /// Whether `needle` occurs as a contiguous run of bytes.
  func containsBytes(_ needle: [UInt8]) -> Bool {
    let haystack = Array(self)
    guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
      if Array(haystack[start..<(start + needle.count)]) == needle { return true }
    }
    return false
  }
}

/// OpenSSL run in a temporary folder, for making keys and requests that
/// come from a tool that is not ours.
struct OpenSSLWorkspace {
  let folder: URL

  init() throws { folder = try ExternalTool.temporaryDirectory() }

  func cleanUp() { ExternalTool.cleanUp(folder) }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// Runs openssl and fails (throws) when it does not exit 0.
  @discardableResult
  func run(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws
    -> String
  {
    let result = try ExternalTool.openssl(arguments)
    try #require(
      result.status == 0, "openssl \(arguments.joined(separator: " ")) failed: \(result.output)",
      sourceLocation: sourceLocation)
    return result.output
  }

  /// `openssl genpkey` with the given options; returns the key file's path.
  func generateKey(_ name: String, _ options: [String]) throws -> String {
    let file = path("\(name).key.pem")
    try run(["genpkey"] + options + ["-out", file])
    return file
  }

  /// `openssl req -new` for a key; returns the request file's path.
  func request(_ name: String, key: String, extra: [String] = []) throws -> String {
    let file = path("\(name).csr.pem")
    try run(
      ["req", "-new", "-key", key, "-subj", "/CN=Request from OpenSSL"] + extra + ["-out", file])
    return file
  }

  func read(_ file: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: file)))
  }

  func write(_ name: String, _ text: String) throws -> String {
    let file = path(name)
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    return file
  }

  func write(_ name: String, _ bytes: [UInt8]) throws -> String {
    let file = path(name)
    try Data(bytes).write(to: URL(fileURLWithPath: file))
    return file
  }
}
