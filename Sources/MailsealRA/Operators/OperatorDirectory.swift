public import FluentKit
import Foundation
public import Logging
import MailsealCA
public import MailsealModel
import MailsealStore

/// Operator accounts: made by an administrator, enrolled by the operator
/// (password and TOTP second factor), signed in with both, locked after
/// repeated failures.
public struct OperatorDirectory: Sendable {
  let database: any Database
  var store: Store { Store(database) }
  let configuration: MailsealConfiguration
  let logger: Logger

  public init(database: any Database, configuration: MailsealConfiguration, logger: Logger) {
    self.database = database
    self.configuration = configuration
    self.logger = logger
  }

  /// Failures before the account is locked, and for how long.
  static let lockoutThreshold = 5
  static let lockoutDuration: TimeInterval = 15 * 60
  static let enrolmentLifetime: TimeInterval = 48 * 3600
  package static let sessionLifetime: TimeInterval = 8 * 3600
  /// Between password and TOTP code.
  static let pendingLifetime: TimeInterval = 10 * 60
  static let minimumPasswordLength = 12

  var box: SecretBox { SecretBox(installationSecret: configuration.passphrase) }

  static let signInFailed = MailsealError(.operatorSignInFailed)
  static let locked = MailsealError(.operatorLocked)
  static let enrolmentInvalid = MailsealError(.operatorEnrolmentInvalid)

  // MARK: - Accounts

