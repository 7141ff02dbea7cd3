import FluentKit
import Foundation
import MailsealCA
public import MailsealStore
import SQLKit

extension RegistrationAuthority {
  /// The requests staff look for: by number (exact), address or name
  /// (prefix, without case or accents: ``CertificateRequestRecord/searchKey(_:)``),
  /// or the open ones (submitted, verified, approved) oldest first. Every
  /// prefix is a range on an index, so a search costs the same with a
  /// hundred requests or a million.
  public func searchRequests(
    query: String, state: CertificateRequestRecord.State?, offset: Int, limit: Int
  ) async throws
    -> [CertificateRequestRecord]
  {
    var builder = CertificateRequestRecord.query(on: database)
    if !query.isEmpty {
      let collation = database.byteOrderCollation
      func prefix(_ column: String, _ text: String) -> SQLQueryString {
        "(\(ident: column)\(unsafeRaw: collation) >= \(bind: text) AND \(ident: column)\(unsafeRaw: collation) < \(bind: text + "\u{10FFFF}"))"
      }
      let address = query.lowercased()
      let name = CertificateRequestRecord.searchKey(query)
      // "Hartmann" reads as a request number too: both are looked for.
      let number = RequestNumber.normalize(query)
      builder = builder.group(.or) { group in
        if let number { group.filter(\.$number == number) }
        group.filter(.sql(embed: prefix("mailbox", address)))
        group.filter(.sql(embed: prefix("search_name", name)))
        group.filter(.sql(embed: prefix("search_surname", name)))
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
