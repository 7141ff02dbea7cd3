import SwiftASN1

/// The LDAPv3 messages (RFC 4511) a certificate publisher speaks: bind,
/// StartTLS, search, modify, unbind, and their answers. Written as DER
/// (which meets RFC 4511 §5.1's restrictions); read as BER with definite
/// lengths (Active Directory writes four-byte lengths), every size and
/// count bounded. The bytes-to-values half is pure, so that it is fuzzed
/// on its own; the connection is the adapters'.
public struct LDAPMessage: Sendable, Hashable {
  /// 1, 2, 3, … per connection; 0 is the server's unsolicited notice.
  public var id: Int
  public var operation: LDAPOperation

  public init(id: Int, _ operation: LDAPOperation) {
    self.id = id
    self.operation = operation
  }

  /// The largest message read (a search entry with a few certificates and
  /// their chains is tens of KiB).
  public static let maximumSize = 4 * 1024 * 1024
  /// The most elements of one SEQUENCE or SET read (attributes, values,
  /// references).
  static let maximumElements = 256

  /// Why a message cannot be read.
  public struct Malformed: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
  }

  /// The length of the first whole message at the start of `bytes`, or
  /// nil while more bytes are needed (RFC 4511 §5.2: BER on the stream,
  /// nothing else).
  public static func frameLength(_ bytes: some Collection<UInt8>) throws(Malformed) -> Int? {
    var iterator = bytes.makeIterator()
    guard let tag = iterator.next() else { return nil }
    guard tag == 0x30 else { throw Malformed("a message that is not a SEQUENCE (0x\(tag))") }
    guard let first = iterator.next() else { return nil }
    var length = 0
    var header = 2
    if first < 0x80 {
      length = Int(first)
    } else {
      let count = Int(first & 0x7F)
      guard (1...4).contains(count) else {
        throw Malformed("a length of \(count) bytes (indefinite or over 4)")
      }
      for _ in 0..<count {
        guard let byte = iterator.next() else { return nil }
        length = length << 8 | Int(byte)
      }
      header += count
    }
    guard header + length <= maximumSize else {
      throw Malformed("a message of \(header + length) bytes (at most \(maximumSize))")
    }
    return bytes.count >= header + length ? header + length : nil
  }

  // MARK: Writing

  /// The message's DER.
  public func serialized() throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(id)
      try operation.serialize(into: &coder)
    }
    return coder.serializedBytes
  }

  // MARK: Reading

  /// Reads one message (exactly one: trailing bytes are refused).
  public init(berEncoded bytes: [UInt8]) throws(Malformed) {
    guard bytes.count <= Self.maximumSize else {
      throw Malformed("a message of \(bytes.count) bytes (at most \(Self.maximumSize))")
    }
    do {
      let root = try BER.parse(bytes)
      var fields = try Self.children(root, .sequence)
      id = try Int(berEncoded: try Self.next(&fields, "messageID"))
      guard (0...Int(Int32.max)).contains(id) else { throw Malformed("a message id of \(id)") }
      operation = try LDAPOperation(try Self.next(&fields, "protocolOp"))
      // Controls [0] may follow; none is asked for, so none is read.
      // Active Directory's Notice of Disconnection (id 0) puts its
      // responseName here, after the operation: tolerated for id 0 only.
      if id != 0 {
        if let controls = fields.next(),
          controls.identifier != ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        {
          throw Malformed("an element after the operation that is not controls")
        }
        guard fields.next() == nil else { throw Malformed("trailing elements") }
      }
    } catch let error as Malformed {
      throw error
    } catch {
      throw Malformed("not an LDAP message: \(error)")
    }
  }

  static func children(_ node: ASN1Node, _ identifier: ASN1Identifier) throws
    -> IndexingIterator<[ASN1Node]>
  {
    guard node.identifier == identifier, case .constructed(let nodes) = node.content else {
      throw Malformed("expected \(identifier), found \(node.identifier)")
    }
    let all = Array(nodes)
    guard all.count <= maximumElements else {
      throw Malformed("more than \(maximumElements) elements")
    }
    return all.makeIterator()
  }

  static func next(_ fields: inout IndexingIterator<[ASN1Node]>, _ name: String) throws
    -> ASN1Node
  {
    guard let node = fields.next() else { throw Malformed("no \(name)") }
    return node
  }

  /// An LDAPString or LDAPDN: an OCTET STRING of UTF-8 (64 KiB at most).
  static func string(_ node: ASN1Node, _ identifier: ASN1Identifier = .octetString) throws
    -> String
  {
    let bytes = try octets(node, identifier)
    guard bytes.count <= 65_536, let text = String(validating: bytes, as: UTF8.self) else {
      throw Malformed("a string that is not UTF-8 or longer than 64 KiB")
    }
    return text
  }

  static func octets(_ node: ASN1Node, _ identifier: ASN1Identifier = .octetString) throws
    -> [UInt8]
  {
    guard node.identifier == identifier, case .primitive(let bytes) = node.content else {
      throw Malformed("expected a primitive \(identifier)")
    }
    return Array(bytes)
  }
}

