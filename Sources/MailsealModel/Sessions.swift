public import Foundation

/// How a requester's mailbox was validated (S/MIME BR §3.2.2): a login link
/// sent to it, or the organisation's identity provider for its own domain.
public enum MailboxValidation: String, Sendable, Hashable, Codable {
  case loginLink = "login-link"
  case identityProvider = "identity-provider"
}

/// A requester's signed-in browser: a session for one mailbox. The cookie
/// holds a random token; the store only its SHA-256, and the SHA-256 of the
/// session's CSRF token.
public struct MailboxSession: Sendable, Hashable {
  public var id: UUID
  /// SHA-256 (hex) of the session's CSRF token.
  public var csrfHash: String
  /// The mailbox whose control was proven.
  public var mailbox: String
  /// When the mailbox validation happened.
  public var validatedAt: Date
  /// How (`login-link` or `identity-provider`, ``MailboxValidation``).
  public var validationMethod: String
  /// The names the identity provider gave: only to pre-fill the form; the
  /// desk still compares the photo ID.
  public var givenNameHint: String?
  public var surnameHint: String?
  public var createdAt: Date
  public var expiresAt: Date

  public init(
    id: UUID, csrfHash: String, mailbox: String, validatedAt: Date, validationMethod: String,
    givenNameHint: String? = nil, surnameHint: String? = nil, createdAt: Date, expiresAt: Date
  ) {
    self.id = id
    self.csrfHash = csrfHash
    self.mailbox = mailbox
    self.validatedAt = validatedAt
    self.validationMethod = validationMethod
    self.givenNameHint = givenNameHint
    self.surnameHint = surnameHint
    self.createdAt = createdAt
    self.expiresAt = expiresAt
  }

  /// The validation, as a value (a method the store does not know reads as
  /// a login link, the weaker of the two).
  public var validation: MailboxValidation {
    MailboxValidation(rawValue: validationMethod) ?? .loginLink
  }
}

/// A staff member's signed-in browser, at a stage of signing in.
public struct StaffSession: Sendable, Hashable {
  /// How far signing in has come.
  public enum Stage: String, Codable, Sendable {
    case enrolment
    case password
    case complete
  }

  public var id: UUID
  public var operatorID: UUID
  public var csrfHash: String
  public var stage: Stage
  public var createdAt: Date
  public var expiresAt: Date
  /// Signed in through the organisation's identity provider, and that
  /// provider's session (`sid`) for its back-channel logout.
  public var viaIdentityProvider: Bool
  public var providerSessionID: String?

  public init(
    id: UUID, operatorID: UUID, csrfHash: String, stage: Stage, createdAt: Date, expiresAt: Date,
    viaIdentityProvider: Bool, providerSessionID: String?
  ) {
    self.id = id
    self.operatorID = operatorID
    self.csrfHash = csrfHash
    self.stage = stage
    self.createdAt = createdAt
    self.expiresAt = expiresAt
    self.viaIdentityProvider = viaIdentityProvider
    self.providerSessionID = providerSessionID
  }
}

/// A login link sent to a mailbox (its token exists only in the mail).
public struct LoginLink: Sendable, Hashable {
  public var id: UUID
  public var mailbox: String
  public var createdAt: Date
  public var expiresAt: Date
  public var usedAt: Date?

  public init(id: UUID, mailbox: String, createdAt: Date, expiresAt: Date, usedAt: Date?) {
    self.id = id
    self.mailbox = mailbox
    self.createdAt = createdAt
    self.expiresAt = expiresAt
    self.usedAt = usedAt
  }
}
