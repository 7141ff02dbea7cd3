public import FluentKit
import Foundation
import MailsealModel

/// A signed-in browser. The cookie holds a random token; here only its
/// SHA-256, and the SHA-256 of the session's CSRF token.
public final class SessionRecord: Model, @unchecked Sendable {
  public static let schema = "sessions"

  /// Who the session belongs to.
  public enum Kind: String, Codable, Sendable {
    /// A requester, signed in for one mailbox by a login link.
    case requester
  }

  @ID(key: .id) public var id: UUID?
  @Field(key: "token_hash") public var tokenHash: String
  @Field(key: "csrf_hash") public var csrfHash: String
  @Field(key: "kind") public var kind: Kind
  /// The mailbox whose control the login link proved.
  @Field(key: "mailbox") public var mailbox: String
  /// When the mailbox validation happened (the login link was opened).
  @Field(key: "validated_at") public var validatedAt: Date
  /// How: `login-link`, or `identity-provider` (a verified address from
  /// the organisation's OpenID provider).
  @Field(key: "validation_method") public var validationMethod: String
  /// The names the identity provider gave (`given_name`, `family_name`):
  /// only to pre-fill the form; the desk still compares the photo ID.
  @OptionalField(key: "given_name_hint") public var givenNameHint: String?
  @OptionalField(key: "surname_hint") public var surnameHint: String?
  @Field(key: "created_at") public var createdAt: Date
  @Field(key: "expires_at") public var expiresAt: Date

  public init() {}

  /// The validation methods.
  public static let loginLink = MailboxValidation.loginLink.rawValue
  public static let identityProvider = MailboxValidation.identityProvider.rawValue
}
