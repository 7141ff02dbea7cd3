public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// Requesters' sessions, one mailbox each (only their tokens' SHA-256).
public struct MailboxSessions: Sendable {
  let database: any Database

  /// Starts a session for a mailbox validated now by `method`.
  public func add(
    tokenHash: String, csrfHash: String, mailbox: String, method: MailboxValidation, now: Date,
    expiresAt: Date, names: (given: String?, surname: String?) = (nil, nil)
  ) async throws {
    let session = SessionRecord()
    session.tokenHash = tokenHash
    session.csrfHash = csrfHash
    session.kind = .requester
    session.mailbox = mailbox
    session.validatedAt = now
    session.validationMethod = method.rawValue
    session.createdAt = now
    session.expiresAt = expiresAt
    session.givenNameHint = names.given
    session.surnameHint = names.surname
    try await session.create(on: database)
  }

  /// The session with this token hash while it lasts.
  public func live(tokenHash: String, now: Date) async throws -> MailboxSession? {
    guard
      let record = try await SessionRecord.query(on: database)
        .filter(\.$tokenHash == tokenHash).filter(\.$expiresAt > now).first()
    else { return nil }
    return try record.value
  }

  /// Ends the session with this token hash (none: nothing to do).
  public func end(tokenHash: String) async throws {
    try await SessionRecord.query(on: database).filter(\.$tokenHash == tokenHash).delete()
  }
}

extension SessionRecord {
  var value: MailboxSession {
    get throws {
      MailboxSession(
        id: try requireID(), csrfHash: csrfHash, mailbox: mailbox, validatedAt: validatedAt,
        validationMethod: validationMethod, givenNameHint: givenNameHint, surnameHint: surnameHint,
        createdAt: createdAt, expiresAt: expiresAt)
    }
  }
}

/// Staff sessions (only their tokens' SHA-256), each at a stage of
/// signing in.
public struct StaffSessions: Sendable {
  let database: any Database

  /// Starts a session for an account.
  public func add(
    tokenHash: String, csrfHash: String, operatorID: UUID, stage: StaffSession.Stage, now: Date,
    expiresAt: Date, viaIdentityProvider: Bool = false, providerSessionID: String? = nil
  ) async throws {
    let session = OperatorSessionRecord()
    session.$operator.id = operatorID
    session.tokenHash = tokenHash
    session.csrfHash = csrfHash
    session.stage = stage
    session.createdAt = now
    session.expiresAt = expiresAt
    session.viaIdentityProvider = viaIdentityProvider
    session.providerSessionID = providerSessionID
    try await session.create(on: database)
  }

  /// The session with this token hash and its account, while the session
  /// lasts and the account is enabled.
  public func live(tokenHash: String, now: Date) async throws -> (StaffSession, StaffAccount)? {
    guard
      let record = try await OperatorSessionRecord.query(on: database)
        .filter(\.$tokenHash == tokenHash).filter(\.$expiresAt > now).with(\.$operator).first(),
      record.operator.isEnabled
    else { return nil }
    return (try record.value, try record.operator.value)
  }

  /// Ends a session; false when another ended it a moment ago.
  @discardableResult
  public func end(_ id: UUID) async throws -> Bool {
    !(try await database.sql.raw(
      "DELETE FROM operator_sessions WHERE id = \(bind: id) RETURNING id"
    ).all()).isEmpty
  }

  /// Ends the sessions the identity provider made that it now logs out
  /// (back-channel logout): those of its session `providerSessionID`
  /// and/or of the account linked to `oidcSubject`. How many ended.
  public func endFromProvider(providerSessionID: String?, oidcSubject: String?) async throws
    -> Int
  {
    var condition: SQLQueryString = "via_identity_provider = \(bind: true)"
    if let providerSessionID {
      condition = condition + " AND oidc_sid = \(bind: providerSessionID)"
    }
    if let oidcSubject {
      condition =
        condition
        + " AND operator_id IN (SELECT id FROM operators WHERE oidc_subject = \(bind: oidcSubject))"
    }
    return try await database.sql.raw(
      "DELETE FROM operator_sessions WHERE \(condition) RETURNING id"
    ).all().count
  }

  /// Ends every session of an account.
  public func endAll(of operatorID: UUID) async throws {
    try await OperatorSessionRecord.query(on: database).filter(\.$operator.$id == operatorID)
      .delete()
  }

  /// Ends the session with this token hash (none: nothing to do).
  public func end(tokenHash: String) async throws {
    try await OperatorSessionRecord.query(on: database).filter(\.$tokenHash == tokenHash).delete()
  }
}

extension OperatorSessionRecord {
  var value: StaffSession {
    get throws {
      StaffSession(
        id: try requireID(), operatorID: $operator.id, csrfHash: csrfHash, stage: stage,
        createdAt: createdAt, expiresAt: expiresAt, viaIdentityProvider: viaIdentityProvider,
        providerSessionID: providerSessionID)
    }
  }
}

extension OperatorRecord {
  /// The account as the portal decides on it (no secrets).
  public var value: StaffAccount {
    get throws {
      StaffAccount(
        id: try requireID(), email: email, name: name, role: role, isEnabled: isEnabled,
        isEnrolled: isEnrolled, failedAttempts: failedAttempts, lockedUntil: lockedUntil,
        createdAt: createdAt, oidcSubject: oidcSubject)
    }
  }
}
