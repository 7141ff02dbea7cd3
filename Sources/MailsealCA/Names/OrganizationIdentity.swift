/// The organisation that sponsors the certificates: its name, its
/// registration identifier and its country, as they appear in every
/// sponsor-validated certificate (S/MIME BR §7.1.4.2.2 a, c, d, h).
public struct OrganizationIdentity: Hashable, Sendable {
  /// subject:organizationName.
  public let name: SubjectName
  /// subject:organizationIdentifier.
  public let identifier: OrganizationIdentifier
  /// subject:countryName.
  public let country: CountryCode

  /// Creates the identity from validated parts.
  public init(name: SubjectName, identifier: OrganizationIdentifier, country: CountryCode) {
    self.name = name
    self.identifier = identifier
    self.country = country
  }

  /// Validates the three configured strings.
  public init(name: String, identifier: String, country: String) throws(CAError) {
    self.name = try SubjectName(
      name, field: "organisation name", maximumLength: SubjectNameBounds.organizationName)
    self.identifier = try OrganizationIdentifier(identifier)
    self.country = try CountryCode(country)
  }
}

/// An ISO 3166-1 alpha-2 country code, as subject:countryName requires.
public struct CountryCode: Hashable, Sendable, CustomStringConvertible {
  /// The two capital letters.
  public let code: String

  /// Validates a code against the ISO 3166-1 list.
  public init(_ input: String) throws(CAError) {
    let code = input.trimmingASCIIWhitespace().uppercased()
    guard Self.iso3166.contains(code) else {
      throw CAError(
        .invalidIssuerPolicy, "“\(input.prefix(8))” is not an ISO 3166-1 two-letter country code.")
    }
    self.code = code
  }

  public var description: String { code }

  /// ISO 3166-1 alpha-2, officially assigned codes.
  static let iso3166: Set<String> = Set(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO
    FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE
    JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO
    MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM
    TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
  )
}

/// subject:organizationIdentifier in the format of S/MIME BR §7.1.4.2.2 (d):
/// a three-letter scheme, a country, an optional `+` state or province code,
/// and a registration reference after a hyphen.
///
/// - `VAT`, `NTR`, `PSD`: `VATDE-123456789`, `NTRDE-HRB12345`
/// - `LEI`: `LEIXG-` and a 20-character Legal Entity Identifier whose ISO
///   17442 check digits are correct
/// - `GOV`, `INT`: no reference: `GOVDE`, `GOVDE+BW`, `INTXG`
public struct OrganizationIdentifier: Hashable, Sendable, CustomStringConvertible {
  /// The identifier as encoded.
  public let value: String

  /// Validates an identifier.
  public init(_ input: String) throws(CAError) {
    let value = input.trimmingASCIIWhitespace()
    func fail(_ why: String) -> CAError {
      CAError(
        .invalidIssuerPolicy,
        "The organisation identifier “\(value.prefix(70))” is not valid: \(why).")
    }
    guard value.utf8.count <= SubjectNameBounds.organizationIdentifier else {
      throw fail("it is longer than \(SubjectNameBounds.organizationIdentifier) characters")
    }
    let bytes = Array(value.utf8)
    guard bytes.count >= 5 else {
      throw fail("it must start with a scheme (VAT, NTR, PSD, LEI, GOV, INT) and a country code")
    }
    let scheme = String(decoding: bytes[0..<3], as: UTF8.self)
    let country = String(decoding: bytes[3..<5], as: UTF8.self)
    guard ["VAT", "NTR", "PSD", "LEI", "GOV", "INT"].contains(scheme) else {
      throw fail("the scheme must be one of VAT, NTR, PSD, LEI, GOV, INT")
    }
    var rest = bytes[5...]
    switch scheme {
    case "LEI", "INT":
      guard country == "XG" else { throw fail("the \(scheme) scheme uses the country code XG") }
    default:
      // VAT numbers use EL for Greece and XI for Northern Ireland.
      guard
        CountryCode.iso3166.contains(country)
          || (scheme == "VAT" && (country == "EL" || country == "XI"))
      else {
        throw fail("“\(country)” is not an ISO 3166-1 country code")
      }
    }
    if rest.first == UInt8(ascii: "+") {
      // Only registers kept per state or province (NTR) and governments
      // (GOV) name a subdivision: its ISO 3166-2 code, two letters.
      guard scheme == "NTR" || scheme == "GOV" else {
        throw fail("only the NTR and GOV schemes may name a state or province after “+”")
      }
      rest = rest.dropFirst()
      let code = rest.prefix { $0 != UInt8(ascii: "-") }
      guard code.count == 2, code.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
        throw fail("a state or province code after “+” is two capital letters (ISO 3166-2)")
      }
      rest = rest.dropFirst(code.count)
    }
    switch scheme {
    case "GOV", "INT":
      guard rest.isEmpty else {
        throw fail("the \(scheme) scheme carries no registration reference")
      }
    default:
      guard rest.first == UInt8(ascii: "-"), rest.count >= 2 else {
        throw fail("a hyphen and a registration reference must follow the country")
      }
      let reference = rest.dropFirst()
      guard reference.allSatisfy(Self.isReferenceCharacter) else {
        throw fail("the registration reference may contain only letters, digits, “.”, “/” and “-”")
      }
      if scheme == "LEI" {
        guard reference.count == 20, reference.allSatisfy(Self.isUpperAlphanumeric),
          reference.suffix(2).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
          Self.hasValidLEIChecksum(Array(reference))
        else {
          throw fail(
            "a Legal Entity Identifier has 20 letters and digits with valid ISO 17442 check digits")
        }
      }
    }
    self.value = value
  }

  public var description: String { value }

  static func isUpperAlphanumeric(_ byte: UInt8) -> Bool {
    (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
  }

  static func isReferenceCharacter(_ byte: UInt8) -> Bool {
    isUpperAlphanumeric(byte) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2E || byte == 0x2F
      || byte == 0x2D
  }

  /// ISO 17442 uses ISO 7064 MOD 97-10: letters count as 10…35 and the
  /// whole number is 1 modulo 97.
  static func hasValidLEIChecksum(_ lei: [UInt8]) -> Bool {
    var remainder = 0
    for byte in lei {
      let digit = byte <= 0x39 ? Int(byte - 0x30) : Int(byte - 0x41) + 10
      remainder = digit >= 10 ? (remainder * 100 + digit) % 97 : (remainder * 10 + digit) % 97
    }
    return remainder == 1
  }
}
