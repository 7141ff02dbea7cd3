/// A mailbox address in the form the certificate authority certifies it.
///
/// Addresses are ASCII: a dot-atom local part (RFC 5322 §3.4.1, no quoted
/// strings, no comments) and a domain of letter-digit-hyphen labels, with
/// internationalised domains given as A-labels (`xn--…`). Internationalised
/// local parts (SmtpUTF8Mailbox, RFC 9598) are not supported. The whole
/// address is lowercased: the portal proves control of it case-insensitively,
/// so one person cannot hold two certificates for `Zoe@` and `zoe@`.
public struct Mailbox: Hashable, Sendable, Comparable, CustomStringConvertible {
  /// The normalised address, e.g. `zoe@example.edu`.
  public let address: String

  /// The part after the `@`.
  public var domain: Substring { address[address.index(after: address.lastIndex(of: "@")!)...] }

  /// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle
  /// brackets, so an address is at most 254.
  public static let maximumLength = 254
  static let maximumLocalPartLength = 64
  static let maximumLabelLength = 63

  /// Top-level names that are reserved (RFC 2606, RFC 6761, RFC 6762) or
  /// in wide internal use and never delegated: certificates naming them are
  /// "internal names" to the Baseline Requirements.
  static let internalTopLevelNames: Set<String> = [
    "example", "invalid", "localhost", "test", "local", "onion", "arpa", "internal", "localdomain",
    "lan", "home", "corp", "intranet", "private", "domain", "home.arpa",
  ]

  static let atext: Set<UInt8> = Set(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~".utf8)

  /// Validates and normalises an address.
  ///
  /// - Throws: ``CAError`` with code ``CAError/Code/invalidMailbox`` and a
  ///   sentence naming what is wrong.
  public init(_ input: String) throws(CAError) {
    let trimmed = input.trimmingASCIIWhitespace()
    func fail(_ why: String) -> CAError {
      CAError(
        .invalidMailbox,
        "“\(trimmed.prefix(80))” is not a mail address this service can certify: \(why).")
    }
    guard !trimmed.isEmpty else { throw CAError(.invalidMailbox, "The mail address is empty.") }
    guard trimmed.utf8.count <= Self.maximumLength else {
      throw fail("it is longer than \(Self.maximumLength) characters")
    }
    guard trimmed.utf8.allSatisfy({ $0 < 0x80 }) else {
      throw fail("only ASCII addresses are supported (write an internationalised domain as xn--…)")
    }
    let lower = trimmed.lowercased()
    let parts = lower.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2 else { throw fail("it must contain exactly one @") }
    let local = parts[0]
    let domain = parts[1]
    guard !local.isEmpty, local.utf8.count <= Self.maximumLocalPartLength else {
      throw fail("the part before the @ must be 1 to \(Self.maximumLocalPartLength) characters")
    }
    for atom in local.split(separator: ".", omittingEmptySubsequences: false) {
      guard !atom.isEmpty else {
        throw fail("the part before the @ has an empty dot-separated part")
      }
      guard atom.utf8.allSatisfy({ Self.atext.contains($0) }) else {
        throw fail("the part before the @ contains a character that is not allowed")
      }
    }
    let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
    guard labels.count >= 2 else { throw fail("the domain must have at least two labels") }
    for label in labels {
      guard !label.isEmpty, label.utf8.count <= Self.maximumLabelLength else {
        throw fail("each domain label must be 1 to \(Self.maximumLabelLength) characters")
      }
      guard
        label.utf8.allSatisfy({
          ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D
        }),
        label.first != "-", label.last != "-"
      else {
        throw fail("the domain may contain only letters, digits and inner hyphens")
      }
    }
    guard labels.last!.contains(where: { !$0.isNumber }) else {
      throw fail("the domain must not be an IP address")
    }
    guard !Self.internalTopLevelNames.contains(String(labels.last!)) else {
      throw fail(
        "“.\(labels.last!)” is a reserved or internal name that no public mail system uses")
    }
    self.address = lower
  }

  public var description: String { address }

  public static func < (lhs: Mailbox, rhs: Mailbox) -> Bool { lhs.address < rhs.address }
}

extension StringProtocol {
  func trimmingASCIIWhitespace() -> String {
    let scalars = unicodeScalars
    var start = scalars.startIndex
    var end = scalars.endIndex
    while start < end, scalars[start].properties.isWhitespace {
      start = scalars.index(after: start)
    }
    while end > start, scalars[scalars.index(before: end)].properties.isWhitespace {
      end = scalars.index(before: end)
    }
    return String(String.UnicodeScalarView(scalars[start..<end]))
  }
}
