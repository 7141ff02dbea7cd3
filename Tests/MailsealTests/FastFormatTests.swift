import Foundation
import MailsealCA
import MailsealModel
import Testing

@testable import MailsealRA
@testable import MailsealStore

@Suite("Formats written by hand where Foundation's cost too much: the same bytes as Foundation's")
struct FastFormatTests {
  @Test("audit details: the JSON JSONEncoder writes with sorted keys and unescaped slashes")
  func auditJSON() throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let samples: [[String: String]] = [
      [:],
      ["mailbox": "zoë.müller@example.edu", "notAfter": "2027-12-01T06:30:00Z"],
      ["a/b": "c/d", "quote": "say \"hi\"", "back": "C:\\path", "z": "", "Z": "upper"],
      ["control": "line\nbreak\r\ttab\u{08}\u{0C}\u{01}\u{1F}\u{7F}", "emoji": "🔐 €"],
      ["long": String(repeating: "x", count: 1_500), "ключ": "значение"],
    ]
    for details in samples {
      let trimmed = details.mapValues { String($0.prefix(AuditLog.maximumField)) }
      let expected = String(decoding: try encoder.encode(trimmed), as: UTF8.self)
      #expect(AuditLog.json(details) == expected)
    }
  }

  @Test("RFC 3339 date-times: what ISO8601DateFormatter writes, 1970 to 2200")
  func internetDateTime() {
    var generator = SystemRandomNumberGenerator()
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.formatOptions = .withInternetDateTime
    // Whole seconds, as certificate times are (Foundation rounds a
    // fraction, UTCDateFields drops it).
    let edges: [TimeInterval] = [0, 951_782_400, 4_107_542_399, 1_798_761_599]
    let random = (0..<2_000).map { _ in
      TimeInterval(Int.random(in: 0..<7_258_118_400, using: &generator))
    }
    for seconds in edges + random {
      let date = Date(timeIntervalSince1970: seconds)
      #expect(UTCDateFields(date).internetDateTime == formatter.string(from: date))
    }
  }
}
