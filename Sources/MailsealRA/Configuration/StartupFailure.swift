/// Why Mailseal does not start, and the exit status it ends with: the one
/// type every start-up refusal is (the configuration's own
/// ``ConfigurationError`` carries its status too).
public struct StartupFailure: Error, CustomStringConvertible, Sendable {
  /// EX_CONFIG (sysexits.h): a setting, the CA key's custody, the escrow
  /// pins or the database is not usable as configured.
  public static let configurationStatus: Int32 = 78

  public let description: String
  public let exitStatus: Int32

  public init(_ description: String, exitStatus: Int32 = StartupFailure.configurationStatus) {
    self.description = description
    self.exitStatus = exitStatus
  }

  /// The CA key cannot be used at start (a token away, a wrong PIN).
  public static func custody(_ reason: String) -> StartupFailure {
    StartupFailure("the issuing CA's key cannot be used: \(reason)")
  }

  /// Escrow is on but no recovery certificate is installed.
  public static let escrowWithoutCertificate = StartupFailure(
    "MAILSEAL_ESCROW is on, but no recovery certificate is installed: make one offline with `mailseal recovery init` and install its certificate with `mailseal recovery install --cert FILE`."
  )

  /// Escrow is on but nothing is pinned; `installed` are the fingerprints
  /// of what is installed.
  public static func escrowWithoutPin(installed: [String]) -> StartupFailure {
    StartupFailure(
      "MAILSEAL_ESCROW is on, but MAILSEAL_RECOVERY_FINGERPRINTS is not set: pin the recovery certificates escrowed keys are sealed to (their SHA-256 fingerprints, comma-separated; installed now: \(installed.joined(separator: ","))), or set MAILSEAL_ESCROW=off."
    )
  }

  /// The installed recovery certificates do not match the pins.
  public static func escrowMismatch(_ problem: String) -> StartupFailure {
    StartupFailure(
      "MAILSEAL_ESCROW is on, but the recovery certificates do not match MAILSEAL_RECOVERY_FINGERPRINTS: \(problem)."
    )
  }
}

extension ConfigurationError {
  /// Missing or malformed settings: EX_CONFIG.
  public var exitStatus: Int32 { StartupFailure.configurationStatus }
}
