import Crypto
import Foundation
import SwiftASN1
public import X509

/// Everything a certificate will say, before it is signed. Built from the
/// validated subject and the issuer policy; the subscriber contributes only
/// its public key.
struct CertificateTemplate {
  var serialNumber: Certificate.SerialNumber
  /// The subject's key; setting it sets ``subjectPublicKeyInfo``.
  var publicKey: Certificate.PublicKey {
    didSet { subjectPublicKeyInfo = publicKey.subjectPublicKeyInfoDER }
  }
  /// The DER encoding of ``publicKey``, made once (an EC key's encoding
  /// costs a field inversion).
  private(set) var subjectPublicKeyInfo: [UInt8]
  var notBefore: Date
  var notAfter: Date
  /// The issuer's name; setting it drops ``issuerDER``.
  var issuer: DistinguishedName {
    didSet { issuerDER = nil }
  }
  /// The DER encoding of ``issuer`` as the X509 package makes it, when the
  /// caller has it (the CA encodes its own name once, not per certificate).
  private(set) var issuerDER: [UInt8]?
  var subject: DistinguishedName
  var signatureAlgorithm: Certificate.SignatureAlgorithm
  var extensions: Certificate.Extensions

  /// A template. `subjectPublicKeyInfo`, when given, must be the DER of
  /// `publicKey` as the X509 package encodes it (a ``CheckedRequest`` holds
  /// it so).
  init(
    serialNumber: Certificate.SerialNumber, publicKey: Certificate.PublicKey,
    subjectPublicKeyInfo: [UInt8]? = nil, notBefore: Date, notAfter: Date,
    issuer: DistinguishedName, issuerDER: [UInt8]? = nil, subject: DistinguishedName,
    signatureAlgorithm: Certificate.SignatureAlgorithm, extensions: Certificate.Extensions
  ) {
    self.serialNumber = serialNumber
    self.publicKey = publicKey
    self.subjectPublicKeyInfo = subjectPublicKeyInfo ?? publicKey.subjectPublicKeyInfoDER
    self.notBefore = notBefore
    self.notAfter = notAfter
    self.issuer = issuer
    self.issuerDER = issuerDER
    self.subject = subject
    self.signatureAlgorithm = signatureAlgorithm
    self.extensions = extensions
  }

  /// The DER TBSCertificate (RFC 5280 §4.1) and the signatureAlgorithm
  /// AlgorithmIdentifier that goes with it — the bytes the CA key will
  /// sign, encoded as the X509 package encodes them (a test holds the two
  /// byte for byte equal), without the package's signing round trip.
  ///
  /// - Throws: when the signature algorithm is not one a CA of ours signs
  ///   with, or a field cannot be encoded.
  func toBeSigned() throws -> (tbs: [UInt8], algorithm: [UInt8]) {
    guard
      let algorithm = CAKeyType.allCases.first(where: {
        $0.signatureAlgorithm == signatureAlgorithm
      })?.algorithmIdentifierDER
    else {
      throw CAError(.lintFailed, "No CA of ours signs with \(signatureAlgorithm).")
    }
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(2, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)  // v3
      try coder.serialize(serialNumber.bytes)
      coder.serializeRawBytes(algorithm)
      if let issuerDER {
        coder.serializeRawBytes(issuerDER)
      } else {
        try coder.serializeName(issuer)
      }
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try DERTime.serializeTime(notBefore, into: &coder)
        try DERTime.serializeTime(notAfter, into: &coder)
      }
      try coder.serializeName(subject)
      coder.serializeRawBytes(subjectPublicKeyInfo)
      if !extensions.isEmpty {
        try coder.serialize(explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific) {
          coder in
          try coder.serializeSequenceOf(extensions)
        }
      }
    }
    return (coder.serializedBytes, algorithm)
  }

  /// The certificate the lints read: the to-be-signed bytes under a
  /// placeholder signature that parses as one of the algorithm's kind (an
  /// ECDSA-Sig-Value of r = s = 1, or one RSA byte). No rule reads the
  /// signature value, and nobody can trust the copy: it verifies under no key.
  static func lintCopy(tbs: [UInt8], algorithm: [UInt8]) throws -> [UInt8] {
    let isECDSA = algorithm != CAKeyType.rsa4096.algorithmIdentifierDER
    let placeholder: [UInt8] = isECDSA ? [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01] : [0x00]
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      coder.serializeRawBytes(tbs)
      coder.serializeRawBytes(algorithm)
      try coder.serialize(ASN1BitString(bytes: placeholder[...]))
    }
    return coder.serializedBytes
  }

  /// Signs the template with the given key (in the ceremony, a CA key) and
  /// returns the certificate's DER.
  func signed(by key: Certificate.PrivateKey) throws -> [UInt8] {
    let certificate = try Certificate(
      version: .v3,
      serialNumber: serialNumber,
      publicKey: publicKey,
      notValidBefore: notBefore,
      notValidAfter: notAfter,
      issuer: issuer,
      subject: subject,
      signatureAlgorithm: signatureAlgorithm,
      extensions: extensions,
      issuerPrivateKey: key
    )
    var coder = DER.Serializer()
    try coder.serialize(certificate)
    return coder.serializedBytes
  }
}

