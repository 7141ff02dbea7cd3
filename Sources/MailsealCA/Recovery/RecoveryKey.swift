import Crypto
public import Foundation
import SwiftASN1
public import X509
import _CryptoExtras

/// A recovery certificate: the public half of an offline recovery key, to
/// which browsers encrypt the encryption keys they escrow. The portal holds
/// only this; the private key (or its shares) stays on the offline machine.
public struct RecoveryCertificate: Hashable, Sendable {
  /// The certificate.
  public let certificate: Certificate
  /// Its DER encoding, as installed.
  public let der: [UInt8]
  /// SHA-256 of ``der``: how people and the audit trail name it.
  public let fingerprint: [UInt8]
  /// SHA-256 of the certificate's SubjectPublicKeyInfo, as encoded in it
  /// (RFC 7093 §2, method 4): how an envelope names this recovery key —
  /// computed from the key, never read from an extension, so a
  /// certificate that copies another's issuer, serial number or key
  /// identifier extension cannot stand in for it.
  public let keyIdentifier: [UInt8]
  /// The issuer's Name and the serial number, DER: how envelopes sealed
  /// before pinning name this certificate (issuerAndSerialNumber).
  let issuerDER: [UInt8]
  let serialNumber: [UInt8]

  /// Bytes of ``keyIdentifier``.
  public static let keyIdentifierLength = 32

  /// The fewest bits of a recovery key: it guards every escrowed key for
  /// as long as mail is kept (3072 bits is NIST's 128-bit level).
  public static let minimumRSABits = 3072
  /// The most: larger keys only slow every browser down.
  public static let maximumRSABits = 8192

  /// Reads and checks a recovery certificate (PEM or DER): an RSA key of
  /// 3072 to 8192 bits, usable for key encipherment, not a CA, not expired.
  public init(_ input: [UInt8], now: Date = Date()) throws(CAError) {
    guard let der = LenientPEM.der(input, label: "CERTIFICATE") else {
      throw CAError(
        .recoveryMaterialInvalid, "The recovery certificate is neither PEM nor DER.")
    }
    let certificate: Certificate
    do {
      certificate = try Certificate(derEncoded: der)
    } catch {
      throw CAError(.recoveryMaterialInvalid, "The recovery certificate cannot be read: \(error)")
    }
    guard let rsa = Self.rsaKey(of: certificate) else {
      throw CAError(
        .recoveryMaterialInvalid,
        "A recovery certificate must hold an RSA key (RSAES-OAEP is what every mail client and OpenSSL can open)."
      )
    }
    guard (Self.minimumRSABits...Self.maximumRSABits).contains(rsa.keySizeInBits) else {
      throw CAError(
        .recoveryMaterialInvalid,
        "The recovery key has \(rsa.keySizeInBits) bits; \(Self.minimumRSABits) to \(Self.maximumRSABits) are allowed."
      )
    }
    do {
      if let usage = try certificate.extensions.keyUsage, !usage.keyEncipherment {
        throw CAError(
          .recoveryMaterialInvalid,
          "The recovery certificate's key usage does not allow key encipherment.")
      }
      if let constraints = try certificate.extensions.basicConstraints,
        case .isCertificateAuthority = constraints
      {
        throw CAError(
          .recoveryMaterialInvalid,
          "The recovery certificate is a CA certificate; a recovery key must do nothing else.")
      }
    } catch let error as CAError {
      throw error
    } catch {
      throw CAError(.recoveryMaterialInvalid, "The recovery certificate cannot be read: \(error)")
    }
    guard certificate.notValidAfter > now else {
      throw CAError(
        .recoveryMaterialInvalid,
        "The recovery certificate expired on \(UTCDateFields(certificate.notValidAfter).internetDateTime)."
      )
    }
    self.certificate = certificate
    self.der = der
    self.fingerprint = Array(SHA256.hash(data: der))
    var issuer = DER.Serializer()
    do {
      try issuer.serialize(certificate.issuer)
    } catch {
      throw CAError(
        .recoveryMaterialInvalid, "The recovery certificate's issuer cannot be encoded.")
    }
    self.issuerDER = issuer.serializedBytes
    self.serialNumber = Array(certificate.serialNumber.bytes)
    guard let publicKeyInfo = Self.subjectPublicKeyInfo(in: der) else {
      throw CAError(
        .recoveryMaterialInvalid, "The recovery certificate's public key cannot be read.")
    }
    self.keyIdentifier = Array(SHA256.hash(data: publicKeyInfo))
  }