/// An LDAPResult: the code, the matched DN and the server's words.
public struct LDAPResult: Sendable, Hashable, CustomStringConvertible {
  public var code: Int
  public var matchedDN: String
  public var message: String

  public init(code: Int, matchedDN: String = "", message: String = "") {
    self.code = code
    self.matchedDN = matchedDN
    self.message = message
  }

  public static let success = 0, sizeLimitExceeded = 4, noSuchAttribute = 16
  public static let attributeOrValueExists = 20, noSuchObject = 32, invalidCredentials = 49
  public static let insufficientAccessRights = 50, busy = 51, unavailable = 52

  public var description: String {
    "result \(code)" + (message.isEmpty ? "" : ": \(message.prefix(300))")
  }

  func serialize(into coder: inout DER.Serializer) throws {
    try code.serialize(into: &coder, withIdentifier: .enumerated)
    try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(matchedDN.utf8)))
    try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(message.utf8)))
  }

  /// Reads the result's three fields from the operation's children (a
  /// referral [3] and an operation's own fields may follow).
  init(_ fields: inout IndexingIterator<[ASN1Node]>) throws {
    let codeNode = try LDAPMessage.next(&fields, "resultCode")
    code = try Int(berEncoded: codeNode, withIdentifier: .enumerated)
    matchedDN = try LDAPMessage.string(try LDAPMessage.next(&fields, "matchedDN"))
    message = try LDAPMessage.string(try LDAPMessage.next(&fields, "diagnosticMessage"))
  }
}

/// An attribute with its values (an entry's, or a modification's).
public struct LDAPAttribute: Sendable, Hashable {
  public var type: String
  public var values: [[UInt8]]

  public init(type: String, values: [[UInt8]]) {
    self.type = type
    self.values = values
  }

  func serialize(into coder: inout DER.Serializer) throws {
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(type.utf8)))
      try coder.appendConstructedNode(identifier: .set) { coder in
        // DER's SET OF order: by encoding.
        let encoded = try values.map { value -> [UInt8] in
          var inner = DER.Serializer()
          try inner.serialize(ASN1OctetString(contentBytes: ArraySlice(value)))
          return inner.serializedBytes
        }.sorted { $0.lexicographicallyPrecedes($1) }
        for bytes in encoded { coder.serializeRawBytes(bytes) }
      }
    }
  }

  init(_ node: ASN1Node) throws {
    var fields = try LDAPMessage.children(node, .sequence)
    type = try LDAPMessage.string(try LDAPMessage.next(&fields, "type"))
    var values = try LDAPMessage.children(try LDAPMessage.next(&fields, "vals"), .set)
    self.values = []
    while let value = values.next() { self.values.append(try LDAPMessage.octets(value)) }
    guard fields.next() == nil else { throw LDAPMessage.Malformed("trailing attribute fields") }
  }
}

/// A search filter (RFC 4511 §4.5.1.7): the subset a publisher needs.
public indirect enum LDAPFilter: Sendable, Hashable {
  case and([LDAPFilter])
  case or([LDAPFilter])
  case not(LDAPFilter)
  /// attribute=value, the value as raw octets (no escaping on the wire).
  case equal(String, [UInt8])
  /// attribute=*
  case present(String)

  func serialize(into coder: inout DER.Serializer) throws {
    func context(_ tag: UInt) -> ASN1Identifier {
      ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific)
    }
    switch self {
    case .and(let filters), .or(let filters):
      let tag: UInt = if case .and = self { 0 } else { 1 }
      try coder.appendConstructedNode(identifier: context(tag)) { coder in
        for filter in filters { try filter.serialize(into: &coder) }
      }
    case .not(let filter):
      try coder.appendConstructedNode(identifier: context(2)) { coder in
        try filter.serialize(into: &coder)
      }
    case .equal(let attribute, let value):
      try coder.appendConstructedNode(identifier: context(3)) { coder in
        try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(attribute.utf8)))
        try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(value)))
      }
    case .present(let attribute):
      coder.appendPrimitiveNode(identifier: context(7)) { bytes in
        bytes.append(contentsOf: attribute.utf8)
      }
    }
  }
}

