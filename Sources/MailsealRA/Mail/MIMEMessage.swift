public import Foundation
import MailsealCA
import MailsealModel
import MailsealStore

/// A mail as people receive it: UTF-8 subject and body, a plain-text part
/// and an HTML alternative, rendered as an RFC 5322 / MIME message.
public struct MailMessage: Sendable, Equatable {
  /// The sender, e.g. `Mailseal <noreply@example.edu>`.
  public var from: String
  /// The recipient's address.
  public var to: String
  public var subject: String
  public var text: String
  public var html: String
  /// The language of the message (`de`, `en`), for Content-Language.
  public var language: String

  public init(
    from: String, to: String, subject: String, text: String, html: String, language: String
  ) {
    self.from = from
    self.to = to
    self.subject = subject
    self.text = text
    self.html = html
    self.language = language
  }

  /// The complete message with CRLF line ends, ready for SMTP DATA or an
  /// .eml file.
  public func rendered(date: Date, messageID: String, boundary: String) -> String {
    let lines = [
      "From: \(MIME.encodeDisplayAddress(from))",
      "To: \(to)",
      "Subject: \(MIME.encodeHeader(subject))",
      "Date: \(MIME.rfc5322Date(date))",
      "Message-ID: <\(messageID)>",
      "Content-Language: \(language)",
      "MIME-Version: 1.0",
      "Auto-Submitted: auto-generated",
      "Content-Type: multipart/alternative;\r\n boundary=\"\(boundary)\"",
      "",
      "This is a message in MIME format.",
      "",
      "--\(boundary)",
      "Content-Type: text/plain; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      MIME.quotedPrintable(text),
      "--\(boundary)",
      "Content-Type: text/html; charset=utf-8",
      "Content-Transfer-Encoding: quoted-printable",
      "",
      MIME.quotedPrintable(html),
      "--\(boundary)--",
      "",
    ]
    return lines.joined(separator: "\r\n")
  }
}

/// The encodings a mail needs.
package enum MIME {
  /// RFC 2047 encoded words (UTF-8, base64) when the text is not plain
  /// printable ASCII, folded so that no encoded word exceeds 75 characters.
  static func encodeHeader(_ text: String) -> String {
    let plain = text.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F }
    if plain && text.count < 900 { return text }
    var words: [String] = []
    var chunk: [UInt8] = []
    for character in text {
      let bytes = Array(String(character).utf8)
      // 39 bytes make 52 base64 characters: with "=?UTF-8?B?…?=" and a
      // header name the line stays within 78 characters.
      if chunk.count + bytes.count > 39 {
        words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
        chunk = []
      }
      chunk += bytes
    }
    if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
    return words.joined(separator: "\r\n ")
  }

  /// `Name <address>` with the name encoded when needed.
  static func encodeDisplayAddress(_ text: String) -> String {
    guard let open = text.lastIndex(of: "<"), text.hasSuffix(">") else { return text }
    let name = text[..<open].trimmingCharacters(in: .whitespaces)
    let address = text[open...]
    guard !name.isEmpty else { return String(address) }
    let isAtom = name.unicodeScalars.allSatisfy {
      ($0.value >= 0x20 && $0.value < 0x7F) && !"()<>[]:;@\\,.\"".unicodeScalars.contains($0)
    }
    return isAtom ? "\(name) \(address)" : "\(encodeHeader(name)) \(address)"
  }

  /// Quoted-printable (RFC 2045 §6.7) of UTF-8 text, CRLF line ends, lines
  /// of at most 76 characters (75 and the soft break's `=`).
  static func quotedPrintable(_ text: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var output: [UInt8] = []
    output.reserveCapacity(text.utf8.count * 11 / 10)
    let lines = Array(text.utf8).split(
      separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    for (number, var line) in lines.enumerated() {
      if number > 0 { output += [13, 10] }
      if line.last == 13 { line = line.dropLast() }
      var lineLength = 0
      for index in line.indices {
        let byte = line[index]
        let isLast = index == line.index(before: line.endIndex)
        let literal =
          (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !isLast)
        let width = literal ? 1 : 3
        if lineLength + width > 75 {
          output += [61, 13, 10]
          lineLength = 0
        }
        if literal {
          output.append(byte)
        } else {
          output += [61, hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
        }
        lineLength += width
      }
    }
    return String(decoding: output, as: UTF8.self)
  }

  /// The Date header's format (RFC 5322 §3.3), in UTC: `Wed, 25 Nov 2026
  /// 20:26:55 +0000`. Computed, since a DateFormatter per message costs
  /// more than the rest of the message.
  static func rfc5322Date(_ date: Date) -> String {
    dateText(date, zone: "+0000")
  }

  /// `Sun, 06 Nov 1994 08:49:37 <zone>`: RFC 5322's date with `+0000`, HTTP's
  /// (RFC 9110 §5.6.7) with `GMT`.
  package static func dateText(_ date: Date, zone: String) -> String {
    let fields = UTCDateFields(date)
    let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = [
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    return
      "\(weekdays[fields.weekday]), \(two(fields.day)) \(months[fields.month - 1]) \(fields.year) \(two(fields.hour)):\(two(fields.minute)):\(two(fields.second)) \(zone)"
  }
}
