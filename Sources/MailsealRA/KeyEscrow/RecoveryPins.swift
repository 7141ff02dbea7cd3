import Foundation
public import MailsealCA
import Synchronization

/// The recovery certificates in force, pinned outside the database
/// (`MAILSEAL_RECOVERY_FINGERPRINTS`: the SHA-256 of each whole
/// certificate). Whoever can write the database (or restore a tampered
/// backup, or run `mailseal recovery install`) can change what is stored,
/// but not the pins: browsers seal escrowed keys only to certificates that
/// match them, and the portal takes only envelopes sealed to their keys.
///
/// The certificates in force are exactly the pinned ones, each of which
/// must be installed unchanged; a mismatch stops escrow (requests that
/// need it are refused) until the database or the pins are put right. A
/// certificate installed but not pinned is not used (the first step of a
/// rotation) and is named in the log and `/healthz`.
///
/// One value per configuration: it also remembers what this process last
/// reported, so that escrow stopping and resuming is audited once per
/// change, not once per page.
public final class RecoveryPins: Sendable {
  /// The pinned fingerprints, as configured (each 32 bytes).
  public let fingerprints: [[UInt8]]
  /// The reason escrow was last reported stopped; nil: in force.
  private let reported = Mutex<String?>(nil)

  /// The most pins: envelopes are sealed to at most this many
  /// certificates (``KeyEnvelope/maximumRecipients``).
  public static let maximum = KeyEnvelope.maximumRecipients

  public init(_ fingerprints: [[UInt8]] = []) {
    self.fingerprints = fingerprints
  }

  /// Whether any certificate is pinned.
  public var isEmpty: Bool { fingerprints.isEmpty }

  /// The pins as the page gives them to the browser: lower-case hex,
  /// separated by spaces.
  public var pageText: String {
    fingerprints.map(\.hexString).joined(separator: " ")
  }

  /// Reads `MAILSEAL_RECOVERY_FINGERPRINTS`: SHA-256 fingerprints, hex
  /// (colons and case ignored), separated by commas; the problem in words
  /// when it is not that.
  public static func parse(_ text: String) -> Result<RecoveryPins, ParseProblem> {
    var pins: [[UInt8]] = []
    for part in text.split(separator: ",", omittingEmptySubsequences: false) {
      let hex = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ":", with: "")
      guard hex.count == 64, let bytes = [UInt8](hexString: hex.lowercased()) else {
        return .failure(
          ParseProblem(
            "“\(part.prefix(100))” is not a SHA-256 fingerprint (64 hex digits, colons allowed; `mailseal recovery show` prints them)."
          ))
      }
      guard !pins.contains(bytes) else {
        return .failure(ParseProblem("a fingerprint is named twice."))
      }
      pins.append(bytes)
    }
    guard pins.count <= maximum else {
      return .failure(ParseProblem("at most \(maximum) recovery certificates can be pinned."))
    }
    return .success(RecoveryPins(pins))
  }

  /// Why a value of `MAILSEAL_RECOVERY_FINGERPRINTS` cannot be used.
  public struct ParseProblem: Error, Sendable {
    public let message: String
    init(_ message: String) { self.message = message }
  }

  /// What the pins say of the installed certificates.
  public struct Check: Sendable {
    /// The pinned certificates, as installed, in the pins' order (only
    /// when nothing is wrong).
    public let inForce: [RecoveryCertificate]
    /// Installed, not pinned: not used.
    public let unpinned: [RecoveryCertificate]
    /// Why escrow cannot go on (English, for logs, the audit trail and
    /// `/healthz`); nil when the pinned certificates are all installed.
    public let problem: String?
  }

  /// Compares the installed certificates with the pins: each fingerprint
  /// is computed from the certificate's bytes (the stored fingerprint
  /// column is not trusted).
  public func check(_ installed: [RecoveryCertificate]) -> Check {
    let byFingerprint = Dictionary(
      installed.map { ($0.fingerprint, $0) }, uniquingKeysWith: { first, _ in first })
    let unpinned = installed.filter { !fingerprints.contains($0.fingerprint) }
    guard !fingerprints.isEmpty else {
      return Check(
        inForce: [], unpinned: unpinned,
        problem:
          "MAILSEAL_RECOVERY_FINGERPRINTS pins no recovery certificate (set it to the fingerprints `mailseal recovery show` prints)"
      )
    }
    let missing = fingerprints.filter { byFingerprint[$0] == nil }
    guard missing.isEmpty else {
      return Check(
        inForce: [], unpinned: unpinned,
        problem:
          "the pinned recovery certificate \(missing.map(RecoveryCertificate.shortFingerprint).joined(separator: ", ")) is not installed as pinned: it was removed or changed in the database"
          + (unpinned.isEmpty
            ? ""
            : " (installed but not pinned: \(unpinned.map(\.shortFingerprint).joined(separator: ", ")))")
      )
    }
    return Check(inForce: fingerprints.map { byFingerprint[$0]! }, unpinned: unpinned, problem: nil)
  }

  /// Records what was found. When it differs from what this process
  /// reported last, returns what that was (the caller then audits and
  /// logs the change); nil when nothing changed.
  func report(_ problem: String?) -> String?? {
    reported.withLock { last -> String?? in
      guard last != problem else { return nil }
      defer { last = problem }
      return .some(last)
    }
  }

  /// Forgets a report whose audit record could not be written, so that
  /// the next use tries again.
  func retract(_ problem: String?, restoring previous: String?) {
    reported.withLock { last in
      if last == problem { last = previous }
    }
  }

  /// The reason escrow was last reported stopped (nil: in force or not
  /// yet checked).
  public var lastProblem: String? { reported.withLock { $0 } }
}
