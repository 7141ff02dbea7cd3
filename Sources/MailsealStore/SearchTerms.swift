public import FluentKit
import Foundation
import SQLKit

/// What the desk's search finds a request by: words of its names and of its
/// address, each kept as every tail that starts at a word, so that a prefix
/// search on the terms finds a request by any word — "mueller" the
/// surname of "Zoë Müller-Lüdenscheidt", "lüdenscheidt" her second surname,
/// "mueller@example.edu" or "example.edu" the end of her address.
///
/// Names are kept in two spellings, compared without case, accents or
/// width: with accents dropped ("muller") and transliterated the way German
/// ID cards' machine-readable zone and most mail addresses write them
/// ("mueller": ä ae, ö oe, ü ue, ß ss, and å aa, æ ae, ø oe, œ oe, þ th).
/// A query is looked for in both spellings, so "Müller", "muller" and
/// "mueller" all find her.
public enum SearchTerms {
  /// The table: (term, request_id), indexed by term under byte order.
  public static let table = "request_search_terms"

  /// The spellings a name or a query is compared in (one or two).
  public static func spellings(_ text: String) -> [String] {
    let lowered = text.lowercased()
    let stripped = fold(lowered)
    let transliterated = fold(transliterate(lowered))
    return stripped == transliterated ? [stripped] : [stripped, transliterated]
  }

  /// The terms of a request: every word-led tail of its names (both
  /// spellings) and of its address.
  public static func terms(mailbox: String, names: [String?]) -> Set<String> {
    var terms: Set<String> = []
    for name in names.compactMap({ $0 }) where !name.isEmpty {
      for spelling in spellings(name) {
        terms.formUnion(tails(of: spelling, after: [" ", "-", "'", ".", ","]))
      }
    }
    terms.formUnion(tails(of: mailbox.lowercased(), after: [".", "-", "_", "+", "@"]))
    return terms.filter { !$0.isEmpty && $0.utf8.count <= maximumTermLength }
  }

  /// Longer terms are not kept: names are at most 64 characters and
  /// addresses 254, so none is lost.
  static let maximumTermLength = 512

  /// Replaces the terms of request `id` (inside the caller's transaction).
  public static func save(
    _ terms: Set<String>, for id: UUID, on database: any Database
  ) async throws {
    let sql = try database.sql
    try await sql.delete(from: table).where("request_id", .equal, id).run()
    guard !terms.isEmpty else { return }
    var insert = sql.insert(into: table).columns("term", "request_id")
    for term in terms.sorted() {
      insert = insert.values(SQLBind(term), SQLBind(id))
    }
    try await insert.run()
  }

  /// Without case, accents or width; letters that carry no accent to drop
  /// but have a plain spelling get it (ß ss, ł l, ø o, æ ae, …).
  static func fold(_ text: String) -> String {
    var plain = ""
    for character in text.folding(
      options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    {
      plain += plainLetters[character] ?? String(character)
    }
    return plain
  }

  private static let plainLetters: [Character: String] = [
    "ß": "ss", "ẞ": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d",
    "þ": "th", "ı": "i", "ŀ": "l", "ħ": "h",
  ]

  /// The German (and Nordic) transliterations, before folding.
  static func transliterate(_ lowered: String) -> String {
    var out = ""
    for character in lowered {
      out += transliterations[character] ?? String(character)
    }
    return out
  }

  private static let transliterations: [Character: String] = [
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "å": "aa", "æ": "ae", "ø": "oe", "œ": "oe",
    "þ": "th",
  ]

  /// The tails of `text` that start at its beginning or right after one of
  /// `separators` (and are not empty).
  static func tails(of text: String, after separators: Set<Character>) -> [String] {
    var tails = [text]
    var index = text.startIndex
    while index < text.endIndex {
      let next = text.index(after: index)
      if separators.contains(text[index]), next < text.endIndex {
        tails.append(String(text[next...]))
      }
      index = next
    }
    return tails
  }
}
