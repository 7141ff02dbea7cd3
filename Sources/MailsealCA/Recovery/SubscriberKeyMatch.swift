import Crypto
public import X509
import _CryptoExtras

/// A subscriber's private key checked against their certificate: what
/// ``KeyEnvelope/open(with:)`` gave back is used only when its public key is
/// the certificate's.
public enum SubscriberKeyMatch {
  /// Whether the PKCS#8 key (RSA, or EC on P-256, P-384, P-521) is the
  /// private half of the certificate's public key.
  public static func matches(privateKeyInfo: [UInt8], certificate: Certificate) -> Bool {
    let publicKey: Certificate.PublicKey
    if let key = try? P256.Signing.PrivateKey(derRepresentation: privateKeyInfo) {
      publicKey = Certificate.PublicKey(key.publicKey)
    } else if let key = try? P384.Signing.PrivateKey(derRepresentation: privateKeyInfo) {
      publicKey = Certificate.PublicKey(key.publicKey)
    } else if let key = try? P521.Signing.PrivateKey(derRepresentation: privateKeyInfo) {
      publicKey = Certificate.PublicKey(key.publicKey)
    } else if let key = try? _RSA.Signing.PrivateKey(derRepresentation: privateKeyInfo) {
      publicKey = Certificate.PublicKey(key.publicKey)
    } else {
      return false
    }
    return publicKey == certificate.publicKey
  }
}
