public import FluentKit
public import SQLKit

/// The store's database is always an SQL database (SQLite or PostgreSQL);
/// this is the one place that says so.
extension Database {
  /// This database as SQLKit sees it.
  public var sql: any SQLDatabase {
    get throws {
      guard let sql = self as? any SQLDatabase else { throw NotAnSQLDatabase() }
      return sql
    }
  }

  /// The collation under which a prefix is a range of an index: the bytes'
  /// order (PostgreSQL's "C"; SQLite compares bytes already). Natural-language
  /// collations ignore punctuation and would let a range miss matches.
  public var byteOrderCollation: String {
    (self as? any SQLDatabase)?.dialect.name == "postgresql" ? " COLLATE \"C\"" : ""
  }
}

extension SQLDatabase {
  /// What a claim's inner SELECT ends with so that several instances never
  /// take the same rows: `FOR UPDATE SKIP LOCKED` on PostgreSQL; nothing on
  /// SQLite, whose writers take turns.
  var skipLocked: String {
    dialect.name == "postgresql" ? " FOR UPDATE SKIP LOCKED" : ""
  }
}

extension Database {
  /// The rows of a `SELECT … AS key, COUNT(*) AS n … GROUP BY …` as a
  /// dictionary (the gauges and the administrators' counts).
  func counts(_ statement: SQLQueryString) async throws -> [String: Int] {
    var counts: [String: Int] = [:]
    for row in try await sql.raw(statement).all() {
      counts[try row.decode(column: "key", as: String.self)] = Int(
        try row.decode(column: "n", as: Int64.self))
    }
    return counts
  }
}

/// A database driver that does not speak SQL was configured.
struct NotAnSQLDatabase: Error, CustomStringConvertible {
  var description: String { "the database is not an SQL database" }
}

/// The audit trail's tables (migration M0013) start from this hash.
public enum AuditChain {
  public static let genesisHash = String(repeating: "0", count: 64)
}
