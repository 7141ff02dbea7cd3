import Crypto
public import Foundation
import SwiftASN1
import _CryptoExtras

/// A PKCS#8 private key encrypted with a passphrase (RFC 5958 §3), the
/// format `openssl pkey` reads and writes: PBES2 (RFC 8018 §6.2) with
/// PBKDF2 and AES-CBC.
///
/// ```
/// EncryptedPrivateKeyInfo ::= SEQUENCE {
///     encryptionAlgorithm  EncryptionAlgorithmIdentifier,
///     encryptedData        EncryptedData }
///
/// PBES2-params ::= SEQUENCE {
///     keyDerivationFunc AlgorithmIdentifier {{PBES2-KDFs}},
///     encryptionScheme  AlgorithmIdentifier {{PBES2-Encs}} }
///
/// PBKDF2-params ::= SEQUENCE {
///     salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
///     iterationCount INTEGER (1..MAX),
///     keyLength INTEGER (1..MAX) OPTIONAL,
///     prf AlgorithmIdentifier {{PBKDF2-PRFs}} DEFAULT algid-hmacWithSHA1 }
/// ```
///
/// Writing always uses PBKDF2-HMAC-SHA256 and AES-256-CBC; reading also
/// accepts HMAC-SHA1/384/512 and AES-128/192-CBC, which OpenSSL and other
/// tools write.
public enum EncryptedPrivateKeyInfo {
  /// The iteration count used when writing (OWASP 2023 guidance for
  /// PBKDF2-HMAC-SHA256).
  public static let defaultIterations = 600_000
  /// The largest iteration count accepted when reading: a hostile file must
  /// not make the process spin for minutes.
  public static let maximumIterations = 10_000_000

