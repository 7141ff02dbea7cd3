import Foundation
import SwiftASN1
public import X509

extension DistinguishedName {
  /// The attribute types a name in RFC 4514 form may use by their short
  /// names here (others by their dotted OID, `2.5.4.97=…`).
  static let rfc4514Types: [String: ASN1ObjectIdentifier] = [
    "CN": .RDNAttributeType.commonName, "O": .RDNAttributeType.organizationName,
    "OU": .RDNAttributeType.organizationalUnitName, "C": .RDNAttributeType.countryName,
    "L": .RDNAttributeType.localityName, "ST": .RDNAttributeType.stateOrProvinceName,
    "STREET": .RDNAttributeType.streetAddress, "DC": .RDNAttributeType.domainComponent,
    "SERIALNUMBER": [2, 5, 4, 5], "UID": [0, 9, 2342, 19_200_300, 100, 1, 1],
  ]

  /// A name written as RFC 4514 says (`CN=Issuing CA,O=Example`: the most
  /// specific part first), with its escapes (`\,`, `\+`, `\"`, `\\`, `\<`,
  /// `\>`, `\;`, `\=`, `\#`, a leading or trailing space, and `\XX` in
  /// hex) and multi-valued parts joined by `+`. Country names are
  /// PrintableStrings, everything else UTF8String. Nil: not such a name.
  public init?(rfc4514 text: String) {
    guard !text.isEmpty, text.utf8.count <= 1024 else { return nil }
    var rdns: [RelativeDistinguishedName] = []
    var attributes: [RelativeDistinguishedName.Attribute] = []
    var type = ""
    var value: [UInt8] = []
    var readingValue = false
    var bytes = Array(text.utf8)[...]
    func finishAttribute() -> Bool {
      let name = type.trimmingCharacters(in: .whitespaces)
      let oid: ASN1ObjectIdentifier
      if let known = Self.rfc4514Types[name.uppercased()] {
        oid = known
      } else if let dotted = try? ASN1ObjectIdentifier(dotRepresentation: name) {
        oid = dotted
      } else {
        return false
      }
      guard !value.isEmpty, let string = String(validating: value, as: UTF8.self) else {
        return false
      }
      if oid == .RDNAttributeType.countryName {
        guard
          let attribute = try? RelativeDistinguishedName.Attribute(
            type: oid, printableString: string)
        else { return false }
        attributes.append(attribute)
      } else {
        attributes.append(.init(type: oid, utf8String: string))
      }
      type = ""
      value = []
      readingValue = false
      return true
    }
    while let byte = bytes.popFirst() {
      if !readingValue {
        if byte == UInt8(ascii: "=") {
          readingValue = true
        } else {
          type.unicodeScalars.append(Unicode.Scalar(byte))
        }
        continue
      }
      switch byte {
      case UInt8(ascii: "\\"):
        guard let next = bytes.popFirst() else { return nil }
        if let high = Self.hexValue(next) {
          guard let lowByte = bytes.popFirst(), let low = Self.hexValue(lowByte) else { return nil }
          value.append(high << 4 | low)
        } else if Array(#",+"\<>;= #\"#.utf8).contains(next) {
          value.append(next)
        } else {
          return nil
        }
      case UInt8(ascii: "+"):
        guard finishAttribute() else { return nil }
      case UInt8(ascii: ","):
        guard finishAttribute() else { return nil }
        rdns.append(RelativeDistinguishedName(attributes))
        attributes = []
      case UInt8(ascii: "\""), UInt8(ascii: ";"), UInt8(ascii: "<"), UInt8(ascii: ">"):
        return nil
      default:
        value.append(byte)
      }
    }
    guard readingValue, finishAttribute() else { return nil }
    rdns.append(RelativeDistinguishedName(attributes))
    // RFC 4514 writes the last RDN of the sequence first.
    self.init(rdns.reversed())
  }

  static func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
  }
}