  /// Adds an operator and returns the one-time enrolment link.
  public func add(email: String, name: String, role: StaffRole, now: Date = Date())
    async throws -> (StaffAccount, String)
  {
    let mailbox = try Mailbox(email)
    let display = try SubjectName(name, field: "name", maximumLength: 128)
    guard try await store.staff.find(email: mailbox.address) == nil else {
      throw MailsealError(.operatorExists)
    }
    let token = SecretToken.make()
    let account: StaffAccount
    do {
      account = try await store.transaction { store in
        let account = try await store.staff.add(
          email: mailbox.address, name: display.value, role: role,
          enrolmentTokenHash: SecretToken.hash(token),
          enrolmentExpiresAt: now.addingTimeInterval(Self.enrolmentLifetime), now: now)
        try await store.staffAddresses.record(mailbox.address, for: account.id, now: now)
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.commandLine, action: .operatorAdded, subject: mailbox.address,
            details: ["name": display.value, "role": role.rawValue]), on: store.database, now: now)
        return account
      }
    } catch is DuplicateEntry {
      // Added at the same moment by someone else (the address is unique).
      throw MailsealError(.operatorExists)
    }
    logger.notice("operator added", metadata: ["email": "\(mailbox)", "role": "\(role.rawValue)"])
    return (account, PortalPath.staffEnrol.url(base: configuration.publicURL, token))
  }

  /// The operator an enrolment link belongs to, while it is valid.
  public func enrolling(token: String, now: Date = Date()) async throws -> StaffAccount {
    guard SecretToken.isWellFormed(token),
      let account = try await store.staff.enrolling(tokenHash: SecretToken.hash(token), now: now)
    else { throw Self.enrolmentInvalid }
    return account
  }

  /// What the operator sees once: the TOTP secret, and its otpauth://
  /// URI (which the page shows as a QR code).
  public struct SecondFactor: Sendable {
    public let secret: String
    public let uri: String
  }

  /// Step 1 of enrolment: the password; a fresh TOTP secret is made and
  /// shown once. The link is spent here, in one statement (a leaked link
  /// cannot set the password again); the rest of enrolment belongs to the
  /// browser that set it, by the enrolment session returned.
  public func setPassword(
    token: String, password: String, repeat repeated: String, clientAddress: String = "",
    now: Date = Date()
  ) async throws -> (factor: SecondFactor, tokens: Tokens) {
    let record = try await enrolling(token: token, now: now)
    guard password == repeated else {
      throw MailsealError(
        .passwordMismatch, fields: ["password": Message("field_password_not_the_same")])
    }
    guard password.count >= Self.minimumPasswordLength, password.count <= 1024 else {
      throw MailsealError(
        .passwordTooShort, fields: ["password": Message("field_password_too_short")])
    }
    try await admitAttempt(
      [.init(key: "enrol.client:\(clientAddress)", limit: 10, window: 15 * 60)], now: now)
    var generator = SystemRandomNumberGenerator()
    let secret = (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let hash = try await PasswordHashing.shared.run { try PasswordHash.make(password) }
    let sealed = try box.seal(secret)
    let tokens = Tokens(session: SecretToken.make(), csrf: SecretToken.make())
    let expires = try await store.staff.withCredentials(record.id)?.1.enrolmentExpiresAt ?? now
    try await store.transaction { store in
      guard
        try await store.staff.spendEnrolment(
          record.id, tokenHash: SecretToken.hash(token), passwordHash: hash,
          totpSecretSealed: sealed, now: now)
      else { throw Self.enrolmentInvalid }
      try await Self.createSession(
        tokens, for: record.id, stage: .enrolment,
        expires: min(expires, now.addingTimeInterval(Self.pendingLifetime * 3)), now: now,
        in: store)
    }
    let uri = OneTimePassword.uri(secret: secret, account: record.email, issuer: "Mailseal")
    return (
      SecondFactor(secret: OneTimePassword.base32(secret), uri: uri),
      tokens
    )
  }

  /// The enrolment this browser is in the middle of (its enrolment
  /// session), with the secret to show again until the first code comes.
  public func enrolmentInProgress(sessionToken: String, now: Date = Date()) async throws
    -> (account: StaffAccount, factor: SecondFactor)?
  {
    guard
      let (session, record, secrets) = try await sessionWithSecrets(token: sessionToken, now: now),
      session.stage == .enrolment, let sealed = secrets.totpSecretSealed
    else { return nil }
    let secret = try box.open(sealed)
    let uri = OneTimePassword.uri(secret: secret, account: record.email, issuer: "Mailseal")
    return (
      record,
      SecondFactor(secret: OneTimePassword.base32(secret), uri: uri)
    )
  }

  /// Step 2 of enrolment: a code from the authenticator proves it holds
  /// the secret. Only the browser that set the password (its enrolment
  /// session) can finish; the code's step is claimed in one statement.
  public func confirmEnrolment(sessionToken: String, code: String, now: Date = Date())
    async throws
  {
    guard
      let (session, record, secrets) = try await sessionWithSecrets(token: sessionToken, now: now),
      session.stage == .enrolment
    else { throw Self.enrolmentInvalid }
    guard let sealed = secrets.totpSecretSealed, secrets.passwordHash != nil,
      let step = OneTimePassword.verify(
        code, secret: try box.open(sealed), now: now, lastUsed: secrets.totpLastStep)
    else {
      throw MailsealError(.totpInvalid, fields: ["code": Message("field_code_wrong")])
    }
    try await store.transaction { store in
      guard try await store.staff.claimCodeStep(record.id, step: step, finishingEnrolment: true)
      else {
        throw MailsealError(.totpInvalid, fields: ["code": Message("field_code_wrong")])
      }
      try await store.staffSessions.end(session.id)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(record.email), action: .operatorEnrolled,
          subject: record.email), on: store.database, now: now)
    }
    logger.notice("operator enrolled", metadata: ["email": "\(record.email)"])
  }

  // MARK: - Sign-in

  /// What a successful step of sign-in hands the browser.
  public struct Tokens: Sendable {
    public let session: String
    public let csrf: String
  }

  /// Attempts per client address and per account (whatever the address
  /// typed), counted before any password is hashed.
  static func signInLimits(email: String, clientAddress: String) -> [RateLimiter.Limit] {
    [
      .init(key: "signin.client:\(clientAddress)", limit: 30, window: 15 * 60),
      .init(key: "signin.account:\(email.lowercased().prefix(320))", limit: 20, window: 15 * 60),
    ]
  }

  /// Step 1: address and password. Gives a session that still owes the
  /// second factor.
  public func signIn(
    email: String, password: String, clientAddress: String = "", now: Date = Date()
  ) async throws -> Tokens {
    try PasswordHashing.shared.refuseWhenFull()
    try await admitAttempt(
      Self.signInLimits(email: email, clientAddress: clientAddress), now: now)
    // With an OpenID provider, the password is the administrators' way in
    // when the provider is away (break-glass); everyone else signs in there.
    let breakGlassOnly = configuration.oidc != nil
    guard let address = try? Mailbox(email).address,
      let (record, secrets) = try await store.staff.withCredentials(email: address),
      record.isEnabled, record.isEnrolled, let hash = secrets.passwordHash,
      !breakGlassOnly || (record.role == .admin && record.oidcSubject == nil)
    else {
      // The same work as a real check, so that timing says nothing.
      _ = try await PasswordHashing.shared.run {
        PasswordHash.verify(password, against: Self.dummyHash)
      }
      throw Self.signInFailed
    }
    let id = record.id
    try await claimAttempt(id, now: now)
    guard try await PasswordHashing.shared.run({ PasswordHash.verify(password, against: hash) })
    else {
      try await recordFailure(record, now: now)
      throw Self.signInFailed
    }
    try await giveBackAttempt(id)
    return try await startSession(for: record, stage: .password, now: now)
  }

  /// Step 2: the TOTP code. Replaces the pending session by a complete one
  /// (a new token: the session is rotated at sign-in). The code's step is
  /// claimed and the pending session ended in one transaction, so one code
  /// signs in one session, however many arrive at once.
  public func completeSignIn(pendingToken: String, code: String, now: Date = Date()) async throws
    -> Tokens
  {
    guard
      let (session, record, secrets) = try await sessionWithSecrets(token: pendingToken, now: now),
      session.stage == .password
    else {
      throw MailsealError.operatorSignInRequired
    }
    let id = record.id
    try await claimAttempt(id, now: now)
    guard let sealed = secrets.totpSecretSealed,
      let step = OneTimePassword.verify(
        code, secret: try box.open(sealed), now: now, lastUsed: secrets.totpLastStep)
    else {
      try await recordFailure(record, now: now)
      throw Self.signInFailed
    }
    let tokens = Tokens(session: SecretToken.make(), csrf: SecretToken.make())
    let signedIn = try await store.transaction { store -> Bool in
      guard try await store.staff.claimCodeStep(id, step: step, finishingEnrolment: false),
        try await store.staffSessions.end(session.id)
      else {
        return false
      }
      try await Self.createSession(
        tokens, for: id, stage: .complete, expires: now.addingTimeInterval(Self.sessionLifetime),
        now: now, in: store)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(record.email), action: .operatorSignedIn,
          subject: record.email), on: store.database, now: now)
      return true
    }
    guard signedIn else {
      // The code (or the pending session) was used a moment ago.
      try await recordFailure(record, now: now)
      throw Self.signInFailed
    }
    logger.info("operator signed in", metadata: ["email": "\(record.email)"])
    return tokens
  }

  /// The session a cookie names and its account, while both are valid.
  public func session(token: String, now: Date = Date()) async throws -> (
    StaffSession, StaffAccount
  )? {
    guard SecretToken.isWellFormed(token) else { return nil }
    return try await store.staffSessions.live(tokenHash: SecretToken.hash(token), now: now)
  }

  /// The session a cookie names and its account's record (with the
  /// secrets that signing in and enrolment check), while both are valid.
  func sessionWithSecrets(token: String, now: Date) async throws -> (
    StaffSession, StaffAccount, StaffCredentials
  )? {
    guard let (session, _) = try await session(token: token, now: now),
      let (account, secrets) = try await store.staff.withCredentials(session.operatorID)
    else { return nil }
    return (session, account, secrets)
  }

  public func signOut(token: String) async throws {
    guard SecretToken.isWellFormed(token) else { return }
    try await store.staffSessions.end(tokenHash: SecretToken.hash(token))
  }

  /// Counts an attempt against the rate limits; refuses it (429) when one
  /// is used up.
  func admitAttempt(_ limits: [RateLimiter.Limit], now: Date) async throws {
    try await RateLimiter(database: database).admitOrRefuse(limits, now: now, logger: logger)
  }

  /// Takes one of the account's attempts before a password or code is
  /// checked, in one statement: refused (423) while the account is locked
  /// or its attempts are used up, so at most ``lockoutThreshold`` checks
  /// are ever under way or failed, however many arrive at once. A lock that
  /// has run out starts a fresh count.
  func claimAttempt(_ id: UUID, now: Date) async throws {
    guard try await store.staff.claimAttempt(id, threshold: Self.lockoutThreshold, now: now) else {
      throw Self.locked
    }
  }

  /// A check that succeeded does not count as a failure.
  func giveBackAttempt(_ id: UUID) async throws {
    try await store.staff.giveBackAttempt(id)
  }

  /// A failed check keeps its claimed attempt; the one that uses up the
  /// last attempt locks the account (once), and both are audited.
  func recordFailure(_ record: StaffAccount, now: Date) async throws {
    try await store.transaction { store in
      let locked = try await store.staff.lockIfSpent(
        record.id, threshold: Self.lockoutThreshold,
        until: now.addingTimeInterval(Self.lockoutDuration))
      if locked {
        logger.warning("operator account locked", metadata: ["email": "\(record.email)"])
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(record.email),
          action: locked ? .operatorLocked : .operatorSignInFailed,
          subject: record.email),
        on: store.database, now: now)
    }
  }

  func startSession(for record: StaffAccount, stage: StaffSession.Stage, now: Date)
    async throws -> Tokens
  {
    let tokens = Tokens(session: SecretToken.make(), csrf: SecretToken.make())
    try await Self.createSession(
      tokens, for: record.id, stage: stage,
      expires: now.addingTimeInterval(
        stage == .complete ? Self.sessionLifetime : Self.pendingLifetime),
      now: now, in: store)
    return tokens
  }

  static func createSession(
    _ tokens: Tokens, for id: UUID, stage: StaffSession.Stage, expires: Date, now: Date,
    viaIdentityProvider: Bool = false, providerSessionID: String? = nil, in store: Store
  ) async throws {
    try await store.staffSessions.add(
      tokenHash: SecretToken.hash(tokens.session), csrfHash: SecretToken.hash(tokens.csrf),
      operatorID: id, stage: stage, now: now, expiresAt: expires,
      viaIdentityProvider: viaIdentityProvider, providerSessionID: providerSessionID)
  }

  static let dummyHash = (try? PasswordHash.make("not a real password at all")) ?? ""
}
