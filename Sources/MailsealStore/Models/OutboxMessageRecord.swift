public import FluentKit
import Foundation

/// A mail waiting for delivery, or delivered: written in the same moment as
/// whatever caused it, delivered by the mail worker, kept afterwards.
public final class OutboxMessageRecord: Model, @unchecked Sendable {
  public static let schema = "outbox_messages"

  /// Where the message stands.
  public enum State: String, Codable, Sendable {
    /// Waiting for (another) attempt.
    case queued
    /// Handed to the mail server or written to the folder.
    case sent
    /// Refused for good (a permanent SMTP error, or three days of trying).
    case failed
  }

  @ID(key: .id) public var id: UUID?
  @Field(key: "recipient") public var recipient: String
  @Field(key: "sender") public var sender: String
  @Field(key: "subject") public var subject: String
  /// The whole RFC 5322 message, CRLF line ends.
  @Field(key: "message") public var message: String
  @Field(key: "state") public var state: State
  @Field(key: "attempts") public var attempts: Int
  @Field(key: "next_attempt_at") public var nextAttemptAt: Date
  /// While a worker holds the message; another worker leaves it alone until then.
  @OptionalField(key: "leased_until") public var leasedUntil: Date?
  @OptionalField(key: "last_error") public var lastError: String?
  @Field(key: "created_at") public var createdAt: Date
  @OptionalField(key: "sent_at") public var sentAt: Date?

  public init() {}
}
