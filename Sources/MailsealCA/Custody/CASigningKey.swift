import Crypto
import Foundation
import SwiftASN1
public import X509
import _CryptoExtras

/// The key types a CA key can have.
///
/// RSA CA keys are 4096 bits: the S/MIME BR require it of RSA CA keys made
/// from 15 September 2026 on (§6.1.5).
public enum CAKeyType: String, Hashable, Sendable, CaseIterable, Codable, CustomStringConvertible {
  case p256
  case p384
  case p521
  case rsa4096

  /// The signature algorithm this key signs certificates, CRLs and OCSP
  /// responses with (S/MIME BR §7.1.3.2).
  public var signatureAlgorithm: Certificate.SignatureAlgorithm {
    switch self {
    case .p256: return .ecdsaWithSHA256
    case .p384: return .ecdsaWithSHA384
    case .p521: return .ecdsaWithSHA512
    case .rsa4096: return .sha256WithRSAEncryption
    }
  }

  public var description: String {
    switch self {
    case .p256: return "ECDSA P-256"
    case .p384: return "ECDSA P-384"
    case .p521: return "ECDSA P-521"
    case .rsa4096: return "RSA 4096"
    }
  }
}

/// A CA private key held by some custody backend: it signs, and never
/// hands out its private part.
///
/// This is the one seam every signature of the authority goes through,
/// certificates, CRLs and OCSP responses alike. A PKCS#11 token is another
/// conforming type.
public protocol CASigningKey: Sendable {
  /// The key's public half.
  var publicKey: Certificate.PublicKey { get }
  /// The key type, which fixes the signature algorithm.
  var keyType: CAKeyType { get }
  /// Signs `message` (hashing it as ``CAKeyType/signatureAlgorithm``
  /// requires) and returns the signatureValue bytes as they go into the
  /// BIT STRING: a DER ECDSA-Sig-Value or a PKCS#1 v1.5 signature block.
  func sign(_ message: ArraySlice<UInt8>) throws -> [UInt8]
  /// Checks, without signing, that the key can sign now; throws
  /// ``CAError/Code/keyUnavailable`` when its custody is away.
  func ensureAvailable() throws(CAError)
  /// Whether signing runs in process memory only (no token to wait for),
  /// so that a caller may sign on a thread that must not block.
  var signsInProcess: Bool { get }
}

extension CASigningKey {
  /// A key in process memory is always there.
  public func ensureAvailable() throws(CAError) {}

  public var signsInProcess: Bool { true }

  /// The key as swift-certificates' private key type, for building
  /// certificates with the X509 package.
  public var certificatePrivateKey: Certificate.PrivateKey {
    Certificate.PrivateKey(CustodyPrivateKey(self))
  }
}

/// A key held in process memory, loaded from an encrypted file or made for
/// a test. The private key material stays inside this value.
public struct SoftwareSigningKey: CASigningKey {
  enum Backing: Sendable {
    case p256(P256.Signing.PrivateKey)
    case p384(P384.Signing.PrivateKey)
    case p521(P521.Signing.PrivateKey)
    case rsa(_RSA.Signing.PrivateKey)
  }

  let backing: Backing
  public let publicKey: Certificate.PublicKey
  public let keyType: CAKeyType

  /// Makes a fresh key of the given type.
  public static func generate(_ type: CAKeyType) throws -> SoftwareSigningKey {
    switch type {
    case .p256: return SoftwareSigningKey(.p256(P256.Signing.PrivateKey()))
    case .p384: return SoftwareSigningKey(.p384(P384.Signing.PrivateKey()))
    case .p521: return SoftwareSigningKey(.p521(P521.Signing.PrivateKey()))
    case .rsa4096: return SoftwareSigningKey(.rsa(try _RSA.Signing.PrivateKey(keySize: .bits4096)))
    }
  }

  init(_ backing: Backing) {
    self.backing = backing
    switch backing {
    case .p256(let key):
      publicKey = Certificate.PublicKey(key.publicKey)
      keyType = .p256
    case .p384(let key):
      publicKey = Certificate.PublicKey(key.publicKey)
      keyType = .p384
    case .p521(let key):
      publicKey = Certificate.PublicKey(key.publicKey)
      keyType = .p521
    case .rsa(let key):
      publicKey = Certificate.PublicKey(key.publicKey)
      keyType = .rsa4096
    }
  }

