import Crypto
public import Foundation
import SwiftASN1
import X509

/// A revoked certificate as a CRL lists it.
public struct RevokedCertificate: Sendable, Hashable {
  /// The serial number's INTEGER content octets (as certificates carry it).
  public var serialNumber: [UInt8]
  public var revocationDate: Date
  public var reason: RevocationReason

  public init(serialNumber: [UInt8], revocationDate: Date, reason: RevocationReason) {
    self.serialNumber = serialNumber
    self.revocationDate = revocationDate
    self.reason = reason
  }
}

/// A v2 CRL (RFC 5280 §5.1) of one issuing CA, under the S/MIME Baseline
/// Requirements' CRL profile (§7.2):
///
/// ```
/// CertificateList ::= SEQUENCE {
///      tbsCertList          TBSCertList,
///      signatureAlgorithm   AlgorithmIdentifier,
///      signatureValue       BIT STRING }
///
/// TBSCertList ::= SEQUENCE {
///      version                 Version (v2),
///      signature               AlgorithmIdentifier,
///      issuer                  Name,
///      thisUpdate              Time,
///      nextUpdate              Time,
///      revokedCertificates     SEQUENCE OF SEQUENCE {
///           userCertificate         CertificateSerialNumber,
///           revocationDate          Time,
///           crlEntryExtensions      Extensions OPTIONAL } OPTIONAL,
///      crlExtensions           [0] EXPLICIT Extensions }
/// ```
///
/// crlExtensions: authorityKeyIdentifier (keyIdentifier only) and cRLNumber;
/// entries carry a reasonCode unless the reason is unspecified (RFC 5280
/// §5.3.1: absent rather than unspecified). No revokedCertificates field at
/// all when nothing is revoked (RFC 5280: an empty SEQUENCE is not allowed).
public enum CertificateRevocationList {
  /// The longest interval between thisUpdate and nextUpdate (S/MIME BR §4.9.7).
  public static let maximumValidity: TimeInterval = 10 * 86_400
  /// CRL numbers are at most 20 octets (RFC 5280 §5.2.3).
  public static let maximumNumber = UInt64.max

  /// The number of a CRL signed at `now` after one numbered `last`: the
  /// time in milliseconds since 1970, or one more than `last` when that is
  /// larger. Numbers derived from the clock cannot go back when an older
  /// backup is restored (the last number it knows is below any number
  /// published since), and stay strictly increasing within one database.
  public static func number(after last: Int64?, at now: Date) -> Int64 {
    let clock = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
    guard let last else { return max(clock, 1) }
    return max(clock, last + 1)
  }

  static let reasonCodeOID: ASN1ObjectIdentifier = [2, 5, 29, 21]
  static let crlNumberOID: ASN1ObjectIdentifier = [2, 5, 29, 20]
}

