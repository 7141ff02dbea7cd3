import Foundation

/// Makes a mail from the catalogue's template `mail_<name>`: `_subject`,
/// `_title` (of the HTML part) and `_body`. The body is written once for
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
    let paragraphs = (templates["mail_\(Catalogue.idPart(name))_body"]?[language] ?? []).filter {
      $0.placeholders.isSubset(of: values.keys)
    }
    let title = Catalogue.text("mail_\(Catalogue.idPart(name))_title", language, values)
    let html = """
      <!DOCTYPE html>
      <html lang="\(language.rawValue)"><head><meta charset="utf-8"><title>\(escape(title))</title></head>
      <body style="font-family: Arial, Helvetica, sans-serif; color: #1a1a1a; line-height: 1.5; max-width: 40em">
      \(paragraphs.map { "<p>\(fill($0.html, values, escaping: true))</p>" }.joined(separator: "\n"))
      </body></html>
      """
    return MailMessage(
      from: sender, to: recipient,
      subject: Catalogue.text("mail_\(Catalogue.idPart(name))_subject", language, values),
      text: paragraphs.map { fill($0.text, values, escaping: false) }.joined(separator: "\n\n"),
      html: html, language: language.rawValue)
  }

  /// One paragraph of a mail's body, its markup already made: what is left
  /// per mail is filling in the values.
  struct Paragraph: Sendable {
    let placeholders: Set<String>
    let text: String
    let html: String
  }

  /// Every mail body of the catalogue in every language, marked up once
  /// (issuing a batch mails every person: a pattern parsed per mail cost
  /// 2 ms of the transaction that stores their certificates).
  static let templates: [String: [Language: [Paragraph]]] = Dictionary(
    uniqueKeysWithValues: Catalogue.entries.filter {
      $0.key.hasPrefix("mail_") && $0.key.hasSuffix("_body")
    }
    .map { id, entry in
      (
        id,
        Dictionary(
          uniqueKeysWithValues: Language.allCases.map { language in
            (
              language,
              entry[language].components(separatedBy: "\n\n").map { paragraph in
                Paragraph(
                  placeholders: Catalogue.placeholders(in: paragraph), text: text(paragraph),
                  html: html(paragraph))
              }
            )
          })
      )
    })

  /// The plain-text form of one paragraph, values not yet filled in.
  static func text(_ paragraph: String) -> String {
    paragraph.replacing(#/\[([^\]]+)\]\((\{\w+\})\)/#) {
      "\($0.output.1): \($0.output.2)"
    }
    .replacing(#/<(\{\w+\})>/#) { String($0.output.1) }
    .replacing(#/\*([^*]+)\*/#) { String($0.output.1) }
  }

  /// The HTML form of one paragraph, values not yet filled in.
  static func html(_ paragraph: String) -> String {
    escape(paragraph)
      .replacing(#/\[([^\]]+)\]\((\{\w+\})\)/#) { "<a href=\"\($0.output.2)\">\($0.output.1)</a>" }
      .replacing(#/&lt;(\{\w+\})&gt;/#) { "<a href=\"\($0.output.1)\">\($0.output.1)</a>" }
      .replacing(#/\*([^*]+)\*/#) { "<strong>\($0.output.1)</strong>" }
  }

  /// Fills in the values, escaped for HTML when asked, in one pass: a
  /// value is never read again for placeholders.
  static func fill(_ text: String, _ values: [String: String], escaping: Bool) -> String {
    Catalogue.substitute(text) { name in values[name].map { escaping ? escape($0) : $0 } }
  }

  static func escape(_ text: String) -> String {
    guard text.contains(where: { "&<>\"".contains($0) }) else { return text }
    var escaped = ""
    escaped.reserveCapacity(text.utf8.count + 16)
    for character in text {
      switch character {
      case "&": escaped += "&amp;"
      case "<": escaped += "&lt;"
      case ">": escaped += "&gt;"
      case "\"": escaped += "&quot;"
      default: escaped.append(character)
      }
    }
    return escaped
  }
}
