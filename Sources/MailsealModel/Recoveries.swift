public import Foundation

/// A request to recover an escrowed key: asked by the person or an
/// administrator, approved by two recovery officers, downloaded by one.
public struct KeyRecovery: Sendable, Hashable {
  public enum State: String, Codable, Sendable, CaseIterable {
    case requested
    case approved
    case declined
    case expired

    /// The states of a recovery still under way (one per certificate).
    public static let open: [State] = [.requested, .approved]
  }

  public var id: UUID
  /// What the person and the officers quote: `K-XXXX-XXXX`.
  public var number: String
  public var certificateID: UUID
  /// The request holding the envelope.
  public var requestID: UUID
  public var mailbox: String
  public var state: State
  public var reason: String
  /// Who asked (as the audit trail names them), and their account if staff.
  public var askedBy: String
  public var askedByOperatorID: UUID?
  public var language: String
  public var approvals: Int
  public var createdAt: Date
  /// Until approved: the approval window; then: the download window.
  public var expiresAt: Date
  public var approvedAt: Date?
  public var declinedBy: String?
  public var declineReason: String?
  public var declinedAt: Date?
  public var downloads: Int
  public var lastDownloadedAt: Date?
  public var lastDownloadedBy: String?

  public init(
    id: UUID, number: String, certificateID: UUID, requestID: UUID, mailbox: String,
    state: State, reason: String, askedBy: String, askedByOperatorID: UUID?, language: String,
    approvals: Int, createdAt: Date, expiresAt: Date, downloads: Int
  ) {
    self.id = id
    self.number = number
    self.certificateID = certificateID
    self.requestID = requestID
    self.mailbox = mailbox
    self.state = state
    self.reason = reason
    self.askedBy = askedBy
    self.askedByOperatorID = askedByOperatorID
    self.language = language
    self.approvals = approvals
    self.createdAt = createdAt
    self.expiresAt = expiresAt
    self.downloads = downloads
  }

  /// The state at `now`: open past its time is expired.
  public func state(at now: Date) -> State {
    State.open.contains(state) && expiresAt <= now ? .expired : state
  }
}

/// One recovery officer's approval of a recovery.
public struct KeyRecoveryApproval: Sendable, Hashable {
  public var id: UUID
  public var recoveryID: UUID
  public var operatorID: UUID
  public var operatorEmail: String
  public var approvedAt: Date

  public init(id: UUID, recoveryID: UUID, operatorID: UUID, operatorEmail: String, approvedAt: Date)
  {
    self.id = id
    self.recoveryID = recoveryID
    self.operatorID = operatorID
    self.operatorEmail = operatorEmail
    self.approvedAt = approvedAt
  }
}
