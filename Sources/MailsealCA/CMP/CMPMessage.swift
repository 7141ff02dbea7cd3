import Crypto
public import Foundation
import SwiftASN1
public import X509

/// A CMP message (RFC 4210 as updated by RFC 9480; the lightweight profile
/// RFC 9483) — the part of it a registration authority that enrols with
/// `p10cr`, confirms, polls and revokes needs:
///
/// ```
/// PKIMessage ::= SEQUENCE { header PKIHeader, body PKIBody,
///   protection [0] PKIProtection OPTIONAL,
///   extraCerts [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL }
/// ```
///
/// The CMP module is written with EXPLICIT TAGS; the CRMF parts (the
/// CertTemplate of a revocation) IMPLICIT. What comes from a server is read
/// strictly (DER, every size bounded, a body type we do not speak is
/// refused), because it is what an outsider controls.
public struct CMPMessage: Sendable, Hashable {
  public var header: CMPHeader
  public var body: CMPBody
  /// The protection's bits (a MAC for ``CMPProtection``); nil: unprotected.
  public var protection: [UInt8]?
  /// Certificates sent along (the issuing CA's chain).
  public var extraCertificates: [Certificate]
  /// For a message read: its header and body exactly as they came, which
  /// the protection covers (what we keep of them may leave fields out).
  private var receivedProtectedPart: [UInt8]?

  public init(
    header: CMPHeader, body: CMPBody, protection: [UInt8]? = nil,
    extraCertificates: [Certificate] = []
  ) {
    self.header = header
    self.body = body
    self.protection = protection
    self.extraCertificates = extraCertificates
    self.receivedProtectedPart = nil
  }

  /// The message with its fields as they are now (after a change to a
  /// message read, the protection covers the changed fields).
  func reencoded() -> CMPMessage {
    var message = self
    message.receivedProtectedPart = nil
    return message
  }

  /// The largest message read (a cp with a chain is a few KiB).
  public static let maximumSize = 256 * 1024

  /// Why a message cannot be read.
  public struct Malformed: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
  }

  /// DER of the whole message.
  public func serialized() throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try header.serialize(into: &coder)
      try body.serialize(into: &coder)
      if let protection {
        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
          try coder.serialize(ASN1BitString(bytes: ArraySlice(protection)))
        }
      }
      if !extraCertificates.isEmpty {
        try coder.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { coder in
          try coder.serializeSequenceOf(extraCertificates)
        }
      }
    }
    return coder.serializedBytes
  }

  /// DER of `ProtectedPart ::= SEQUENCE { header, body }`: what the
  /// protection covers — for a message read, as it came.
  public func protectedPart() throws -> [UInt8] {
    if let receivedProtectedPart { return receivedProtectedPart }
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try header.serialize(into: &coder)
      try body.serialize(into: &coder)
    }
    return coder.serializedBytes
  }

  /// Reads a message; the protection is not checked here
  /// (``CMPProtection/verify(_:secret:)``).
  public init(derEncoded bytes: [UInt8]) throws(Malformed) {
    guard bytes.count <= Self.maximumSize else {
      throw Malformed("larger than \(Self.maximumSize) bytes")
    }
    do {
      let root = try DER.parse(bytes)
      var fields = try ASN1Fields(root, .sequence)
      let headerNode = try fields.required("header")
      let bodyNode = try fields.required("body")
      header = try CMPHeader(headerNode)
      body = try CMPBody(bodyNode)
      var part = DER.Serializer()
      part.appendConstructedNode(identifier: .sequence) { coder in
        coder.serializeRawBytes(headerNode.encodedBytes)
        coder.serializeRawBytes(bodyNode.encodedBytes)
      }
      receivedProtectedPart = part.serializedBytes
      protection = nil
      extraCertificates = []
      if let node = fields.next(tag: 0) {
        let bits = try ASN1BitString(derEncoded: try ASN1Fields.explicit(node))
        guard bits.paddingBits == 0 else { throw Malformed("the protection is not whole bytes") }
        protection = Array(bits.bytes)
      }
      if let node = fields.next(tag: 1) {
        var certificates = try ASN1Fields(try ASN1Fields.explicit(node), .sequence)
        while let certificate = certificates.next() {
          extraCertificates.append(try Certificate(derEncoded: certificate))
          guard extraCertificates.count <= 16 else {
            throw Malformed("more than 16 extra certificates")
          }
        }
      }
      try fields.end()
    } catch let error as Malformed {
      throw error
    } catch {
      throw Malformed("not a DER PKIMessage (\(error))")
    }
  }
}

