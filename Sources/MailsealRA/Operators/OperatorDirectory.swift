public import FluentKit
import Foundation
public import Logging
import MailsealCA
public import MailsealStore
import SQLKit

/// Operator accounts: made by an administrator, enrolled by the operator
/// (password and TOTP second factor), signed in with both, locked after
/// repeated failures.
public struct OperatorDirectory: Sendable {
  let database: any Database
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
  public func add(email: String, name: String, role: OperatorRecord.Role, now: Date = Date())
    async throws -> (
      OperatorRecord, String
    )
  {
    let mailbox = try Mailbox(email)
    let display = try SubjectName(name, field: "name", maximumLength: 128)
    guard
      try await OperatorRecord.query(on: database).filter(\.$email == mailbox.address).first()
        == nil
    else {
      throw MailsealError(.operatorExists)
    }
    let token = SecretToken.make()
    let record = OperatorRecord()
    record.email = mailbox.address
    record.name = display.value
    record.role = role
    record.totpLastStep = 0
    record.enrolmentTokenHash = SecretToken.hash(token)
    record.enrolmentExpiresAt = now.addingTimeInterval(Self.enrolmentLifetime)
    record.failedAttempts = 0
    record.isEnabled = true
    record.createdAt = now
    do {
      try await database.transaction { database in
        try await record.create(on: database)
        try await OperatorAddresses.record(
          mailbox.address, for: record.requireID(), now: now, on: database)
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.commandLine, action: .operatorAdded, subject: mailbox.address,
            details: ["name": display.value, "role": role.rawValue]), on: database, now: now)
      }
    } catch let error as any DatabaseError where error.isConstraintFailure {
      // Added at the same moment by someone else (the address is unique).
      throw MailsealError(.operatorExists)
    }
    logger.notice("operator added", metadata: ["email": "\(mailbox)", "role": "\(role.rawValue)"])
    return (record, PortalPath.staffEnrol.url(base: configuration.publicURL, token))
  }

  /// The operator an enrolment link belongs to, while it is valid.
  public func enrolling(token: String, now: Date = Date()) async throws -> OperatorRecord {
    guard SecretToken.isWellFormed(token),
      let record = try await OperatorRecord.query(on: database).filter(
        \.$enrolmentTokenHash == SecretToken.hash(token)
      ).first(),
      let expiry = record.enrolmentExpiresAt, expiry > now
    else { throw Self.enrolmentInvalid }
    return record
  }

  /// What the operator sees once: the TOTP secret and its QR code.
  public struct SecondFactor: Sendable {
    public let secret: String
    public let uri: String
    public let qrSVG: String
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
        .passwordMismatch, fields: ["password": Message("field.password.not-the-same")])
    }
    guard password.count >= Self.minimumPasswordLength, password.count <= 1024 else {
      throw MailsealError(
        .passwordTooShort, fields: ["password": Message("field.password.too-short")])
    }
    try await admitAttempt(
      [.init(key: "enrol.client:\(clientAddress)", limit: 10, window: 15 * 60)], now: now)
    var generator = SystemRandomNumberGenerator()
    let secret = (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let hash = try await PasswordHashing.shared.run { try PasswordHash.make(password) }
    let sealed = try box.seal(secret)
    let tokens = Tokens(session: SecretToken.make(), csrf: SecretToken.make())
    try await database.transaction { database in
      let spent = try await database.sql.raw(
        """
        UPDATE operators SET password_hash = \(bind: hash), totp_secret_sealed = \(bind: sealed),
          enrolment_token_hash = NULL
        WHERE id = \(bind: record.requireID()) AND enrolment_token_hash = \(bind: SecretToken.hash(token))
          AND enrolment_expires_at > \(bind: now)
        RETURNING id
        """
      ).all()
      guard !spent.isEmpty else { throw Self.enrolmentInvalid }
      try await Self.createSession(
        tokens, for: record.requireID(), stage: .enrolment,
        expires: min(
          record.enrolmentExpiresAt ?? now, now.addingTimeInterval(Self.pendingLifetime * 3)),
        now: now, on: database)
    }
    let uri = OneTimePassword.uri(secret: secret, account: record.email, issuer: "Mailseal")
    return (
      SecondFactor(secret: OneTimePassword.base32(secret), uri: uri, qrSVG: try QRCode(uri).svg()),
      tokens
    )
  }

  /// The enrolment this browser is in the middle of (its enrolment
  /// session), with the secret to show again until the first code comes.
  public func enrolmentInProgress(sessionToken: String, now: Date = Date()) async throws
    -> (record: OperatorRecord, factor: SecondFactor)?
  {
    guard let (session, record) = try await session(token: sessionToken, now: now),
      session.stage == .enrolment, let sealed = record.totpSecretSealed
    else { return nil }
    let secret = try box.open(sealed)
    let uri = OneTimePassword.uri(secret: secret, account: record.email, issuer: "Mailseal")
    return (
      record,
      SecondFactor(secret: OneTimePassword.base32(secret), uri: uri, qrSVG: try QRCode(uri).svg())
    )
  }

  /// Step 2 of enrolment: a code from the authenticator proves it holds
  /// the secret. Only the browser that set the password (its enrolment
  /// session) can finish; the code's step is claimed in one statement.
  public func confirmEnrolment(sessionToken: String, code: String, now: Date = Date())
    async throws
  {
    guard let (session, record) = try await session(token: sessionToken, now: now),
      session.stage == .enrolment
    else { throw Self.enrolmentInvalid }
    guard let sealed = record.totpSecretSealed, record.passwordHash != nil,
      let step = OneTimePassword.verify(
        code, secret: try box.open(sealed), now: now, lastUsed: record.totpLastStep)
    else {
      throw MailsealError(.totpInvalid, fields: ["code": Message("field.code.wrong")])
    }
    try await database.transaction { database in
      let claimed = try await database.sql.raw(
        """
        UPDATE operators SET totp_last_step = \(bind: step), enrolment_expires_at = NULL
        WHERE id = \(bind: record.requireID()) AND totp_last_step < \(bind: step)
        RETURNING id
        """
      ).all()
      guard !claimed.isEmpty else {
        throw MailsealError(.totpInvalid, fields: ["code": Message("field.code.wrong")])
      }
      try await Self.endSession(session, on: database)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(record.email), action: .operatorEnrolled,
          subject: record.email), on: database, now: now)
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
      let record = try await OperatorRecord.query(on: database).filter(\.$email == address).first(),
      record.isEnabled, record.isEnrolled, let hash = record.passwordHash,
      !breakGlassOnly || (record.role == .admin && record.oidcSubject == nil)
    else {
      // The same work as a real check, so that timing says nothing.
      _ = try await PasswordHashing.shared.run {
        PasswordHash.verify(password, against: Self.dummyHash)
      }
      throw Self.signInFailed
    }
    let id = try record.requireID()
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
    guard let (session, record) = try await session(token: pendingToken, now: now),
      session.stage == .password
    else {
      throw MailsealError.operatorSignInRequired
    }
    let id = try record.requireID()
    try await claimAttempt(id, now: now)
    guard let sealed = record.totpSecretSealed,
      let step = OneTimePassword.verify(
        code, secret: try box.open(sealed), now: now, lastUsed: record.totpLastStep)
    else {
      try await recordFailure(record, now: now)
      throw Self.signInFailed
    }
    let tokens = Tokens(session: SecretToken.make(), csrf: SecretToken.make())
    let signedIn = try await database.transaction { database -> Bool in
      let claimed = try await database.sql.raw(
        """
        UPDATE operators SET totp_last_step = \(bind: step), failed_attempts = 0
        WHERE id = \(bind: id) AND totp_last_step < \(bind: step) RETURNING id
        """
      ).all()
      guard !claimed.isEmpty, try await Self.endSession(session, on: database) else {
        return false
      }
      try await Self.createSession(
        tokens, for: id, stage: .complete, expires: now.addingTimeInterval(Self.sessionLifetime),
        now: now, on: database)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(record.email), action: .operatorSignedIn,
          subject: record.email), on: database, now: now)
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

  /// The session a cookie names and its operator, while both are valid.
  public func session(token: String, now: Date = Date()) async throws -> (
    OperatorSessionRecord, OperatorRecord
  )? {
    guard SecretToken.isWellFormed(token),
      let session = try await OperatorSessionRecord.query(on: database).filter(
        \.$tokenHash == SecretToken.hash(token)
      )
      .with(\.$operator).first(),
      session.expiresAt > now, session.operator.isEnabled
    else { return nil }
    return (session, session.operator)
  }

  public func signOut(token: String) async throws {
    guard SecretToken.isWellFormed(token) else { return }
    try await OperatorSessionRecord.query(on: database).filter(
      \.$tokenHash == SecretToken.hash(token)
    ).delete()
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
    let claimed = try await database.sql.raw(
      """
      UPDATE operators SET
        failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= \(bind: now)
          THEN 1 ELSE failed_attempts + 1 END,
        locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= \(bind: now)
          THEN NULL ELSE locked_until END
      WHERE id = \(bind: id)
        AND ((locked_until IS NOT NULL AND locked_until <= \(bind: now))
          OR (locked_until IS NULL AND failed_attempts < \(literal: Self.lockoutThreshold)))
      RETURNING failed_attempts
      """
    ).all()
    if claimed.isEmpty { throw Self.locked }
  }

  /// A check that succeeded does not count as a failure.
  func giveBackAttempt(_ id: UUID) async throws {
    try await database.sql.raw(
      "UPDATE operators SET failed_attempts = failed_attempts - 1 WHERE id = \(bind: id) AND failed_attempts > 0"
    ).run()
  }

  /// A failed check keeps its claimed attempt; the one that uses up the
  /// last attempt locks the account (once), and both are audited.
  func recordFailure(_ record: OperatorRecord, now: Date) async throws {
    let id = try record.requireID()
    try await database.transaction { database in
      let locked = try await database.sql.raw(
        """
        UPDATE operators SET locked_until = \(bind: now.addingTimeInterval(Self.lockoutDuration))
        WHERE id = \(bind: id) AND locked_until IS NULL
          AND failed_attempts >= \(literal: Self.lockoutThreshold)
        RETURNING id
        """
      ).all()
      if !locked.isEmpty {
        logger.warning("operator account locked", metadata: ["email": "\(record.email)"])
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(record.email),
          action: locked.isEmpty ? .operatorSignInFailed : .operatorLocked,
          subject: record.email),
        on: database, now: now)
    }
  }

  func startSession(for record: OperatorRecord, stage: OperatorSessionRecord.Stage, now: Date)
    async throws -> Tokens
  {
    let tokens = Tokens(session: SecretToken.make(), csrf: SecretToken.make())
    try await Self.createSession(
      tokens, for: record.requireID(), stage: stage,
      expires: now.addingTimeInterval(
        stage == .complete ? Self.sessionLifetime : Self.pendingLifetime),
      now: now, on: database)
    return tokens
  }

  static func createSession(
    _ tokens: Tokens, for id: UUID, stage: OperatorSessionRecord.Stage, expires: Date, now: Date,
    viaIdentityProvider: Bool = false, providerSessionID: String? = nil,
    on database: any Database
  ) async throws {
    let session = OperatorSessionRecord()
    session.$operator.id = id
    session.tokenHash = SecretToken.hash(tokens.session)
    session.csrfHash = SecretToken.hash(tokens.csrf)
    session.stage = stage
    session.createdAt = now
    session.expiresAt = expires
    session.viaIdentityProvider = viaIdentityProvider
    session.providerSessionID = providerSessionID
    try await session.create(on: database)
  }

  /// Ends a session; false when it was ended a moment ago by another.
  @discardableResult
  static func endSession(_ session: OperatorSessionRecord, on database: any Database) async throws
    -> Bool
  {
    !(try await database.sql.raw(
      "DELETE FROM operator_sessions WHERE id = \(bind: session.requireID()) RETURNING id"
    ).all()).isEmpty
  }

  static let dummyHash = (try? PasswordHash.make("not a real password at all")) ?? ""
}
