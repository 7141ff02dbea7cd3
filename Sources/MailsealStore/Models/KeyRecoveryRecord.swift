public import FluentKit
import Foundation
public import MailsealModel

/// A recovery of an escrowed encryption key: asked for with a reason,
/// approved by two different recovery officers, then its envelope may be
/// downloaded (for the offline machine) until it expires.
public final class KeyRecoveryRecord: Model, @unchecked Sendable {
  public static let schema = "key_recoveries"

  /// Where a recovery stands. Whether it has expired is read from
  /// `expiresAt` (an open one past it is `expired` when next touched).
  public typealias State = KeyRecovery.State

  @ID(key: .id) public var id: UUID?
  /// `K-XXXX-XXXX`, for pages and mails.
  @Field(key: "number") public var number: String
  /// The encryption certificate whose key is to be recovered.
  @Field(key: "certificate_id") public var certificateID: UUID
  /// The request that holds the envelope.
  @Field(key: "request_id") public var requestID: UUID
  @Field(key: "mailbox") public var mailbox: String
  @Field(key: "state") public var state: State
  @Field(key: "reason") public var reason: String
  /// The audit trail's actor: `requester:…` or `staff:…`.
  @Field(key: "asked_by") public var askedBy: String
  /// The administrator who asked, if one did.
  @OptionalField(key: "asked_by_operator_id") public var askedByOperatorID: UUID?
  /// The language of the person's mails.
  @Field(key: "language") public var language: String
  @Field(key: "approvals") public var approvals: Int
  @Field(key: "created_at") public var createdAt: Date
  /// Requested: by when two approvals are due; approved: the end of the
  /// download window.
  @Field(key: "expires_at") public var expiresAt: Date
  @OptionalField(key: "approved_at") public var approvedAt: Date?
  @OptionalField(key: "declined_by") public var declinedBy: String?
  @OptionalField(key: "decline_reason") public var declineReason: String?
  @OptionalField(key: "declined_at") public var declinedAt: Date?
  @Field(key: "downloads") public var downloads: Int
  @OptionalField(key: "last_downloaded_at") public var lastDownloadedAt: Date?
  @OptionalField(key: "last_downloaded_by") public var lastDownloadedBy: String?

  public init() {}
}

/// One officer's approval of a recovery (unique per officer and recovery).
public final class KeyRecoveryApprovalRecord: Model, @unchecked Sendable {
  public static let schema = "key_recovery_approvals"

  @ID(key: .id) public var id: UUID?
  @Field(key: "recovery_id") public var recoveryID: UUID
  @Field(key: "operator_id") public var operatorID: UUID
  @Field(key: "operator_email") public var operatorEmail: String
  @Field(key: "approved_at") public var approvedAt: Date

  public init() {}
}