/// Random serial numbers: 16 bytes from the system's CSPRNG, the top bit
/// cleared (positive) and the next one set (always 16 octets in DER), which
/// leaves 126 random bits — the S/MIME BR ask for at least 64 (§7.1).
public enum SerialNumberGenerator {
  /// A new serial number.
  public static func next() -> Certificate.SerialNumber {
    // Two 64-bit draws: the system generator makes one getrandom call per
    // draw, not per byte.
    var generator = SystemRandomNumberGenerator()
    var bytes: [UInt8] = []
    bytes.reserveCapacity(16)
    for _ in 0..<2 {
      let word: UInt64 = generator.next()
      withUnsafeBytes(of: word.bigEndian) { bytes.append(contentsOf: $0) }
    }
    bytes[0] = (bytes[0] & 0x3F) | 0x40
    return Certificate.SerialNumber(bytes: bytes)
  }
}

extension Certificate.SerialNumber {
  /// Lowercase hex, as stored and shown.
  public var hex: String { bytes.hexString }
}

extension UInt8 {
  /// The value of this ASCII hex digit (either case); nil for any other byte.
  public var hexDigitValue: UInt8? {
    switch self {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return self - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return self - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return self - UInt8(ascii: "A") + 10
    default: return nil
    }
  }
}

extension Array where Element == UInt8 {
  /// The bytes of hex text (either case, no separators); nil for an odd
  /// length or a character that is not a hex digit.
  public init?(hexString: some StringProtocol) {
    let digits = Array(hexString.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    for index in stride(from: 0, to: digits.count, by: 2) {
      guard let high = digits[index].hexDigitValue, let low = digits[index + 1].hexDigitValue
      else {
        return nil
      }
      bytes.append(high << 4 | low)
    }
    self = bytes
  }
}

extension Sequence where Element == UInt8 {
  /// Lowercase hex without separators.
  /// Written straight into the string's storage (serials and
  /// fingerprints are written several times per certificate issued).
  public var hexString: String {
    let bytes = Array(self)
    return String(unsafeUninitializedCapacity: bytes.count * 2) { ascii in
      var index = 0
      for byte in bytes {
        ascii[index] = hexDigit(byte >> 4)
        ascii[index + 1] = hexDigit(byte & 0x0F)
        index += 2
      }
      return index
    }
  }
}

/// The lowercase hex digit of a nibble.
@inline(__always)
private func hexDigit(_ nibble: UInt8) -> UInt8 {
  nibble < 10 ? 0x30 + nibble : 0x57 + nibble
}

extension Certificate.PublicKey {
  /// The key identifier of RFC 5280 §4.2.1.2 method (1): SHA-1 over the
  /// subjectPublicKey BIT STRING's value, as OpenSSL computes it.
  public var keyIdentifier: [UInt8] {
    Array(Insecure.SHA1.hash(data: subjectPublicKeyInfoBytes))
  }

  /// The key identifier of method (1) from a DER SubjectPublicKeyInfo,
  /// without decoding the key (which for an EC key costs a field inversion
  /// to encode again).
  public static func keyIdentifier(subjectPublicKeyInfo der: [UInt8]) throws -> [UInt8] {
    let key = try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
      _ = nodes.next()  // algorithm
      guard let bits = nodes.next() else {
        throw ASN1Error.invalidASN1Object(reason: "SubjectPublicKeyInfo without a key")
      }
      return try ASN1BitString(derEncoded: bits)
    }
    return Array(Insecure.SHA1.hash(data: key.bytes))
  }

  /// The DER SubjectPublicKeyInfo.
  public var subjectPublicKeyInfoDER: [UInt8] {
    var coder = DER.Serializer()
    try! coder.serialize(self)
    return coder.serializedBytes
  }

  /// SHA-256 over a DER SubjectPublicKeyInfo: the key's identity across
  /// requests and certificates.
  public static func fingerprint(subjectPublicKeyInfo der: [UInt8]) -> [UInt8] {
    Array(SHA256.hash(data: der))
  }
}

extension Certificate {
  /// The certificate's DER encoding.
  public var derBytes: [UInt8] {
    var coder = DER.Serializer()
    try! coder.serialize(self)
    return coder.serializedBytes
  }

  /// The certificate in PEM.
  public var pemString: String {
    PEMDocument(type: "CERTIFICATE", derBytes: derBytes).pemString
  }

  /// SHA-256 over the DER, lowercase hex.
  public var sha256Fingerprint: String { Array(SHA256.hash(data: derBytes)).hexString }

  /// The subject key identifier extension's value, or the RFC 5280
  /// method (1) identifier when the extension is missing.
  public var subjectKeyIdentifierBytes: [UInt8] {
    if let ski = try? extensions.subjectKeyIdentifier { return Array(ski.keyIdentifier) }
    return publicKey.keyIdentifier
  }
}

extension DER.Serializer {
  /// A name, byte for byte as the X509 package encodes it. The package
  /// sorts the members of every RDN's SET OF by their encodings; a set of
  /// one is in order already, so such an RDN (all of ours) is written
  /// directly.
  mutating func serializeName(_ name: DistinguishedName) throws {
    try appendConstructedNode(identifier: .sequence) { coder in
      for rdn in name {
        if rdn.count == 1, let attribute = rdn.first {
          try coder.appendConstructedNode(identifier: .set) { try $0.serialize(attribute) }
        } else {
          try coder.serialize(rdn)
        }
      }
    }
  }
}
