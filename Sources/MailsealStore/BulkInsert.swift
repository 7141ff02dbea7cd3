public import Foundation
import NIOCore
public import SQLKit

/// Many rows into one table in few statements, given column by column.
///
/// On PostgreSQL the rows go as one array per column
/// (`INSERT … SELECT * FROM unnest($1::text[], $2::uuid[], …)`): one short
/// statement with one bind per column, whatever the number of rows, where
/// multi-row VALUES has one bind per cell — thousands of placeholders for
/// the server to parse and for the client to encode one by one. Elsewhere
/// (SQLite) the rows go as multi-row VALUES, at most ``rowsPerStatement``
/// rows to a statement.
public struct BulkInsert: Sendable {
  /// One column's values, one per row.
  public enum Values: Sendable {
    case text([String])
    case optionalText([String?])
    case uuid([UUID])
    case optionalUUID([UUID?])
    case timestamp([Date])
    case bytes([Data])
    case integer([Int64])

    var count: Int {
      switch self {
      case .text(let values): values.count
      case .optionalText(let values): values.count
      case .uuid(let values): values.count
      case .optionalUUID(let values): values.count
      case .timestamp(let values): values.count
      case .bytes(let values): values.count
      case .integer(let values): values.count
      }
    }

    /// The value of one row, as a bind of a multi-row VALUES.
    func bind(_ row: Int) -> SQLBind {
      switch self {
      case .text(let values): SQLBind(values[row])
      case .optionalText(let values): SQLBind(values[row])
      case .uuid(let values): SQLBind(values[row])
      case .optionalUUID(let values): SQLBind(values[row])
      case .timestamp(let values): SQLBind(values[row])
      case .bytes(let values): SQLBind(values[row])
      case .integer(let values): SQLBind(values[row])
      }
    }

    /// All values as one PostgreSQL array, cast to its type.
    var array: SQLList {
      let (bind, type): (SQLBind, String) =
        switch self {
        case .text(let values): (SQLBind(values), "text")
        case .optionalText(let values): (SQLBind(values), "text")
        case .uuid(let values): (SQLBind(values), "uuid")
        case .optionalUUID(let values): (SQLBind(values), "uuid")
        case .timestamp(let values): (SQLBind(values), "timestamptz")
        // PostgresNIO sends an array of ByteBuffer as bytea[] (of Data it
        // has no array encoding).
        case .bytes(let values): (SQLBind(values.map { ByteBuffer(bytes: $0) }), "bytea")
        case .integer(let values): (SQLBind(values), "int8")
        }
      return SQLList([bind, SQLRaw("::\(type)[]")], separator: SQLRaw(""))
    }
  }

  /// Rows per statement of a multi-row VALUES (SQLite allows 32,766 binds
  /// to a statement).
  public static let rowsPerStatement = 500

  let table: String
  var names: [String] = []
  var values: [Values] = []

  public init(into table: String) { self.table = table }

  /// Adds a column; every column has the same number of values.
  public func column(_ name: String, _ values: Values) -> BulkInsert {
    var insert = self
    insert.names.append(name)
    insert.values.append(values)
    return insert
  }

  /// Inserts the rows (none: nothing is sent).
  public func run(on sql: any SQLDatabase) async throws {
    let rows = values.first?.count ?? 0
    precondition(values.allSatisfy { $0.count == rows }, "columns of different lengths")
    guard rows > 0 else { return }
    if sql.dialect.name == "postgresql" {
      try await sql.raw(
        """
        INSERT INTO \(ident: table) (\(idents: names, joinedBy: ", ")) \
        SELECT * FROM unnest(\(SQLList(values.map(\.array))))
        """
      ).run()
      return
    }
    let perStatement = min(Self.rowsPerStatement, 32_766 / names.count)
    for start in stride(from: 0, to: rows, by: perStatement) {
      var insert = sql.insert(into: table).columns(names)
      for row in start..<min(start + perStatement, rows) {
        insert = insert.values(values.map { $0.bind(row) })
      }
      try await insert.run()
    }
  }
}
