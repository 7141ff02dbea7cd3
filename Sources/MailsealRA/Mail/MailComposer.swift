import Foundation

/// Makes a mail from the catalogue's template `mail.<name>`: `.subject`,
/// `.title` (of the HTML part) and `.body`. The body is written once for
/// the plain text and the HTML part — paragraphs separated by a blank line,
/// with a little markup:
///
/// - `{name}` a value (escaped in HTML); `@id` as a value is the catalogue's
///   sentence `id` in the same language, filled with the same values;
/// - `*words*` strong in HTML, plain in the text;
/// - `[label]({url})` a link in HTML, `label: url` in the text;
/// - `<{url}>` a link showing the address itself.
///
/// A paragraph that names a value the caller did not give is left out (the
/// video-call line without a video-call URL).
enum MailComposer {
  static func compose(
    _ name: String, to recipient: String, from sender: String, language: Language,
    values given: [String: String]
  ) -> MailMessage {
    var values: [String: String] = [:]
    for (key, value) in given {
      values[key] =
        value.hasPrefix("@")
        ? Catalogue.text(
          String(value.dropFirst()), language, given.filter { !$0.value.hasPrefix("@") })
        : value
    }
    let body = Catalogue.entries["mail.\(name).body"]?[language] ?? ""
    let paragraphs = body.components(separatedBy: "\n\n").filter {
      Catalogue.placeholders(in: $0).isSubset(of: values.keys)
    }
    let title = Catalogue.text("mail.\(name).title", language, values)
    let html = """
      <!DOCTYPE html>
      <html lang="\(language.rawValue)"><head><meta charset="utf-8"><title>\(escape(title))</title></head>
      <body style="font-family: Arial, Helvetica, sans-serif; color: #1a1a1a; line-height: 1.5; max-width: 40em">
      \(paragraphs.map { "<p>\(self.html($0, values))</p>" }.joined(separator: "\n"))
      </body></html>
      """
    return MailMessage(
      from: sender, to: recipient,
      subject: Catalogue.text("mail.\(name).subject", language, values),
      text: paragraphs.map { text($0, values) }.joined(separator: "\n\n"), html: html,
      language: language.rawValue)
  }

  /// The plain-text form of one paragraph.
  static func text(_ paragraph: String, _ values: [String: String]) -> String {
    let plain = paragraph.replacing(#/\[([^\]]+)\]\((\{\w+\})\)/#) {
      "\($0.output.1): \($0.output.2)"
    }
    .replacing(#/<(\{\w+\})>/#) { String($0.output.1) }
    .replacing(#/\*([^*]+)\*/#) { String($0.output.1) }
    return fill(plain, values, escaping: false)
  }

  /// The HTML form of one paragraph.
  static func html(_ paragraph: String, _ values: [String: String]) -> String {
    let marked = escape(paragraph)
      .replacing(#/\[([^\]]+)\]\((\{\w+\})\)/#) { "<a href=\"\($0.output.2)\">\($0.output.1)</a>" }
      .replacing(#/&lt;(\{\w+\})&gt;/#) { "<a href=\"\($0.output.1)\">\($0.output.1)</a>" }
      .replacing(#/\*([^*]+)\*/#) { "<strong>\($0.output.1)</strong>" }
    return fill(marked, values, escaping: true)
  }

  static func fill(_ text: String, _ values: [String: String], escaping: Bool) -> String {
    var filled = text
    for (name, value) in values {
      filled = filled.replacingOccurrences(of: "{\(name)}", with: escaping ? escape(value) : value)
    }
    return filled
  }

  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }
}
