public import Foundation
public import Logging
public import MailsealCA
import Synchronization

/// Logs that the CA key's custody is away at most once every five seconds,
/// with the number of refusals in between, so that an OCSP flood while a
/// token is out does not flood the log too.
public final class CustodyFaultLog: Sendable {
  public static let shared = CustodyFaultLog()
  static let interval: TimeInterval = 5
  private let state = Mutex<(last: Date?, refused: Int)>((nil, 0))

  public func note(_ error: CAError, logger: Logger, now: Date = Date()) {
    let refusedBefore: Int? = state.withLock { state in
      if let last = state.last, now.timeIntervalSince(last) < Self.interval {
        state.refused += 1
        return nil
      }
      defer { state = (now, 0) }
      return state.refused
    }
    guard let refusedBefore else { return }
    logger.error(
      "the CA key is unavailable",
      metadata: [
        "reason": .string(error.message),
        "refusedSinceLastLine": .stringConvertible(refusedBefore),
      ])
  }
}

/// The health of the CA keys' custody, for `/healthz`.
public enum CustodyHealth {
  /// Why the keys the portal signs with now — the active issuing CA's and
  /// its OCSP responder's — cannot sign, or nil when they can. Keys in a
  /// token are asked there (blocking: call it off the event loop); a root
  /// key kept in a token that is offline does not count.
  public static func currentFault(references: [String]) -> CAError? {
    PKCS11KeyCustody.currentFault(references: references.map(KeyReference.init(rawValue:)))
  }
}