/// `PKIHeader` (RFC 4210 §5.1.1): who, to whom, the protection's algorithm,
/// the transaction and the nonces.
public struct CMPHeader: Sendable, Hashable {
  /// 2 (cmp2000): what RFC 9483 clients send unless they need version 3;
  /// OpenSSL 3.0's server refuses 3.
  public var version: Int = 2
  public var sender: GeneralName
  public var recipient: GeneralName
  public var messageTime: Date?
  public var protectionAlgorithm: CMPProtection?
  /// The reference of the shared secret (MAC) or the key.
  public var senderKID: [UInt8]?
  public var transactionID: [UInt8]?
  public var senderNonce: [UInt8]?
  public var recipNonce: [UInt8]?
  /// generalInfo holds id-it-implicitConfirm.
  public var implicitConfirm = false

  public init(
    sender: GeneralName, recipient: GeneralName, messageTime: Date? = nil,
    protectionAlgorithm: CMPProtection? = nil, senderKID: [UInt8]? = nil,
    transactionID: [UInt8]? = nil, senderNonce: [UInt8]? = nil, recipNonce: [UInt8]? = nil
  ) {
    self.sender = sender
    self.recipient = recipient
    self.messageTime = messageTime
    self.protectionAlgorithm = protectionAlgorithm
    self.senderKID = senderKID
    self.transactionID = transactionID
    self.senderNonce = senderNonce
    self.recipNonce = recipNonce
  }

  static let implicitConfirmOID: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 4, 13]

  func serialize(into coder: inout DER.Serializer) throws {
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(version)
      try coder.serialize(sender)
      try coder.serialize(recipient)
      if let messageTime {
        try coder.serialize(explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific) { coder in
          try DERTime.serializeGeneralizedTime(messageTime, into: &coder)
        }
      }
      if let protectionAlgorithm {
        try coder.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) { coder in
          try protectionAlgorithm.serializeAlgorithm(into: &coder)
        }
      }
      for (tag, value) in [(2, senderKID), (4, transactionID), (5, senderNonce), (6, recipNonce)] {
        guard let value else { continue }
        try coder.serialize(
          explicitlyTaggedWithTagNumber: UInt(tag), tagClass: .contextSpecific
        ) { coder in
          try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(value)))
        }
      }
      if implicitConfirm {
        try coder.serialize(explicitlyTaggedWithTagNumber: 8, tagClass: .contextSpecific) { coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(Self.implicitConfirmOID)
              try coder.serialize(ASN1Null())
            }
          }
        }
      }
    }
  }

  init(_ node: ASN1Node) throws {
    var fields = try ASN1Fields(node, .sequence)
    version = try Int(derEncoded: try fields.required("pvno"))
    sender = try GeneralName(derEncoded: try fields.required("sender"))
    recipient = try GeneralName(derEncoded: try fields.required("recipient"))
    if let node = fields.next(tag: 0) {
      messageTime = DERTime.date(try GeneralizedTime(derEncoded: try ASN1Fields.explicit(node)))
    }
    if let node = fields.next(tag: 1) {
      protectionAlgorithm = try CMPProtection(algorithm: try ASN1Fields.explicit(node))
    }
    senderKID = try fields.next(tag: 2).map(ASN1Fields.explicitOctets)
    _ = fields.next(tag: 3)  // recipKID: for Diffie-Hellman MACs, not used
    transactionID = try fields.next(tag: 4).map(ASN1Fields.explicitOctets)
    senderNonce = try fields.next(tag: 5).map(ASN1Fields.explicitOctets)
    recipNonce = try fields.next(tag: 6).map(ASN1Fields.explicitOctets)
    _ = fields.next(tag: 7)  // freeText
    if let node = fields.next(tag: 8) {
      var infos = try ASN1Fields(try ASN1Fields.explicit(node), .sequence)
      while let info = infos.next() {
        var parts = try ASN1Fields(info, .sequence)
        let type = try ASN1ObjectIdentifier(derEncoded: try parts.required("infoType"))
        if type == Self.implicitConfirmOID { implicitConfirm = true }
      }
    }
    try fields.end()
  }
}

/// `PKIStatusInfo`: the server's verdict.
public struct CMPStatus: Sendable, Hashable {
  /// accepted 0, grantedWithMods 1, rejection 2, waiting 3,
  /// revocationWarning 4, revocationNotification 5, keyUpdateWarning 6.
  public var status: Int
  public var texts: [String]
  /// The PKIFailureInfo bits set (badAlg 0 … duplicateCertReq 26).
  public var failures: Set<Int>

