public import FluentKit
import Foundation
public import MailsealModel

/// A member of the service desk or an administrator or auditor.
public final class OperatorRecord: Model, @unchecked Sendable {
  public static let schema = "operators"

  /// The roles (MailsealModel).
  public typealias Role = StaffRole

  @ID(key: .id) public var id: UUID?
  @Field(key: "email") public var email: String
  @Field(key: "name") public var name: String
  @Field(key: "role") public var role: Role
  /// scrypt, in `scrypt$N$r$p$salt$hash` form; nil until enrolled.
  @OptionalField(key: "password_hash") public var passwordHash: String?
  /// The TOTP secret, sealed with AES-GCM under a key derived from the
  /// installation's secret; nil until enrolled.
  @OptionalField(key: "totp_secret_sealed") public var totpSecretSealed: Data?
  /// The last TOTP time step used, so that no code works twice.
  @Field(key: "totp_last_step") public var totpLastStep: Int
  @OptionalField(key: "enrolment_token_hash") public var enrolmentTokenHash: String?
  @OptionalField(key: "enrolment_expires_at") public var enrolmentExpiresAt: Date?
  @Field(key: "failed_attempts") public var failedAttempts: Int
  @OptionalField(key: "locked_until") public var lockedUntil: Date?
  @Field(key: "is_enabled") public var isEnabled: Bool
  @Field(key: "created_at") public var createdAt: Date
  /// `issuer subject` at the OpenID provider, for staff who sign in there.
  @OptionalField(key: "oidc_subject") public var oidcSubject: String?

  public init() {}

  /// Whether enrolment (password and second factor) is complete.
  public var isEnrolled: Bool {
    passwordHash != nil && totpSecretSealed != nil && enrolmentTokenHash == nil
      && enrolmentExpiresAt == nil
  }
}

/// A signed-in operator's browser; apart from requesters' sessions.
public final class OperatorSessionRecord: Model, @unchecked Sendable {
  public static let schema = "operator_sessions"

  /// How far the sign-in got.
  public typealias Stage = StaffSession.Stage

  @ID(key: .id) public var id: UUID?
  @Parent(key: "operator_id") public var `operator`: OperatorRecord
  @Field(key: "token_hash") public var tokenHash: String
  @Field(key: "csrf_hash") public var csrfHash: String
  @Field(key: "stage") public var stage: Stage
  @Field(key: "created_at") public var createdAt: Date
  @Field(key: "expires_at") public var expiresAt: Date
  /// Signed in through the OpenID provider (signing out leads there too).
  @Field(key: "via_identity_provider") public var viaIdentityProvider: Bool
  /// The provider's session (`sid` of the ID token), which a back-channel
  /// logout may name.
  @OptionalField(key: "oidc_sid") public var providerSessionID: String?

  public init() {}
}