  /// The SubjectPublicKeyInfo of a certificate, DER, exactly as encoded
  /// in it (the bytes the browser hashes too).
  static func subjectPublicKeyInfo(in der: [UInt8]) -> [UInt8]? {
    guard let certificate = try? DER.parse(der),
      case .constructed(let parts) = certificate.content,
      let tbs = parts.first(where: { _ in true }),
      case .constructed(let fields) = tbs.content
    else { return nil }
    // [0] version, serialNumber, signature, issuer, validity, subject,
    // subjectPublicKeyInfo, …
    var rest = Array(fields)
    if rest.first?.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
      rest.removeFirst()
    }
    guard rest.count > 5, rest[5].identifier == .sequence else { return nil }
    return Array(rest[5].encodedBytes)
  }

  /// A short form of the fingerprint for pages: its first eight bytes, in
  /// four groups (enough to tell pinned certificates apart at a glance;
  /// the full one is in `mailseal recovery show`).
  public var shortFingerprint: String {
    Self.shortFingerprint(fingerprint)
  }

  /// The short form of any SHA-256 fingerprint (see ``shortFingerprint``).
  public static func shortFingerprint(_ fingerprint: [UInt8]) -> String {
    stride(from: 0, to: min(8, fingerprint.count), by: 2).map { start in
      fingerprint[start..<min(start + 2, fingerprint.count)].map { String(format: "%02X", $0) }
        .joined()
    }.joined(separator: " ")
  }

  /// The PEM text of the certificate.
  public var pemString: String {
    PEMDocument(type: "CERTIFICATE", derBytes: der).pemString
  }

  /// The fingerprint as people compare it: SHA-256, colon-separated hex.
  public var fingerprintText: String {
    fingerprint.map { String(format: "%02X", $0) }.joined(separator: ":")
  }

  /// The RSA public key.
  var publicKey: _RSA.Encryption.PublicKey { Self.rsaKey(of: certificate)! }

  static func rsaKey(of certificate: Certificate) -> _RSA.Encryption.PublicKey? {
    _RSA.Signing.PublicKey(certificate.publicKey).flatMap {
      try? _RSA.Encryption.PublicKey(derRepresentation: $0.derRepresentation)
    }
  }

  public static func == (lhs: Self, rhs: Self) -> Bool { lhs.der == rhs.der }
  public func hash(into hasher: inout Hasher) { hasher.combine(der) }
}

/// The private half of a recovery key, on the offline machine only.
public struct RecoveryKey: @unchecked Sendable {  // an immutable BoringSSL key
  let key: _RSA.Encryption.PrivateKey
  /// The key as PKCS#8 DER, what is written to the key file or split.
  public let privateKeyInfo: [UInt8]

  /// Bits of a recovery key made by ``generate(organization:now:)``.
  public static let bits = 4096
  /// Years a recovery certificate made here is valid: as long as any
  /// escrowed key may need opening (mail is kept for years after the
  /// certificate that encrypted it expired).
  public static let validityYears = 30

  /// Reads a PKCS#8 RSA key (PEM `PRIVATE KEY` or DER).
  public init(_ input: [UInt8]) throws(CAError) {
    guard let der = LenientPEM.der(input, label: "PRIVATE KEY") else {
      throw CAError(
        .recoveryMaterialInvalid,
        "The recovery key file is not a PKCS#8 key (PEM “PRIVATE KEY” or DER).")
    }
    do {
      let key = try _RSA.Encryption.PrivateKey(derRepresentation: der)
      self.init(key: key)
    } catch {
      throw CAError(.recoveryMaterialInvalid, "The recovery key file holds no RSA key.")
    }
  }

  init(key: _RSA.Encryption.PrivateKey) {
    self.key = key
    self.privateKeyInfo = Array(
      (try? PEMDocument(pemString: key.pkcs8PEMRepresentation).derBytes) ?? [])
  }

