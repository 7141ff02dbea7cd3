import Foundation
public import MailsealModel
import MailsealStore

/// One way to sign in. A login link to the mailbox (``MailboxSignIn``),
/// the organisation's identity provider (``OIDCSignIn``) and staff's
/// password with a one-time code (``OperatorDirectory``) each conform; a
/// new method (SAML, a smart card) is one more type that conforms and
/// starts its sessions through ``RequesterSessions``.
///
/// What a requester's sign-in proves is the method's to say
/// (``mailboxValidation``) and is recorded with the session and every
/// request made in it; what that proof covers is decided by
/// ``MailboxValidation``'s rules below, never by comparing names.
public protocol SignInMethod: Sendable {
  /// How a mailbox counts as validated when a requester signs in by this
  /// method (S/MIME BR §3.2.2); nil: the method signs in staff only.
  static var mailboxValidation: MailboxValidation? { get }
}

extension MailboxSignIn: SignInMethod {
  public static var mailboxValidation: MailboxValidation? { .loginLink }
}

extension OIDCSignIn: SignInMethod {
  public static var mailboxValidation: MailboxValidation? { .identityProvider }
}

extension OperatorDirectory: SignInMethod {
  public static var mailboxValidation: MailboxValidation? { nil }
}

extension MailboxValidation {
  /// Whether it validates a role mailbox too. A link sent to the mailbox
  /// proves control of whatever mailbox it is; the identity provider
  /// vouches for a person's own address, not for a role address
  /// (S/MIME BR §3.2.2).
  public var coversRoleMailboxes: Bool {
    switch self {
    case .loginLink: true
    case .identityProvider: false
    }
  }

  /// Whether the requester signed in at the organisation's identity
  /// provider (signing out of the portal signs out there too).
  public var signedInAtProvider: Bool {
    switch self {
    case .loginLink: false
    case .identityProvider: true
    }
  }

  /// The desk's words for it (catalogue ID).
  public var deskWordID: String {
    switch self {
    case .loginLink: "desk_validated_by_link"
    case .identityProvider: "desk_validated_by_provider"
    }
  }
}

/// A requester's session begun: the cookie's token and the form's CSRF
/// token (only their hashes are stored), for one mailbox.
public struct RequesterSignIn: Sendable {
  public let sessionToken: String
  public let csrfToken: String
  public let mailbox: String
}

/// Starts requesters' sessions, the same way for every sign-in method.
enum RequesterSessions {
  /// Starts a session for `mailbox`, validated now by `method`, in the
  /// caller's transaction; the fresh validation counts for the mailbox's
  /// open requests it covers (``MailboxValidation/coversRoleMailboxes``).
  /// `names`: the provider's hints for the form.
  static func start<Method: SignInMethod>(
    by method: Method.Type, mailbox: String, lifetime: TimeInterval, now: Date,
    names: (given: String?, surname: String?) = (nil, nil), in store: Store
  ) async throws -> RequesterSignIn {
    guard let validation = Method.mailboxValidation else {
      preconditionFailure("\(Method.self) signs in staff only")
    }
    let sessionToken = SecretToken.make()
    let csrfToken = SecretToken.make()
    try await store.mailboxSessions.add(
      tokenHash: SecretToken.hash(sessionToken), csrfHash: SecretToken.hash(csrfToken),
      mailbox: mailbox, method: validation, now: now, expiresAt: now.addingTimeInterval(lifetime),
      names: names)
    try await store.requests.revalidate(
      mailbox: mailbox, at: now, by: validation, personalOnly: !validation.coversRoleMailboxes)
    return RequesterSignIn(sessionToken: sessionToken, csrfToken: csrfToken, mailbox: mailbox)
  }
}
