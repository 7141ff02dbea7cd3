/// A search filter written as text (RFC 4515) with a `{mailbox}` slot, as
/// an administrator configures it (`(mail={mailbox})`,
/// `(&(objectCategory=person)(|(mail={mailbox})(proxyAddresses=smtp:{mailbox})))`).
/// It is parsed once, at start; the address goes into the slot as raw
/// octets of the parsed filter, so no address — whatever its characters —
/// can change the filter's shape. The subset: `&`, `|`, `!`, `attr=value`
/// and `attr=*`, values with `\XX` escapes; no substring, ordering,
/// approximate or extensible matches.
public struct LDAPFilterTemplate: Sendable, Hashable, CustomStringConvertible {
  /// The placeholder.
  public static let slot = "{mailbox}"
  /// Longest template read.
  public static let maximumLength = 1024
  /// Deepest nesting read.
  public static let maximumDepth = 10

  indirect enum Node: Sendable, Hashable {
    case and([Node])
    case or([Node])
    case not(Node)
    /// The value as literal octets and slots (nil).
    case equal(String, [[UInt8]?])
    case present(String)
  }

  let root: Node
  public let description: String

  /// Why a template is refused, in words for the administrator.
  public struct Malformed: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
  }

  public init(_ text: String) throws(Malformed) {
    guard text.utf8.count <= Self.maximumLength else {
      throw Malformed("is longer than \(Self.maximumLength) bytes")
    }
    var parser = Parser(bytes: Array(text.utf8))
    let root = try parser.filter(depth: 0)
    guard parser.position == parser.bytes.count else {
      throw Malformed("has text after the filter's closing parenthesis")
    }
    guard Self.hasSlot(root) else { throw Malformed("does not contain \(Self.slot)") }
    self.root = root
    self.description = text
  }

  /// The filter for one address.
  public func filter(mailbox: String) -> LDAPFilter {
    func fill(_ node: Node) -> LDAPFilter {
      switch node {
      case .and(let nodes): .and(nodes.map(fill))
      case .or(let nodes): .or(nodes.map(fill))
      case .not(let node): .not(fill(node))
      case .present(let attribute): .present(attribute)
      case .equal(let attribute, let parts):
        .equal(attribute, parts.flatMap { $0 ?? Array(mailbox.utf8) })
      }
    }
    return fill(root)
  }

  static func hasSlot(_ node: Node) -> Bool {
    switch node {
    case .and(let nodes), .or(let nodes): nodes.contains(where: hasSlot)
    case .not(let node): hasSlot(node)
    case .present: false
    case .equal(_, let parts): parts.contains(nil)
    }
  }

  /// RFC 4515 §3: a value written into a filter's text (for logs and
  /// `ldapsearch`; the wire needs no escaping).
  public static func escape(_ value: String) -> String {
    var out = ""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "*": out += "\\2a"
      case "(": out += "\\28"
      case ")": out += "\\29"
      case "\\": out += "\\5c"
      case "\0": out += "\\00"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }

  /// Whether `name` is an attribute description this subset writes
  /// (`userCertificate;binary`: letters, digits, `-`, `.`, `;`).
  public static func isAttributeDescription(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 64 && name.first?.isLetter == true
      && name.utf8.allSatisfy(Parser.isAttributeByte)
  }

  struct Parser {
    let bytes: [UInt8]
    var position = 0

    mutating func expect(_ character: Character) throws(Malformed) {
      guard position < bytes.count, bytes[position] == character.asciiValue! else {
        throw Malformed("expected “\(character)” at position \(position + 1)")
      }
      position += 1
    }

    mutating func filter(depth: Int) throws(Malformed) -> Node {
      guard depth < LDAPFilterTemplate.maximumDepth else {
        throw Malformed("is nested deeper than \(LDAPFilterTemplate.maximumDepth)")
      }
      try expect("(")
      guard position < bytes.count else { throw Malformed("ends inside a filter") }
      let node: Node
      switch bytes[position] {
      case UInt8(ascii: "&"), UInt8(ascii: "|"):
        let isAnd = bytes[position] == UInt8(ascii: "&")
        position += 1
        var nodes: [Node] = []
        while position < bytes.count, bytes[position] == UInt8(ascii: "(") {
          nodes.append(try filter(depth: depth + 1))
        }
        guard !nodes.isEmpty else {
          throw Malformed("has an empty “\(isAnd ? "&" : "|")” at position \(position)")
        }
        node = isAnd ? .and(nodes) : .or(nodes)
      case UInt8(ascii: "!"):
        position += 1
        node = .not(try filter(depth: depth + 1))
      default:
        node = try item()
      }
      try expect(")")
      return node
    }

    mutating func item() throws(Malformed) -> Node {
      let start = position
      while position < bytes.count, Self.isAttributeByte(bytes[position]) { position += 1 }
      guard position > start else {
        throw Malformed("expected an attribute name at position \(start + 1)")
      }
      let attribute = String(decoding: bytes[start..<position], as: UTF8.self)
      guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else {
        throw Malformed(
          "supports only “attribute=value” and “attribute=*” (position \(position + 1))")
      }
      position += 1
      if position + 1 < bytes.count, bytes[position] == UInt8(ascii: "*"),
        bytes[position + 1] == UInt8(ascii: ")")
      {
        position += 1
        return .present(attribute)
      }
      var parts: [[UInt8]?] = []
      var literal: [UInt8] = []
      let slot = Array(LDAPFilterTemplate.slot.utf8)
      while position < bytes.count, bytes[position] != UInt8(ascii: ")") {
        let byte = bytes[position]
        if bytes[position...].starts(with: slot) {
          if !literal.isEmpty { parts.append(literal) }
          literal = []
          parts.append(nil)
          position += slot.count
          continue
        }
        switch byte {
        case UInt8(ascii: "*"):
          throw Malformed("uses a substring match (“*”) at position \(position + 1)")
        case UInt8(ascii: "("):
          throw Malformed("has an unescaped “(” at position \(position + 1)")
        case UInt8(ascii: "\\"):
          guard position + 2 < bytes.count, let high = Self.hex(bytes[position + 1]),
            let low = Self.hex(bytes[position + 2])
          else { throw Malformed("has a bad “\\” escape at position \(position + 1)") }
          literal.append(high << 4 | low)
          position += 3
        default:
          literal.append(byte)
          position += 1
        }
      }
      if !literal.isEmpty { parts.append(literal) }
      guard !parts.isEmpty else { throw Malformed("has an empty value for “\(attribute)”") }
      return .equal(attribute, parts)
    }

    static func isAttributeByte(_ byte: UInt8) -> Bool {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: ";"):
        true
      default: false
      }
    }

    static func hex(_ byte: UInt8) -> UInt8? {
      switch byte {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
      default: nil
      }
    }
  }
}
