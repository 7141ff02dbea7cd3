import FluentKit
import Foundation
import MailsealCA
import SQLKit

extension RegistrationAuthority {
  /// The requests staff look for: by number (exact), address or name
  /// (prefix, case-insensitive), or the open ones (submitted, verified,
  /// approved) oldest first.
  public func searchRequests(
    query: String, state: CertificateRequestRecord.State?, offset: Int, limit: Int
  ) async throws
    -> [CertificateRequestRecord]
  {
    var builder = CertificateRequestRecord.query(on: database)
    if let number = RequestNumber.normalize(query) {
      builder = builder.filter(\.$number == number)
    } else if !query.isEmpty {
      let lowered = query.lowercased()
      let pattern =
        lowered.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: "_", with: "")
        + "%"
      builder = builder.group(.or) { group in
        group.filter(\.$mailbox, .custom("LIKE"), pattern)
        group.filter(
          \.$surname, .custom("LIKE"), query.replacingOccurrences(of: "%", with: "") + "%")
        group.filter(
          \.$givenName, .custom("LIKE"), query.replacingOccurrences(of: "%", with: "") + "%")
        group.filter(
          \.$pseudonym, .custom("LIKE"), query.replacingOccurrences(of: "%", with: "") + "%")
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
