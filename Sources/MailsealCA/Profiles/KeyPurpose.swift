public import X509

/// What a certificate's key is for (S/MIME BR §7.1.2.3 e, strict): one key
/// for both signing and encryption, or — with key escrow — a signing key
/// that is never escrowed beside an encryption key that is.
public enum KeyPurpose: String, Hashable, Sendable, CaseIterable, Codable {
  /// Signing and encryption with one key (the default).
  case dualUse = "dual-use"
  /// Signing only: `digitalSignature`. Never escrowed (non-repudiation).
  case signing
  /// Encryption only: `keyEncipherment` for RSA, `keyAgreement` for EC.
  case encryption

  /// The keyUsage a certificate for this purpose and key type carries.
  public func keyUsage(for keyType: SubscriberKeyType) -> KeyUsage {
    switch (self, keyType.isEllipticCurve) {
    case (.dualUse, true): return KeyUsage(digitalSignature: true, keyAgreement: true)
    case (.dualUse, false): return KeyUsage(digitalSignature: true, keyEncipherment: true)
    case (.signing, _): return KeyUsage(digitalSignature: true)
    case (.encryption, true): return KeyUsage(keyAgreement: true)
    case (.encryption, false): return KeyUsage(keyEncipherment: true)
    }
  }
}