/// What a search asks.
public struct LDAPSearch: Sendable, Hashable {
  public enum Scope: Int, Sendable {
    case baseObject = 0
    case singleLevel = 1
    case wholeSubtree = 2
  }
  public var base: String
  public var scope: Scope
  public var sizeLimit: Int
  public var timeLimit: Int
  public var filter: LDAPFilter
  public var attributes: [String]

  public init(
    base: String, scope: Scope = .wholeSubtree, sizeLimit: Int = 2, timeLimit: Int = 10,
    filter: LDAPFilter, attributes: [String]
  ) {
    self.base = base
    self.scope = scope
    self.sizeLimit = sizeLimit
    self.timeLimit = timeLimit
    self.filter = filter
    self.attributes = attributes
  }
}

/// One modification of a ModifyRequest.
public struct LDAPChange: Sendable, Hashable {
  public enum Operation: Int, Sendable {
    case add = 0
    case delete = 1
    case replace = 2
  }
  public var operation: Operation
  public var attribute: LDAPAttribute

  public init(_ operation: Operation, _ attribute: LDAPAttribute) {
    self.operation = operation
    self.attribute = attribute
  }
}

/// The operations of the subset (requests written, answers read).
public enum LDAPOperation: Sendable, Hashable {
  /// [APPLICATION 0] version 3, simple authentication.
  case bindRequest(name: String, password: [UInt8])
  /// [APPLICATION 1]
  case bindResponse(LDAPResult)
  /// [APPLICATION 2] NULL
  case unbindRequest
  /// [APPLICATION 3]
  case searchRequest(LDAPSearch)
  /// [APPLICATION 4] an entry: its DN as the server names it, and the
  /// attributes asked for.
  case searchEntry(name: String, attributes: [LDAPAttribute])
  /// [APPLICATION 19] a continuation reference (never chased).
  case searchReference([String])
  /// [APPLICATION 5]
  case searchDone(LDAPResult)
  /// [APPLICATION 6]
  case modifyRequest(name: String, changes: [LDAPChange])
  /// [APPLICATION 7]
  case modifyResponse(LDAPResult)
  /// [APPLICATION 23] (StartTLS: 1.3.6.1.4.1.1466.20037, no value)
  case extendedRequest(name: String, value: [UInt8]?)
  /// [APPLICATION 24] (the responseName is optional: slapd omits it)
  case extendedResponse(LDAPResult, name: String?)

  /// StartTLS's request name (RFC 4511 §4.14.1).
  public static let startTLS = "1.3.6.1.4.1.1466.20037"
  /// The Notice of Disconnection's response name (RFC 4511 §4.4.1).
  public static let noticeOfDisconnection = "1.3.6.1.4.1.1466.20036"

  static func application(_ tag: UInt) -> ASN1Identifier {
    ASN1Identifier(tagWithNumber: tag, tagClass: .application)
  }