  /// The key as PEM (`PRIVATE KEY`, unencrypted: it lives on the offline
  /// machine or is split into shares).
  public var pemString: String {
    PEMDocument(type: "PRIVATE KEY", derBytes: privateKeyInfo).pemString
  }

  /// Whether this key is the private half of the certificate's key.
  public func matches(_ certificate: RecoveryCertificate) -> Bool {
    key.publicKey.derRepresentation == certificate.publicKey.derRepresentation
  }

  /// Makes a recovery key and its self-signed certificate: RSA 4096, key
  /// usage keyEncipherment only, valid ``validityYears`` years.
  public static func generate(organization: String?, now: Date = Date()) throws
    -> (key: RecoveryKey, certificate: RecoveryCertificate)
  {
    let key = try _RSA.Encryption.PrivateKey(keySize: .bits4096)
    let signing = try _RSA.Signing.PrivateKey(derRepresentation: key.derRepresentation)
    let notBefore = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    let date = UTCDateFields(notBefore).internetDateTime.prefix(10)
    let name = try DistinguishedName {
      if let organization { OrganizationName(organization) }
      CommonName("Mailseal key recovery \(date)")
    }
    let publicKey = Certificate.PublicKey(signing.publicKey)
    var publicKeyInfo = DER.Serializer()
    try publicKeyInfo.serialize(publicKey)
    let keyIdentifier = Array(SHA256.hash(data: publicKeyInfo.serializedBytes))
    let certificate = try Certificate(
      version: .v3,
      serialNumber: SerialNumberGenerator.next(),
      publicKey: publicKey,
      notValidBefore: notBefore,
      notValidAfter: CACeremony.add(years: validityYears, to: notBefore),
      issuer: name,
      subject: name,
      signatureAlgorithm: .sha256WithRSAEncryption,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(keyEncipherment: true))
        // The identifier envelopes name the key by (SHA-256 of the
        // SubjectPublicKeyInfo): `openssl cms -decrypt -recip` finds it.
        SubjectKeyIdentifier(keyIdentifier: keyIdentifier[...])
      },
      issuerPrivateKey: Certificate.PrivateKey(signing)
    )
    var coder = DER.Serializer()
    try coder.serialize(certificate)
    return (RecoveryKey(key: key), try RecoveryCertificate(coder.serializedBytes, now: now))
  }

  /// Decrypts an RSAES-OAEP (SHA-256) encrypted key; nil when it was not
  /// encrypted to this key.
  func decrypt(_ encryptedKey: [UInt8]) -> [UInt8]? {
    (try? key.decrypt(encryptedKey, padding: .PKCS1_OAEP_SHA256)).map { Array($0) }
  }
}

/// One officer's share of a recovery key: a file that alone tells nothing
/// about the key; ``RecoveryShare/threshold`` of them give it back.
///
/// ```
/// MailsealRecoveryShare ::= SEQUENCE {
///     version      INTEGER (1),
///     certificate  Certificate,   -- the recovery certificate (public)
///     threshold    INTEGER (2..255),
///     count        INTEGER (2..255),
///     index        INTEGER (1..255),
///     value        OCTET STRING }  -- one byte per byte of the PKCS#8 key
/// ```
///
/// The certificate travels with each share so that the key put together
/// from shares is checked against it before it is used.
public struct RecoveryShare: Hashable, Sendable {
  /// The recovery certificate whose key this is a share of.
  public let certificate: RecoveryCertificate
  /// How many shares give the key back.
  public let threshold: Int
  /// How many shares were made.
  public let count: Int
  /// The share itself.
  public let share: SecretSharing.Share

  /// The PEM label of a share file.
  public static let pemLabel = "MAILSEAL RECOVERY SHARE"