  public init(status: Int, texts: [String] = [], failures: Set<Int> = []) {
    self.status = status
    self.texts = texts
    self.failures = failures
  }

  public static let accepted = 0, grantedWithMods = 1, rejection = 2, waiting = 3
  /// PKIFailureInfo bits used here.
  public static let badRequest = 2, incorrectData = 7, badCertTemplate = 19

  /// Whether a certificate came with it.
  public var isGranted: Bool { status == Self.accepted || status == Self.grantedWithMods }

  /// For logs and the admin: the status and the server's words.
  public var summary: String {
    let names = [
      "accepted", "grantedWithMods", "rejection", "waiting", "revocationWarning",
      "revocationNotification", "keyUpdateWarning",
    ]
    let name = names.indices.contains(status) ? names[status] : "status \(status)"
    let words = texts.isEmpty ? "" : ": " + texts.joined(separator: "; ")
    let bits = failures.isEmpty ? "" : " (failInfo \(failures.sorted()))"
    return name + words + bits
  }

  func serialize(into coder: inout DER.Serializer) throws {
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(status)
      if !texts.isEmpty {
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for text in texts { try coder.serialize(ASN1UTF8String(text)) }
        }
      }
      if let highest = failures.max() {
        var bytes = [UInt8](repeating: 0, count: highest / 8 + 1)
        for bit in failures { bytes[bit / 8] |= 0x80 >> (bit % 8) }
        let unused = 7 - highest % 8
        try coder.serialize(ASN1BitString(bytes: ArraySlice(bytes), paddingBits: unused))
      }
    }
  }

  init(_ node: ASN1Node) throws {
    var fields = try ASN1Fields(node, .sequence)
    status = try Int(derEncoded: try fields.required("status"))
    texts = []
    failures = []
    if let node = fields.next(identifier: .sequence) {
      var strings = try ASN1Fields(node, .sequence)
      while let string = strings.next() {
        texts.append(String(try ASN1UTF8String(derEncoded: string)).prefix(500).description)
        guard texts.count <= 16 else { throw CMPMessage.Malformed("more than 16 status texts") }
      }
    }
    if let node = fields.next(identifier: .bitString) {
      let bits = try ASN1BitString(derEncoded: node)
      for (index, byte) in bits.bytes.prefix(8).enumerated() {
        for bit in 0..<8 where byte & (0x80 >> bit) != 0 { failures.insert(index * 8 + bit) }
      }
    }
    try fields.end()
  }
}

/// `CertResponse`: one answer of a cp/ip.
public struct CMPCertResponse: Sendable, Hashable {
  public var certReqID: Int
  public var status: CMPStatus
  /// The certificate (plain, never an encrypted one).
  public var certificate: Certificate?

  public init(certReqID: Int, status: CMPStatus, certificate: Certificate? = nil) {
    self.certReqID = certReqID
    self.status = status
    self.certificate = certificate
  }
}

/// One `CertStatus` of a certConf.
public struct CMPCertStatus: Sendable, Hashable {
  /// The certificate's hash (SHA-256 for ECDSA/RSA with SHA-256 …).
  public var certHash: [UInt8]
  public var certReqID: Int
  public var status: CMPStatus?

  public init(certHash: [UInt8], certReqID: Int, status: CMPStatus?) {
    self.certHash = certHash
    self.certReqID = certReqID
    self.status = status
  }
}

/// One entry of a pollRep.
public struct CMPPollResponse: Sendable, Hashable {
  public var certReqID: Int
  /// Seconds to wait before the next pollReq.
  public var checkAfter: Int
  public var reason: [String]
}

/// What to revoke: a certificate by issuer and serial, with its reason.
public struct CMPRevocation: Sendable, Hashable {
  public var issuer: DistinguishedName
  public var serialNumber: Certificate.SerialNumber
  /// The RFC 5280 CRLReason code.
  public var reason: Int

  public init(issuer: DistinguishedName, serialNumber: Certificate.SerialNumber, reason: Int) {
    self.issuer = issuer
    self.serialNumber = serialNumber
    self.reason = reason
  }
}

