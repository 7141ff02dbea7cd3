import FluentKit
import Foundation
import MailsealCA
public import MailsealStore
import SQLKit

extension RegistrationAuthority {
  /// The requests staff look for: by number (exact), by any word of a
  /// name or of the address (``SearchTerms``: a prefix of a word, without
  /// case or accents, "mueller" and "muller" for "Müller"), or the open ones
  /// (submitted, verified, approved) oldest first. Every prefix is a range
  /// on the terms' index, so a search costs about the same with a hundred
  /// requests or a million.
  /// Terms a search reads off the index before it counts as broad.
  static let narrowSearch = 2_000

  public func searchRequests(
    query: String, state: CertificateRequestRecord.State?, offset: Int, limit: Int
  ) async throws -> [CertificateRequestRecord] {
    try await searchRequests(
      query: query, state: state, offset: offset, limit: limit, narrow: Self.narrowSearch)
  }

  /// `narrow`: how many terms a narrow query may match (tests make every
  /// query broad with 0).
  func searchRequests(
    query: String, state: CertificateRequestRecord.State?, offset: Int, limit: Int, narrow: Int
  ) async throws
    -> [CertificateRequestRecord]
  {
    var builder = CertificateRequestRecord.query(on: database)
    if !query.isEmpty {
      let collation = database.byteOrderCollation
      let spellings = Set(SearchTerms.spellings(query) + [query.lowercased()]).sorted()
      let ranges = spellings.map { text -> SQLQueryString in
        "(term\(unsafeRaw: collation) >= \(bind: text) AND term\(unsafeRaw: collation) < \(bind: text + "\u{10FFFF}"))"
      }.joined(separator: " OR ")
      // A narrow query names its requests (at most a few thousand, read
      // off the index); a broad one ("example.edu") is checked request by
      // request in the order shown, so that the first page is found
      // without sorting every match.
      let sample = try await database.sql.raw(
        "SELECT request_id FROM \(ident: SearchTerms.table) WHERE \(ranges) LIMIT \(literal: narrow + 1)"
      ).all().map { try $0.decode(column: "request_id", as: UUID.self) }
      let matches: SQLQueryString?
      if sample.count <= narrow {
        let ids = Array(Set(sample))
        matches = ids.isEmpty ? nil : "id IN (\(binds: ids))"
      } else {
        // PostgreSQL would otherwise turn the EXISTS into a join over every
        // match; OFFSET 0 keeps it a check per row.
        let keep = try database.sql.dialect.name == "postgresql" ? " OFFSET 0" : ""
        matches =
          "EXISTS (SELECT 1 FROM \(ident: SearchTerms.table) t WHERE t.request_id = certificate_requests.id AND (\(ranges))\(unsafeRaw: keep))"
      }
      // "Hartmann" reads as a request number too: both are looked for.
      let number = RequestNumber.normalize(query)
      switch (number, matches) {
      case (nil, nil): return []
      case (let number?, nil): builder = builder.filter(\.$number == number)
      case (nil, let matches?): builder = builder.filter(.sql(embed: matches))
      case (let number?, let matches?):
        builder = builder.group(.or) { group in
          group.filter(\.$number == number)
          group.filter(.sql(embed: matches))
        }
      }
    }
    if let state {
      builder = builder.filter(\.$state == state)
    } else if query.isEmpty {
      builder = builder.filter(\.$state ~~ [.submitted, .verified, .approved])
    }
    return try await builder.sort(\.$createdAt, .ascending).range(offset..<(offset + limit)).all()
  }

}
