/// The application's one error type: a stable code, the sentence that
/// explains it (a catalogue message, `problem_<code>` unless a more precise
/// one is given) and, for forms, the problem of each field.
///
/// It says nothing of HTTP: `ProblemMiddleware` (web) is the one place that
/// turns a code into a status, and it and the command line take the words
/// from the catalogue.
public struct MailsealError: Error, Sendable, Equatable {
  /// Stable codes: clients and tests may match on them.
  public enum Code: String, Sendable, CaseIterable {
    // Input that cannot be used.
    case invalidAddress = "invalid-address"
    case domainNotAllowed = "domain-not-allowed"
    case invalidForm = "invalid-form"
    case keyTypeMismatch = "key-type-mismatch"
    case invalidEvidence = "invalid-evidence"
    case invalidReason = "invalid-reason"
    case reasonMissing = "reason-missing"
    case noticeInvalid = "notice-invalid"
    case passwordMismatch = "password-mismatch"
    case passwordTooShort = "password-too-short"
    case totpInvalid = "totp-invalid"
    case renewalNamesChanged = "renewal-names-changed"
    case renewalNeedsNewKey = "renewal-needs-new-key"
    // Who may do what.
    case signInRequired = "sign-in-required"
    case operatorSignInRequired = "operator-sign-in-required"
    case operatorSignInFailed = "operator-sign-in-failed"
    case operatorLocked = "operator-locked"
    case forbiddenForRole = "forbidden-for-role"
    case ownMailbox = "own-mailbox"
    case fourEyes = "four-eyes"
    case csrfTokenInvalid = "csrf-token-invalid"
    case metricsToken = "metrics-token"
    // Links and tokens.
    case loginLinkInvalid = "login-link-invalid"
    case loginLinkExpired = "login-link-expired"
    case loginLinkUsed = "login-link-used"
    case pickupLinkInvalid = "pickup-link-invalid"
    case operatorEnrolmentInvalid = "operator-enrolment-invalid"
    // Sign-in through the organisation's OpenID provider.
    case identityProviderRefused = "identity-provider-refused"
    case identityProviderUnavailable = "identity-provider-unavailable"
    case localSignInOff = "local-sign-in-off"
    case roleMailboxNeedsLoginLink = "role-mailbox-needs-login-link"
    // The state of things.
    case notFound = "not-found"
    case wrongState = "wrong-state"
    case cannotWithdraw = "cannot-withdraw"
    case nameMismatch = "name-mismatch"
    case mailboxValidationStale = "mailbox-validation-stale"
    case evidenceTooOld = "evidence-too-old"
    case operatorExists = "operator-exists"
    case rateLimited = "rate-limited"
    case tooManyAttempts = "too-many-attempts"
    case busy = "busy"
    case reasonNotAllowed = "reason-not-allowed"
    case alreadyRevoked = "already-revoked"
    case certificateExpired = "expired"
    // Key recovery.
    case recoveryNotEscrowed = "recovery-not-escrowed"
    case recoveryOpen = "recovery-open"
    case recoveryAlreadyApproved = "recovery-already-approved"
    case recoveryOwnRequest = "recovery-own-request"
    case recoveryNotApproved = "recovery-not-approved"
    case recoveryExpired = "recovery-expired"
    case escrowStopped = "escrow-stopped"
    // Ours.
    case serviceUnavailable = "service-unavailable"
    case `internal` = "internal"
  }

  public let code: Code
  /// The sentence for the person who sees it.
  public let message: Message
  /// Problems of single form fields, by field name.
  public var fields: [String: Message]

  public init(_ code: Code, message: Message? = nil, fields: [String: Message] = [:]) {
    self.code = code
    self.message = message ?? Message("problem_\(Catalogue.idPart(code.rawValue))")
    self.fields = fields
  }

  /// `code` with the sentence `problem_<code>` and the values it names.
  public init(_ code: Code, _ arguments: [String: String], fields: [String: Message] = [:]) {
    self.init(
      code, message: Message("problem_\(Catalogue.idPart(code.rawValue))", arguments),
      fields: fields)
  }

  /// The sentence in `language`.
  public func detail(_ language: Language) -> String { Catalogue.text(message, language) }

  /// What a page says: the detail, then each field's problem (by field
  /// name, so always in the same order).
  public func sentence(_ language: Language) -> String {
    ([detail(language)]
      + fields.sorted { $0.key < $1.key }.map { Catalogue.text($0.value, language) })
      .joined(separator: " ")
  }

  public static let notFound = MailsealError(.notFound)
  public static let signInRequired = MailsealError(.signInRequired)
  public static let loginLinkUsed = MailsealError(.loginLinkUsed)
  public static let csrf = MailsealError(.csrfTokenInvalid)
  public static let operatorSignInRequired = MailsealError(.operatorSignInRequired)
  public static let forbiddenForRole = MailsealError(.forbiddenForRole)
}
