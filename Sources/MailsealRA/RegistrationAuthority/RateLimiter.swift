public import FluentKit
public import Foundation
import Logging
import MailsealModel
import MailsealStore

/// Rate limits as one atomic statement per key: the attempt is counted and
/// the count read back in the same UPSERT, so parallel requests cannot all
/// pass a check they all read before any of them wrote. Each key has a fixed
/// window that starts with its first attempt; the count starts afresh when
/// the window has run out.
public struct RateLimiter: Sendable {
  let database: any Database

  public init(database: any Database) { self.database = database }

  /// One limit: at most `limit` attempts per `window` for `key`.
  public struct Limit: Sendable {
    public let key: String
    public let limit: Int
    public let window: TimeInterval

    public init(key: String, limit: Int, window: TimeInterval) {
      self.key = key
      self.limit = limit
      self.window = window
    }
  }

  /// Counts one attempt like ``admit(_:now:)``; refuses it (429, "too many
  /// attempts") when a limit is used up.
  func admitOrRefuse(_ limits: [Limit], now: Date, logger: Logger) async throws {
    guard try await admit(limits, now: now) else {
      logger.warning("attempt refused by rate limit", metadata: ["keys": "\(limits.map(\.key))"])
      throw MailsealError(.tooManyAttempts)
    }
  }

  /// Counts one attempt against every limit; true when all of them still
  /// allow it. A refused attempt gives its counts back, so that only what
  /// was admitted counts; a request that saw a count a refused one was
  /// about to give back may be refused too — never is one admitted over a
  /// limit.
  public func admit(_ limits: [Limit], now: Date = Date()) async throws -> Bool {
    var counted: [Limit] = []
    var admitted = true
    for limit in limits {
      let count = try await count(limit, now: now)
      counted.append(limit)
      if count > limit.limit {
        admitted = false
        break
      }
    }
    if !admitted {
      for limit in counted {
        try await Store(database).rateLimits.giveBack(limit.key)
      }
    }
    return admitted
  }

  /// Adds one attempt to `limit.key` and returns the attempts of its
  /// current window, this one included.
  func count(_ limit: Limit, now: Date) async throws -> Int {
    try await Store(database).rateLimits.count(limit.key, window: limit.window, now: now)
  }

  /// Forgets windows that ended more than a day ago (housekeeping).
  public func purge(before: Date) async throws {
    try await Store(database).rateLimits.purge(before: before)
  }
}
