import Crypto
public import Foundation
import SwiftASN1
public import X509

/// The hash algorithms a CertID may use. SHA-1 is what most clients send
/// (RFC 5019); the others are accepted as RFC 6960 allows.
public enum OCSPHashAlgorithm: Sendable, Hashable, CaseIterable {
  case sha1, sha256, sha384, sha512

  static let oids: [(OCSPHashAlgorithm, ASN1ObjectIdentifier)] = [
    (.sha1, [1, 3, 14, 3, 2, 26]),
    (.sha256, [2, 16, 840, 1, 101, 3, 4, 2, 1]),
    (.sha384, [2, 16, 840, 1, 101, 3, 4, 2, 2]),
    (.sha512, [2, 16, 840, 1, 101, 3, 4, 2, 3]),
  ]

  var length: Int {
    switch self {
    case .sha1: return 20
    case .sha256: return 32
    case .sha384: return 48
    case .sha512: return 64
    }
  }

  func hash(_ bytes: some DataProtocol) -> [UInt8] {
    switch self {
    case .sha1: return Array(Insecure.SHA1.hash(data: bytes))
    case .sha256: return Array(SHA256.hash(data: bytes))
    case .sha384: return Array(SHA384.hash(data: bytes))
    case .sha512: return Array(SHA512.hash(data: bytes))
    }
  }
}

/// Which certificate a request asks about (RFC 6960 §4.1.1):
///
/// ```
/// CertID ::= SEQUENCE {
///     hashAlgorithm       AlgorithmIdentifier,
///     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
///     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
///     serialNumber        CertificateSerialNumber }
/// ```
public struct OCSPCertID: Sendable, Hashable {
  public let hashAlgorithm: OCSPHashAlgorithm
  public let issuerNameHash: [UInt8]
  public let issuerKeyHash: [UInt8]
  /// The serial number's INTEGER content octets.
  public let serialNumber: [UInt8]
  /// The CertID exactly as the request encoded it; the response repeats it.
  public let encoded: [UInt8]

  init(node: ASN1Node) throws {
    encoded = Array(node.encodedBytes)
    var parsed: (OCSPHashAlgorithm, [UInt8], [UInt8], [UInt8])?
    try DER.sequence(node, identifier: .sequence) { nodes in
      guard let algorithmNode = nodes.next() else { throw OCSPRequest.Malformed() }
      let algorithm = try DER.sequence(algorithmNode, identifier: .sequence) { inner in
        let oid = try ASN1ObjectIdentifier(derEncoded: &inner)
        if let parameters = inner.next() {
          // NULL parameters are allowed; nothing else.
          _ = try ASN1Null(derEncoded: parameters)
        }
        guard inner.next() == nil,
          let known = OCSPHashAlgorithm.oids.first(where: { $0.1 == oid })?.0
        else { throw OCSPRequest.Malformed() }
        return known
      }
      let nameHash = try ASN1OctetString(derEncoded: &nodes)
      let keyHash = try ASN1OctetString(derEncoded: &nodes)
      guard let serialNode = nodes.next(), serialNode.identifier == .integer,
        case .primitive(let serial) = serialNode.content, !serial.isEmpty, serial.count <= 20,
        nodes.next() == nil
      else { throw OCSPRequest.Malformed() }
      parsed = (algorithm, Array(nameHash.bytes), Array(keyHash.bytes), Array(serial))
    }
    guard let (algorithm, nameHash, keyHash, serial) = parsed,
      nameHash.count == algorithm.length, keyHash.count == algorithm.length
    else { throw OCSPRequest.Malformed() }
    hashAlgorithm = algorithm
    issuerNameHash = nameHash
    issuerKeyHash = keyHash
    serialNumber = serial
  }

  /// A CertID made here, for a response signed before anyone asks: the
  /// hash algorithm with NULL parameters, as OpenSSL, NSS and Windows
  /// encode it, so that their requests find the response by its bytes.
  init(
    hashAlgorithm: OCSPHashAlgorithm, issuerNameHash: [UInt8], issuerKeyHash: [UInt8],
    serialNumber: [UInt8]
  ) {
    var coder = DER.Serializer()
    // Serializing OIDs, NULL, octet strings and an integer's octets cannot fail.
    try! coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(OCSPHashAlgorithm.oids.first { $0.0 == hashAlgorithm }!.1)
        try coder.serialize(ASN1Null())
      }
      try coder.serialize(ASN1OctetString(contentBytes: issuerNameHash[...]))
      try coder.serialize(ASN1OctetString(contentBytes: issuerKeyHash[...]))
      coder.appendPrimitiveNode(identifier: .integer) { $0.append(contentsOf: serialNumber) }
    }
    self.hashAlgorithm = hashAlgorithm
    self.issuerNameHash = issuerNameHash
    self.issuerKeyHash = issuerKeyHash
    self.serialNumber = serialNumber
    // A copy of exactly its size: the serializer's buffer holds 1 KiB, and
    // the responder keeps one CertID per certificate.
    self.encoded = coder.serializedBytes.withUnsafeBufferPointer { Array($0) }
  }

  /// The serial number in lowercase hex, as the store keeps it.
  public var serialHex: String { serialNumber.hexString }
}

