/// Whether requests escrow their encryption key (`MAILSEAL_ESCROW`).
///
/// With escrow, the browser makes two key pairs: a signing key that is
/// never escrowed (S/MIME BR §6.1.2 and non-repudiation) and an encryption
/// key that it seals, before anything leaves it, for every installed
/// recovery certificate. The CA issues a signing-only and an
/// encryption-only certificate from one identity check.
public enum EscrowPolicy: String, Sendable, CaseIterable {
  /// No escrow: one dual-use key (the default).
  case off
  /// The requester chooses: one dual-use key without escrow, or the pair
  /// with escrow; the choice and the consent are recorded.
  case optional
  /// Every request escrows its encryption key.
  case required

  /// Whether requests may escrow at all.
  public var isOn: Bool { self != .off }
}
