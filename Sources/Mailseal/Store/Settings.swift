public import FluentKit
public import Foundation
import SQLKit

/// Settings an administrator changes at run time, shared by all instances
/// through the database (the environment is read only at start-up).
public struct Settings: Sendable {
  let database: any Database

  public init(database: any Database) { self.database = database }

  public static let issuancePaused = "issuance.paused"

  public func value(_ key: String) async throws -> String? {
    try await (database as! any SQLDatabase).select().column("value").from("settings").where(
      "key", .equal, key
    )
    .first()?.decode(column: "value", as: String.self)
  }

  public func set(_ key: String, to value: String, now: Date = Date()) async throws {
    let sql = database as! any SQLDatabase
    try await database.transaction { database in
      let sql = database as! any SQLDatabase
      try await sql.delete(from: "settings").where("key", .equal, key).run()
      try await sql.insert(into: "settings").columns("key", "value", "updated_at")
        .values(SQLBind(key), SQLBind(value), SQLBind(now)).run()
    }
    _ = sql
  }

  /// Whether issuance is paused: approved requests then wait.
  public func isIssuancePaused() async throws -> Bool {
    try await value(Self.issuancePaused) == "true"
  }
}
