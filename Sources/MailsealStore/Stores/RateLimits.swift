public import FluentKit
import Foundation
import SQLKit

/// The rate limits' counters: one fixed window per key that starts with its
/// first attempt.
public struct RateLimits: Sendable {
  let database: any Database

  /// Adds one attempt to `key` and returns the attempts of its current
  /// window, this one included, in one statement (an UPSERT that counts and
  /// reads back), so that parallel attempts cannot all pass a check they
  /// all read before any of them wrote. A window older than `window`
  /// starts afresh.
  public func count(_ key: String, window: TimeInterval, now: Date) async throws -> Int {
    let expired = now.addingTimeInterval(-window)
    let row = try await database.sql.raw(
      """
      INSERT INTO rate_limits (key, window_start, count) VALUES (\(bind: key), \(bind: now), 1)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN rate_limits.window_start <= \(bind: expired) THEN 1 ELSE rate_limits.count + 1 END,
        window_start = CASE WHEN rate_limits.window_start <= \(bind: expired) THEN \(bind: now)
          ELSE rate_limits.window_start END
      RETURNING count
      """
    ).first()
    return Int(try row?.decode(column: "count", as: Int64.self) ?? 1)
  }

  /// Gives back one attempt counted for `key` (never below zero).
  public func giveBack(_ key: String) async throws {
    try await database.sql.raw(
      "UPDATE rate_limits SET count = count - 1 WHERE key = \(bind: key) AND count > 0"
    ).run()
  }

  /// Forgets windows that started before `date` (housekeeping).
  public func purge(before date: Date) async throws {
    try await database.sql.delete(from: "rate_limits").where("window_start", .lessThan, date)
      .run()
  }
}
