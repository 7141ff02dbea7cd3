public import Foundation

/// One action for the audit trail: who did what to which thing.
public struct AuditEvent: Sendable, Hashable {
  /// `requester:<mailbox>`, `operator:<email>`, `ca`, `cli`.
  public var actor: String
  /// What happened, dotted: `request.submitted`, `certificate.revoked`, …
  public var action: String
  /// What it happened to: a request number, a serial, an address.
  public var subject: String
  /// The facts that matter, as text.
  public var details: [String: String]

  public init(actor: String, actionName: String, subject: String, details: [String: String] = [:]) {
    self.actor = actor
    self.action = actionName
    self.subject = subject
    self.details = details
  }

  /// The actor string of a requester signed in for `mailbox`.
  public static func requester(_ mailbox: String) -> String { "requester:\(mailbox)" }
  /// The actor string of a staff member.
  public static func staff(_ email: String) -> String { "operator:\(email)" }
  /// The CA itself (the issuance worker, the CRL publisher).
  public static let ca = "ca"
  /// An administrator at the command line.
  public static let commandLine = "cli"
  /// The organisation's OpenID provider (what its claims changed).
  public static let identityProvider = "identity-provider"
}

/// A stored audit record.
public struct AuditRecord: Sendable, Hashable, Codable {
  public let seq: Int64
  public let atMilliseconds: Int64
  public let actor: String
  public let action: String
  public let subject: String
  /// A JSON object with sorted keys.
  public let details: String
  public let previousHash: String
  public let hash: String

  public var at: Date { Date(timeIntervalSince1970: Double(atMilliseconds) / 1000) }

  public init(
    seq: Int64, atMilliseconds: Int64, actor: String, action: String, subject: String,
    details: String, previousHash: String, hash: String
  ) {
    self.seq = seq
    self.atMilliseconds = atMilliseconds
    self.actor = actor
    self.action = action
    self.subject = subject
    self.details = details
    self.previousHash = previousHash
    self.hash = hash
  }

  enum CodingKeys: String, CodingKey {
    case seq
    case atMilliseconds = "at_ms"
    case actor, action, subject, details
    case previousHash = "previous_hash"
    case hash
  }
}

/// What a check of the whole audit chain found.
public struct AuditVerification: Sendable, Equatable {
  /// How many records were checked.
  public var records: Int64
  /// The first record that does not hold, and why; nil when the chain
  /// holds from the first record to the head.
  public var firstBroken: (seq: Int64, reason: String)?

  public init(records: Int64, firstBroken: (seq: Int64, reason: String)?) {
    self.records = records
    self.firstBroken = firstBroken
  }

  public static func == (lhs: AuditVerification, rhs: AuditVerification) -> Bool {
    lhs.records == rhs.records && lhs.firstBroken?.seq == rhs.firstBroken?.seq
      && lhs.firstBroken?.reason == rhs.firstBroken?.reason
  }
}
