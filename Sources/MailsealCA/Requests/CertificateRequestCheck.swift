import Crypto
import Foundation
import SwiftASN1
public import X509

/// The kind of key a subscriber asked to have certified.
public enum SubscriberKeyType: Hashable, Sendable, CustomStringConvertible {
  case rsa(bits: Int)
  case ecP256
  case ecP384
  case ecP521

  /// Whether the key is an elliptic-curve key (key agreement for
  /// encryption) rather than RSA (key transport).
  public var isEllipticCurve: Bool {
    if case .rsa = self { return false }
    return true
  }

  public var description: String {
    switch self {
    case .rsa(let bits): return "RSA \(bits)"
    case .ecP256: return "ECDSA P-256"
    case .ecP384: return "ECDSA P-384"
    case .ecP521: return "ECDSA P-521"
    }
  }
}

/// A certificate signing request that passed every check: well formed,
/// within its size limit, signed by the key it carries (proof of
/// possession), and with a key the S/MIME Baseline Requirements allow.
///
/// Only the public key is used for issuance. The requested subject,
/// attributes and extensions are ignored: the certificate is built from the
/// validated subject alone.
public struct CheckedRequest: Hashable, Sendable {
  /// The subscriber's public key.
  public let publicKey: Certificate.PublicKey
  /// The kind and size of the key.
  public let keyType: SubscriberKeyType
  /// SHA-256 over the DER SubjectPublicKeyInfo: the key's identity for the
  /// "already certified" and "compromised" checks.
  public let keyFingerprint: [UInt8]
  /// The public key's DER SubjectPublicKeyInfo as the X509 package encodes
  /// it (what the certificate will carry), made once.
  public let subjectPublicKeyInfo: [UInt8]
  /// The request as received, DER.
  public let der: [UInt8]
}

/// The checks a certificate signing request must pass before anything is
/// built from it.
public enum CertificateRequestCheck {
  /// The largest request accepted, in bytes of PEM or DER. An RSA-8192
  /// request in PEM is about 3 KiB; 16 KiB leaves room for attributes.
  public static let maximumSize = 16 * 1024
  /// The largest RSA modulus accepted; larger keys cost a verifier much for
  /// no security a mail client uses.
  public static let maximumRSABits = 8192
  /// The smallest RSA modulus allowed (S/MIME BR §6.1.5).
  public static let minimumRSABits = 2048

