import Foundation
import MailsealRA

/// The language of the administrator's commands, from the locale the shell
/// gives them.
enum CommandWords {
  /// The language the commands of this process speak.
  static let current = language(in: ProcessInfo.processInfo.environment)

  /// German when the first non-empty of `LC_ALL`, `LC_MESSAGES` and `LANG`
  /// starts with `de`, otherwise English (also for `C`, `POSIX` and none).
  static func language(in environment: [String: String]) -> Language {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap { environment[$0] }
      .first { !$0.isEmpty }
    return locale?.lowercased().hasPrefix("de") == true ? .de : .en
  }
}

/// The catalogue's sentence `id` in the command line's language, its
/// `{placeholders}` filled from `arguments`.
func say(_ id: String, _ arguments: [String: String] = [:]) -> String {
  Catalogue.text(id, CommandWords.current, arguments)
}

/// Lines of a label and a value, indented by two, the values in one column
/// two spaces after the longest of the labels (whichever language they are
/// in).
struct LabelColumn {
  private let width: Int

  /// A column for the labels `ids` (every label the block can print).
  init(_ ids: [String]) {
    width = ids.map { say($0).count }.max() ?? 0
  }

  /// `  label  value`.
  func line(_ id: String, _ value: String) -> String {
    let label = say(id)
    return "  " + label + String(repeating: " ", count: max(width - label.count, 0) + 2) + value
  }
}
