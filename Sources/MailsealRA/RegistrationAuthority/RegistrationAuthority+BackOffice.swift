import Foundation
import MailsealCA
public import MailsealModel
import MailsealStore

extension Desk {
  /// The requests staff look for: by number (exact), by any word of a
  /// name or of the address (``SearchTerms``: a prefix of a word, without
  /// case or accents, "mueller" and "muller" for "Müller"), or the open ones
  /// (submitted, verified, approved) oldest first. Every prefix is a range
  /// on the terms' index, so a search costs about the same with a hundred
  /// requests or a million.
  /// Terms a search reads off the index before it counts as broad.
  static let narrowSearch = 2_000

  public func searchRequests(
    query: String, state: CertificateRequest.State?, offset: Int, limit: Int
  ) async throws -> [CertificateRequest] {
    try await searchRequests(
      query: query, state: state, offset: offset, limit: limit, narrow: Self.narrowSearch)
  }

  /// `narrow`: how many terms a narrow query may match (tests make every
  /// query broad with 0).
  func searchRequests(
    query: String, state: CertificateRequest.State?, offset: Int, limit: Int, narrow: Int
  ) async throws
    -> [CertificateRequest]
  {
    // "Hartmann" reads as a request number too: both are looked for.
    let spellings =
      query.isEmpty ? [] : Set(SearchTerms.spellings(query) + [query.lowercased()]).sorted()
    return try await store.requests.search(
      spellings: spellings, number: RequestNumber.normalize(query), state: state,
      offset: offset, limit: limit, narrow: narrow)
  }
}
