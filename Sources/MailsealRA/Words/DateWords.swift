public import Foundation

/// Dates and times as people read them on pages and in mails: the
/// language's style, the installation's time zone, and the zone named
/// whenever a time is shown.
public enum DateWords {
  /// `long`: the month in words (mails).
  public static func format(
    _ date: Date, language: Language, zone: TimeZone, time: Bool = true, long: Bool = false
  ) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: language == .de ? "de_DE" : "en_GB")
    formatter.dateStyle = long ? .long : .medium
    formatter.timeStyle = time ? .short : .none
    formatter.timeZone = zone
    let text = formatter.string(from: date)
    guard time else { return text }
    return text + " " + (zone.abbreviation(for: date) ?? zone.identifier)
  }
}
