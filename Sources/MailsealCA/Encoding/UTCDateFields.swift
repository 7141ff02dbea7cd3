public import Foundation
import SwiftASN1

/// A date's calendar fields in UTC, computed from the day number (the
/// proleptic Gregorian calendar, as ASN.1 times and mail dates use it)
/// without Calendar or DateFormatter, which cost more than the rest of a
/// CRL entry or a mail header.
public struct UTCDateFields: Sendable, Hashable {
  public let year: Int
  public let month: Int
  public let day: Int
  public let hour: Int
  public let minute: Int
  public let second: Int
  /// 0 is Sunday.
  public let weekday: Int

  /// The fields of `date`, its fraction of a second dropped.
  public init(_ date: Date) {
    let seconds = Int(date.timeIntervalSince1970.rounded(.down))
    let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
    let secondOfDay = seconds - days * 86_400
    // H. Hinnant's civil_from_days: eras of 400 years from 0000-03-01.
    let shifted = days + 719_468
    let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
    let dayOfEra = shifted - era * 146_097
    let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
    let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
    let monthIndex = (5 * dayOfYear + 2) / 153
    day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
    month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
    year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    hour = secondOfDay / 3600
    minute = secondOfDay / 60 % 60
    second = secondOfDay % 60
    weekday = ((days % 7) + 11) % 7  // 1970-01-01 was a Thursday
  }

  /// RFC 3339 in UTC, whole seconds: `2026-12-01T06:30:00Z` (what
  /// ISO8601DateFormatter's internet date-time gives, without making a
  /// formatter per call).
  public var internetDateTime: String {
    func digits(_ value: Int, _ count: Int) -> String {
      let text = String(value)
      return String(repeating: "0", count: max(0, count - text.count)) + text
    }
    return
      "\(digits(year, 4))-\(digits(month, 2))-\(digits(day, 2))T\(digits(hour, 2)):\(digits(minute, 2)):\(digits(second, 2))Z"
  }
}

/// The ASN.1 times of CRLs and OCSP responses, in whole seconds, UTC.
enum DERTime {
  /// RFC 5280 §4.1.2.5 and §5.1.2.4: UTCTime through 2049, GeneralizedTime
  /// from 2050 on.
  static func serializeTime(_ date: Date, into coder: inout DER.Serializer) throws {
    let fields = UTCDateFields(date)
    if fields.year < 2050 {
      try coder.serialize(
        UTCTime(
          year: fields.year, month: fields.month, day: fields.day, hours: fields.hour,
          minutes: fields.minute, seconds: fields.second))
    } else {
      try serializeGeneralizedTime(date, into: &coder)
    }
  }

  /// GeneralizedTime without fraction (RFC 6960 and RFC 5280 DER).
  static func serializeGeneralizedTime(_ date: Date, into coder: inout DER.Serializer) throws {
    try coder.serialize(generalizedTime(date))
  }

  static func generalizedTime(_ date: Date) throws -> GeneralizedTime {
    let fields = UTCDateFields(date)
    return try GeneralizedTime(
      year: fields.year, month: fields.month, day: fields.day, hours: fields.hour,
      minutes: fields.minute, seconds: fields.second, fractionalSeconds: 0)
  }

  /// The date of a GeneralizedTime or UTCTime, for reading our own output.
  static func date(_ time: GeneralizedTime) -> Date {
    var components = DateComponents()
    components.calendar = Calendar(identifier: .gregorian)
    components.timeZone = TimeZone(identifier: "UTC")
    components.year = time.year
    components.month = time.month
    components.day = time.day
    components.hour = time.hours
    components.minute = time.minutes
    components.second = time.seconds
    return components.date!
  }
}