/// An OCSP request (RFC 6960 §4.1.1), read strictly: DER only, version 1,
/// at most ``maximumRequests`` CertIDs, a nonce of 1 to 32 octets (RFC 8954),
/// no unknown critical extension. Anything else is malformed.
///
/// ```
/// OCSPRequest ::= SEQUENCE {
///     tbsRequest                  TBSRequest,
///     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
///
/// TBSRequest ::= SEQUENCE {
///     version             [0]     EXPLICIT Version DEFAULT v1,
///     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
///     requestList                 SEQUENCE OF Request,
///     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
///
/// Request ::= SEQUENCE {
///     reqCert                     CertID,
///     singleRequestExtensions [0] EXPLICIT Extensions OPTIONAL }
/// ```
public struct OCSPRequest: Sendable {
  /// The largest request read: a few CertIDs, a nonce, even a signature.
  public static let maximumSize = 8_192
  public static let maximumRequests = 16

  /// Why a request was not read: always answered `malformedRequest`.
  public struct Malformed: Error, Sendable {}

  static let nonceOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 2]

  public let certIDs: [OCSPCertID]
  /// The nonce extension's extnValue, echoed verbatim in the response.
  public let nonce: [UInt8]?

  public init(derEncoded bytes: [UInt8]) throws(Malformed) {
    guard !bytes.isEmpty, bytes.count <= Self.maximumSize else { throw Malformed() }
    do {
      let root = try DER.parse(bytes)
      var certIDs: [OCSPCertID] = []
      var nonce: [UInt8]?
      try DER.sequence(root, identifier: .sequence) { nodes in
        guard let tbs = nodes.next() else { throw Malformed() }
        // optionalSignature is allowed and ignored: requests need no signature.
        if let signature = nodes.next() {
          guard signature.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
          else { throw Malformed() }
        }
        guard nodes.next() == nil else { throw Malformed() }
        try DER.sequence(tbs, identifier: .sequence) { fields in
          var field = fields.next()
          if let node = field,
            node.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
          {
            let version = try DER.explicitlyTagged(
              node, tagNumber: 0, tagClass: .contextSpecific
            ) { try Int(derEncoded: $0) }
            guard version == 0 else { throw Malformed() }
            field = fields.next()
          }
          if let node = field,
            node.identifier == ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)
          {
            field = fields.next()
          }
          guard let list = field else { throw Malformed() }
          try DER.sequence(list, identifier: .sequence) { requests in
            while let request = requests.next() {
              try DER.sequence(request, identifier: .sequence) { parts in
                guard let certID = parts.next() else { throw Malformed() }
                certIDs.append(try OCSPCertID(node: certID))
                if let extensions = parts.next() {
                  guard
                    extensions.identifier
                      == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
                  else { throw Malformed() }
                  _ = try Self.extensions(extensions)
                }
                guard parts.next() == nil else { throw Malformed() }
              }
            }
          }
          field = fields.next()
          if let node = field {
            guard node.identifier == ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)
            else { throw Malformed() }
            for ext in try Self.extensions(node) where ext.oid == Self.nonceOID {
              guard nonce == nil else { throw Malformed() }
              nonce = Array(ext.value)
            }
            field = fields.next()
          }
          guard field == nil else { throw Malformed() }
        }
      }
      guard !certIDs.isEmpty, certIDs.count <= Self.maximumRequests else { throw Malformed() }
      if let nonce {
        // RFC 8954: the nonce is an OCTET STRING of 1 to 32 octets (inside
        // the extnValue).
        guard let inner = try? ASN1OctetString(derEncoded: nonce[...]),
          (1...32).contains(inner.bytes.count)
        else { throw Malformed() }
      }
      self.certIDs = certIDs
      self.nonce = nonce
    } catch {
      throw Malformed()
    }
  }

  /// The extensions inside an explicit tag; unknown critical ones are
  /// refused.
  static func extensions(_ node: ASN1Node) throws -> [Certificate.Extension] {
    guard case .constructed(let children) = node.content else { throw Malformed() }
    var iterator = children.makeIterator()
    guard let sequence = iterator.next(), iterator.next() == nil else { throw Malformed() }
    let extensions = try DER.sequence(
      of: Certificate.Extension.self, identifier: .sequence, rootNode: sequence)
    for ext in extensions where ext.critical && ext.oid != nonceOID {
      throw Malformed()
    }
    return extensions
  }
}