  func serialize(into coder: inout DER.Serializer) throws {
    let string = { (text: String) in ASN1OctetString(contentBytes: ArraySlice(text.utf8)) }
    switch self {
    case .bindRequest(let name, let password):
      try coder.appendConstructedNode(identifier: Self.application(0)) { coder in
        try coder.serialize(3)
        try coder.serialize(string(name))
        coder.appendPrimitiveNode(
          identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        ) { bytes in bytes.append(contentsOf: password) }
      }
    case .unbindRequest:
      coder.appendPrimitiveNode(identifier: Self.application(2)) { _ in }
    case .searchRequest(let search):
      try coder.appendConstructedNode(identifier: Self.application(3)) { coder in
        try coder.serialize(string(search.base))
        try search.scope.rawValue.serialize(into: &coder, withIdentifier: .enumerated)
        try 0.serialize(into: &coder, withIdentifier: .enumerated)  // neverDerefAliases
        try coder.serialize(search.sizeLimit)
        try coder.serialize(search.timeLimit)
        try coder.serialize(false)
        try search.filter.serialize(into: &coder)
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for attribute in search.attributes { try coder.serialize(string(attribute)) }
        }
      }
    case .modifyRequest(let name, let changes):
      try coder.appendConstructedNode(identifier: Self.application(6)) { coder in
        try coder.serialize(string(name))
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for change in changes {
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try change.operation.rawValue.serialize(into: &coder, withIdentifier: .enumerated)
              try change.attribute.serialize(into: &coder)
            }
          }
        }
      }
    case .extendedRequest(let name, let value):
      coder.appendConstructedNode(identifier: Self.application(23)) { coder in
        coder.appendPrimitiveNode(
          identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        ) { bytes in bytes.append(contentsOf: name.utf8) }
        if let value {
          coder.appendPrimitiveNode(
            identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)
          ) { bytes in bytes.append(contentsOf: value) }
        }
      }
    case .bindResponse(let result), .searchDone(let result), .modifyResponse(let result):
      let tag: UInt =
        switch self {
        case .bindResponse: 1
        case .searchDone: 5
        default: 7
        }
      try coder.appendConstructedNode(identifier: Self.application(tag)) { coder in
        try result.serialize(into: &coder)
      }
    case .searchEntry(let name, let attributes):
      try coder.appendConstructedNode(identifier: Self.application(4)) { coder in
        try coder.serialize(string(name))
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          for attribute in attributes { try attribute.serialize(into: &coder) }
        }
      }
    case .searchReference(let uris):
      try coder.appendConstructedNode(identifier: Self.application(19)) { coder in
        for uri in uris { try coder.serialize(string(uri)) }
      }
    case .extendedResponse(let result, let name):
      try coder.appendConstructedNode(identifier: Self.application(24)) { coder in
        try result.serialize(into: &coder)
        if let name {
          coder.appendPrimitiveNode(
            identifier: ASN1Identifier(tagWithNumber: 10, tagClass: .contextSpecific)
          ) { bytes in bytes.append(contentsOf: name.utf8) }
        }
      }
    }
  }

  /// Reads the operations a server sends (and, for tests, the requests
  /// written above).
  init(_ node: ASN1Node) throws {
    typealias M = LDAPMessage
    guard node.identifier.tagClass == .application else {
      throw M.Malformed("an operation that is not an APPLICATION tag")
    }
    if node.identifier.tagNumber == 2 {
      guard case .primitive(let bytes) = node.content, bytes.isEmpty else {
        throw M.Malformed("an unbind request that is not NULL")
      }
      self = .unbindRequest
      return
    }
    var fields = try M.children(node, node.identifier)
    switch node.identifier.tagNumber {
    case 0:
      let version = try Int(berEncoded: try M.next(&fields, "version"))
      guard version == 3 else { throw M.Malformed("LDAP version \(version)") }
      let name = try M.string(try M.next(&fields, "name"))
      let password = try M.octets(
        try M.next(&fields, "simple"), ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
      self = .bindRequest(name: name, password: password)
    case 1:
      self = .bindResponse(try LDAPResult(&fields))
      _ = fields.next()  // serverSaslCreds [7], never asked for
    case 4:
      let name = try M.string(try M.next(&fields, "objectName"))
      var list = try M.children(try M.next(&fields, "attributes"), .sequence)
      var attributes: [LDAPAttribute] = []
      while let attribute = list.next() { attributes.append(try LDAPAttribute(attribute)) }
      self = .searchEntry(name: name, attributes: attributes)
    case 5:
      self = .searchDone(try LDAPResult(&fields))
      _ = fields.next()  // a referral [3]: not chased
    case 7:
      self = .modifyResponse(try LDAPResult(&fields))
      _ = fields.next()
    case 19:
      var uris: [String] = []
      while let uri = fields.next() { uris.append(try M.string(uri)) }
      self = .searchReference(uris)
    case 24:
      let result = try LDAPResult(&fields)
      var name: String?
      while let field = fields.next() {
        if field.identifier == ASN1Identifier(tagWithNumber: 10, tagClass: .contextSpecific) {
          name = try M.string(field, field.identifier)
        }
      }
      self = .extendedResponse(result, name: name)
    default:
      throw M.Malformed(
        "the operation [APPLICATION \(node.identifier.tagNumber)] is not spoken here")
    }
    guard fields.next() == nil else { throw M.Malformed("trailing operation fields") }
  }
}
