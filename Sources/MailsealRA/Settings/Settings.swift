public import FluentKit
import Foundation
import MailsealModel
import MailsealStore

/// Settings an administrator changes at run time, shared by all instances
/// through the database (the environment is read only at start-up).
public struct Settings: Sendable {
  let database: any Database

  public init(database: any Database) { self.database = database }

  public static let issuancePaused = "issuance.paused"

  public func value(_ key: String) async throws -> String? {
    try await Store(database).settings.value(key)
  }

  /// Changes settings (nil removes one) and records who did it in the
  /// audit trail, in one transaction.
  public func change(
    _ values: [(key: String, value: String?)], by actor: String, action: AuditAction,
    now: Date = Date()
  ) async throws {
    try await Store(database).transaction { store in
      var details: [String: String] = [:]
      for (key, value) in values {
        try await store.settings.set(key, to: value, now: now)
        details[key] = value ?? "(removed)"
      }
      try await AuditTrail.append(
        AuditEvent(actor: actor, action: action, subject: "settings", details: details),
        on: store.database, now: now)
    }
  }

  /// Pauses or resumes issuance.
  public func setIssuancePaused(_ paused: Bool, by actor: String, now: Date = Date()) async throws {
    try await change(
      [(Self.issuancePaused, paused ? "true" : "false")], by: actor,
      action: paused ? .issuancePaused : .issuanceResumed, now: now)
  }

  public static let noticeGerman = "notice.de"
  public static let noticeEnglish = "notice.en"

  /// The longest notice text, per language.
  public static let maximumNoticeLength = 500

  /// Sets the service notice shown on every requester page, in both
  /// languages; both texts are required, plain text, at most
  /// ``maximumNoticeLength`` characters.
  public func setNotice(german: String, english: String, by actor: String, now: Date = Date())
    async throws
  {
    var problems: [String: Message] = [:]
    for (field, text) in [("de", german), ("en", english)] {
      let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
      if trimmed.isEmpty {
        problems[field] = Message("field_notice_\(field)_missing")
      } else if trimmed.count > Self.maximumNoticeLength {
        problems[field] = Message(
          "field_notice_too_long", ["bound": "\(Self.maximumNoticeLength)"])
      } else if trimmed.unicodeScalars.contains(where: {
        $0.properties.generalCategory == .control && $0 != "\n"
      }) {
        problems[field] = Message("field_notice_control_characters")
      }
    }
    guard problems.isEmpty else { throw MailsealError(.noticeInvalid, fields: problems) }
    try await change(
      [
        (Self.noticeGerman, german.trimmingCharacters(in: .whitespacesAndNewlines)),
        (Self.noticeEnglish, english.trimmingCharacters(in: .whitespacesAndNewlines)),
      ], by: actor, action: .noticeSet, now: now)
  }

  /// Removes the service notice.
  public func clearNotice(by actor: String, now: Date = Date()) async throws {
    try await change(
      [(Self.noticeGerman, nil), (Self.noticeEnglish, nil)], by: actor, action: .noticeCleared,
      now: now)
  }

  /// What requester pages say about the service: the notice and whether
  /// issuance is paused, read in one query.
  public struct ServiceState: Sendable, Equatable {
    public var notice: LocalizedText?
    public var issuancePaused: Bool
  }

  public func serviceState() async throws -> ServiceState {
    let values = try await Store(database).settings.values([
      Self.noticeGerman, Self.noticeEnglish, Self.issuancePaused,
    ])
    var notice: LocalizedText?
    if let german = values[Self.noticeGerman], let english = values[Self.noticeEnglish] {
      notice = LocalizedText(de: german, en: english)
    }
    return ServiceState(notice: notice, issuancePaused: values[Self.issuancePaused] == "true")
  }

  /// Whether issuance is paused: approved requests then wait.
  public func isIssuancePaused() async throws -> Bool {
    try await value(Self.issuancePaused) == "true"
  }
}