/// What a response says about one certificate (RFC 6960 §4.2.1).
public enum OCSPCertStatus: Sendable, Hashable {
  case good
  case revoked(at: Date, reason: RevocationReason)
  case unknown
}

/// One answer of a response.
public struct OCSPSingleResponse: Sendable, Hashable {
  public let certID: OCSPCertID
  public let status: OCSPCertStatus
  public let thisUpdate: Date
  public let nextUpdate: Date

  public init(certID: OCSPCertID, status: OCSPCertStatus, thisUpdate: Date, nextUpdate: Date) {
    self.certID = certID
    self.status = status
    self.thisUpdate = thisUpdate
    self.nextUpdate = nextUpdate
  }
}

/// The responseStatus values of an unsuccessful response (RFC 6960 §4.2.1).
public enum OCSPResponseStatus: UInt8, Sendable {
  case malformedRequest = 1
  case internalError = 2
  case tryLater = 3
  case sigRequired = 5
  case unauthorized = 6

  /// The whole OCSPResponse: `SEQUENCE { ENUMERATED status }`.
  public var responseDER: [UInt8] { [0x30, 0x03, 0x0A, 0x01, rawValue] }
}

/// Signs OCSP responses for one issuing CA: with the CA key itself or with
/// a delegated responder certificate the CA issued (id-kp-OCSPSigning).
///
/// ```
/// BasicOCSPResponse ::= SEQUENCE {
///    tbsResponseData      ResponseData,
///    signatureAlgorithm   AlgorithmIdentifier,
///    signature            BIT STRING,
///    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
///
/// ResponseData ::= SEQUENCE {
///    version              [0] EXPLICIT Version DEFAULT v1,
///    responderID              ResponderID,     -- byKey [2] KeyHash
///    producedAt               GeneralizedTime,
///    responses                SEQUENCE OF SingleResponse,
///    responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
///
/// SingleResponse ::= SEQUENCE {
///    certID                       CertID,
///    certStatus                   CertStatus,
///    thisUpdate                   GeneralizedTime,
///    nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL }
///
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }
///
/// RevokedInfo ::= SEQUENCE {
///     revocationTime              GeneralizedTime,
///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
/// ```
public struct OCSPResponder: Sendable {
  /// The issuing CA the responses speak for.
  public let issuer: Certificate
  /// The certificate whose key signs: the issuer or a delegated responder.
  public let signerCertificate: Certificate
  let key: any CASigningKey
  let responderKeyHash: [UInt8]
  /// The delegated responder's certificate, DER, sent with each response;
  /// nil when the issuer signs itself.
  let delegatedCertificateDER: [UInt8]?
  let issuerHashes: [OCSPHashAlgorithm: (name: [UInt8], key: [UInt8])]

  /// The longest validity of a response (S/MIME BR §4.9.10: at most 10 days).
  public static let maximumValidity: TimeInterval = 10 * 86_400

