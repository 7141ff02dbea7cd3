public import FluentKit
import Foundation

/// A member of the service desk or an administrator or auditor.
public final class OperatorRecord: Model, @unchecked Sendable {
  public static let schema = "operators"

  /// What an operator may do.
  public enum Role: String, Codable, Sendable, CaseIterable {
    /// Verifies identities, approves, rejects, revokes.
    case `operator`
    /// Also manages operators, notices and settings.
    case admin
    /// Reads only.
    case auditor
    /// Approves recoveries of escrowed keys and downloads their envelopes;
    /// nothing else.
    case recoveryOfficer = "recovery-officer"
    // What each role may do is decided in one place of the registration
    // authority (`Permissions.of`), not here.
  }

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
  public enum Stage: String, Codable, Sendable {
    /// Enrolment: the password is set (the link is spent); the first code
    /// from the authenticator is still owed, by this browser.
    case enrolment
    /// The password was right; the second factor is still owed.
    case password
    /// Password and TOTP code were right.
    case complete
  }

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
