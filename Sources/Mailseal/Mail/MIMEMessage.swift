public import Foundation

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
enum MIME {
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
  /// of at most 76 characters.
  static func quotedPrintable(_ text: String) -> String {
    let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
    var output: [String] = []
    for line in normalized.split(separator: "\n", omittingEmptySubsequences: false) {
      var encoded = ""
      var lineLength = 0
      let bytes = Array(line.utf8)
      for (index, byte) in bytes.enumerated() {
        let isLast = index == bytes.count - 1
        var piece: String
        if (byte >= 33 && byte <= 126 && byte != 61) || (byte == 32 && !isLast)
          || (byte == 9 && !isLast)
        {
          piece = String(UnicodeScalar(byte))
        } else {
          piece = String(format: "=%02X", byte)
        }
        if lineLength + piece.count > 75 {
          encoded += "=\r\n"
          lineLength = 0
        }
        encoded += piece
        lineLength += piece.count
      }
      output.append(encoded)
    }
    return output.joined(separator: "\r\n")
  }

  /// The Date header's format (RFC 5322 §3.3), in UTC.
  static func rfc5322Date(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
    return formatter.string(from: date)
  }
}