  static let basicOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 1]

  /// A responder for `issuer` signing with `key`, which belongs to
  /// `signerCertificate`: the issuer itself, or a certificate it issued
  /// for OCSP signing.
  public init(issuer: Certificate, signerCertificate: Certificate, key: any CASigningKey)
    throws(CAError)
  {
    guard key.publicKey == signerCertificate.publicKey else {
      throw CAError(.caMaterialInvalid, "The OCSP signing key does not belong to its certificate.")
    }
    if signerCertificate != issuer {
      let usages = (try? signerCertificate.extensions.extendedKeyUsage) ?? nil
      guard signerCertificate.issuer == issuer.subject,
        usages?.contains(.ocspSigning) == true
      else {
        throw CAError(
          .caMaterialInvalid,
          "The OCSP responder certificate is not an OCSP signing certificate of “\(issuer.subject)”."
        )
      }
    }
    self.issuer = issuer
    self.signerCertificate = signerCertificate
    self.key = key
    self.responderKeyHash = Array(
      Insecure.SHA1.hash(data: signerCertificate.publicKey.subjectPublicKeyInfoBytes))
    if signerCertificate != issuer {
      var coder = DER.Serializer()
      do {
        try coder.serialize(signerCertificate)
      } catch {
        throw CAError(.caMaterialInvalid, "The OCSP responder certificate cannot be encoded.")
      }
      self.delegatedCertificateDER = coder.serializedBytes
    } else {
      self.delegatedCertificateDER = nil
    }
    var nameCoder = DER.Serializer()
    try! nameCoder.serialize(issuer.subject)
    let name = nameCoder.serializedBytes
    let keyBytes = issuer.publicKey.subjectPublicKeyInfoBytes
    var hashes: [OCSPHashAlgorithm: (name: [UInt8], key: [UInt8])] = [:]
    for algorithm in OCSPHashAlgorithm.allCases {
      hashes[algorithm] = (algorithm.hash(name), algorithm.hash(keyBytes))
    }
    self.issuerHashes = hashes
  }

  /// The CertID of one of this issuer's certificates (its serial number's
  /// INTEGER content octets), as clients encode it.
  public func certID(serialNumber: [UInt8], hashAlgorithm: OCSPHashAlgorithm = .sha1)
    -> OCSPCertID
  {
    let hashes = issuerHashes[hashAlgorithm]!
    return OCSPCertID(
      hashAlgorithm: hashAlgorithm, issuerNameHash: hashes.name, issuerKeyHash: hashes.key,
      serialNumber: serialNumber)
  }

  /// Whether this responder signs without waiting for anything outside
  /// the process (its key is in memory, not in a token).
  public var signsInProcess: Bool { key.signsInProcess }

  /// Whether a CertID names this responder's issuer.
  public func isForIssuer(_ certID: OCSPCertID) -> Bool {
    guard let hashes = issuerHashes[certID.hashAlgorithm] else { return false }
    return hashes.name == certID.issuerNameHash && hashes.key == certID.issuerKeyHash
  }

  /// Signs a successful response: the whole OCSPResponse DER.
  public func sign(_ responses: [OCSPSingleResponse], producedAt: Date, nonce: [UInt8]? = nil)
    throws(CAError) -> [UInt8]
  {
    do {
      var data = DER.Serializer()
      try data.appendConstructedNode(identifier: .sequence) { coder in
        // responderID byKey [2] EXPLICIT KeyHash
        try coder.appendConstructedNode(
          identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)
        ) { coder in
          try coder.serialize(ASN1OctetString(contentBytes: responderKeyHash[...]))
        }
        try DERTime.serializeGeneralizedTime(producedAt, into: &coder)
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for response in responses { try Self.serialize(response, into: &coder) }
        }
        if let nonce {
          try coder.appendConstructedNode(
            identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)
          ) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(
                Certificate.Extension(oid: OCSPRequest.nonceOID, critical: false, value: nonce[...])
              )
            }
          }
        }
      }
      let tbs = data.serializedBytes
      let signature = try key.sign(tbs[...])
      return Self.envelope(
        tbs: tbs, algorithm: key.keyType.algorithmIdentifierDER, signature: signature,
        certificates: delegatedCertificateDER)
    } catch let error as CAError {
      throw error
    } catch {
      throw CAError(.keyCustody, "The OCSP response could not be signed: \(error)")
    }
  }

  /// The whole OCSPResponse around a signed ResponseData, written in one
  /// pass with every length known ahead (the serializer would move the
  /// outer layers' contents, responder certificate and all, once per
  /// layer):
  ///
  /// ```
  /// OCSPResponse { ENUMERATED successful, [0] EXPLICIT ResponseBytes {
  ///   id-pkix-ocsp-basic, OCTET STRING { BasicOCSPResponse {
  ///     tbs, signatureAlgorithm, BIT STRING signature,
  ///     [0] EXPLICIT SEQUENCE { responder certificate } } } } }
  /// ```
  static func envelope(
    tbs: [UInt8], algorithm: [UInt8], signature: [UInt8], certificates: [UInt8]?
  ) -> [UInt8] {
    func size(_ length: Int) -> Int {
      var total = 1 + length
      var rest = length
      if rest >= 0x80 {
        while rest > 0 {
          total += 1
          rest >>= 8
        }
      }
      return total + 1
    }
    func header(_ tag: UInt8, _ length: Int, into bytes: inout [UInt8]) {
      bytes.append(tag)
      guard length >= 0x80 else { return bytes.append(UInt8(length)) }
      var octets: [UInt8] = []
      var rest = length
      while rest > 0 {
        octets.insert(UInt8(truncatingIfNeeded: rest), at: 0)
        rest >>= 8
      }
      bytes.append(0x80 | UInt8(octets.count))
      bytes.append(contentsOf: octets)
    }
    let bits = 1 + signature.count
    let certificateList = certificates.map { size($0.count) } ?? 0
    let basic =
      tbs.count + algorithm.count + size(bits) + (certificates == nil ? 0 : size(certificateList))
    let octets = size(basic)
    let responseBytes = basicOIDDER.count + size(octets)
    let explicit = size(responseBytes)
    let whole = 3 + size(explicit)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(size(whole))
    header(0x30, whole, into: &bytes)
    bytes.append(contentsOf: [0x0A, 0x01, 0x00])  // successful
    header(0xA0, explicit, into: &bytes)
    header(0x30, responseBytes, into: &bytes)
    bytes.append(contentsOf: basicOIDDER)
    header(0x04, octets, into: &bytes)
    header(0x30, basic, into: &bytes)
    bytes.append(contentsOf: tbs)
    bytes.append(contentsOf: algorithm)
    header(0x03, bits, into: &bytes)
    bytes.append(0)  // no unused bits
    bytes.append(contentsOf: signature)
    if let certificates {
      header(0xA0, certificateList, into: &bytes)
      header(0x30, certificates.count, into: &bytes)
      bytes.append(contentsOf: certificates)
    }
    return bytes
  }

  /// id-pkix-ocsp-basic in DER.
  static let basicOIDDER: [UInt8] = {
    var coder = DER.Serializer()
    try! coder.serialize(basicOID)
    return coder.serializedBytes
  }()

  static func serialize(_ response: OCSPSingleResponse, into coder: inout DER.Serializer) throws {
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      coder.serializeRawBytes(response.certID.encoded)
      switch response.status {
      case .good:
        coder.appendPrimitiveNode(
          identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        ) { _ in }
      case .revoked(let time, let reason):
        try coder.appendConstructedNode(
          identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)
        ) { coder in
          try DERTime.serializeGeneralizedTime(time, into: &coder)
          if reason != .unspecified {
            coder.appendConstructedNode(
              identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
            ) { coder in
              coder.appendPrimitiveNode(identifier: .enumerated) {
                $0.append(UInt8(reason.rawValue))
              }
            }
          }
        }
      case .unknown:
        coder.appendPrimitiveNode(
          identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)
        ) { _ in }
      }
      try DERTime.serializeGeneralizedTime(response.thisUpdate, into: &coder)
      try coder.appendConstructedNode(
        identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
      ) { coder in
        try DERTime.serializeGeneralizedTime(response.nextUpdate, into: &coder)
      }
    }
  }
}

