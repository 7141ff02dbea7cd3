public import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// SoftHSM2 for the tests: a throw-away token folder per test process
/// (`SOFTHSM2_CONF` pointing into a temporary folder), tokens made with
/// `softhsm2-util --init-token`, PIN files of mode 0600. The folder goes
/// when the process ends.
///
/// The module reads `SOFTHSM2_CONF` when it is initialised, once per
/// process, so the configuration is set before anything loads it; tokens
/// made later are found by the custody's recovery (C_Finalize,
/// C_Initialize) when a key is first looked up in them.
public final class SoftHSM: @unchecked Sendable {
  /// The module: `MAILSEAL_TEST_PKCS11_MODULE`, or Debian's SoftHSM2.
  public static let modulePath =
    ProcessInfo.processInfo.environment["MAILSEAL_TEST_PKCS11_MODULE"]
    ?? "/usr/lib/softhsm/libsofthsm2.so"

  /// The process's SoftHSM.
  public static let shared: SoftHSM = {
    do {
      return try SoftHSM()
    } catch {
      fatalError("SoftHSM2 cannot be set up for the tests: \(error)")
    }
  }()

  public let folder: URL
  public let configuration: URL
  public let tokens: URL
  private let lock = NSLock()
  private var made: [String: Token] = [:]

  /// A token: its label, its user PIN and the file holding it.
  public struct Token: Sendable {
    public let label: String
    public let pin: String
    public let pinFile: String
    /// The token's folder inside SoftHSM's token folder.
    public let directory: URL
  }

  public struct Failure: Error, CustomStringConvertible {
    public let description: String
  }

  init() throws {
    guard FileManager.default.fileExists(atPath: Self.modulePath) else {
      throw Failure(
        description:
          "\(Self.modulePath) is missing: install softhsm2 (scripts/test.sh does) or set MAILSEAL_TEST_PKCS11_MODULE."
      )
    }
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-softhsm-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    tokens = folder.appendingPathComponent("tokens")
    configuration = folder.appendingPathComponent("softhsm2.conf")
    try FileManager.default.createDirectory(at: tokens, withIntermediateDirectories: true)
    try """
    directories.tokendir = \(tokens.path)
    objectstore.backend = file
    log.level = ERROR
    slots.removable = false

    """.write(to: configuration, atomically: true, encoding: .utf8)
    setenv("SOFTHSM2_CONF", configuration.path, 1)
    let path = folder.path
    Self.cleanUp.append(path)
    atexit { for path in SoftHSM.cleanUp { try? FileManager.default.removeItem(atPath: path) } }
  }

  nonisolated(unsafe) static var cleanUp: [String] = []

  /// The environment a child process needs to see the same tokens.
  public var environment: [String: String] { ["SOFTHSM2_CONF": configuration.path] }

  /// The token labelled `label`, made on first use.
  public func token(_ label: String, pin: String = "24681357") throws -> Token {
    lock.lock()
    defer { lock.unlock() }
    if let token = made[label] { return token }
    let before = Set(
      (try? FileManager.default.contentsOfDirectory(atPath: tokens.path)) ?? [])
    let output = try Self.run(
      "softhsm2-util",
      ["--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", "so-\(pin)"],
      environment: environment)
    let after = Set((try? FileManager.default.contentsOfDirectory(atPath: tokens.path)) ?? [])
    guard let directory = after.subtracting(before).first else {
      throw Failure(description: "softhsm2-util made no token folder: \(output)")
    }
    let pinFile = folder.appendingPathComponent("\(label).pin").path
    guard
      FileManager.default.createFile(
        atPath: pinFile, contents: Data((pin + "\n").utf8),
        attributes: [.posixPermissions: 0o600])
    else { throw Failure(description: "cannot write \(pinFile)") }
    let token = Token(
      label: label, pin: pin, pinFile: pinFile,
      directory: tokens.appendingPathComponent(directory))
    made[label] = token
    return token
  }

  /// Runs a tool; its output (standard output and error); fails on a
  /// non-zero exit.
  @discardableResult
  public static func run(_ tool: String, _ arguments: [String], environment: [String: String])
    throws -> String
  {
    let result = try runAllowingFailure(tool, arguments, environment: environment)
    guard result.status == 0 else {
      throw Failure(
        description: "\(tool) \(arguments.joined(separator: " ")) failed: \(result.output)")
    }
    return result.output
  }

  /// Runs a tool; its exit status and output.
  public static func runAllowingFailure(
    _ tool: String, _ arguments: [String], environment: [String: String]
  ) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
