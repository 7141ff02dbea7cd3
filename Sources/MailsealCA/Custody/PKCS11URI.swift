/// A PKCS#11 URI (RFC 7512) naming a key in a token:
/// `pkcs11:token=Mailseal%20CA;object=issuing-1733011200-9f2c;id=%8a%41…;type=private`.
///
/// The path attributes select the token (`token`, `manufacturer`,
/// `serial`, `model`) and the object (`object`, `id`, `type`). Of the query
/// attributes only `pin-source=file:…` is taken (where the PIN is read
/// from); `pin-value` is refused, since a PIN in a reference would be
/// stored in the database and shown by `ca show`. `module-path` and
/// `module-name` are refused too: the module is the installation's
/// (`MAILSEAL_PKCS11_MODULE`).
public struct PKCS11URI: Hashable, Sendable, CustomStringConvertible {
  /// CKA_LABEL of the token.
  public var token: String?
  public var manufacturer: String?
  public var serial: String?
  public var model: String?
  /// CKA_LABEL of the object.
  public var object: String?
  /// CKA_ID of the object.
  public var id: [UInt8]?
  /// `private`, `public`, `cert`, `secret-key` or `data`; keys are looked
  /// up as private keys whatever it says, but another type is refused.
  public var type: String?
  /// `pin-source`: a path after `file:`, or a plain path.
  public var pinSource: String?

  /// The longest URI read: they are stored and shown, never kilobytes.
  public static let maximumLength = 1024

  public init(
    token: String? = nil, manufacturer: String? = nil, serial: String? = nil, model: String? = nil,
    object: String? = nil, id: [UInt8]? = nil, type: String? = nil, pinSource: String? = nil
  ) {
    self.token = token
    self.manufacturer = manufacturer
    self.serial = serial
    self.model = model
    self.object = object
    self.id = id
    self.type = type
    self.pinSource = pinSource
  }

  /// Parses a URI; every problem is named.
  public init(_ text: String) throws(CAError) {
    // Only the path is quoted in messages: the query could hold a PIN.
    let quoted = text.prefix { $0 != "?" }.prefix(120)
    func invalid(_ why: String) -> CAError {
      CAError(.keyCustody, "“\(quoted)” is not a usable PKCS#11 URI (RFC 7512): \(why)")
    }
    guard text.utf8.count <= Self.maximumLength else {
      throw invalid("longer than \(Self.maximumLength) characters.")
    }
    if let query = text.firstIndex(of: "?"),
      text[query...].lowercased().contains("pin-value=")
    {
      throw Self.pinValueRefused
    }
    guard text.lowercased().hasPrefix("pkcs11:") else {
      throw invalid("it must start with pkcs11:.")
    }
    let rest = text.dropFirst("pkcs11:".count)
    let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    let path = parts.first.map(String.init) ?? ""
    let query = parts.count > 1 ? String(parts[1]) : ""
    var seen: Set<String> = []
    for attribute in path.split(separator: ";", omittingEmptySubsequences: true) {
      let pair = attribute.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard pair.count == 2 else { throw invalid("“\(attribute.prefix(40))” has no value.") }
      let name = pair[0].lowercased()
      guard seen.insert(name).inserted else { throw invalid("\(name) appears twice.") }
      guard let bytes = Self.percentDecoded(pair[1]) else {
        throw invalid("the value of \(name) is not percent-encoded correctly.")
      }
      let value = String(decoding: bytes, as: UTF8.self)
      switch name {
      case "token": token = value
      case "manufacturer": manufacturer = value
      case "serial": serial = value
      case "model": model = value
      case "object": object = value
      case "id": id = bytes
      case "type":
        guard ["private", "public", "cert", "secret-key", "data"].contains(value) else {
          throw invalid("type must be private, public, cert, secret-key or data.")
        }
        type = value
      case "library-manufacturer", "library-description", "library-version", "slot-description",
        "slot-manufacturer", "slot-id":
        throw invalid("\(name) is not supported; name the token by token, serial or manufacturer.")
      default:
        throw invalid("the attribute \(name) is unknown.")
      }
    }
    for attribute in query.split(separator: "&", omittingEmptySubsequences: true) {
      let pair = attribute.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard pair.count == 2 else { throw invalid("“\(attribute.prefix(40))” has no value.") }
      let name = pair[0].lowercased()
      guard seen.insert(name).inserted else { throw invalid("\(name) appears twice.") }
      switch name {
      case "pin-value":
        throw Self.pinValueRefused
      case "pin-source":
        guard let bytes = Self.percentDecoded(pair[1], query: true) else {
          throw invalid("the value of pin-source is not percent-encoded correctly.")
        }
        var source = String(decoding: bytes, as: UTF8.self)
        if source.hasPrefix("file:") { source.removeFirst("file:".count) }
        while source.hasPrefix("//") { source.removeFirst() }
        guard source.hasPrefix("/") else {
          throw invalid("pin-source must be an absolute file path (file:/path/to/pin).")
        }
        pinSource = source
      case "module-path", "module-name":
        throw invalid(
          "\(name) is not taken from a reference; the module is the installation's (MAILSEAL_PKCS11_MODULE)."
        )
      default:
        throw invalid("the query attribute \(name) is unknown.")
      }
    }
    if let type, type != "private" {
      throw invalid("it names a \(type) object; a CA key reference names a private key.")
    }
    guard object != nil || id != nil else {
      throw invalid("it names no object: give object= (the key's label) or id=.")
    }
  }

