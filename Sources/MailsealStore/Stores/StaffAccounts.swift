public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// Staff accounts. Their secrets (password hash, sealed code secret) come
/// out only as ``StaffCredentials``, for the checks of signing in.
public struct StaffAccounts: Sendable {
  let database: any Database

  /// The account with this id.
  public func find(_ id: UUID) async throws -> StaffAccount? {
    try await OperatorRecord.find(id, on: database)?.value
  }

  /// The account with this address (as it is now).
  public func find(email: String) async throws -> StaffAccount? {
    try await OperatorRecord.query(on: database).filter(\.$email == email).first()?.value
  }

  /// The account linked to the identity provider's subject `key`.
  public func find(oidcSubject key: String) async throws -> StaffAccount? {
    try await OperatorRecord.query(on: database).filter(\.$oidcSubject == key).first()?.value
  }

  /// Disables an account.
  public func disable(_ id: UUID) async throws {
    try await OperatorRecord.query(on: database).filter(\.$id == id).set(\.$isEnabled, to: false)
      .update()
  }

  /// Adds (`id` nil) or updates the account the identity provider
  /// vouches for: its address, name, role and subject as the provider says
  /// now, enabled.
  public func saveFromProvider(
    _ id: UUID?, email: String, name: String, role: StaffRole, oidcSubject: String, now: Date
  ) async throws -> StaffAccount {
    let record: OperatorRecord
    if let id, let found = try await OperatorRecord.find(id, on: database) {
      record = found
    } else {
      record = OperatorRecord()
      record.totpLastStep = 0
      record.failedAttempts = 0
      record.createdAt = now
    }
    record.email = email
    record.name = name
    record.role = role
    record.oidcSubject = oidcSubject
    record.isEnabled = true
    try await DuplicateEntry.mapping { try await record.save(on: database) }
    return try record.value
  }

  /// The account with this id and what signing in checks.
  public func withCredentials(_ id: UUID) async throws -> (StaffAccount, StaffCredentials)? {
    try await OperatorRecord.find(id, on: database).map { (try $0.value, $0.credentials) }
  }

  /// The account with this address and what signing in checks.
  public func withCredentials(email: String) async throws -> (StaffAccount, StaffCredentials)? {
    try await OperatorRecord.query(on: database).filter(\.$email == email).first()
      .map { (try $0.value, $0.credentials) }
  }

  /// Adds an account that has yet to enrol by the link whose token hashes
  /// to `enrolmentTokenHash`; an address taken throws ``DuplicateEntry``.
  public func add(
    email: String, name: String, role: StaffRole, enrolmentTokenHash: String,
    enrolmentExpiresAt: Date, now: Date
  ) async throws -> StaffAccount {
    let record = OperatorRecord()
    record.email = email
    record.name = name
    record.role = role
    record.totpLastStep = 0
    record.enrolmentTokenHash = enrolmentTokenHash
    record.enrolmentExpiresAt = enrolmentExpiresAt
    record.failedAttempts = 0
    record.isEnabled = true
    record.createdAt = now
    try await DuplicateEntry.mapping { try await record.create(on: database) }
    return try record.value
  }

  /// The account whose unexpired enrolment link hashes to `tokenHash`.
  public func enrolling(tokenHash: String, now: Date) async throws -> StaffAccount? {
    guard
      let record = try await OperatorRecord.query(on: database)
        .filter(\.$enrolmentTokenHash == tokenHash).first(),
      let expiry = record.enrolmentExpiresAt, expiry > now
    else { return nil }
    return try record.value
  }

  /// Spends the enrolment link and sets password and code secret, in one
  /// statement (a leaked link cannot set the password again).
  public func spendEnrolment(
    _ id: UUID, tokenHash: String, passwordHash: String, totpSecretSealed: Data, now: Date
  ) async throws -> Bool {
    !(try await database.sql.raw(
      """
      UPDATE operators SET password_hash = \(bind: passwordHash), totp_secret_sealed = \(bind: totpSecretSealed),
        enrolment_token_hash = NULL
      WHERE id = \(bind: id) AND enrolment_token_hash = \(bind: tokenHash)
        AND enrolment_expires_at > \(bind: now)
      RETURNING id
      """
    ).all()).isEmpty
  }

  /// Claims a code's time step (no code works twice), in one statement;
  /// `finishingEnrolment` also closes the enrolment, otherwise the
  /// account's failed attempts start again from zero.
  public func claimCodeStep(_ id: UUID, step: Int, finishingEnrolment: Bool) async throws -> Bool {
    let rest: SQLQueryString =
      finishingEnrolment ? "enrolment_expires_at = NULL" : "failed_attempts = 0"
    return
      !(try await database.sql.raw(
        """
        UPDATE operators SET totp_last_step = \(bind: step), \(rest)
        WHERE id = \(bind: id) AND totp_last_step < \(bind: step)
        RETURNING id
        """
      ).all()).isEmpty
  }

  /// Takes one of the account's attempts before a password or code is
  /// checked, in one statement: false while the account is locked or its
  /// `threshold` attempts are used up. A lock that has run out starts a
  /// fresh count.
  public func claimAttempt(_ id: UUID, threshold: Int, now: Date) async throws -> Bool {
    !(try await database.sql.raw(
      """
      UPDATE operators SET
        failed_attempts = CASE WHEN locked_until IS NOT NULL AND locked_until <= \(bind: now)
          THEN 1 ELSE failed_attempts + 1 END,
        locked_until = CASE WHEN locked_until IS NOT NULL AND locked_until <= \(bind: now)
          THEN NULL ELSE locked_until END
      WHERE id = \(bind: id)
        AND ((locked_until IS NOT NULL AND locked_until <= \(bind: now))
          OR (locked_until IS NULL AND failed_attempts < \(literal: threshold)))
      RETURNING failed_attempts
      """
    ).all()).isEmpty
  }

  /// Gives back an attempt whose check succeeded.
  public func giveBackAttempt(_ id: UUID) async throws {
    try await database.sql.raw(
      "UPDATE operators SET failed_attempts = failed_attempts - 1 WHERE id = \(bind: id) AND failed_attempts > 0"
    ).run()
  }

  /// Locks the account until `until` once its attempts reached
  /// `threshold`; true for the one statement that locked it.
  public func lockIfSpent(_ id: UUID, threshold: Int, until: Date) async throws -> Bool {
    !(try await database.sql.raw(
      """
      UPDATE operators SET locked_until = \(bind: until)
      WHERE id = \(bind: id) AND locked_until IS NULL
        AND failed_attempts >= \(literal: threshold)
      RETURNING id
      """
    ).all()).isEmpty
  }
}

extension OperatorRecord {
  var credentials: StaffCredentials {
    StaffCredentials(
      passwordHash: passwordHash, totpSecretSealed: totpSecretSealed, totpLastStep: totpLastStep,
      enrolmentExpiresAt: enrolmentExpiresAt)
  }
}