/// `PKIBody`: the bodies this registration authority sends and reads.
public enum CMPBody: Sendable, Hashable {
  /// [4] a PKCS#10 request, as the browser made it.
  case p10cr([UInt8])
  /// [1] ip or [3] cp: the answers to an enrolment.
  case certResponse(tag: UInt, caPublications: [Certificate], responses: [CMPCertResponse])
  /// [24] the confirmation of what came.
  case certConf([CMPCertStatus])
  /// [19] the server's acknowledgement.
  case pkiConf
  /// [25] asking again for a waiting request.
  case pollReq([Int])
  /// [26] "not yet".
  case pollRep([CMPPollResponse])
  /// [11] a revocation request.
  case rr([CMPRevocation])
  /// [12] its answer: one status per revocation.
  case rp([CMPStatus])
  /// [23] an error message: status, code, details.
  case error(CMPStatus, code: Int?, details: [String])

  /// Its name, for logs and errors.
  public var name: String {
    switch self {
    case .p10cr: "p10cr"
    case .certResponse(let tag, _, _): tag == 1 ? "ip" : "cp"
    case .certConf: "certConf"
    case .pkiConf: "pkiConf"
    case .pollReq: "pollReq"
    case .pollRep: "pollRep"
    case .rr: "rr"
    case .rp: "rp"
    case .error: "error"
    }
  }

  static let reasonCodeOID: ASN1ObjectIdentifier = [2, 5, 29, 21]

