import FluentKit
import Foundation
import SQLKit

/// The desk's search by any word of a name or an address, in both
/// spellings of umlauts (``SearchTerms``): a table of terms, filled in for
/// the requests already stored, and the requests indexed by age. The single
/// search columns of M0011 go.
struct M0017_RequestSearchTerms: AsyncMigration {
  var name: String { "M0017_RequestSearchTerms" }

  func prepare(on database: any Database) async throws {
    try await database.schema(SearchTerms.table)
      .field("term", .string, .required)
      .field(
        "request_id", .uuid, .required,
        .references("certificate_requests", "id", onDelete: .cascade)
      )
      .create()
    let sql = try database.sql
    let collation = database.byteOrderCollation
    try await sql.raw(
      """
      CREATE UNIQUE INDEX request_search_terms_term
      ON \(ident: SearchTerms.table) (term\(unsafeRaw: collation), request_id)
      """
    ).run()
    try await sql.raw(
      "CREATE INDEX request_search_terms_request ON \(ident: SearchTerms.table) (request_id)"
    ).run()
    // A broad search walks the requests oldest first and stops at a page.
    try await sql.create(index: "certificate_requests_created_at").on("certificate_requests")
      .column("created_at").run()
    // In SQL, not through the model: the model has columns that later
    // migrations may add.
    for row in try await sql.select()
      .columns("id", "mailbox", "given_name", "surname", "pseudonym")
      .from("certificate_requests").all()
    {
      let terms = SearchTerms.terms(
        mailbox: try row.decode(column: "mailbox", as: String.self),
        names: [
          [
            try row.decode(column: "given_name", as: String?.self),
            try row.decode(column: "surname", as: String?.self),
          ].compactMap { $0 }.joined(separator: " "),
          try row.decode(column: "pseudonym", as: String?.self),
        ])
      try await SearchTerms.save(
        terms, for: try row.decode(column: "id", as: UUID.self), on: database)
    }
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

  func revert(on database: any Database) async throws {
    try await database.schema(SearchTerms.table).delete()
    try await database.sql.drop(index: "certificate_requests_created_at").run()
    // M0011's columns back (empty), so that its own revert finds them.
    for column in ["search_name", "search_surname"] {
      try await database.schema("certificate_requests").field(.string(column), .string).update()
    }
  }
}
