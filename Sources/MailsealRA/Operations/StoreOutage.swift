public import Logging
public import MailsealModel
import MailsealStore

/// What the layers above make of a database that cannot be used right now
/// (``StoreUnavailable``): pages answer 503, OCSP `tryLater`, workers wait.
public enum StoreOutage {
  /// `error` as an outage of the store, or nil for every other error.
  public static func of(_ error: any Error) -> StoreUnavailable? {
    StoreUnavailable.classify(error)
  }

  /// Logs a request refused for an outage (a line now and then, with how
  /// many were refused since, not one per request).
  public static func note(_ outage: StoreUnavailable, logger: Logger) {
    StoreRefusalLog.shared.note(outage, logger: logger)
  }
}
