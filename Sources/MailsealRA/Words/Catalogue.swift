import Foundation
import MailsealModel
import MailsealStore

/// Every word a requester, an operator or an administrator reads — pages,
/// mails, problem documents, command-line messages and the browser's
/// scripts — keyed by a stable message ID, in German and English. A
/// sentence names its values as `{name}` placeholders.
///
/// The entries live in one file per audience (`Catalogue+Pages.swift`,
/// `Catalogue+Problems.swift`, …); tests check that every ID used anywhere
/// is here, in both languages, with the same placeholders.
public enum Catalogue {
  /// All entries. Two parts never use one ID (a test checks).
  public static let entries: [String: LocalizedText] = pages.merging(problems) { first, _ in first }
    .merging(mails) { first, _ in first }.merging(commands) { first, _ in first }

  /// A value as a part of an ID: every ID is one identifier of lower-case
  /// letters, digits and underscores (what a template can name as
  /// `t.some_id`), so a code like `key-already-certified` or a reason like
  /// `keyCompromise` becomes `key_already_certified`, `keycompromise`.
  public static func idPart(_ value: String) -> String {
    String(
      value.lowercased().map { $0 == "-" || $0 == "." ? "_" : $0 })
  }

  /// The sentence `id` in `language` with its placeholders filled in; the
  /// ID itself when it is missing (tests keep that from happening).
  public static func text(
    _ id: String, _ language: Language, _ arguments: [String: String] = [:]
  ) -> String {
    guard let entry = entries[id] else { return id }
    return fill(entry[language], arguments, language)
  }

  /// The sentence of `message` in `language`.
  public static func text(_ message: Message, _ language: Language) -> String {
    text(message.id, language, message.arguments)
  }

  /// Every entry in one language (for templates and the browser).
  public static func table(_ language: Language) -> [String: String] {
    entries.mapValues { $0[language] }
  }

  /// The names of the placeholders in `text`.
  public static func placeholders(in text: String) -> Set<String> {
    var names: Set<String> = []
    _ = substitute(text) { name in
      if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
        names.insert(name)
      }
      return nil
    }
    return names
  }

  /// Fills the placeholders; a value `@id` is the catalogue's sentence `id`
  /// in the same language (a field's label inside a field's problem).
  static func fill(_ text: String, _ arguments: [String: String], _ language: Language) -> String {
    guard !arguments.isEmpty else { return text }
    return substitute(text) { name in
      arguments[name].map { value in
        value.hasPrefix("@") ? (entries[String(value.dropFirst())]?[language] ?? value) : value
      }
    }
  }

  /// `text` with each `{name}` for which `value` has one replaced, in one
  /// pass (what is put in is not searched again); other braces stay.
  static func substitute(_ text: String, _ value: (String) -> String?) -> String {
    // Braces are ASCII: the scan runs on the UTF-8 bytes, not on characters.
    let bytes = text.utf8
    guard var open = bytes.firstIndex(of: UInt8(ascii: "{")) else { return text }
    var filled = ""
    filled.reserveCapacity(bytes.count + 64)
    var copied = bytes.startIndex
    while true {
      let after = bytes.index(after: open)
      if let close = bytes[after...].firstIndex(where: {
        $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "{")
      }), bytes[close] == UInt8(ascii: "}"), let replacement = value(String(text[after..<close])) {
        filled += text[copied..<open]
        filled += replacement
        copied = bytes.index(after: close)
      }
      guard let next = bytes[after...].firstIndex(of: UInt8(ascii: "{")) else { break }
      open = next
    }
    filled += text[copied...]
    return filled
  }
}

/// A sentence of the catalogue with the values it names.
public struct Message: Sendable, Hashable, Codable {
  public let id: String
  public var arguments: [String: String]

  public init(_ id: String, _ arguments: [String: String] = [:]) {
    self.id = id
    self.arguments = arguments
  }
}
