import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// An escrowed key: a PKCS#8 private key in a CMS EnvelopedData (RFC 5652
/// §6), made in the browser for every installed recovery certificate. The
/// server reads only its outside — who it is for and how it is encrypted —
/// and can open none of it; ``open(with:)`` runs on the offline machine.
///
/// Exactly one shape is accepted, the one our browser code writes and
/// `openssl cms -encrypt -aes256 -keyopt rsa_padding_mode:oaep
/// -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256` writes too:
///
/// ```
/// ContentInfo ::= SEQUENCE {
///     contentType  id-envelopedData,
///     content      [0] EXPLICIT EnvelopedData }
///
/// EnvelopedData ::= SEQUENCE {
///     version               CMSVersion,        -- 0
///     originatorInfo        [0] IMPLICIT OriginatorInfo OPTIONAL,  -- absent
///     recipientInfos        SET SIZE (1..MAX) OF RecipientInfo,
///     encryptedContentInfo  EncryptedContentInfo,
///     unprotectedAttrs      [1] IMPLICIT UnprotectedAttributes OPTIONAL }  -- absent
///
/// KeyTransRecipientInfo ::= SEQUENCE {
///     version                 CMSVersion,  -- 0
///     rid                     IssuerAndSerialNumber,
///     keyEncryptionAlgorithm  AlgorithmIdentifier,  -- id-RSAES-OAEP, SHA-256, MGF1-SHA-256
///     encryptedKey            OCTET STRING }
///
/// EncryptedContentInfo ::= SEQUENCE {
///     contentType                 id-data,
///     contentEncryptionAlgorithm  AlgorithmIdentifier,  -- aes256-CBC, IV
///     encryptedContent            [0] IMPLICIT OCTET STRING }
///
/// RSAES-OAEP-params ::= SEQUENCE {          -- RFC 4055 §4.1
///     hashFunc     [0] AlgorithmIdentifier,  -- id-sha256 (NULL or absent parameters)
///     maskGenFunc  [1] AlgorithmIdentifier,  -- id-mgf1 with id-sha256
///     pSourceFunc  [2] AlgorithmIdentifier DEFAULT pSpecifiedEmpty }  -- absent
/// ```
public struct KeyEnvelope: Sendable {
  /// One recovery certificate the content key is encrypted to.
  public struct Recipient: Hashable, Sendable {
    /// The certificate's issuer Name, DER.
    public var issuer: [UInt8]
    /// The certificate's serial number (the INTEGER's content bytes).
    public var serialNumber: [UInt8]
    /// The content key, RSAES-OAEP encrypted.
    public var encryptedKey: [UInt8]
  }

  /// The largest envelope taken: an RSA-4096 PKCS#8 key (~2.4 KiB) for
  /// ``maximumRecipients`` recovery certificates fits with room to spare.
  public static let maximumSize = 32 * 1024
  /// The most recovery certificates one envelope is made for.
  public static let maximumRecipients = 8

  /// Who can open it.
  public let recipients: [Recipient]
  /// AES-256-CBC's initialisation vector.
  let iv: [UInt8]
  /// The PKCS#8 key, AES-256-CBC encrypted (PKCS#7 padding).
  let encryptedContent: [UInt8]
  /// The envelope as received.
  public let der: [UInt8]

