import FluentKit
import Foundation
import SQLKit

/// Search keys for the queue: the folded whole name and surname of each
/// request, filled in for the requests already stored, and indexes under
/// which a prefix is a range (on PostgreSQL under the "C" collation, which
/// the search also uses).
struct M0011_RequestSearchKeys: AsyncMigration {
  var name: String { "M0011_RequestSearchKeys" }

  func prepare(on database: any Database) async throws {
    // One column per statement: SQLite adds one at a time.
    for column in ["search_name", "search_surname"] {
      try await database.schema("certificate_requests").field(.string(column), .string).update()
    }
    let sql = try database.sql
    // In SQL, not through the model: the model has columns that later
    // migrations add.
    for row in try await sql.select().columns("id", "given_name", "surname", "pseudonym")
      .from("certificate_requests").all()
    {
      let given = try row.decode(column: "given_name", as: String?.self)
      let surname = try row.decode(column: "surname", as: String?.self)
      let pseudonym = try row.decode(column: "pseudonym", as: String?.self)
      let whole = [given, surname].compactMap { $0 }.joined(separator: " ")
      let name = pseudonym ?? whole
      try await sql.update("certificate_requests")
        .set(
          "search_name",
          to: name.isEmpty ? nil : CertificateRequestRecord.searchKey(name)
        )
        .set("search_surname", to: surname.map(CertificateRequestRecord.searchKey))
        .where("id", .equal, try row.decode(column: "id", as: UUID.self)).run()
    }
    let collation = database.byteOrderCollation
    // SQLite's (mailbox, created_at) index already orders by bytes.
    let mailbox = collation.isEmpty ? [] : [("certificate_requests_search_mailbox", "mailbox")]
    for (index, column) in mailbox + [
      ("certificate_requests_search_name", "search_name"),
      ("certificate_requests_search_surname", "search_surname"),
    ] {
      try await sql.raw(
        "CREATE INDEX \(ident: index) ON certificate_requests (\(ident: column)\(unsafeRaw: collation))"
      ).run()
    }
  }

  func revert(on database: any Database) async throws {
    let sql = try database.sql
    for index in [
      "certificate_requests_search_mailbox", "certificate_requests_search_name",
      "certificate_requests_search_surname",
    ] {
      try await sql.drop(index: index).ifExists().run()
    }
    for column in ["search_name", "search_surname"] {
      try await database.schema("certificate_requests").deleteField(.string(column)).update()
    }
  }
}
