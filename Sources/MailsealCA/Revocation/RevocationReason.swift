/// Why a certificate was revoked: RFC 5280 §5.3.1's CRLReason, as far as
/// the S/MIME Baseline Requirements allow (§7.2.2: never certificateHold or
/// removeFromCRL; §4.9.1.1 names who may give which reason).
public enum RevocationReason: Int, Sendable, Hashable, CaseIterable, Codable {
  case unspecified = 0
  case keyCompromise = 1
  case cACompromise = 2
  case affiliationChanged = 3
  case superseded = 4
  case cessationOfOperation = 5
  case privilegeWithdrawn = 9

  /// The reasons a subscriber may choose (S/MIME BR §4.9.1.1, the issue's
  /// list): the others are the CA's.
  public static let subscriberChoices: [RevocationReason] = [
    .keyCompromise, .superseded, .affiliationChanged, .cessationOfOperation, .unspecified,
  ]

  /// The RFC 5280 name, which is also what is stored and typed on the
  /// command line: `keyCompromise`, `superseded`, …
  public var name: String {
    switch self {
    case .unspecified: return "unspecified"
    case .keyCompromise: return "keyCompromise"
    case .cACompromise: return "cACompromise"
    case .affiliationChanged: return "affiliationChanged"
    case .superseded: return "superseded"
    case .cessationOfOperation: return "cessationOfOperation"
    case .privilegeWithdrawn: return "privilegeWithdrawn"
    }
  }

  /// The reason of an RFC 5280 name (case-insensitive, `-` and `_` ignored).
  public init?(name: String) {
    let key = name.lowercased().filter { $0 != "-" && $0 != "_" }
    guard let reason = Self.allCases.first(where: { $0.name.lowercased() == key }) else {
      return nil
    }
    self = reason
  }
}