  /// Splits a recovery key into `count` shares, any `threshold` of which
  /// open what the key opens.
  public static func split(
    _ key: RecoveryKey, certificate: RecoveryCertificate, count: Int, threshold: Int
  ) throws(CAError) -> [RecoveryShare] {
    guard (2...SecretSharing.maximumShares).contains(count), (2...count).contains(threshold)
    else {
      throw CAError(
        .recoveryMaterialInvalid,
        "--split must be 2 to \(SecretSharing.maximumShares) and --threshold 2 to the number of shares."
      )
    }
    guard key.matches(certificate) else {
      throw CAError(.recoveryKeyMismatch, "The recovery key is not the certificate's key.")
    }
    return SecretSharing.split(key.privateKeyInfo, count: count, threshold: threshold).map {
      RecoveryShare(certificate: certificate, threshold: threshold, count: count, share: $0)
    }
  }

  /// Puts the recovery key together from shares and checks it against the
  /// recovery certificate the shares carry.
  public static func combine(_ shares: [RecoveryShare]) throws(CAError) -> RecoveryKey {
    guard let first = shares.first else {
      throw CAError(.recoveryMaterialInvalid, "No share was given.")
    }
    guard shares.allSatisfy({ $0.certificate == first.certificate }) else {
      throw CAError(
        .recoveryMaterialInvalid, "The shares belong to different recovery keys.")
    }
    guard Set(shares.map(\.share.index)).count == shares.count else {
      throw CAError(.recoveryMaterialInvalid, "The same share was given twice.")
    }
    guard shares.count >= first.threshold else {
      throw CAError(
        .recoveryKeyMismatch,
        "\(shares.count) of \(first.count) shares were given; this recovery key needs \(first.threshold)."
      )
    }
    guard let secret = SecretSharing.combine(shares.map(\.share)),
      let key = try? RecoveryKey(secret), key.matches(first.certificate)
    else {
      throw CAError(
        .recoveryKeyMismatch,
        "The shares do not give the key of recovery certificate \(first.certificate.fingerprintText)."
      )
    }
    return key
  }

  init(certificate: RecoveryCertificate, threshold: Int, count: Int, share: SecretSharing.Share) {
    self.certificate = certificate
    self.threshold = threshold
    self.count = count
    self.share = share
  }

  /// Reads a share file (PEM).
  public init(_ input: [UInt8], now: Date = Date()) throws(CAError) {
    let invalid = CAError(.recoveryMaterialInvalid, "The file is not a Mailseal recovery share.")
    guard let text = String(validating: input, as: UTF8.self),
      let document = try? LenientPEM.decode(text), document.label == Self.pemLabel
    else { throw invalid }
    let fields: (certificate: [UInt8], threshold: Int, count: Int, index: Int, value: [UInt8])
    do {
      fields = try DER.sequence(try DER.parse(document.der), identifier: .sequence) { nodes in
        guard try Int(derEncoded: &nodes) == 1, let certificateNode = nodes.next() else {
          throw invalid
        }
        var certificate = DER.Serializer()
        certificate.serialize(certificateNode)
        let threshold = try Int(derEncoded: &nodes)
        let count = try Int(derEncoded: &nodes)
        let index = try Int(derEncoded: &nodes)
        let value = try ASN1OctetString(derEncoded: &nodes).bytes
        guard nodes.next() == nil else { throw invalid }
        return (certificate.serializedBytes, threshold, count, index, Array(value))
      }
    } catch {
      throw invalid
    }
    guard (2...SecretSharing.maximumShares).contains(fields.count),
      (2...fields.count).contains(fields.threshold), (1...fields.count).contains(fields.index),
      !fields.value.isEmpty
    else { throw invalid }
    // An expired recovery certificate still names the key of old envelopes.
    self.certificate = try RecoveryCertificate(fields.certificate, now: .distantPast)
    self.threshold = fields.threshold
    self.count = fields.count
    self.share = SecretSharing.Share(index: UInt8(fields.index), value: fields.value)
  }

  /// The share file's text (PEM).
  public var pemString: String {
    var coder = DER.Serializer()
    // Encoding integers and octet strings cannot fail.
    try! coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(1)
      coder.serializeRawBytes(certificate.der)
      try coder.serialize(threshold)
      try coder.serialize(count)
      try coder.serialize(Int(share.index))
      try coder.serialize(ASN1OctetString(contentBytes: share.value[...]))
    }
    return PEMDocument(type: Self.pemLabel, derBytes: coder.serializedBytes).pemString
  }
}