  static let pbes2: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 5, 13]
  static let pbkdf2: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 5, 12]
  static let hmacWithSHA1: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 2, 7]
  static let hmacWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 2, 9]
  static let hmacWithSHA384: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 2, 10]
  static let hmacWithSHA512: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 2, 11]
  static let aes128CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 2]
  static let aes192CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 22]
  static let aes256CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 42]

  /// The PEM label of an encrypted PKCS#8 key (RFC 7468 §11).
  public static let pemLabel = "ENCRYPTED PRIVATE KEY"

  /// Encrypts a DER PrivateKeyInfo and returns the PEM text
  /// (``pemLabel``).
  public static func encrypt(
    privateKeyInfo: some DataProtocol,
    passphrase: [UInt8],
    iterations: Int = defaultIterations
  ) throws -> String {
    PEMDocument(
      type: Self.pemLabel,
      derBytes: try encryptedDER(
        privateKeyInfo: privateKeyInfo, passphrase: passphrase, iterations: iterations)
    ).pemString
  }

  /// Encrypts DER (a PrivateKeyInfo) and returns the
  /// EncryptedPrivateKeyInfo's DER.
  static func encryptedDER(
    privateKeyInfo: some DataProtocol,
    passphrase: [UInt8],
    iterations: Int
  ) throws -> [UInt8] {
    let (algorithm, ciphertext) = try encryptWithPBES2(
      privateKeyInfo, passphrase: passphrase, iterations: iterations)
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      coder.serializeRawBytes(algorithm)
      try coder.serialize(ASN1OctetString(contentBytes: ciphertext[...]))
    }
    return coder.serializedBytes
  }

  /// Encrypts with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC, fresh salt and
  /// IV): the AlgorithmIdentifier's DER and the ciphertext — the two
  /// halves of an EncryptedPrivateKeyInfo, and of a PKCS#12 EncryptedData.
  static func encryptWithPBES2(
    _ plaintext: some DataProtocol, passphrase: [UInt8], iterations: Int
  ) throws
    -> (algorithm: [UInt8], ciphertext: [UInt8])
  {
    guard (1...maximumIterations).contains(iterations) else {
      throw CAError(
        .keyCustody, "PBKDF2 iterations must be 1 to \(maximumIterations), not \(iterations).")
    }
    var salt = [UInt8](repeating: 0, count: 16)
    var iv = [UInt8](repeating: 0, count: 16)
    var generator = SystemRandomNumberGenerator()
    for index in 0..<16 {
      salt[index] = generator.next()
      iv[index] = generator.next()
    }
    let key = try KDF.Insecure.PBKDF2.deriveKey(
      from: passphrase, salt: salt, using: .sha256, outputByteCount: 32,
      unsafeUncheckedRounds: iterations
    )
    let ciphertext = try AES._CBC.encrypt(plaintext, using: key, iv: AES._CBC.IV(ivBytes: iv))

    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(pbes2)
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(pbkdf2)
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(ASN1OctetString(contentBytes: salt[...]))
            try coder.serialize(iterations)
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(hmacWithSHA256)
              try coder.serialize(ASN1Null())
            }
          }
        }
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(aes256CBC)
          try coder.serialize(ASN1OctetString(contentBytes: iv[...]))
        }
      }
    }
    return (coder.serializedBytes, Array(ciphertext))
  }

  /// Decrypts PEM (`ENCRYPTED PRIVATE KEY`) or DER and returns the DER
  /// PrivateKeyInfo.
  ///
  /// - Throws: ``CAError`` with ``CAError/Code/wrongPassphrase`` when the
  ///   passphrase does not open it, ``CAError/Code/caMaterialInvalid`` when
  ///   it is not such a file.
  public static func decrypt(_ input: [UInt8], passphrase: [UInt8]) throws(CAError) -> [UInt8] {
    try decrypt(input, passphrase: passphrase, iterationLimit: maximumIterations)
  }

  /// `decrypt` with a lower bound on the work (the fuzzer's: it must not
  /// spend seconds on one input's iteration count).
  static func decrypt(_ input: [UInt8], passphrase: [UInt8], iterationLimit: Int)
    throws(CAError) -> [UInt8]
  {
    let invalid = CAError(
      .caMaterialInvalid,
      "The key file is not a PKCS#8 key encrypted with PBES2 (PBKDF2, AES-CBC); re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`."
    )
    var der = input
    if input.first != 0x30 {  // not a DER SEQUENCE: read it as PEM text
      guard let text = String(validating: input, as: UTF8.self),
        let document = try? LenientPEM.decode(text)
      else { throw invalid }
      guard document.label == Self.pemLabel else {
        throw CAError(
          .caMaterialInvalid,
          "The key file holds a “\(document.label.prefix(40))”; an “ENCRYPTED PRIVATE KEY” is required, so that no CA key lies on disk unencrypted."
        )
      }
      der = document.der
    }
    let parsed:
      (
        salt: ArraySlice<UInt8>, iterations: Int, keyLength: Int?, prf: ASN1ObjectIdentifier,
        cipher: ASN1ObjectIdentifier, iv: ArraySlice<UInt8>, data: ArraySlice<UInt8>
      )
    do {
      parsed = try DER.sequence(try DER.parse(der), identifier: .sequence) { nodes in
        guard let algorithmNode = nodes.next(), let dataNode = nodes.next() else { throw invalid }
        let data = try ASN1OctetString(derEncoded: dataNode).bytes
        return try DER.sequence(algorithmNode, identifier: .sequence) { nodes in
          guard try ASN1ObjectIdentifier(derEncoded: &nodes) == pbes2, let params = nodes.next()
          else { throw invalid }
          return try DER.sequence(params, identifier: .sequence) { nodes in
            guard let kdfNode = nodes.next(), let encNode = nodes.next() else { throw invalid }
            let kdf = try DER.sequence(kdfNode, identifier: .sequence) { nodes in
              guard try ASN1ObjectIdentifier(derEncoded: &nodes) == pbkdf2,
                let params = nodes.next()
              else { throw invalid }
              return try DER.sequence(params, identifier: .sequence) { nodes in
                let salt = try ASN1OctetString(derEncoded: &nodes).bytes
                let iterations = try Int(derEncoded: &nodes)
                var keyLength: Int?
                var prf = hmacWithSHA1
                while let node = nodes.next() {
                  if node.identifier == .integer {
                    keyLength = try Int(derEncoded: node)
                  } else {
                    prf = try DER.sequence(node, identifier: .sequence) { nodes in
                      let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
                      while nodes.next() != nil {}
                      return oid
                    }
                  }
                }
                return (salt, iterations, keyLength, prf)
              }
            }
            let (cipher, iv) = try DER.sequence(encNode, identifier: .sequence) { nodes in
              let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
              let iv = try ASN1OctetString(derEncoded: &nodes).bytes
              return (oid, iv)
            }
            return (kdf.0, kdf.1, kdf.2, kdf.3, cipher, iv, data)
          }
        }
      }
    } catch let error as CAError {
      throw error
    } catch {
      throw invalid
    }
    let hash: KDF.Insecure.PBKDF2.HashFunction
    switch parsed.prf {
    case hmacWithSHA1: hash = .insecureSHA1
    case hmacWithSHA256: hash = .sha256
    case hmacWithSHA384: hash = .sha384
    case hmacWithSHA512: hash = .sha512
    default: throw invalid
    }
    let keyBytes: Int
    switch parsed.cipher {
    case aes128CBC: keyBytes = 16
    case aes192CBC: keyBytes = 24
    case aes256CBC: keyBytes = 32
    default: throw invalid
    }
    guard (1...iterationLimit).contains(parsed.iterations), parsed.iv.count == 16,
      parsed.keyLength == nil || parsed.keyLength == keyBytes, !parsed.data.isEmpty,
      parsed.data.count % 16 == 0
    else { throw invalid }
    let plaintext: Data
    do {
      let key = try KDF.Insecure.PBKDF2.deriveKey(
        from: passphrase, salt: parsed.salt, using: hash, outputByteCount: keyBytes,
        unsafeUncheckedRounds: parsed.iterations
      )
      plaintext = try AES._CBC.decrypt(parsed.data, using: key, iv: AES._CBC.IV(ivBytes: parsed.iv))
    } catch {
      throw CAError(.wrongPassphrase, "The passphrase does not open the key file.")
    }
    // A wrong passphrase passes the padding check about once in 256
    // tries; the result is then not DER, which we catch here.
    guard (try? DER.parse(Array(plaintext))) != nil else {
      throw CAError(.wrongPassphrase, "The passphrase does not open the key file.")
    }
    return Array(plaintext)
  }
}
