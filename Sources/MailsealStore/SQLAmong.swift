public import Foundation
public import SQLKit

/// `column IN (v1, v2, …)` for many values. On PostgreSQL one array bind
/// (`column = ANY($1::text[])`): one placeholder for the server to parse
/// and one value for the client to encode, whatever the number of values;
/// elsewhere (SQLite) a list of binds, which the caller keeps under the
/// engine's limit (``BulkInsert/rowsPerStatement`` values at a time).
public struct SQLAmong: SQLExpression {
  enum Values: Sendable {
    case text([String])
    case uuid([UUID])
  }

  let column: SQLColumn
  let values: Values

  /// `column` may be qualified: `r.id`.
  public init(_ column: String, _ values: [String]) {
    self.column = Self.column(column)
    self.values = .text(values)
  }

  public init(_ column: String, _ values: [UUID]) {
    self.column = Self.column(column)
    self.values = .uuid(values)
  }

  static func column(_ name: String) -> SQLColumn {
    let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
    return parts.count == 2 ? SQLColumn(parts[1], table: parts[0]) : SQLColumn(name)
  }

  public func serialize(to serializer: inout SQLSerializer) {
    column.serialize(to: &serializer)
    if serializer.dialect.name == "postgresql" {
      serializer.write(" = ANY(")
      switch values {
      case .text(let values): SQLBind(values).serialize(to: &serializer)
      case .uuid(let values): SQLBind(values).serialize(to: &serializer)
      }
      serializer.write(values.isText ? "::text[])" : "::uuid[])")
      return
    }
    let binds: [SQLBind] =
      switch values {
      case .text(let values): values.map { SQLBind($0) }
      case .uuid(let values): values.map { SQLBind($0) }
      }
    serializer.write(" IN ")
    SQLGroupExpression(SQLList(binds)).serialize(to: &serializer)
  }
}

extension SQLAmong.Values {
  var isText: Bool {
    if case .text = self { return true }
    return false
  }
}

/// Text values as a one-column table, for `WITH f(name) AS (…)`: on
/// PostgreSQL `SELECT unnest($1::text[])` (one bind), elsewhere (SQLite)
/// `VALUES (?), (?), …`, which the caller keeps under the engine's limit
/// (``BulkInsert/rowsPerStatement`` values at a time).
public struct SQLRowsOf: SQLExpression {
  let values: [String]

  public init(_ values: [String]) {
    self.values = values
  }

  public func serialize(to serializer: inout SQLSerializer) {
    if serializer.dialect.name == "postgresql" {
      serializer.write("SELECT unnest(")
      SQLBind(values).serialize(to: &serializer)
      serializer.write("::text[])")
      return
    }
    serializer.write("VALUES ")
    SQLList(values.map { SQLGroupExpression(SQLBind($0)) }).serialize(to: &serializer)
  }
}
