import Foundation
import SwiftASN1

/// Reads one PEM block the way people paste it: a byte-order mark, text
/// before the BEGIN line (as `openssl req -text` writes), headers, any line
/// length and stray whitespace are all tolerated. Exactly one block.
enum LenientPEM {
  struct Invalid: Error {}

  /// DER as given, or the DER of a PEM block with `label`; nil for
  /// anything else.
  static func der(_ input: [UInt8], label: String) -> [UInt8]? {
    if input.first == 0x30 { return input }
    guard let text = String(validating: input, as: UTF8.self),
      let document = try? decode(text), document.label == label
    else { return nil }
    return document.der
  }

  /// The block's label and its DER bytes.
  static func decode(_ text: String) throws -> (label: String, der: [UInt8]) {
    // Well-formed PEM, as browsers and OpenSSL write it, takes the fast path.
    if let document = try? PEMDocument(pemString: text) {
      return (document.discriminator, document.derBytes)
    }
    let lines = text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline)
      .map { $0.trimmingCharacters(in: .whitespaces) }
    guard
      let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") && $0.hasSuffix("-----") })
    else { throw Invalid() }
    let label = String(lines[begin].dropFirst("-----BEGIN ".count).dropLast(5))
    guard let end = lines[(begin + 1)...].firstIndex(of: "-----END \(label)-----") else {
      throw Invalid()
    }
    // Nothing but whitespace may follow the block: a second block is refused.
    guard !lines[(end + 1)...].contains(where: { $0.hasPrefix("-----BEGIN ") }) else {
      throw Invalid()
    }
    let base64 = lines[(begin + 1)..<end].filter { !$0.contains(":") }.joined()
    guard !base64.isEmpty, let data = Data(base64Encoded: base64) else { throw Invalid() }
    return (label, Array(data))
  }
}
