import Foundation

/// The languages of every page, mail and message.
public enum Language: String, Codable, Sendable, CaseIterable {
  case de
  case en

  /// The first supported language of an Accept-Language header, by quality.
  public static func fromAcceptLanguage(_ header: String) -> Language {
    let ranked = header.split(separator: ",").compactMap { part -> (Language, Double)? in
      let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
      guard let tag = pieces.first?.lowercased(),
        let language = Language(rawValue: String(tag.prefix(2)))
      else { return nil }
      let quality =
        pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
      return (language, quality)
    }
    return ranked.max { $0.1 < $1.1 }?.0 ?? .de
  }
}

/// A sentence in both languages.
public struct LocalizedText: Sendable, Equatable, Codable {
  public let de: String
  public let en: String

  public init(de: String, en: String) {
    self.de = de
    self.en = en
  }

  public subscript(_ language: Language) -> String { language == .de ? de : en }
}