  func serialize(into coder: inout DER.Serializer) throws {
    func tagged(_ tag: UInt, _ block: (inout DER.Serializer) throws -> Void) throws {
      try coder.serialize(explicitlyTaggedWithTagNumber: tag, tagClass: .contextSpecific, block)
    }
    switch self {
    case .p10cr(let request):
      try tagged(4) { coder in coder.serializeRawBytes(request) }
    case .certResponse(let tag, let publications, let responses):
      try tagged(tag) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          if !publications.isEmpty {
            try coder.serialize(explicitlyTaggedWithTagNumber: 1, tagClass: .contextSpecific) {
              coder in try coder.serializeSequenceOf(publications)
            }
          }
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            for response in responses {
              try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(response.certReqID)
                try response.status.serialize(into: &coder)
                if let certificate = response.certificate {
                  try coder.appendConstructedNode(identifier: .sequence) { coder in
                    try coder.serialize(
                      certificate, explicitlyTaggedWithTagNumber: 0, tagClass: .contextSpecific)
                  }
                }
              }
            }
          }
        }
      }
    case .certConf(let statuses):
      try tagged(24) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for status in statuses {
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(status.certHash)))
              try coder.serialize(status.certReqID)
              try status.status?.serialize(into: &coder)
            }
          }
        }
      }
    case .pkiConf:
      try tagged(19) { coder in try coder.serialize(ASN1Null()) }
    case .pollReq(let ids):
      try tagged(25) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for id in ids {
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(id)
            }
          }
        }
      }
    case .pollRep(let responses):
      try tagged(26) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for response in responses {
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(response.certReqID)
              try coder.serialize(response.checkAfter)
            }
          }
        }
      }
    case .rr(let revocations):
      try tagged(11) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for revocation in revocations {
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              // CertTemplate (CRMF, IMPLICIT TAGS): serialNumber [1], issuer [3]
              // (a Name is a CHOICE, so its tag stays explicit).
              try coder.appendConstructedNode(identifier: .sequence) { coder in
                coder.appendPrimitiveNode(
                  identifier: .init(tagWithNumber: 1, tagClass: .contextSpecific)
                ) { bytes in
                  // The serial's magnitude as a positive INTEGER: a leading
                  // zero when its high bit is set.
                  let magnitude = revocation.serialNumber.bytes
                  if let first = magnitude.first, first & 0x80 != 0 { bytes.append(0) }
                  bytes.append(contentsOf: magnitude)
                }
                try coder.serialize(
                  revocation.issuer, explicitlyTaggedWithTagNumber: 3, tagClass: .contextSpecific)
              }
              try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.appendConstructedNode(identifier: .sequence) { coder in
                  try coder.serialize(Self.reasonCodeOID)
                  var inner = DER.Serializer()
                  inner.appendPrimitiveNode(identifier: .enumerated) { bytes in
                    bytes.append(UInt8(clamping: revocation.reason))
                  }
                  try coder.serialize(
                    ASN1OctetString(contentBytes: ArraySlice(inner.serializedBytes)))
                }
              }
            }
          }
        }
      }
    case .rp(let statuses):
      try tagged(12) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            for status in statuses { try status.serialize(into: &coder) }
          }
        }
      }
    case .error(let status, let code, let details):
      try tagged(23) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try status.serialize(into: &coder)
          if let code { try coder.serialize(code) }
          if !details.isEmpty {
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              for detail in details { try coder.serialize(ASN1UTF8String(detail)) }
            }
          }
        }
      }
    }
  }

  init(_ node: ASN1Node) throws {
    guard node.identifier.tagClass == .contextSpecific else {
      throw CMPMessage.Malformed("the body is not a tagged choice")
    }
    let tag = node.identifier.tagNumber
    let content = try ASN1Fields.explicit(node)
    switch tag {
    case 1, 3:
      var fields = try ASN1Fields(content, .sequence)
      var publications: [Certificate] = []
      if let node = fields.next(tag: 1) {
        var certificates = try ASN1Fields(try ASN1Fields.explicit(node), .sequence)
        while let certificate = certificates.next() {
          publications.append(try Certificate(derEncoded: certificate))
        }
      }
      var list = try ASN1Fields(try fields.required("response"), .sequence)
      var responses: [CMPCertResponse] = []
      while let entry = list.next() {
        var parts = try ASN1Fields(entry, .sequence)
        let id = try Int(derEncoded: try parts.required("certReqId"))
        let status = try CMPStatus(try parts.required("status"))
        var certificate: Certificate?
        if let pair = parts.next(identifier: .sequence) {
          var pairFields = try ASN1Fields(pair, .sequence)
          let choice = try pairFields.required("certOrEncCert")
          guard choice.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
          else { throw CMPMessage.Malformed("an encrypted certificate is not supported") }
          certificate = try Certificate(derEncoded: try ASN1Fields.explicit(choice))
        }
        responses.append(CMPCertResponse(certReqID: id, status: status, certificate: certificate))
        guard responses.count <= 16 else { throw CMPMessage.Malformed("more than 16 responses") }
      }
      self = .certResponse(tag: tag, caPublications: publications, responses: responses)
    case 4:
      self = .p10cr(Array(content.encodedBytes))
    case 11:
      var list = try ASN1Fields(content, .sequence)
      var revocations: [CMPRevocation] = []
      while let entry = list.next() {
        var parts = try ASN1Fields(entry, .sequence)
        var template = try ASN1Fields(try parts.required("certDetails"), .sequence)
        var serial: Certificate.SerialNumber?
        var issuer: DistinguishedName?
        while let field = template.next() {
          switch (field.identifier.tagClass, field.identifier.tagNumber) {
          case (.contextSpecific, 1):
            guard case .primitive(let bytes) = field.content else {
              throw CMPMessage.Malformed("a serial number is not primitive")
            }
            serial = Certificate.SerialNumber(bytes: Array(bytes))
          case (.contextSpecific, 3):
            issuer = try DistinguishedName(derEncoded: try ASN1Fields.explicit(field))
          default: continue
          }
        }
        var reason = 0
        if let extensions = parts.next(identifier: .sequence) {
          var list = try ASN1Fields(extensions, .sequence)
          while let ext = list.next() {
            var extFields = try ASN1Fields(ext, .sequence)
            let oid = try ASN1ObjectIdentifier(derEncoded: try extFields.required("extnID"))
            _ = extFields.next(identifier: .boolean)
            let value = try ASN1OctetString(derEncoded: try extFields.required("extnValue"))
            if oid == Self.reasonCodeOID {
              let node = try DER.parse(Array(value.bytes))
              guard node.identifier == .enumerated, case .primitive(let bytes) = node.content,
                bytes.count == 1, bytes.first! <= 10
              else { throw CMPMessage.Malformed("a reason code that is not one") }
              reason = Int(bytes.first!)
            }
          }
        }
        guard let serial, let issuer else {
          throw CMPMessage.Malformed("a revocation names no serial number or no issuer")
        }
        revocations.append(CMPRevocation(issuer: issuer, serialNumber: serial, reason: reason))
      }
      self = .rr(revocations)
    case 12:
      var fields = try ASN1Fields(content, .sequence)
      var list = try ASN1Fields(try fields.required("status"), .sequence)
      var statuses: [CMPStatus] = []
      while let status = list.next() {
        statuses.append(try CMPStatus(status))
        guard statuses.count <= 16 else { throw CMPMessage.Malformed("more than 16 statuses") }
      }
      self = .rp(statuses)
    case 19:
      _ = try ASN1Null(derEncoded: content)
      self = .pkiConf
    case 23:
      var fields = try ASN1Fields(content, .sequence)
      let status = try CMPStatus(try fields.required("pKIStatusInfo"))
      let code = try fields.next(identifier: .integer).map { try Int(derEncoded: $0) }
      var details: [String] = []
      if let node = fields.next(identifier: .sequence) {
        var strings = try ASN1Fields(node, .sequence)
        while let string = strings.next() {
          details.append(String(try ASN1UTF8String(derEncoded: string)).prefix(500).description)
          guard details.count <= 16 else { throw CMPMessage.Malformed("more than 16 details") }
        }
      }
      self = .error(status, code: code, details: details)
    case 24:
      var list = try ASN1Fields(content, .sequence)
      var statuses: [CMPCertStatus] = []
      while let entry = list.next() {
        var parts = try ASN1Fields(entry, .sequence)
        let hash = Array(try ASN1OctetString(derEncoded: try parts.required("certHash")).bytes)
        let id = try Int(derEncoded: try parts.required("certReqId"))
        let status = try parts.next(identifier: .sequence).map { try CMPStatus($0) }
        statuses.append(CMPCertStatus(certHash: hash, certReqID: id, status: status))
      }
      self = .certConf(statuses)
    case 25:
      var list = try ASN1Fields(content, .sequence)
      var ids: [Int] = []
      while let entry = list.next() {
        var parts = try ASN1Fields(entry, .sequence)
        ids.append(try Int(derEncoded: try parts.required("certReqId")))
      }
      self = .pollReq(ids)
    case 26:
      var list = try ASN1Fields(content, .sequence)
      var responses: [CMPPollResponse] = []
      while let entry = list.next() {
        var parts = try ASN1Fields(entry, .sequence)
        let id = try Int(derEncoded: try parts.required("certReqId"))
        let after = try Int(derEncoded: try parts.required("checkAfter"))
        var reason: [String] = []
        if let node = parts.next(identifier: .sequence) {
          var strings = try ASN1Fields(node, .sequence)
          while let string = strings.next() {
            reason.append(String(try ASN1UTF8String(derEncoded: string)).prefix(500).description)
          }
        }
        responses.append(CMPPollResponse(certReqID: id, checkAfter: after, reason: reason))
        guard responses.count <= 16 else { throw CMPMessage.Malformed("more than 16 poll answers") }
      }
      self = .pollRep(responses)
    default:
      throw CMPMessage.Malformed("a body of type [\(tag)] is not spoken here")
    }
  }
}