  static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 1, 1]
  static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
  static let curveP256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 3, 1, 7]
  static let curveP384: ASN1ObjectIdentifier = [1, 3, 132, 0, 34]
  static let curveP521: ASN1ObjectIdentifier = [1, 3, 132, 0, 35]

  /// Checks a request given as PEM text or DER bytes.
  public static func check(_ input: some Collection<UInt8>) throws(CAError) -> CheckedRequest {
    guard input.count <= maximumSize else {
      throw CAError(
        .csrTooLarge,
        "The certificate request is \(input.count) bytes; at most \(maximumSize) are accepted.")
    }
    let der = try decodeEnvelope(Array(input))
    let root: ASN1Node
    do {
      root = try DER.parse(der)
    } catch {
      throw CAError(
        .csrMalformed,
        "The certificate request could not be read: it is not a valid PKCS#10 structure.")
    }
    let keyType = try classifyKey(root)
    let csr: CertificateSigningRequest
    do {
      csr = try CertificateSigningRequest(derEncoded: root)
    } catch {
      throw CAError(
        .csrMalformed,
        "The certificate request could not be read: it is not a valid PKCS#10 structure.")
    }
    switch csr.signatureAlgorithm {
    case .sha256WithRSAEncryption, .sha384WithRSAEncryption, .sha512WithRSAEncryption,
      .ecdsaWithSHA256, .ecdsaWithSHA384, .ecdsaWithSHA512:
      break
    default:
      throw CAError(
        .csrBadSignature,
        "The certificate request is signed with \(csr.signatureAlgorithm), which is not accepted; use SHA-256 or stronger."
      )
    }
    // The same bytes verified before in this process (at submission) need
    // not be verified again (at issuance): see ``VerifiedSignatures``.
    let digest = SHA256.hash(data: der)
    if !VerifiedSignatures.shared.contains(digest) {
      guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
        throw CAError(
          .csrBadSignature,
          "The signature on the certificate request does not verify with its public key, so it does not prove possession of the private key."
        )
      }
      VerifiedSignatures.shared.insert(digest)
    }
    let spki = csr.publicKey.subjectPublicKeyInfoDER
    return CheckedRequest(
      publicKey: csr.publicKey,
      keyType: keyType,
      keyFingerprint: Certificate.PublicKey.fingerprint(subjectPublicKeyInfo: spki),
      subjectPublicKeyInfo: spki,
      der: der
    )
  }

  /// Checks a request given as a string (PEM).
  public static func check(pem: String) throws(CAError) -> CheckedRequest {
    try check(Array(pem.utf8))
  }

  /// PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`) or raw DER.
  static func decodeEnvelope(_ bytes: [UInt8]) throws(CAError) -> [UInt8] {
    var body = bytes[...]
    if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }  // a byte-order mark
    // DER starts with the SEQUENCE tag 0x30; anything else is read as PEM.
    guard body.first != 0x30 else { return Array(body) }
    guard let text = String(validating: body, as: UTF8.self) else {
      throw CAError(.csrMalformed, "The certificate request is neither PEM text nor DER.")
    }
    let document: (label: String, der: [UInt8])
    do {
      document = try LenientPEM.decode(text)
    } catch {
      throw CAError(
        .csrMalformed, "The certificate request is not valid PEM (one BEGIN/END block of base64).")
    }
    guard document.label == "CERTIFICATE REQUEST" || document.label == "NEW CERTIFICATE REQUEST"
    else {
      throw CAError(
        .csrMalformed,
        "The PEM block is a “\(document.label.prefix(40))”, not a “CERTIFICATE REQUEST”."
      )
    }
    return document.der
  }

  /// Reads the SubjectPublicKeyInfo straight from the DER, before the X509
  /// package sees it, so that each refused key gets its own reason (the
  /// package rejects small RSA keys with a generic error).
  static func classifyKey(_ root: ASN1Node) throws(CAError) -> SubscriberKeyType {
    let malformed = CAError(
      .csrMalformed,
      "The certificate request could not be read: it is not a valid PKCS#10 structure.")
    let spki: ASN1Node
    do {
      spki = try DER.sequence(root, identifier: .sequence) { nodes in
        guard let info = nodes.next() else { throw malformed }
        while nodes.next() != nil {}
        return try DER.sequence(info, identifier: .sequence) { infoNodes in
          _ = infoNodes.next()  // version
          _ = infoNodes.next()  // subject
          guard let spki = infoNodes.next() else { throw malformed }
          while infoNodes.next() != nil {}
          return spki
        }
      }
    } catch {
      throw malformed
    }
    return try classify(spki: spki)
  }

  /// Classifies a DER SubjectPublicKeyInfo, refusing keys the S/MIME BR
  /// do not allow.
  public static func classify(subjectPublicKeyInfo der: [UInt8]) throws(CAError)
    -> SubscriberKeyType
  {
    let node: ASN1Node
    do {
      node = try DER.parse(der)
    } catch {
      throw CAError(.csrMalformed, "The public key could not be read.")
    }
    return try classify(spki: node)
  }

  static func classify(spki: ASN1Node) throws(CAError) -> SubscriberKeyType {
    let malformed = CAError(
      .csrMalformed, "The public key in the certificate request could not be read.")
    let algorithm: ASN1ObjectIdentifier
    let parameters: ASN1Node?
    let keyBits: ASN1BitString
    do {
      (algorithm, parameters, keyBits) = try DER.sequence(spki, identifier: .sequence) { nodes in
        guard let algorithmNode = nodes.next(), let bitsNode = nodes.next() else { throw malformed }
        let (oid, params) = try DER.sequence(algorithmNode, identifier: .sequence) { algNodes in
          let oid = try ASN1ObjectIdentifier(derEncoded: &algNodes)
          let params = algNodes.next()
          return (oid, params)
        }
        return (oid, params, try ASN1BitString(derEncoded: bitsNode))
      }
    } catch {
      throw malformed
    }
    switch algorithm {
    case rsaEncryption:
      return try checkRSA(keyBits)
    case ecPublicKey:
      let curve: ASN1ObjectIdentifier?
      if let parameters {
        curve = try? ASN1ObjectIdentifier(derEncoded: parameters)
      } else {
        curve = nil
      }
      switch curve {
      case curveP256: return .ecP256
      case curveP384: return .ecP384
      case curveP521: return .ecP521
      default:
        throw CAError(
          .csrCurveNotAllowed,
          "The key uses an elliptic curve that is not allowed; use P-256, P-384 or P-521."
        )
      }
    default:
      throw CAError(
        .csrKeyNotAllowed,
        "The key type (\(algorithm)) is not allowed for S/MIME certificates; use RSA (2048 bits or more) or ECDSA P-256, P-384 or P-521."
      )
    }
  }

  static func checkRSA(_ bits: ASN1BitString) throws(CAError) -> SubscriberKeyType {
    let malformed = CAError(
      .csrMalformed, "The RSA public key in the certificate request could not be read.")
    let modulus: ArraySlice<UInt8>
    let exponent: ArraySlice<UInt8>
    do {
      guard bits.paddingBits == 0 else { throw malformed }
      let root = try DER.parse(bits.bytes)
      (modulus, exponent) = try DER.sequence(root, identifier: .sequence) { nodes in
        guard let n = nodes.next(), let e = nodes.next(), nodes.next() == nil else {
          throw malformed
        }
        return (try unsignedInteger(n), try unsignedInteger(e))
      }
    } catch {
      throw malformed
    }
    let modulusBits = bitLength(modulus)
    guard modulusBits >= minimumRSABits else {
      throw CAError(
        .csrRSAKeyTooSmall,
        "The RSA key has \(modulusBits) bits; at least \(minimumRSABits) are required.")
    }
    guard modulusBits <= maximumRSABits else {
      throw CAError(
        .csrKeyNotAllowed,
        "The RSA key has \(modulusBits) bits; at most \(maximumRSABits) are accepted.")
    }
    guard modulusBits % 8 == 0 else {
      throw CAError(
        .csrRSAModulusNotByteAligned,
        "The RSA modulus has \(modulusBits) bits, which is not a multiple of 8 (S/MIME BR §6.1.5)."
      )
    }
    // S/MIME BR §6.1.6: the modulus SHOULD be odd with no factor smaller
    // than 752. A key n = 3·p·q still signs its request correctly, so proof
    // of possession does not catch it.
    if let factor = smallPrimes.first(where: { remainder(of: modulus, dividedBy: $0) == 0 }) {
      throw CAError(
        .csrWeakKey,
        "The RSA modulus is divisible by \(factor), so the key is weak (S/MIME BR §6.1.6); make a new key."
      )
    }
    // S/MIME BR §6.1.6: odd, greater than 3, and per NIST SP 800-89
    // within 2^16+1 … 2^256−1.
    let exponentBits = bitLength(exponent)
    let isOdd = (exponent.last ?? 0) & 1 == 1
    // Every 17-bit number is at least 2^16, and 2^16 itself is even, so
    // "odd with 17 to 256 bits" is exactly 2^16+1 … 2^256−1.
    guard isOdd, exponentBits >= 17, exponentBits <= 256 else {
      throw CAError(
        .csrRSAExponentNotAllowed,
        "The RSA public exponent must be odd and between 65537 and 2^256−1 (S/MIME BR §6.1.6)."
      )
    }
    return .rsa(bits: modulusBits)
  }

  /// The primes below 752.
  static let smallPrimes: [UInt32] = {
    var sieve = [Bool](repeating: true, count: 752)
    sieve[0] = false
    sieve[1] = false
    for number in 2..<752 where sieve[number] {
      for multiple in stride(from: number * number, to: 752, by: number) { sieve[multiple] = false }
    }
    return (2..<752).filter { sieve[$0] }.map(UInt32.init)
  }()

  /// A big-endian magnitude modulo a small number.
  static func remainder(of magnitude: ArraySlice<UInt8>, dividedBy divisor: UInt32) -> UInt32 {
    var remainder: UInt32 = 0
    for byte in magnitude { remainder = (remainder << 8 | UInt32(byte)) % divisor }
    return remainder
  }

  /// The content of a non-negative INTEGER without leading zero bytes.
  static func unsignedInteger(_ node: ASN1Node) throws -> ArraySlice<UInt8> {
    guard node.identifier == .integer, case .primitive(let bytes) = node.content,
      let first = bytes.first
    else {
      throw ASN1Error.invalidASN1Object(reason: "expected an INTEGER")
    }
    guard first & 0x80 == 0 else { throw ASN1Error.invalidASN1Object(reason: "negative INTEGER") }
    return bytes.drop { $0 == 0 }
  }

  static func bitLength(_ magnitude: ArraySlice<UInt8>) -> Int {
    guard let first = magnitude.first else { return 0 }
    return (magnitude.count - 1) * 8 + (8 - first.leadingZeroBitCount)
  }
}
