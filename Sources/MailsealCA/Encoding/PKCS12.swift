import Crypto
import Foundation
import SwiftASN1
public import X509
import _CryptoExtras

/// Writes PKCS#12 files (RFC 7292) the way the browser's pickup does in its
/// "modern" encoding: the key shrouded with PBES2 (PBKDF2-HMAC-SHA256,
/// AES-256-CBC), the certificates in a PBES2-encrypted SafeContents, and a
/// MAC with HMAC-SHA256 under the PKCS#12 key derivation (Appendix B).
/// OpenSSL 1.1.1 and later, NSS, GnuTLS and current mail clients read it.
///
/// ```
/// PFX ::= SEQUENCE {
///     version   INTEGER {v3(3)},
///     authSafe  ContentInfo,            -- data: AuthenticatedSafe
///     macData   MacData }
///
/// AuthenticatedSafe ::= SEQUENCE OF ContentInfo  -- encryptedData, data
///
/// SafeBag ::= SEQUENCE {
///     bagId          OBJECT IDENTIFIER,
///     bagValue       [0] EXPLICIT ANY DEFINED BY bagId,
///     bagAttributes  SET OF PKCS12Attribute OPTIONAL }
///
/// MacData ::= SEQUENCE {
///     mac         DigestInfo,
///     macSalt     OCTET STRING,
///     iterations  INTEGER DEFAULT 1 }
/// ```
public enum PKCS12 {
  /// Iterations of the MAC's key derivation (what OpenSSL writes).
  static let macIterations = 2048

  static let data: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 1]
  static let encryptedData: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 6]
  static let shroudedKeyBag: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 12, 10, 1, 2]
  static let certBag: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 12, 10, 1, 3]
  static let x509Certificate: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 22, 1]
  static let friendlyName: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 20]
  static let localKeyId: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 9, 21]
  static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]

  /// Makes a PKCS#12 file with one key, its certificate and the chain above
  /// it (issuing CA first).
  ///
  /// - Parameters:
  ///   - iterations: PBKDF2 iterations of the key and certificate
  ///     encryption.
  public static func make(
    privateKeyInfo: [UInt8], certificate: Certificate, chain: [Certificate] = [],
    password: String, friendlyName name: String,
    iterations: Int = EncryptedPrivateKeyInfo.defaultIterations
  ) throws -> [UInt8] {
    let passwordBytes = Array(password.utf8)
    let certificateDER = try der(certificate)
    let localKey = Array(Insecure.SHA1.hash(data: certificateDER))

    func attributes(_ coder: inout DER.Serializer) throws {
      try coder.appendConstructedNode(identifier: .set) { coder in
        // DER sorts a SET OF: friendlyName (…9.20) before localKeyId (…9.21).
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(friendlyName)
          try coder.appendConstructedNode(identifier: .set) { coder in
            try coder.serialize(ASN1BMPString(contentBytes: bmpPassword(name).dropLast(2)))
          }
        }
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(localKeyId)
          try coder.appendConstructedNode(identifier: .set) { coder in
            try coder.serialize(ASN1OctetString(contentBytes: localKey[...]))
          }
        }
      }
    }
    func certificateBag(_ der: [UInt8], _ coder: inout DER.Serializer, withAttributes: Bool)
      throws
    {
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(certBag)
        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) {
          coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(x509Certificate)
            try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) {
              try $0.serialize(ASN1OctetString(contentBytes: der[...]))
            }
          }
        }
        if withAttributes { try attributes(&coder) }
      }
    }

    var certificates = DER.Serializer()
    try certificates.appendConstructedNode(identifier: .sequence) { coder in
      try certificateBag(certificateDER, &coder, withAttributes: true)
      for ca in chain { try certificateBag(try der(ca), &coder, withAttributes: false) }
    }
    let (algorithm, ciphertext) = try EncryptedPrivateKeyInfo.encryptWithPBES2(
      certificates.serializedBytes, passphrase: passwordBytes, iterations: iterations)
    let shroudedKey = try EncryptedPrivateKeyInfo.encryptedDER(
      privateKeyInfo: privateKeyInfo, passphrase: passwordBytes, iterations: iterations)

    var keys = DER.Serializer()
    try keys.appendConstructedNode(identifier: .sequence) { coder in
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(shroudedKeyBag)
        coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) {
          $0.serializeRawBytes(shroudedKey)
        }
        try attributes(&coder)
      }
    }

    var safe = DER.Serializer()
    try safe.appendConstructedNode(identifier: .sequence) { coder in
      // The certificates as EncryptedData.
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(encryptedData)
        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) {
          coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(0)
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(data)
              coder.serializeRawBytes(algorithm)
              try ASN1OctetString(contentBytes: ciphertext[...]).serialize(
                into: &coder,
                withIdentifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
            }
          }
        }
      }
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(data)
        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) {
          try $0.serialize(ASN1OctetString(contentBytes: keys.serializedBytes[...]))
        }
      }
    }
    let authenticatedSafe = safe.serializedBytes

    var salt = [UInt8](repeating: 0, count: 16)
    var generator = SystemRandomNumberGenerator()
    for index in salt.indices { salt[index] = generator.next() }
    let macKey = derive(
      id: 3, password: bmpPassword(password), salt: salt, iterations: macIterations, length: 32)
    let mac = Array(
      HMAC<SHA256>.authenticationCode(for: authenticatedSafe, using: SymmetricKey(data: macKey)))

    var pfx = DER.Serializer()
    try pfx.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(3)
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(data)
        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) {
          try $0.serialize(ASN1OctetString(contentBytes: authenticatedSafe[...]))
        }
      }
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(sha256)
            try coder.serialize(ASN1Null())
          }
          try coder.serialize(ASN1OctetString(contentBytes: mac[...]))
        }
        try coder.serialize(ASN1OctetString(contentBytes: salt[...]))
        try coder.serialize(macIterations)
      }
    }
    return pfx.serializedBytes
  }

  private static func der(_ certificate: Certificate) throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.serialize(certificate)
    return coder.serializedBytes
  }

  /// The password as the PKCS#12 KDF takes it: UTF-16 big-endian with a
  /// terminating zero (RFC 7292 Appendix B.1).
  static func bmpPassword(_ password: String) -> [UInt8] {
    password.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } + [0, 0]
  }

  /// The PKCS#12 key derivation with SHA-256 (RFC 7292 Appendix B.2):
  /// u = 32, v = 64.
  static func derive(id: UInt8, password: [UInt8], salt: [UInt8], iterations: Int, length: Int)
    -> [UInt8]
  {
    let v = 64  // SHA-256's block; its output u = 32 bytes
    func stretch(_ input: [UInt8]) -> [UInt8] {
      guard !input.isEmpty else { return [] }
      let count = v * ((input.count + v - 1) / v)
      return (0..<count).map { input[$0 % input.count] }
    }
    let diversifier = [UInt8](repeating: id, count: v)
    var block = stretch(salt) + stretch(password)
    var output: [UInt8] = []
    while true {
      var a = Array(SHA256.hash(data: diversifier + block))
      for _ in 1..<iterations { a = Array(SHA256.hash(data: a)) }
      output += a
      if output.count >= length { return Array(output.prefix(length)) }
      // I_j = (I_j + B + 1) mod 2^(8v), for every v-byte block of I.
      let b = stretch(a)
      for start in stride(from: 0, to: block.count, by: v) {
        var carry = 1
        for offset in (0..<v).reversed() {
          let sum = Int(block[start + offset]) + Int(b[offset]) + carry
          block[start + offset] = UInt8(sum & 0xFF)
          carry = sum >> 8
        }
      }
    }
  }
}
