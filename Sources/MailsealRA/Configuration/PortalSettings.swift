public import Foundation
public import MailsealCA
import MailsealModel
import MailsealStore

/// Which mail domains may ask for a login link (`MAILSEAL_ALLOWED_DOMAINS`):
/// `example.edu` is that domain exactly, `*.example.edu` any subdomain of it.
public struct AllowedDomains: Sendable, Equatable, CustomStringConvertible {
  /// The patterns, lowercased; empty means every domain.
  public let patterns: [String]

  public init(patterns: [String]) { self.patterns = patterns }

  /// Parses the comma-separated list; nil names the bad entry.
  static func parse(_ text: String) -> (AllowedDomains?, String?) {
    var patterns: [String] = []
    for raw in text.split(separator: ",") {
      let entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
      let domain = entry.hasPrefix("*.") ? String(entry.dropFirst(2)) : entry
      guard (try? Mailbox("x@" + domain)) != nil else { return (nil, entry) }
      patterns.append(entry)
    }
    return patterns.isEmpty ? (nil, text) : (AllowedDomains(patterns: patterns), nil)
  }

  /// Whether a mailbox's domain is allowed.
  /// Whether no domain is named (then every domain is allowed).
  public var isEmpty: Bool { patterns.isEmpty }

  public func allows(_ mailbox: Mailbox) -> Bool {
    guard !patterns.isEmpty else { return true }
    let domain = String(mailbox.domain)
    return patterns.contains { pattern in
      pattern.hasPrefix("*.") ? domain.hasSuffix(pattern.dropFirst(1)) : domain == pattern
    }
  }

  public var description: String {
    patterns.isEmpty ? "any domain" : patterns.joined(separator: ", ")
  }
}

/// How mail leaves the portal.
public struct MailSettings: Sendable {
  /// `MAILSEAL_SMTP_URL`; nil means the folder of .eml files.
  public var smtp: SMTPSettings?
  /// `MAILSEAL_OUTBOX_DIR`: where .eml files go without SMTP.
  public var outboxDirectory: URL
  /// `MAILSEAL_MAIL_FROM`: the sender, `Name <address>`.
  public var from: String
  /// The right-hand side of Message-IDs and the EHLO name.
  public var domain: String
}

/// The requester-facing part of the portal.
public struct PortalSettings: Sendable {
  /// `MAILSEAL_ALLOWED_DOMAINS`.
  public var allowedDomains: AllowedDomains
  /// `MAILSEAL_LOGIN_LINK_MINUTES` (default 30, at most 1440).
  public var loginLinkLifetime: TimeInterval
  /// `MAILSEAL_LOGIN_LIMIT_PER_ADDRESS`: login links per address per hour (default 5).
  public var loginLimitPerAddress: Int
  /// `MAILSEAL_LOGIN_LIMIT_PER_CLIENT`: login links per client address per hour (default 30).
  public var loginLimitPerClient: Int
  /// `MAILSEAL_SESSION_HOURS`: how long a requester stays signed in (default 8).
  public var sessionLifetime: TimeInterval
  /// `MAILSEAL_ID_CHECK_DE`, `MAILSEAL_ID_CHECK_EN`: where and when to show a photo ID.
  public var identityCheckText: [String: String]
  /// `MAILSEAL_VIDEO_CALL_URL`: where to book the video-call identity check.
  public var videoCallURL: String?
  /// `MAILSEAL_TRUST_FORWARDED_FOR`: take the client address from X-Forwarded-For
  /// (only behind a proxy that sets it).
  public var trustForwardedFor: Bool
  /// Cookies carry Secure when the portal is reached over https.
  public var secureCookies: Bool
  /// `MAILSEAL_FOUR_EYES`: the approver must not be who checked the ID.
  public var fourEyes: Bool = false
  /// `MAILSEAL_EVIDENCE_RETENTION_DAYS`: identity evidence is kept this long
  /// after the certificate expires (default 730: two years, S/MIME BR).
  public var evidenceRetentionDays: Int = 730
  /// `MAILSEAL_PICKUP_DAYS`: how long a pickup link works (default 30).
  public var pickupDays: Int = 30
  /// `MAILSEAL_ISSUANCE_LEASE_SECONDS`: how long an issuance worker holds
  /// the requests it took (default 120); after a crash they wait this long.
  public var issuanceLease: Int = 120
  /// `MAILSEAL_RENEWAL_REMINDER_DAYS`: days before expiry on which the
  /// renewal reminder is mailed (default `30,7`).
  public var renewalReminderDays: [Int] = [30, 7]
  /// `MAILSEAL_RENEWAL_AUTO_APPROVE`: a renewal that may reuse the identity
  /// evidence is approved at once instead of by an operator's click.
  public var renewalAutoApprove: Bool = false
  /// `MAILSEAL_TIME_ZONE` (IANA name): the zone times are shown in on
  /// pages and in mails; the system's by default.
  public var timeZone: TimeZone = .current

