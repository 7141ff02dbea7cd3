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
  public func searchRequests(
    query: String, state: CertificateRequestRecord.State?, offset: Int, limit: Int
  ) async throws
    -> [CertificateRequestRecord]
  {
    var builder = CertificateRequestRecord.query(on: database)
    if !query.isEmpty {
      let collation = database.byteOrderCollation
      let spellings = Set(SearchTerms.spellings(query) + [query.lowercased()]).sorted()
      let ranges = spellings.map { text -> SQLQueryString in
        "(term\(unsafeRaw: collation) >= \(bind: text) AND term\(unsafeRaw: collation) < \(bind: text + "\u{10FFFF}"))"
      }
      let terms: SQLQueryString =
        "id IN (SELECT request_id FROM \(ident: SearchTerms.table) WHERE \(ranges.joined(separator: " OR ")))"
      // "Hartmann" reads as a request number too: both are looked for.
      let number = RequestNumber.normalize(query)
      builder = builder.group(.or) { group in
        if let number { group.filter(\.$number == number) }
        group.filter(.sql(embed: terms))
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
