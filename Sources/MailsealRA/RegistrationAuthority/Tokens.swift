import Crypto
import Foundation
import MailsealCA
import MailsealModel
import MailsealStore

/// Secrets handed to browsers and mailboxes: 256 random bits, base64url.
/// Only their SHA-256 is ever stored.
package enum SecretToken {
  /// A fresh token.
  package static func make() -> String {
    var generator = SystemRandomNumberGenerator()
    var bytes: [UInt8] = []
    for _ in 0..<4 {
      let word: UInt64 = generator.next()
      withUnsafeBytes(of: word) { bytes.append(contentsOf: $0) }
    }
    return Data(bytes).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  /// Whether a string has the form of a token (43 base64url characters).
  package static func isWellFormed(_ token: String) -> Bool {
    token.utf8.count == 43
      && token.utf8.allSatisfy {
        ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
          || $0 == 0x2D || $0 == 0x5F
      }
  }

  /// The stored form: SHA-256, lowercase hex.
  package static func hash(_ token: String) -> String {
    Array(SHA256.hash(data: Array(token.utf8))).hexString
  }

  /// Compares two strings in time independent of where they differ.
  package static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    guard x.count == y.count else { return false }
    var difference: UInt8 = 0
    for index in x.indices { difference |= x[index] ^ y[index] }
    return difference == 0
  }
}

/// Request numbers people can read out at a desk: `R-` and eight characters
/// of Crockford's base32 (40 random bits), in two groups.
enum RequestNumber {
  static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

  /// `R-XXXX-XXXX` (another `prefix` for other records: `K-` recoveries).
  static func make(prefix: Character = "R") -> String {
    var generator = SystemRandomNumberGenerator()
    let value: UInt64 = generator.next()
    let characters = (0..<8).map { alphabet[Int((value >> (5 * UInt64($0))) & 31)] }
    return "\(prefix)-\(String(characters[0..<4]))-\(String(characters[4..<8]))"
  }

  /// Normalises what someone typed (case, spaces, O for 0, I/L for 1);
  /// nil when it cannot be a number of this `prefix`.
  static func normalize(_ text: String, prefix: Character = "R") -> String? {
    var compact = text.uppercased().filter { !$0.isWhitespace && $0 != "-" }
    if compact.count == 9, compact.first == prefix { compact.removeFirst() }
    compact = String(compact.map { $0 == "O" ? "0" : ($0 == "I" || $0 == "L") ? "1" : $0 })
    guard compact.count == 8, compact.allSatisfy({ alphabet.contains($0) }) else { return nil }
    return "\(prefix)-\(compact.prefix(4))-\(compact.suffix(4))"
  }
}