extension OCSPRequest {
  /// The CertID of a request for one certificate with nothing else — no
  /// version, requestor name, extension or signature — in DER (minimal
  /// lengths, nothing after): `SEQUENCE { SEQUENCE { SEQUENCE { SEQUENCE {
  /// CertID } } } }`, as OpenSSL, NSS and Windows send it without a nonce.
  /// The responder looks its bytes up among CertIDs it read or made whole
  /// (so nothing is trusted that was not read whole once); anything else
  /// is nil and is read by ``init(derEncoded:)``. Whenever this gives
  /// bytes and ``init(derEncoded:)`` reads the same request, that request
  /// holds exactly this one CertID and no nonce (the fuzzer
  /// `FuzzOCSPFastPath` checks it).
  public static func soleCertID(in body: [UInt8]) -> ArraySlice<UInt8>? {
    var bytes = body[...]
    for _ in 0..<4 {
      guard let content = sequenceContent(bytes) else { return nil }
      bytes = content
    }
    return bytes.first == 0x30 ? bytes : nil
  }

  /// The content of a DER SEQUENCE that is exactly `bytes`.
  static func sequenceContent(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
    let start = bytes.startIndex
    guard bytes.count >= 2, bytes[start] == 0x30 else { return nil }
    let length: Int
    let header: Int
    switch bytes[start + 1] {
    case 0..<0x80:
      (length, header) = (Int(bytes[start + 1]), 2)
    case 0x81 where bytes.count >= 3 && bytes[start + 2] >= 0x80:
      (length, header) = (Int(bytes[start + 2]), 3)
    case 0x82 where bytes.count >= 4 && bytes[start + 2] != 0:
      (length, header) = (Int(bytes[start + 2]) << 8 | Int(bytes[start + 3]), 4)
    default:
      return nil
    }
    guard bytes.count == header + length else { return nil }
    return bytes[(start + header)...]
  }
}