  /// Reads a DER PrivateKeyInfo (PKCS#8).
  public init(privateKeyInfo der: [UInt8]) throws(CAError) {
    let invalid = CAError(
      .caMaterialInvalid, "The private key is not a P-256, P-384, P-521 or RSA 4096 key in PKCS#8.")
    let algorithm: ASN1ObjectIdentifier
    let curve: ASN1ObjectIdentifier?
    do {
      (algorithm, curve) = try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
        _ = try Int(derEncoded: &nodes)
        guard let algorithmNode = nodes.next() else { throw invalid }
        while nodes.next() != nil {}
        return try DER.sequence(algorithmNode, identifier: .sequence) { nodes in
          let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
          let params = nodes.next().flatMap { try? ASN1ObjectIdentifier(derEncoded: $0) }
          return (oid, params)
        }
      }
    } catch {
      throw invalid
    }
    do {
      switch (algorithm, curve) {
      case (CertificateRequestCheck.ecPublicKey, CertificateRequestCheck.curveP256?):
        self.init(.p256(try P256.Signing.PrivateKey(derRepresentation: der)))
      case (CertificateRequestCheck.ecPublicKey, CertificateRequestCheck.curveP384?):
        self.init(.p384(try P384.Signing.PrivateKey(derRepresentation: der)))
      case (CertificateRequestCheck.ecPublicKey, CertificateRequestCheck.curveP521?):
        self.init(.p521(try P521.Signing.PrivateKey(derRepresentation: der)))
      case (CertificateRequestCheck.rsaEncryption, _):
        let key = try _RSA.Signing.PrivateKey(derRepresentation: der)
        guard key.keySizeInBits == 4096 else {
          throw CAError(
            .caMaterialInvalid,
            "The RSA CA key has \(key.keySizeInBits) bits; CA keys must have 4096 (S/MIME BR §6.1.5)."
          )
        }
        self.init(.rsa(key))
      default:
        throw invalid
      }
    } catch let error as CAError {
      throw error
    } catch {
      throw invalid
    }
  }

  /// The DER PrivateKeyInfo (PKCS#8), for writing the key, encrypted, to
  /// its custody file.
  var privateKeyInfo: Data {
    switch backing {
    case .p256(let key): return key.derRepresentation
    case .p384(let key): return key.derRepresentation
    case .p521(let key): return key.derRepresentation
    case .rsa(let key): return key.pkcs8DERRepresentation
    }
  }

  public func sign(_ message: ArraySlice<UInt8>) throws -> [UInt8] {
    switch backing {
    case .p256(let key):
      return Array(try key.signature(for: SHA256.hash(data: message)).derRepresentation)
    case .p384(let key):
      return Array(try key.signature(for: SHA384.hash(data: message)).derRepresentation)
    case .p521(let key):
      return Array(try key.signature(for: SHA512.hash(data: message)).derRepresentation)
    case .rsa(let key):
      return Array(
        try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
          .rawRepresentation)
    }
  }
}

/// Adapts a ``CASigningKey`` to swift-certificates' ``CustomPrivateKey`` so
/// that the X509 package can sign with a key it cannot see.
struct CustodyPrivateKey: CustomPrivateKey {
  let key: any CASigningKey
  let identity: [UInt8]

  init(_ key: any CASigningKey) {
    self.key = key
    self.identity = Array(key.publicKey.subjectPublicKeyInfoBytes)
  }

  var publicKey: Certificate.PublicKey { key.publicKey }
  var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { key.keyType.signatureAlgorithm }
  var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] {
    [key.keyType.signatureAlgorithm]
  }

  func signSynchronously(
    bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm
  ) throws -> Certificate.Signature {
    guard signatureAlgorithm == key.keyType.signatureAlgorithm else {
      throw CAError(
        .keyCustody,
        "The CA key signs with \(key.keyType.signatureAlgorithm), not \(signatureAlgorithm).")
    }
    let value = try key.sign(ArraySlice(bytes))
    return try Certificate.Signature(
      signatureAlgorithm: signatureAlgorithm, signatureBytes: ASN1BitString(bytes: value[...]))
  }

  static func == (lhs: CustodyPrivateKey, rhs: CustodyPrivateKey) -> Bool {
    lhs.identity == rhs.identity
  }
  func hash(into hasher: inout Hasher) { hasher.combine(identity) }

  static var defaultPEMDiscriminator: String { "PRIVATE KEY" }

  /// A key in custody has no serialisation: its private half never leaves.
  func serialize(into coder: inout DER.Serializer) throws {
    throw CAError(.keyCustody, "A CA key held in custody cannot be exported.")
  }
}
