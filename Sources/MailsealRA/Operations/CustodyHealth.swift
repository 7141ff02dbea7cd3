public import Foundation
public import Logging
public import MailsealCA
import MailsealModel
import MailsealStore

/// Logs that the CA key's custody is away at most once every five seconds,
/// with the number of refusals in between, so that an OCSP flood while a
/// token is out does not flood the log too.
public final class CustodyFaultLog: Sendable {
  public static let shared = CustodyFaultLog()
  private let throttle = ThrottledLog()

  public func note(_ error: CAError, logger: Logger, now: Date = Date()) {
    guard let refusedBefore = throttle.admit(now: now) else { return }
    logger.error(
      "the CA key is unavailable",
      metadata: [
        "reason": .string(error.message),
        "refusedSinceLastLine": .stringConvertible(refusedBefore),
      ])
  }
}