  static let pinValueRefused = CAError(
    .keyCustody,
    "A PKCS#11 URI with pin-value is refused: the PIN would be stored and shown with the reference. Put the PIN in a file (MAILSEAL_PKCS11_PIN_FILE, or pin-source=file:/path)."
  )

  /// The URI in its canonical form: attributes in a fixed order, values
  /// percent-encoded where RFC 7512 requires it, `id` always encoded.
  public var description: String {
    var path: [String] = []
    if let token { path.append("token=\(Self.percentEncoded(Array(token.utf8)))") }
    if let manufacturer {
      path.append("manufacturer=\(Self.percentEncoded(Array(manufacturer.utf8)))")
    }
    if let model { path.append("model=\(Self.percentEncoded(Array(model.utf8)))") }
    if let serial { path.append("serial=\(Self.percentEncoded(Array(serial.utf8)))") }
    if let object { path.append("object=\(Self.percentEncoded(Array(object.utf8)))") }
    if let id { path.append("id=\(Self.percentEncoded(id, always: true))") }
    if let type { path.append("type=\(type)") }
    var text = "pkcs11:" + path.joined(separator: ";")
    if let pinSource {
      text += "?pin-source=file:\(Self.percentEncoded(Array(pinSource.utf8), query: true))"
    }
    return text
  }

  /// Unreserved characters and those RFC 7512 allows unencoded in a path
  /// attribute value (pk11-p-res-avail) or, with `query`, in a query value
  /// (pk11-q-res-avail, which adds "/", "?" and "|" but not "&").
  static func isPlain(_ byte: UInt8, query: Bool = false) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
      UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
      UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "@"),
      UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "'"), UInt8(ascii: "("),
      UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","),
      UInt8(ascii: "="):
      return true
    case UInt8(ascii: "&"):
      return !query
    case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "|"):
      return query
    default:
      return false
    }
  }

  static func percentEncoded(_ bytes: [UInt8], always: Bool = false, query: Bool = false)
    -> String
  {
    let digits = Array("0123456789abcdef")
    var text = ""
    for byte in bytes {
      if !always && isPlain(byte, query: query) {
        text.append(Character(Unicode.Scalar(byte)))
      } else {
        text.append("%")
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
      }
    }
    return text
  }

  /// Decodes a value; nil when it holds a character the URI syntax does
  /// not allow there, or a broken escape.
  static func percentDecoded(_ text: Substring, query: Bool = false) -> [UInt8]? {
    var bytes: [UInt8] = []
    var iterator = text.utf8.makeIterator()
    while let byte = iterator.next() {
      if byte == UInt8(ascii: "%") {
        guard let high = iterator.next()?.hexDigitValue,
          let low = iterator.next()?.hexDigitValue
        else { return nil }
        bytes.append(high << 4 | low)
      } else {
        guard isPlain(byte, query: query) || byte == UInt8(ascii: "/") else { return nil }
        bytes.append(byte)
      }
    }
    return bytes
  }
}
