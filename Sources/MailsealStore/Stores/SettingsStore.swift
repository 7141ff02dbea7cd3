public import FluentKit
import Foundation
import SQLKit

/// The settings an administrator changes while the portal runs (the
/// service notice, the issuance pause): key and text.
public struct SettingsStore: Sendable {
  let database: any Database

  /// The value of `key`, if set.
  public func value(_ key: String) async throws -> String? {
    try await database.sql.select().column("value").from("settings").where("key", .equal, key)
      .first()?.decode(column: "value", as: String.self)
  }

  /// The values of `keys` that are set.
  public func values(_ keys: [String]) async throws -> [String: String] {
    var values: [String: String] = [:]
    for row in try await database.sql.select().columns("key", "value").from("settings")
      .where("key", .in, keys).all()
    {
      values[try row.decode(column: "key", as: String.self)] = try row.decode(
        column: "value", as: String.self)
    }
    return values
  }

  /// Sets `key` to `value` (nil: removes it), in one statement whatever is
  /// there: two instances changing a setting at once never collide.
  public func set(_ key: String, to value: String?, now: Date) async throws {
    let sql = try database.sql
    if let value {
      try await sql.raw(
        """
        INSERT INTO settings (key, value, updated_at) VALUES (\(bind: key), \(bind: value), \(bind: now))
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
        """
      ).run()
    } else {
      try await sql.delete(from: "settings").where("key", .equal, key).run()
    }
  }
}
