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
    try await database.transaction { database in
      try await record.create(on: database)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.commandLine, action: .operatorAdded, subject: mailbox.address,
          details: ["name": display.value, "role": role.rawValue]), on: database, now: now)
    }
    logger.notice("operator added", metadata: ["email": "\(mailbox)", "role": "\(role.rawValue)"])
    return (record, "\(configuration.publicURL)/operator/enrol/\(token)")
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
  /// shown once.
  public func setPassword(
    token: String, password: String, repeat repeated: String, now: Date = Date()
  ) async throws
    -> SecondFactor
  {
    let record = try await enrolling(token: token, now: now)
    guard password == repeated else {
      throw MailsealError(
        .passwordMismatch, fields: ["password": Message("field.password.not-the-same")])
    }
    guard password.count >= Self.minimumPasswordLength, password.count <= 1024 else {
      throw MailsealError(
        .passwordTooShort, fields: ["password": Message("field.password.too-short")])
    }
    var generator = SystemRandomNumberGenerator()
    let secret = (0..<20).map { _ in UInt8.random(in: 0...255, using: &generator) }
    record.passwordHash = try PasswordHash.make(password)
    record.totpSecretSealed = try box.seal(secret)
    try await record.save(on: database)
    let uri = OneTimePassword.uri(secret: secret, account: record.email, issuer: "Mailseal")
    return SecondFactor(
      secret: OneTimePassword.base32(secret), uri: uri, qrSVG: try QRCode(uri).svg())
  }

  /// Step 2 of enrolment: a code from the authenticator proves it holds
  /// the secret; the enrolment link stops working.
  public func confirmEnrolment(token: String, code: String, now: Date = Date()) async throws {
    let record = try await enrolling(token: token, now: now)
    guard let sealed = record.totpSecretSealed, record.passwordHash != nil,
      let step = OneTimePassword.verify(
        code, secret: try box.open(sealed), now: now, lastUsed: record.totpLastStep)
    else {
      throw MailsealError(.totpInvalid, fields: ["code": Message("field.code.wrong")])
    }
    record.totpLastStep = step
    record.enrolmentTokenHash = nil
    record.enrolmentExpiresAt = nil
    try await database.transaction { database in
      try await record.save(on: database)
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

  /// Step 1: address and password. Gives a session that still owes the
  /// second factor.
  public func signIn(email: String, password: String, now: Date = Date()) async throws -> Tokens {
    guard let address = try? Mailbox(email).address,
      let record = try await OperatorRecord.query(on: database).filter(\.$email == address).first(),
      record.isEnabled, record.isEnrolled, let hash = record.passwordHash
    else {
      // The same work as a real check, so that timing says nothing.
      _ = PasswordHash.verify(password, against: Self.dummyHash)
      throw Self.signInFailed
    }
    try requireUnlocked(record, now: now)
    guard PasswordHash.verify(password, against: hash) else {
      try await recordFailure(record, now: now)
      throw Self.signInFailed
    }
    return try await startSession(for: record, stage: .password, now: now)
  }

  /// Step 2: the TOTP code. Replaces the pending session by a complete one
  /// (a new token: the session is rotated at sign-in).
  public func completeSignIn(pendingToken: String, code: String, now: Date = Date()) async throws
    -> Tokens
  {
    guard let (session, record) = try await session(token: pendingToken, now: now),
      session.stage == .password
    else {
      throw MailsealError.operatorSignInRequired
    }
    try requireUnlocked(record, now: now)
    guard let sealed = record.totpSecretSealed,
      let step = OneTimePassword.verify(
        code, secret: try box.open(sealed), now: now, lastUsed: record.totpLastStep)
    else {
      try await recordFailure(record, now: now)
      throw Self.signInFailed
    }
    record.totpLastStep = step
    record.failedAttempts = 0
    try await database.transaction { database in
      try await record.save(on: database)
      try await session.delete(on: database)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(record.email), action: .operatorSignedIn,
          subject: record.email), on: database, now: now)
    }
    logger.info("operator signed in", metadata: ["email": "\(record.email)"])
    return try await startSession(for: record, stage: .complete, now: now)
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

  func requireUnlocked(_ record: OperatorRecord, now: Date) throws {
    if let until = record.lockedUntil, until > now { throw Self.locked }
  }

  func recordFailure(_ record: OperatorRecord, now: Date) async throws {
    record.failedAttempts += 1
    var locked = false
    if record.failedAttempts >= Self.lockoutThreshold {
      record.lockedUntil = now.addingTimeInterval(Self.lockoutDuration)
      record.failedAttempts = 0
      locked = true
      logger.warning("operator account locked", metadata: ["email": "\(record.email)"])
    }
    let action: AuditAction = locked ? .operatorLocked : .operatorSignInFailed
    try await database.transaction { database in
      try await record.save(on: database)
      try await AuditTrail.append(
        AuditEvent(actor: AuditEvent.staff(record.email), action: action, subject: record.email),
        on: database, now: now)
    }
  }

  func startSession(for record: OperatorRecord, stage: OperatorSessionRecord.Stage, now: Date)
    async throws -> Tokens
  {
    let tokens = Tokens(session: SecretToken.make(), csrf: SecretToken.make())
    let session = OperatorSessionRecord()
    session.$operator.id = try record.requireID()
    session.tokenHash = SecretToken.hash(tokens.session)
    session.csrfHash = SecretToken.hash(tokens.csrf)
    session.stage = stage
    session.createdAt = now
    session.expiresAt = now.addingTimeInterval(
      stage == .complete ? Self.sessionLifetime : Self.pendingLifetime)
    try await session.create(on: database)
    return tokens
  }

  static let dummyHash = (try? PasswordHash.make("not a real password at all")) ?? ""
}