/// The children of a constructed node, walked in order with look-ahead for
/// optional tagged fields.
struct ASN1Fields {
  private let nodes: [ASN1Node]
  private var index = 0

  init(_ node: ASN1Node, _ identifier: ASN1Identifier) throws {
    guard node.identifier == identifier, case .constructed(let children) = node.content else {
      throw CMPMessage.Malformed("expected \(identifier), found \(node.identifier)")
    }
    nodes = Array(children)
    guard nodes.count <= 64 else { throw CMPMessage.Malformed("more than 64 elements") }
  }

  mutating func next() -> ASN1Node? {
    guard index < nodes.count else { return nil }
    defer { index += 1 }
    return nodes[index]
  }

  mutating func required(_ name: String) throws -> ASN1Node {
    guard let node = next() else { throw CMPMessage.Malformed("no \(name)") }
    return node
  }

  /// The next field if it has this identifier.
  mutating func next(identifier: ASN1Identifier) -> ASN1Node? {
    guard index < nodes.count, nodes[index].identifier == identifier else { return nil }
    return next()
  }

  /// The next field if it is context-specific [tag].
  mutating func next(tag: UInt) -> ASN1Node? {
    next(identifier: ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific))
  }

  /// Nothing left.
  func end() throws {
    guard index == nodes.count else { throw CMPMessage.Malformed("unexpected trailing fields") }
  }

  /// The one node inside an explicit tag.
  static func explicit(_ node: ASN1Node) throws -> ASN1Node {
    guard case .constructed(let children) = node.content else {
      throw CMPMessage.Malformed("an explicit tag that is not constructed")
    }
    var iterator = children.makeIterator()
    guard let inner = iterator.next(), iterator.next() == nil else {
      throw CMPMessage.Malformed("an explicit tag that does not hold exactly one value")
    }
    return inner
  }

  static func explicitOctets(_ node: ASN1Node) throws -> [UInt8] {
    let octets = try ASN1OctetString(derEncoded: try explicit(node))
    guard octets.bytes.count <= 128 else { throw CMPMessage.Malformed("an octet string too long") }
    return Array(octets.bytes)
  }
}
