import SwiftASN1
public import X509

/// The certificates an upstream sends back, in the forms the APIs use:
/// PKCS#7 / CMS SignedData "certs-only" (DER, or BER as some services
/// write it; also PEM `PKCS7`), or PEM `CERTIFICATE` blocks (a certificate
/// and its chain). The order in a PKCS#7 is a SET's: the caller picks the
/// leaf by its key.
public enum CertificateBundle {
  /// The largest bundle read (a certificate and its chain are a few KiB).
  public static let maximumSize = 256 * 1024
  /// The most certificates in one bundle.
  public static let maximumCount = 16

  /// Why a bundle cannot be read.
  public struct Malformed: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
  }

  static let signedData: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 2]
  static let data: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 7, 1]

  /// Reads a bundle in any of the forms above.
  public static func certificates(_ bytes: [UInt8]) throws(Malformed) -> [Certificate] {
    guard bytes.count <= maximumSize else {
      throw Malformed("a bundle of \(bytes.count) bytes (at most \(maximumSize))")
    }
    guard !bytes.isEmpty else { throw Malformed("an empty bundle") }
    let text = bytes.drop(while: { [0x20, 0x09, 0x0A, 0x0D].contains($0) })
    if text.starts(with: Array("-----BEGIN ".utf8)) {
      return try pem(String(decoding: bytes, as: UTF8.self))
    }
    return try pkcs7(bytes)
  }

  static func pem(_ text: String) throws(Malformed) -> [Certificate] {
    let documents: [PEMDocument]
    do {
      documents = try PEMDocument.parseMultiple(pemString: text)
    } catch {
      throw Malformed("not PEM")
    }
    guard documents.count <= maximumCount else {
      throw Malformed("more than \(maximumCount) PEM blocks")
    }
    var certificates: [Certificate] = []
    for document in documents {
      switch document.discriminator {
      case "CERTIFICATE":
        do {
          certificates.append(try Certificate(derEncoded: document.derBytes))
        } catch {
          throw Malformed("a PEM certificate that is not DER X.509")
        }
      case "PKCS7", "CMS":
        certificates += try pkcs7(document.derBytes)
      default:
        continue
      }
    }
    guard !certificates.isEmpty, certificates.count <= maximumCount else {
      throw Malformed("\(certificates.count) certificates (1 to \(maximumCount))")
    }
    return certificates
  }

  /// ContentInfo { signedData, [0] EXPLICIT SignedData { version,
  /// digestAlgorithms, encapContentInfo, certificates [0] IMPLICIT … } }.
  static func pkcs7(_ bytes: [UInt8]) throws(Malformed) -> [Certificate] {
    var certificates: [Certificate] = []
    for der in try pkcs7Values(bytes) {
      do {
        certificates.append(try Certificate(derEncoded: der))
      } catch {
        throw Malformed("not PKCS#7: \(error)")
      }
    }
    return certificates
  }

  /// The certificates of a PKCS#7 SignedData, as the DER bytes it holds.
  static func pkcs7Values(_ bytes: [UInt8]) throws(Malformed) -> [[UInt8]] {
    do {
      let root = try BER.parse(bytes)
      guard root.identifier == .sequence, case .constructed(let info) = root.content else {
        throw Malformed("not a ContentInfo")
      }
      var parts = info.makeIterator()
      guard let typeNode = parts.next(),
        try ASN1ObjectIdentifier(berEncoded: typeNode) == signedData
      else { throw Malformed("not PKCS#7 SignedData") }
      guard let wrapper = parts.next(),
        wrapper.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific),
        case .constructed(let wrapped) = wrapper.content,
        let signed = wrapped.first(where: { _ in true }), signed.identifier == .sequence,
        case .constructed(let fields) = signed.content
      else { throw Malformed("SignedData is missing") }
      var certificates: [[UInt8]] = []
      for field in fields
      where field.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
        guard case .constructed(let items) = field.content else {
          throw Malformed("the certificates are not a SET")
        }
        for item in items {
          guard certificates.count < maximumCount else {
            throw Malformed("more than \(maximumCount) certificates")
          }
          certificates.append(Array(item.encodedBytes))
        }
      }
      guard !certificates.isEmpty else { throw Malformed("SignedData holds no certificate") }
      return certificates
    } catch let error as Malformed {
      throw error
    } catch {
      throw Malformed("not PKCS#7: \(error)")
    }
  }
  /// A degenerate ("certs-only", RFC 8551 §3.8) PKCS#7 SignedData holding
  /// `certificates` (DER, in this order: the holder's first, then its
  /// chain) and no signer — what a directory's `userSMIMECertificate`
  /// holds when written by someone without the holder's key (RFC 2798
  /// §2.8), the same bytes as `openssl crl2pkcs7 -nocrl`.
  public static func certsOnly(_ certificates: [[UInt8]]) throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(signedData)
      try coder.appendConstructedNode(
        identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
      ) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(1)
          coder.appendConstructedNode(identifier: .set) { _ in }
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(data)
          }
          // [0] IMPLICIT SET OF Certificate, in the given order (as
          // OpenSSL writes it: the holder's first).
          coder.appendConstructedNode(
            identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
          ) { coder in
            for certificate in certificates { coder.serializeRawBytes(certificate) }
          }
          coder.appendConstructedNode(identifier: .set) { _ in }
        }
      }
    }
    return coder.serializedBytes
  }

  /// The certificates of a PKCS#7 value, nil when it is not one (a
  /// directory value another writer put there).
  public static func certificatesOfPKCS7(_ bytes: [UInt8]) -> [[UInt8]]? {
    guard bytes.count <= maximumSize else { return nil }
    return try? pkcs7Values(bytes)
  }
}
