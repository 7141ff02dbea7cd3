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
/// -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256` writes too
/// (with `-keyid`, the recipients named by key identifier):
///
/// ```
/// ContentInfo ::= SEQUENCE {
///     contentType  id-envelopedData,
///     content      [0] EXPLICIT EnvelopedData }
///
/// EnvelopedData ::= SEQUENCE {
///     version               CMSVersion,        -- 2 (0 when every rid is issuerAndSerialNumber)
///     originatorInfo        [0] IMPLICIT OriginatorInfo OPTIONAL,  -- absent
///     recipientInfos        SET SIZE (1..MAX) OF RecipientInfo,
///     encryptedContentInfo  EncryptedContentInfo,
///     unprotectedAttrs      [1] IMPLICIT UnprotectedAttributes OPTIONAL }  -- absent
///
/// KeyTransRecipientInfo ::= SEQUENCE {
///     version                 CMSVersion,  -- 2 (0 with issuerAndSerialNumber)
///     rid                     RecipientIdentifier,
///     keyEncryptionAlgorithm  AlgorithmIdentifier,  -- id-RSAES-OAEP, SHA-256, MGF1-SHA-256
///     encryptedKey            OCTET STRING }
///
/// RecipientIdentifier ::= CHOICE {
///     issuerAndSerialNumber  IssuerAndSerialNumber,
///     subjectKeyIdentifier   [0] SubjectKeyIdentifier }  -- SHA-256 of the SubjectPublicKeyInfo
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
    /// How the envelope names the recovery certificate.
    public var identifier: RecipientIdentifier
    /// The content key, RSAES-OAEP encrypted.
    public var encryptedKey: [UInt8]
  }

  /// How an envelope names a recipient (RFC 5652 §6.2.1).
  ///
  /// The portal takes only envelopes whose recipients are named by their
  /// key: an issuer and serial number are what anyone can copy into a
  /// certificate of their own, so they cannot tell the key the content key
  /// was encrypted to. Envelopes sealed before recovery certificates were
  /// pinned name them by issuer and serial number; they are still read
  /// and opened.
  public enum RecipientIdentifier: Hashable, Sendable {
    /// `issuerAndSerialNumber`: the issuer's Name (DER) and the serial
    /// number (the INTEGER's content octets).
    case issuerAndSerialNumber(issuer: [UInt8], serialNumber: [UInt8])
    /// `[0] subjectKeyIdentifier`: SHA-256 of the recipient's
    /// SubjectPublicKeyInfo (RFC 7093 §2, method 4), what
    /// ``RecoveryCertificate/keyIdentifier`` computes from the key itself.
    case keyIdentifier([UInt8])
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
            let version = try Int(derEncoded: &nodes)
            guard version == 0 || version == 2 else {
              throw malformed("the EnvelopedData version is not 0 or 2")
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
            // RFC 5652 §6.1: version 2 exactly when a recipient is named
            // by key identifier (its KeyTransRecipientInfo is version 2).
            let named = recipients.contains {
              if case .keyIdentifier = $0.identifier { return true }
              return false
            }
            guard version == (named ? 2 : 0) else {
              throw malformed("the EnvelopedData version does not fit its recipients")
            }
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
    guard Set(recipients.map(\.identifier)).count == recipients.count else {
      throw malformed("a recipient is named twice")
    }
    der = bytes
  }

  private static func recipient(_ node: ASN1Node, malformed: (String) -> CAError) throws
    -> Recipient
  {
    try DER.sequence(node, identifier: .sequence) { nodes in
      let version = try Int(derEncoded: &nodes)
      guard let name = nodes.next() else { throw malformed("a recipient is not named") }
      let identifier: RecipientIdentifier
      switch (version, name.identifier) {
      case (0, .sequence):
        identifier = try DER.sequence(name, identifier: .sequence) { nodes in
          guard let issuerNode = nodes.next(), issuerNode.identifier == .sequence else {
            throw malformed("a recipient's issuer is missing")
          }
          var issuer = DER.Serializer()
          issuer.serialize(issuerNode)
          let serial = try ArraySlice<UInt8>(derEncoded: &nodes)
          guard nodes.next() == nil else { throw malformed("a recipient's name is malformed") }
          return .issuerAndSerialNumber(issuer: issuer.serializedBytes, serialNumber: Array(serial))
        }
      case (2, ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)):
        let keyIdentifier = try ASN1OctetString(
          derEncoded: name,
          withIdentifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        ).bytes
        guard keyIdentifier.count == RecoveryCertificate.keyIdentifierLength else {
          throw malformed(
            "a recipient's key identifier is not \(RecoveryCertificate.keyIdentifierLength) bytes")
        }
        identifier = .keyIdentifier(Array(keyIdentifier))
      default:
        throw malformed(
          "a recipient is not a key-transport recipient named by issuer and serial number (version 0) or by key identifier (version 2)"
        )
      }
      guard let algorithm = nodes.next(), Self.isOAEPSHA256(algorithm) else {
        throw malformed("a content key is not encrypted with RSAES-OAEP, SHA-256 and MGF1-SHA-256")
      }
      let key = try ASN1OctetString(derEncoded: &nodes).bytes
      guard nodes.next() == nil, !key.isEmpty else {
        throw malformed("a recipient's encrypted key is malformed")
      }
      return Recipient(identifier: identifier, encryptedKey: Array(key))
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

  /// Checks that the envelope is made for exactly the recovery
  /// certificates in force, each once, every one named by its key: the
  /// identifiers are compared with ``RecoveryCertificate/keyIdentifier``,
  /// computed from each certificate's own public key — so an envelope
  /// sealed to another key under the same issuer and serial number is
  /// refused.
  public func checkRecipients(_ inForce: [RecoveryCertificate]) throws(CAError) {
    var present = Set<[UInt8]>()
    for recipient in recipients {
      guard case .keyIdentifier(let identifier) = recipient.identifier else {
        throw CAError(
          .envelopeRecipientsWrong,
          "The key envelope names a recovery certificate by issuer and serial number; envelopes must name each by its key (reload the request form)."
        )
      }
      present.insert(identifier)
    }
    guard present == Set(inForce.map(\.keyIdentifier)) else {
      let missing = inForce.filter { !present.contains($0.keyIdentifier) }
      throw CAError(
        .envelopeRecipientsWrong,
        missing.isEmpty
          ? "The key envelope is sealed to a key that is not one of the recovery certificates in force."
          : "The key envelope is not sealed to the recovery certificate \(missing[0].fingerprintText)."
      )
    }
  }

  /// Which of `certificates` the envelope is sealed to: by key identifier,
  /// or (envelopes sealed before pinning) by issuer and serial number.
  public func sealedTo(_ certificates: [RecoveryCertificate]) -> [RecoveryCertificate] {
    certificates.filter { certificate in
      recipients.contains { recipient in
        switch recipient.identifier {
        case .keyIdentifier(let identifier):
          return identifier == certificate.keyIdentifier
        case .issuerAndSerialNumber(let issuer, let serialNumber):
          return issuer == certificate.issuerDER && serialNumber == certificate.serialNumber
        }
      }
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

  /// How ``seal(_:to:naming:)`` names the recipients.
  public enum Naming: Sendable {
    /// By key identifier (version 2), as the browser does.
    case keyIdentifier
    /// By issuer and serial number (version 0), as envelopes sealed
    /// before pinning did.
    case issuerAndSerialNumber
  }

  /// Makes an envelope for a PKCS#8 key to the given recovery
  /// certificates — what the browser does; here for the tests and the
  /// escrow check's reference.
  public static func seal(
    _ privateKeyInfo: [UInt8], to certificates: [RecoveryCertificate],
    naming: Naming = .keyIdentifier
  ) throws -> [UInt8] {
    let version = naming == .keyIdentifier ? 2 : 0
    let contentKey = SymmetricKey(size: .bits256)
    let iv = AES._CBC.IV()
    let ciphertext = try AES._CBC.encrypt(privateKeyInfo, using: contentKey, iv: iv)
    let keyBytes = contentKey.withUnsafeBytes { Array($0) }
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(envelopedData)
      try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(version)
          // SET OF in DER is sorted by encoding.
          let infos = try certificates.map { certificate in
            var info = DER.Serializer()
            try info.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(version)
              switch naming {
              case .keyIdentifier:
                try ASN1OctetString(contentBytes: certificate.keyIdentifier[...]).serialize(
                  into: &coder,
                  withIdentifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
              case .issuerAndSerialNumber:
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                  coder.serializeRawBytes(certificate.issuerDER)
                  try coder.serialize(certificate.serialNumber[...])
                }
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
