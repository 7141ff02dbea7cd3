public import FluentKit
import Foundation

/// A login link sent to a mailbox: its token exists only in the mail; here
/// only its SHA-256.
public final class LoginLinkRecord: Model, @unchecked Sendable {
  public static let schema = "login_links"

  @ID(key: .id) public var id: UUID?
  @Field(key: "token_hash") public var tokenHash: String
  @Field(key: "mailbox") public var mailbox: String
  @Field(key: "language") public var language: String
  @Field(key: "client_address") public var clientAddress: String
  @Field(key: "created_at") public var createdAt: Date
  @Field(key: "expires_at") public var expiresAt: Date
  @OptionalField(key: "used_at") public var usedAt: Date?

  public init() {}
}
