import Foundation

/// A name that goes into a certificate subject: NFC-normalised Unicode,
/// checked against the upper bound that RFC 5280 sets for its attribute.
///
/// The checks are the ones a service desk would make of a name typed into a
/// form: no control or bidirectional-override characters (which can make a
/// name display differently from what it is), at least one letter (a name is
/// not only punctuation or digits), inner whitespace collapsed to one space.
public struct SubjectName: Hashable, Sendable, CustomStringConvertible {
  /// The normalised value as it will be encoded (UTF8String).
  public let value: String

  /// Validates and normalises a name.
  ///
  /// - Parameters:
  ///   - input: What the person typed.
  ///   - field: How the field is called in messages, e.g. "given name".
  ///   - maximumLength: The upper bound in characters (Unicode scalars).
  public init(_ input: String, field: String, maximumLength: Int) throws(CAError) {
    let normalised = input.precomposedStringWithCanonicalMapping
    var collapsed = String.UnicodeScalarView()
    var pendingSpace = false
    var sawLetter = false
    for scalar in normalised.unicodeScalars {
      if Self.isForbidden(scalar) {
        throw CAError(
          .invalidName,
          "The \(field) contains an invisible control character (U+\(String(scalar.value, radix: 16, uppercase: true))); please type it again."
        )
      }
      if scalar.properties.isWhitespace {
        pendingSpace = !collapsed.isEmpty
        continue
      }
      if pendingSpace {
        collapsed.append(" ")
        pendingSpace = false
      }
      if scalar.properties.isAlphabetic { sawLetter = true }
      collapsed.append(scalar)
    }
    let value = String(collapsed)
    guard !value.isEmpty else { throw CAError(.invalidName, "The \(field) is empty.") }
    guard sawLetter else {
      throw CAError(.invalidName, "The \(field) must contain at least one letter.")
    }
    let length = value.unicodeScalars.count
    guard length <= maximumLength else {
      throw CAError(
        .invalidName,
        "The \(field) is \(length) characters long; a certificate allows at most \(maximumLength)."
      )
    }
    self.value = value
  }

  /// Control and format characters (invisible: bidirectional marks,
  /// embeddings, overrides and isolates, zero-width spaces, the soft hyphen,
  /// tags, the byte-order mark), line and paragraph separators, private-use,
  /// unassigned and non-characters. The zero-width non-joiner and joiner stay
  /// allowed: Persian, Indic and other scripts need them in names.
  static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value == 0x200C || scalar.value == 0x200D { return false }
    switch scalar.properties.generalCategory {
    case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse,
      .unassigned:
      return true
    default:
      // Variation selectors change how a letter looks, not what it is.
      return scalar.properties.isNoncharacterCodePoint || (0xFE00...0xFE0F).contains(scalar.value)
        || (0xE0100...0xE01EF).contains(scalar.value)
    }
  }

  public var description: String { value }
}

/// Upper bounds of RFC 5280 Appendix A (in characters) for the attributes we
/// issue. Common name and organisation name are 64; pseudonym would allow
/// 128, but it also fills the common name, so 64 binds it.
public enum SubjectNameBounds {
  public static let commonName = 64
  public static let organizationName = 64
  public static let pseudonym = 64
  /// givenName and surname are X520name (ub-name 32768); they also make up
  /// the common name, which binds them to 64 together.
  public static let givenName = 64
  public static let surname = 64
  /// ub-organization-identifier is not set by RFC 5280; CA/B Forum
  /// guidance and common practice keep it within 64 too.
  public static let organizationIdentifier = 64
}
