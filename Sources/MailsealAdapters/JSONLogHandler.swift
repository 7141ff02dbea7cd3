import Foundation
public import Logging

/// One JSON object per log line on standard error (`MAILSEAL_LOG_FORMAT=json`):
/// `time` (RFC 3339, UTC, milliseconds), `level`, `label`, `message`,
/// `metadata` (strings, nested as JSON) and `source`, for log collectors.
public struct JSONLogHandler: LogHandler {
  public var metadata: Logger.Metadata = [:]
  public var logLevel: Logger.Level
  let label: String

  public init(label: String, level: Logger.Level) {
    self.label = label
    self.logLevel = level
  }

  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  public func log(event: LogEvent) {
    var merged = metadata
    if let extra = event.metadata { merged.merge(extra) { $1 } }
    let line = Self.line(
      time: Date(), level: event.level, label: label, message: "\(event.message)",
      metadata: merged, source: event.source)
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  static func line(
    time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata,
    source: String
  ) -> String {
    var object: [String: Any] = [
      "time": time.formatted(
        .iso8601.year().month().day().time(includingFractionalSeconds: true)
          .timeZone(separator: .omitted)),
      "level": level.rawValue, "label": label, "message": message, "source": source,
    ]
    if !metadata.isEmpty { object["metadata"] = metadata.mapValues(Self.json) }
    guard
      let data = try? JSONSerialization.data(
        withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    else { return #"{"level":"error","message":"log line not encodable"}"# }
    return String(decoding: data, as: UTF8.self)
  }

  static func json(_ value: Logger.Metadata.Value) -> Any {
    switch value {
    case .string(let text): return text
    case .stringConvertible(let convertible): return convertible.description
    case .array(let values): return values.map(json)
    case .dictionary(let values): return values.mapValues(json)
    }
  }
}