extension CertificateAuthority {
  /// Builds and signs the CRL of this issuing CA.
  ///
  /// - Parameters:
  ///   - revoked: Every revoked, unexpired certificate of this issuer.
  ///   - number: The CRL number; larger than every earlier one.
  ///   - thisUpdate: When the list was made (whole seconds are kept).
  ///   - nextUpdate: At most ``CertificateRevocationList/maximumValidity``
  ///     after `thisUpdate`.
  /// - Returns: The CRL's DER.
  public func signCRL(
    revoked: [RevokedCertificate], number: UInt64, thisUpdate: Date, nextUpdate: Date
  ) throws(CAError) -> [UInt8] {
    guard nextUpdate > thisUpdate,
      nextUpdate.timeIntervalSince(thisUpdate) <= CertificateRevocationList.maximumValidity
    else {
      throw CAError(
        .lintFailed, "A CRL's nextUpdate must be after thisUpdate and at most 10 days later.")
    }
    do {
      var coder = DER.Serializer()
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(1)  // v2
        coder.serializeRawBytes(key.keyType.algorithmIdentifierDER)
        try coder.serialize(certificate.subject)
        try DERTime.serializeTime(thisUpdate, into: &coder)
        try DERTime.serializeTime(nextUpdate, into: &coder)
        if !revoked.isEmpty {
          try Self.serializeEntries(revoked, into: &coder)
        }
        try coder.appendConstructedNode(
          identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        ) { coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(
              AuthorityKeyIdentifier(keyIdentifier: keyIdentifier[...]).makeCertificateExtension())
            var numberCoder = DER.Serializer()
            try numberCoder.serialize(number: number)
            try coder.serialize(
              Certificate.Extension(
                oid: CertificateRevocationList.crlNumberOID, critical: false,
                value: numberCoder.serializedBytes[...]))
          }
        }
      }
      return try signed(coder.serializedBytes)
    } catch let error as CAError {
      throw error
    } catch {
      throw CAError(.signatureMismatch, "The CRL could not be encoded: \(error)")
    }
  }

  /// The revokedCertificates SEQUENCE, written directly: a CRL can hold a
  /// hundred thousand entries, and each has the same shape.
  static func serializeEntries(_ revoked: [RevokedCertificate], into coder: inout DER.Serializer)
    throws
  {
    var body: [UInt8] = []
    body.reserveCapacity(revoked.count * 56)
    var timeCache: [Date: [UInt8]] = [:]
    for entry in revoked {
      var time = timeCache[entry.revocationDate]
      if time == nil {
        var timeCoder = DER.Serializer()
        try DERTime.serializeTime(entry.revocationDate, into: &timeCoder)
        time = timeCoder.serializedBytes
        timeCache[entry.revocationDate] = time
      }
      var content: [UInt8] = []
      appendTLV(0x02, entry.serialNumber, to: &content)
      content += time!
      if entry.reason != .unspecified {
        // Extensions ::= SEQUENCE { SEQUENCE { reasonCode, OCTET STRING { ENUMERATED } } }
        let reasonExtension: [UInt8] =
          [0x30, 0x0C, 0x30, 0x0A, 0x06, 0x03, 0x55, 0x1D, 0x15, 0x04, 0x03, 0x0A, 0x01]
          + [UInt8(entry.reason.rawValue)]
        content += reasonExtension
      }
      appendTLV(0x30, content, to: &body)
    }
    var sequence: [UInt8] = []
    appendTLV(0x30, body, to: &sequence)
    coder.serializeRawBytes(sequence)
  }

  /// Appends one DER TLV with a definite length.
  static func appendTLV(_ tag: UInt8, _ content: [UInt8], to output: inout [UInt8]) {
    output.append(tag)
    let count = content.count
    if count < 0x80 {
      output.append(UInt8(count))
    } else {
      var lengthBytes: [UInt8] = []
      var remaining = count
      while remaining > 0 {
        lengthBytes.insert(UInt8(remaining & 0xFF), at: 0)
        remaining >>= 8
      }
      output.append(0x80 | UInt8(lengthBytes.count))
      output += lengthBytes
    }
    output += content
  }

  /// Signs a to-be-signed structure with the CA key: SEQUENCE { tbs,
  /// algorithm, BIT STRING signature }.
  func signed(_ tbs: [UInt8]) throws -> [UInt8] {
    try Self.signed(tbs, with: key)
  }

  static func signed(_ tbs: [UInt8], with key: any CASigningKey) throws -> [UInt8] {
    let signature: [UInt8]
    do {
      signature = try key.sign(tbs[...])
    } catch let error as CAError {
      throw error
    } catch {
      throw CAError(.keyCustody, "The CA key could not sign: \(error)")
    }
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      coder.serializeRawBytes(tbs)
      coder.serializeRawBytes(key.keyType.algorithmIdentifierDER)
      try coder.serialize(ASN1BitString(bytes: signature[...]))
    }
    return coder.serializedBytes
  }
}

extension DER.Serializer {
  /// An unsigned number as a DER INTEGER.
  mutating func serialize(number: UInt64) throws {
    var bytes: [UInt8] = []
    var remaining = number
    repeat {
      bytes.insert(UInt8(remaining & 0xFF), at: 0)
      remaining >>= 8
    } while remaining > 0
    if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
    appendPrimitiveNode(identifier: .integer) { $0.append(contentsOf: bytes) }
  }
}

extension CAKeyType {
  /// The signature AlgorithmIdentifier exactly as S/MIME BR §7.1.3.2 spells
  /// it (ECDSA without parameters, RSA with NULL).
  public var algorithmIdentifierDER: [UInt8] {
    switch self {
    case .p256: return [0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]
    case .p384: return [0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03]
    case .p521: return [0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04]
    case .rsa4096:
      return [
        0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B, 0x05, 0x00,
      ]
    }
  }
}