  /// Without `MAILSEAL_ID_CHECK_*`: the catalogue's `identity-check.default`.
  static var defaultIdentityCheck: [String: String] {
    Dictionary(
      uniqueKeysWithValues: Language.allCases.map {
        ($0.rawValue, Catalogue.text("identity_check_default", $0))
      })
  }
}

extension MailsealConfiguration {
  /// Reads the mail and portal settings, adding every problem to `problems`.
  static func loadPortal(
    _ value: (String) -> String?, dataDirectory: URL, publicURL: String,
    problems: inout [ConfigurationError.Problem]
  ) -> (MailSettings, PortalSettings) {
    let host = URL(string: publicURL)?.host ?? "localhost"
    let domain =
      host.allSatisfy({ $0.isNumber || $0 == "." }) || host == "localhost"
      ? "localhost.localdomain" : host

    var smtp: SMTPSettings?
    if let url = value("MAILSEAL_SMTP_URL") {
      smtp = SMTPSettings(url: url)
      if smtp == nil {
        problems.append(
          .init(
            variable: "MAILSEAL_SMTP_URL",
            message:
              "“\(MailsealConfiguration.redacted(url))” is not smtp://[user:password@]host[:port] or smtps://…"
          ))
      }
    }
    if let file = value("MAILSEAL_SMTP_CA_FILE") {
      if FileManager.default.isReadableFile(atPath: file) {
        smtp?.trustedCertificatesFile = file
      } else {
        problems.append(
          .init(variable: "MAILSEAL_SMTP_CA_FILE", message: "the file \(file) cannot be read."))
      }
    }
    let outbox =
      value("MAILSEAL_OUTBOX_DIR").map { URL(fileURLWithPath: $0, isDirectory: true) }
      ?? dataDirectory.appendingPathComponent("outbox", isDirectory: true)
    let derived =
      (try? Mailbox("noreply@\(domain)")) != nil
      ? "noreply@\(domain)" : "noreply@localhost.localdomain"
    let from = value("MAILSEAL_MAIL_FROM") ?? "Mailseal <\(derived)>"
    if value("MAILSEAL_MAIL_FROM") != nil, (try? Mailbox(Outbox.address(of: from))) == nil {
      problems.append(
        .init(
          variable: "MAILSEAL_MAIL_FROM",
          message: "“\(from.prefix(100))” holds no valid sender address."))
    }

    var allowed = AllowedDomains(patterns: [])
    if let text = value("MAILSEAL_ALLOWED_DOMAINS") {
      let (parsed, bad) = AllowedDomains.parse(text)
      if let parsed {
        allowed = parsed
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_ALLOWED_DOMAINS",
            message:
              "“\((bad ?? text).prefix(80))” is not a domain; write e.g. example.edu,*.example.edu")
        )
      }
    }

    func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>, unit: String)
      -> Int
    {
      guard let text = value(name) else { return fallback }
      guard let number = Int(text), range.contains(number) else {
        problems.append(
          .init(
            variable: name,
            message:
              "“\(text.prefix(20))” is not a number of \(unit) from \(range.lowerBound) to \(range.upperBound)."
          ))
        return fallback
      }
      return number
    }
    let minutes = integer(
      "MAILSEAL_LOGIN_LINK_MINUTES", default: 30, range: 1...1440, unit: "minutes")
    let perAddress = integer(
      "MAILSEAL_LOGIN_LIMIT_PER_ADDRESS", default: 5, range: 1...1000, unit: "links per hour")
    let perClient = integer(
      "MAILSEAL_LOGIN_LIMIT_PER_CLIENT", default: 30, range: 1...100_000, unit: "links per hour")
    let hours = integer("MAILSEAL_SESSION_HOURS", default: 8, range: 1...24, unit: "hours")

    var identity = PortalSettings.defaultIdentityCheck
    if let text = value("MAILSEAL_ID_CHECK_DE") { identity["de"] = text }
    if let text = value("MAILSEAL_ID_CHECK_EN") { identity["en"] = text }
    let video = value("MAILSEAL_VIDEO_CALL_URL")
    if let video,
      !(video.hasPrefix("https://") || video.hasPrefix("http://")) || URL(string: video) == nil
    {
      problems.append(
        .init(
          variable: "MAILSEAL_VIDEO_CALL_URL",
          message: "“\(video.prefix(100))” is not an http(s) URL."))
    }
    let trust =
      value("MAILSEAL_TRUST_FORWARDED_FOR").map { ["1", "true", "yes"].contains($0.lowercased()) }
      ?? false
    let fourEyes =
      value("MAILSEAL_FOUR_EYES").map { ["1", "true", "yes"].contains($0.lowercased()) } ?? false
    let retention = integer(
      "MAILSEAL_EVIDENCE_RETENTION_DAYS", default: 730, range: 730...36_500, unit: "days")
    let pickupDays = integer("MAILSEAL_PICKUP_DAYS", default: 30, range: 1...365, unit: "days")
    let lease = integer(
      "MAILSEAL_ISSUANCE_LEASE_SECONDS", default: 120, range: 5...3600, unit: "seconds")
    var reminders = [30, 7]
    if let text = value("MAILSEAL_RENEWAL_REMINDER_DAYS") {
      let days = text.split(separator: ",").map {
        Int($0.trimmingCharacters(in: .whitespaces))
      }
      if text.trimmingCharacters(in: .whitespaces).isEmpty {
        reminders = []
      } else if days.count <= 5, days.allSatisfy({ $0 != nil && (1...90).contains($0!) }) {
        reminders = Array(Set(days.map { $0! })).sorted(by: >)
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_RENEWAL_REMINDER_DAYS",
            message: "must be up to five numbers of days from 1 to 90, comma-separated, or empty."))
      }
    }
    var autoApprove = false
    if let text = value("MAILSEAL_RENEWAL_AUTO_APPROVE")?.lowercased() {
      if ["1", "true", "yes"].contains(text) {
        autoApprove = true
      } else if !["0", "false", "no"].contains(text) {
        problems.append(
          .init(variable: "MAILSEAL_RENEWAL_AUTO_APPROVE", message: "must be `true` or `false`."))
      }
    }
    // Read by the executable before anything else (``LogFormat``);
    // checked here so that a typo is named like every other.
    if let format = value("MAILSEAL_LOG_FORMAT"), LogFormat(rawValue: format.lowercased()) == nil {
      problems.append(
        .init(variable: "MAILSEAL_LOG_FORMAT", message: "must be `text` or `json`."))
    }
    var timeZone = TimeZone.current
    if let name = value("MAILSEAL_TIME_ZONE") {
      if let zone = TimeZone(identifier: name) {
        timeZone = zone
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_TIME_ZONE",
            message: "“\(name.prefix(64))” is not a time zone name such as Europe/Berlin or UTC."))
      }
    }

    return (
      MailSettings(smtp: smtp, outboxDirectory: outbox, from: from, domain: domain),
      PortalSettings(
        allowedDomains: allowed, loginLinkLifetime: TimeInterval(minutes * 60),
        loginLimitPerAddress: perAddress,
        loginLimitPerClient: perClient, sessionLifetime: TimeInterval(hours * 3600),
        identityCheckText: identity,
        videoCallURL: video, trustForwardedFor: trust,
        secureCookies: publicURL.hasPrefix("https://"), fourEyes: fourEyes,
        evidenceRetentionDays: retention,
        pickupDays: pickupDays, issuanceLease: lease,
        renewalReminderDays: reminders, renewalAutoApprove: autoApprove, timeZone: timeZone)
    )
  }
}

/// Where a listener of the portal binds: a host (address or name) and a port.
public struct ListenAddress: Sendable, Equatable {
  public let host: String
  public let port: Int
}

/// `MAILSEAL_LOG_FORMAT`: how log lines are written. The executable reads
/// it before anything else (the log comes first); the configuration checks
/// it again so that a typo is named like every other value.
public enum LogFormat: String, Sendable {
  case text
  case json

  /// The format `environment` asks for (`text` when unset or empty); nil
  /// when the value is neither.
  public static func from(_ environment: [String: String]) -> LogFormat? {
    guard let value = environment["MAILSEAL_LOG_FORMAT"], !value.isEmpty else { return .text }
    return LogFormat(rawValue: value.lowercased())
  }
}