  static let envelopedData: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 3]
  static let data: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 1]
  static let rsaesOAEP: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 1, 7]
  static let mgf1: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 1, 8]
  static let sha256: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 2, 1]

  /// Reads an envelope (DER) and checks its shape; nothing is decrypted.
  public init(derEncoded bytes: [UInt8]) throws(CAError) {
    guard bytes.count <= Self.maximumSize else {
      throw CAError(
        .envelopeTooLarge,
        "The key envelope has \(bytes.count) bytes; at most \(Self.maximumSize) are taken.")
    }
    func malformed(_ reason: String) -> CAError {
      CAError(.envelopeMalformed, "The key envelope is not as required: \(reason).")
    }
    do {
      (recipients, iv, encryptedContent) = try DER.sequence(
        try DER.parse(bytes), identifier: .sequence
      ) { nodes in
        guard try ASN1ObjectIdentifier(derEncoded: &nodes) == Self.envelopedData else {
          throw malformed("it is not CMS EnvelopedData")
        }
        let content = try DER.explicitlyTagged(
          &nodes, tagNumber: 0, tagClass: .contextSpecific
        ) { node in
          try DER.sequence(node, identifier: .sequence) { nodes in
            guard try Int(derEncoded: &nodes) == 0 else {
              throw malformed("the EnvelopedData version is not 0")
            }
            guard let infos = nodes.next(), infos.identifier == .set else {
              throw malformed("originator information or recipients are missing")
            }
            let recipients = try DER.set(infos, identifier: .set) { nodes in
              var recipients: [Recipient] = []
              while let node = nodes.next() {
                guard recipients.count < Self.maximumRecipients else {
                  throw malformed("more than \(Self.maximumRecipients) recipients")
                }
                recipients.append(try Self.recipient(node, malformed: malformed))
              }
              return recipients
            }
            guard !recipients.isEmpty else { throw malformed("there is no recipient") }
            guard let encrypted = nodes.next() else {
              throw malformed("the encrypted content is missing")
            }
            let (iv, ciphertext) = try DER.sequence(encrypted, identifier: .sequence) { nodes in
              guard try ASN1ObjectIdentifier(derEncoded: &nodes) == Self.data else {
                throw malformed("the content is not of type data")
              }
              guard let algorithm = nodes.next() else {
                throw malformed("the content encryption is missing")
              }
              let iv = try DER.sequence(algorithm, identifier: .sequence) { nodes in
                guard try ASN1ObjectIdentifier(derEncoded: &nodes) == .aes256CBCForEnvelope
                else { throw malformed("the content is not encrypted with AES-256-CBC") }
                let iv = try ASN1OctetString(derEncoded: &nodes).bytes
                guard nodes.next() == nil, iv.count == 16 else {
                  throw malformed("the AES-CBC IV is not 16 bytes")
                }
                return Array(iv)
              }
              let content: ASN1OctetString? = try DER.optionalImplicitlyTagged(
                &nodes, tag: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
              guard let ciphertext = content, nodes.next() == nil else {
                throw malformed("the encrypted content is missing")
              }
              guard !ciphertext.bytes.isEmpty, ciphertext.bytes.count % 16 == 0 else {
                throw malformed("the encrypted content is not whole AES blocks")
              }
              return (iv, Array(ciphertext.bytes))
            }
            guard nodes.next() == nil else {
              throw malformed("it carries attributes or fields we do not take")
            }
            return (recipients, iv, ciphertext)
          }
        }
        guard nodes.next() == nil else { throw malformed("something follows the content") }
        return content
      }
    } catch let error as CAError {
      throw error
    } catch {
      throw malformed("it is not DER (\(error))")
    }
    guard Set(recipients.map { [$0.issuer, $0.serialNumber] }).count == recipients.count else {
      throw malformed("a recipient is named twice")
    }
    der = bytes
  }

  private static func recipient(_ node: ASN1Node, malformed: (String) -> CAError) throws
    -> Recipient
  {
    try DER.sequence(node, identifier: .sequence) { nodes in
      guard try Int(derEncoded: &nodes) == 0 else {
        throw malformed(
          "a recipient is not a key-transport recipient named by issuer and serial number")
      }
      guard let name = nodes.next() else { throw malformed("a recipient is not named") }
      let (issuer, serial) = try DER.sequence(name, identifier: .sequence) { nodes in
        guard let issuerNode = nodes.next(), issuerNode.identifier == .sequence else {
          throw malformed("a recipient's issuer is missing")
        }
        var issuer = DER.Serializer()
        issuer.serialize(issuerNode)
        let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
        guard nodes.next() == nil else { throw malformed("a recipient's name is malformed") }
        return (issuer.serializedBytes, Array(serial))
      }
      guard let algorithm = nodes.next(), Self.isOAEPSHA256(algorithm) else {
        throw malformed("a content key is not encrypted with RSAES-OAEP, SHA-256 and MGF1-SHA-256")
      }
      let key = try ASN1OctetString(derEncoded: &nodes).bytes
      guard nodes.next() == nil, !key.isEmpty else {
        throw malformed("a recipient's encrypted key is malformed")
      }
      return Recipient(issuer: issuer, serialNumber: serial, encryptedKey: Array(key))
    }
  }

  /// Whether an AlgorithmIdentifier is RSAES-OAEP with SHA-256,
  /// MGF1-SHA-256 and the empty label (the default pSourceFunc, absent).
  static func isOAEPSHA256(_ node: ASN1Node) -> Bool {
    func isSHA256(_ node: ASN1Node) throws -> Bool {
      try DER.sequence(node, identifier: .sequence) { nodes in
        guard try ASN1ObjectIdentifier(derEncoded: &nodes) == sha256 else { return false }
        if let parameters = nodes.next() {
          guard (try? ASN1Null(derEncoded: parameters)) != nil else { return false }
        }
        return nodes.next() == nil
      }
    }
    func isMGF1SHA256(_ node: ASN1Node) throws -> Bool {
      try DER.sequence(node, identifier: .sequence) { nodes in
        guard try ASN1ObjectIdentifier(derEncoded: &nodes) == mgf1, let hash = nodes.next(),
          nodes.next() == nil
        else { return false }
        return try isSHA256(hash)
      }
    }
    let matches = try? DER.sequence(node, identifier: .sequence) { nodes -> Bool in
      guard try ASN1ObjectIdentifier(derEncoded: &nodes) == rsaesOAEP,
        let parameters = nodes.next(), nodes.next() == nil
      else { return false }
      return try DER.sequence(parameters, identifier: .sequence) { nodes in
        try DER.explicitlyTagged(&nodes, tagNumber: 0, tagClass: .contextSpecific, isSHA256)
          && DER.explicitlyTagged(&nodes, tagNumber: 1, tagClass: .contextSpecific, isMGF1SHA256)
          && nodes.next() == nil
      }
    }
    return matches ?? false
  }

  /// Checks that the envelope is made for exactly the installed recovery
  /// certificates, each once.
  public func checkRecipients(_ installed: [RecoveryCertificate]) throws(CAError) {
    let wanted = Set(installed.map { [$0.issuerDER, $0.serialNumber] })
    let present = Set(recipients.map { [$0.issuer, $0.serialNumber] })
    guard present == wanted else {
      let missing = installed.filter { !present.contains([$0.issuerDER, $0.serialNumber]) }
      throw CAError(
        .envelopeRecipientsWrong,
        missing.isEmpty
          ? "The key envelope is made for a certificate that is not an installed recovery certificate."
          : "The key envelope is not made for the installed recovery certificate \(missing[0].fingerprintText)."
      )
    }
  }

  /// Opens the envelope with a recovery key and returns the PKCS#8 key in it.
  public func open(with key: RecoveryKey) throws(CAError) -> [UInt8] {
    for recipient in recipients {
      guard let contentKey = key.decrypt(recipient.encryptedKey), contentKey.count == 32 else {
        continue
      }
      guard
        let plaintext = try? AES._CBC.decrypt(
          encryptedContent, using: SymmetricKey(data: contentKey), iv: AES._CBC.IV(ivBytes: iv))
      else {
        throw CAError(
          .envelopeMalformed, "The key envelope's content does not decrypt with its content key.")
      }
      return Array(plaintext)
    }
    throw CAError(.recoveryKeyMismatch, "The recovery key does not open this key envelope.")
  }

  /// Makes an envelope for a PKCS#8 key to the given recovery
  /// certificates — what the browser does; here for the tests and the
  /// escrow check's reference.
  public static func seal(_ privateKeyInfo: [UInt8], to certificates: [RecoveryCertificate])
    throws -> [UInt8]
  {
    let contentKey = SymmetricKey(size: .bits256)
    let iv = AES._CBC.IV()
    let ciphertext = try AES._CBC.encrypt(privateKeyInfo, using: contentKey, iv: iv)
    let keyBytes = contentKey.withUnsafeBytes { Array($0) }
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(envelopedData)
      try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(0)
          // SET OF in DER is sorted by encoding.
          let infos = try certificates.map { certificate in
            var info = DER.Serializer()
            try info.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(0)
              try coder.appendConstructedNode(identifier: .sequence) { coder in
                coder.serializeRawBytes(certificate.issuerDER)
                try coder.serialize(certificate.serialNumber[...])
              }
              try serializeOAEPSHA256(into: &coder)
              let encrypted = try certificate.publicKey.encrypt(
                keyBytes, padding: .PKCS1_OAEP_SHA256)
              try coder.serialize(ASN1OctetString(contentBytes: Array(encrypted)[...]))
            }
            return info.serializedBytes
          }
          coder.appendConstructedNode(identifier: .set) { coder in
            for info in infos.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
              coder.serializeRawBytes(info)
            }
          }
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(data)
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(ASN1ObjectIdentifier.aes256CBCForEnvelope)
              try coder.serialize(ASN1OctetString(contentBytes: Array(iv)[...]))
            }
            try ASN1OctetString(contentBytes: Array(ciphertext)[...]).serialize(
              into: &coder,
              withIdentifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
          }
        }
      }
    }
    return coder.serializedBytes
  }

  static func serializeOAEPSHA256(into coder: inout DER.Serializer) throws {
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(rsaesOAEP)
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) {
          coder in
          try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(sha256) }
        }
        try coder.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) {
          coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(mgf1)
            try coder.appendConstructedNode(identifier: .sequence) { try $0.serialize(sha256) }
          }
        }
      }
    }
  }
}

extension ASN1ObjectIdentifier {
  /// aes256-CBC (NIST): the content encryption of an escrow envelope.
  static let aes256CBCForEnvelope: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 42]
}
