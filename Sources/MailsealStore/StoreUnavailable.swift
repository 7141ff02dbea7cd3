import AsyncKit
package import Foundation
package import Logging
public import MailsealModel
import PostgresNIO
import SQLiteNIO
import Synchronization

extension StoreUnavailable {
  /// `error` as a ``StoreUnavailable`` when it means the database cannot
  /// be used right now; nil for every other error (a constraint, a
  /// malformed statement, a serialization failure).
  public static func classify(_ error: any Error) -> StoreUnavailable? {
    switch error {
    case let error as StoreUnavailable:
      return error
    case let error as PSQLError:
      let detail = String(reflecting: error)
      switch error.code {
      case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown,
        .poolClosed:
        return StoreUnavailable(.unreachable, underlying: detail)
      case .server:
        let state = error.serverInfo?[.sqlState] ?? ""
        // Class 08: connection exception; 57P01–57P05: shut down,
        // restarting, idle too long; 53100 disk full; 53200 out of memory;
        // 53300 too many connections; 25006 a read-only transaction
        // (a standby after fail-over).
        if state.hasPrefix("08") || state.hasPrefix("57P") || state == "53200" || state == "53300" {
          return StoreUnavailable(.unreachable, underlying: detail)
        }
        if state == "53100" { return StoreUnavailable(.diskFull, underlying: detail) }
        if state == "25006" { return StoreUnavailable(.readOnly, underlying: detail) }
        return nil
      default:
        return nil
      }
    case let error as ConnectionPoolTimeoutError:
      return StoreUnavailable(.unreachable, underlying: "\(error)")
    case let error as ConnectionPoolError:
      return StoreUnavailable(.unreachable, underlying: "\(error)")
    case let error as SQLiteError:
      switch error.reason {
      case .full: return StoreUnavailable(.diskFull, underlying: "SQLITE_FULL: \(error.message)")
      case .readOnly, .readonlyDirectory, .readonlyBackingMoved, .readonlyInRollback,
        .readonlyCantLock, .readonlyInRecovery:
        return StoreUnavailable(.readOnly, underlying: "SQLITE_READONLY: \(error.message)")
      case .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath:
        return StoreUnavailable(.unreachable, underlying: "SQLITE_CANTOPEN: \(error.message)")
      case .busy, .busyTimeout, .busyInRecovery, .locked:
        return StoreUnavailable(.unreachable, underlying: "SQLITE_BUSY: \(error.message)")
      default:
        // Every extended I/O error (ENOSPC on a write is one of them).
        if "\(error.reason)".hasPrefix("ioError") || error.reason == .ioError {
          return StoreUnavailable(.ioError, underlying: "SQLITE_IOERR: \(error.message)")
        }
        return nil
      }
    default:
      return nil
    }
  }
}

extension Logger {
  /// Logs a failure of a background loop (a worker, the housekeeping) with
  /// its real cause — the drivers' own descriptions are deliberately vague —
  /// as a warning when the database is only away for a while.
  package func backgroundFailure(_ what: String, _ error: any Error) {
    if let unavailable = StoreUnavailable.classify(error) {
      warning("\(what): \(unavailable)")
    } else {
      self.error("\(what): \(String(reflecting: error))")
    }
  }
}

/// One log line at most every `interval` seconds, saying how many were
/// held back since the last one: an outage under load would otherwise
/// flood the log with a line per refused request.
package final class ThrottledLog: Sendable {
  let interval: TimeInterval
  private let state = Mutex<(last: Date?, heldBack: Int)>((nil, 0))

  package init(interval: TimeInterval = 5) { self.interval = interval }

  /// Nil when this note is held back; otherwise how many were held back
  /// since the last line (and a line is due now).
  package func admit(now: Date = Date()) -> Int? {
    state.withLock { state in
      if let last = state.last, now.timeIntervalSince(last) < interval {
        state.heldBack += 1
        return nil
      }
      defer { state = (now, 0) }
      return state.heldBack
    }
  }
}

/// The log of requests refused because the database is away.
package final class StoreRefusalLog: Sendable {
  package static let shared = StoreRefusalLog()
  private let throttle = ThrottledLog()

  package func note(_ unavailable: StoreUnavailable, logger: Logger, now: Date = Date()) {
    guard let refusedBefore = throttle.admit(now: now) else { return }
    logger.warning(
      "request refused: database unavailable",
      metadata: [
        "cause": .string(unavailable.cause.rawValue), "error": .string(unavailable.underlying),
        "refusedSinceLastLine": .stringConvertible(refusedBefore),
      ])
  }
}
