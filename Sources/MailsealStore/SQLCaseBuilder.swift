package import SQLKit

/// `CASE column WHEN key THEN value … END`: one value per row in a single
/// `UPDATE`, so that a batch of rows with different values costs one
/// statement instead of one each.
package struct SQLCaseBuilder {
  package init() {}

  private var pairs: [(key: any Encodable & Sendable, value: any Encodable & Sendable)] = []

  package mutating func when(_ key: any Encodable & Sendable, then value: any Encodable & Sendable)
  {
    pairs.append((key, value))
  }

  /// Whether no case was added (the expression would not be SQL).
  package var isEmpty: Bool { pairs.isEmpty }

  /// The expression, switching on `column`.
  package func expression(on column: String) -> any SQLExpression {
    var query: SQLQueryString = "CASE \(ident: column)"
    for pair in pairs {
      query.appendInterpolation(unsafeRaw: " WHEN ")
      query.appendInterpolation(bind: pair.key)
      query.appendInterpolation(unsafeRaw: " THEN ")
      query.appendInterpolation(bind: pair.value)
    }
    query.appendInterpolation(unsafeRaw: " END")
    return query
  }
}
