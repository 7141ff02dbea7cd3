public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// Recoveries of escrowed keys and their approvals. Every decision is one
/// guarded statement that names the states it may leave and the mailboxes
/// the acting officer has or had.
public struct KeyRecoveries: Sendable {
  let database: any Database

  /// Opens a recovery. An open recovery of the same certificate that is
  /// past its time gives up its place first; while another is open (or,
  /// once in 10¹², the number was drawn twice) this throws
  /// ``DuplicateEntry``.
  public func open(_ recovery: KeyRecovery, now: Date) async throws {
    try await database.sql.raw(
      """
      UPDATE key_recoveries SET state = \(KeyRecovery.State.expired)
      WHERE certificate_id = \(bind: recovery.certificateID) AND state IN (\(KeyRecovery.State.open))
        AND expires_at <= \(bind: now)
      """
    ).run()
    let record = KeyRecoveryRecord()
    record.id = recovery.id
    record.number = recovery.number
    record.certificateID = recovery.certificateID
    record.requestID = recovery.requestID
    record.mailbox = recovery.mailbox
    record.state = recovery.state
    record.reason = recovery.reason
    record.askedBy = recovery.askedBy
    record.askedByOperatorID = recovery.askedByOperatorID
    record.language = recovery.language
    record.approvals = recovery.approvals
    record.createdAt = recovery.createdAt
    record.expiresAt = recovery.expiresAt
    record.downloads = recovery.downloads
    try await DuplicateEntry.mapping { try await record.create(on: database) }
  }

  /// The open recovery of a certificate, if any.
  public func open(certificate id: UUID) async throws -> KeyRecovery? {
    try await KeyRecoveryRecord.query(on: database).filter(\.$certificateID == id)
      .filter(\.$state ~~ KeyRecovery.State.open).first()?.value
  }

  public func find(number: String) async throws -> KeyRecovery? {
    try await KeyRecoveryRecord.query(on: database).filter(\.$number == number).first()?.value
  }

  public func find(_ id: UUID) async throws -> KeyRecovery? {
    try await KeyRecoveryRecord.find(id, on: database)?.value
  }

  /// Writes `officer`'s approval, in one statement: only while the
  /// recovery waits and is not past its time, not for a mailbox the
  /// officer has or had, not by the officer who asked — and once per
  /// officer (unique index). False when refused.
  public func addApproval(of id: UUID, by officer: StaffMember, now: Date) async throws -> Bool {
    !(try await database.sql.raw(
      """
      INSERT INTO key_recovery_approvals (id, recovery_id, operator_id, operator_email, approved_at)
      SELECT \(bind: UUID()), r.id, \(bind: officer.id), \(bind: officer.email), \(bind: now)
      FROM key_recoveries r
      WHERE r.id = \(bind: id) AND r.state = \(KeyRecovery.State.requested)
        AND r.expires_at > \(bind: now) AND NOT \(StaffAddresses.held(by: officer, column: "r.mailbox"))
        AND (r.asked_by_operator_id IS NULL OR r.asked_by_operator_id <> \(bind: officer.id))
      ON CONFLICT DO NOTHING RETURNING id
      """
    ).all()).isEmpty
  }

  /// Counts an approval written by ``addApproval(of:by:now:)``; the one
  /// that reaches `needed` approves the recovery and opens the download
  /// window. The approvals now, or nil when the recovery no longer waits.
  public func countApproval(
    of id: UUID, needed: Int, downloadWindow: TimeInterval, now: Date
  ) async throws -> Int? {
    let row = try await database.sql.raw(
      """
      UPDATE key_recoveries SET approvals = approvals + 1,
        state = CASE WHEN approvals + 1 >= \(literal: needed)
          THEN \(KeyRecovery.State.approved) ELSE state END,
        approved_at = CASE WHEN approvals + 1 >= \(literal: needed)
          THEN \(bind: now) ELSE approved_at END,
        expires_at = CASE WHEN approvals + 1 >= \(literal: needed)
          THEN \(bind: now.addingTimeInterval(downloadWindow)) ELSE expires_at END
      WHERE id = \(bind: id) AND state = \(KeyRecovery.State.requested)
      RETURNING approvals
      """
    ).first()
    return try row.map { try $0.decode(column: "approvals", as: Int.self) }
  }

  /// Whether `officerID` approved the recovery already.
  public func hasApproval(of id: UUID, by officerID: UUID) async throws -> Bool {
    try await KeyRecoveryApprovalRecord.query(on: database).filter(\.$recoveryID == id)
      .filter(\.$operatorID == officerID).first() != nil
  }

  /// The approvals of a recovery, oldest first.
  public func approvals(of id: UUID) async throws -> [KeyRecoveryApproval] {
    try await KeyRecoveryApprovalRecord.query(on: database).filter(\.$recoveryID == id)
      .sort(\.$approvedAt).all().map { try $0.value }
  }

  /// Declined by `officer` for `reason` while open (the same rule on
  /// mailboxes).
  public func decline(_ id: UUID, reason: String, by officer: StaffMember, now: Date)
    async throws -> Bool
  {
    !(try await database.sql.raw(
      """
      UPDATE key_recoveries SET state = \(KeyRecovery.State.declined),
        declined_by = \(bind: officer.email), decline_reason = \(bind: reason), declined_at = \(bind: now)
      WHERE id = \(bind: id) AND state IN (\(KeyRecovery.State.open))
        AND NOT \(StaffAddresses.held(by: officer, column: "key_recoveries.mailbox"))
      RETURNING id
      """
    ).all()).isEmpty
  }

  /// Counts a download by `officer`, in one statement: only approved with
  /// `needed` approvals, within the download window, not of a mailbox the
  /// officer has or had. The request holding the envelope, or nil.
  public func claimDownload(of id: UUID, by officer: StaffMember, needed: Int, now: Date)
    async throws -> UUID?
  {
    let row = try await database.sql.raw(
      """
      UPDATE key_recoveries SET downloads = downloads + 1, last_downloaded_at = \(bind: now),
        last_downloaded_by = \(bind: officer.email)
      WHERE id = \(bind: id) AND state = \(KeyRecovery.State.approved)
        AND approvals >= \(literal: needed) AND expires_at > \(bind: now)
        AND NOT \(StaffAddresses.held(by: officer, column: "key_recoveries.mailbox"))
      RETURNING request_id
      """
    ).first()
    return try row.map { try $0.decode(column: "request_id", as: UUID.self) }
  }

  /// Recoveries for the back office, each with its certificate's serial:
  /// those waiting or approved first (oldest first), then the most recent
  /// others.
  public func list(limit: Int) async throws -> [(recovery: KeyRecovery, serial: String)] {
    let open = try await KeyRecoveryRecord.query(on: database)
      .filter(\.$state ~~ KeyRecovery.State.open).sort(\.$createdAt).limit(limit).all()
    let closed = try await KeyRecoveryRecord.query(on: database)
      .filter(\.$state !~ KeyRecovery.State.open).sort(\.$createdAt, .descending)
      .limit(max(0, limit - open.count)).all()
    let records = open + closed
    let serials = Dictionary(
      uniqueKeysWithValues: try await CertificateRecord.query(on: database)
        .filter(\.$id ~~ Set(records.map(\.certificateID))).all()
        .map { (try $0.requireID(), $0.serial) })
    return try records.map { (try $0.value, serials[$0.certificateID] ?? "?") }
  }

  /// The recoveries of one certificate, newest first.
  public func of(certificate id: UUID, limit: Int = 20) async throws -> [KeyRecovery] {
    try await KeyRecoveryRecord.query(on: database).filter(\.$certificateID == id)
      .sort(\.$createdAt, .descending).limit(limit).all().map { try $0.value }
  }
}

extension KeyRecoveryRecord {
  var value: KeyRecovery {
    get throws {
      var value = KeyRecovery(
        id: try requireID(), number: number, certificateID: certificateID, requestID: requestID,
        mailbox: mailbox, state: state, reason: reason, askedBy: askedBy,
        askedByOperatorID: askedByOperatorID, language: language, approvals: approvals,
        createdAt: createdAt, expiresAt: expiresAt, downloads: downloads)
      value.approvedAt = approvedAt
      value.declinedBy = declinedBy
      value.declineReason = declineReason
      value.declinedAt = declinedAt
      value.lastDownloadedAt = lastDownloadedAt
      value.lastDownloadedBy = lastDownloadedBy
      return value
    }
  }
}

extension KeyRecoveryApprovalRecord {
  var value: KeyRecoveryApproval {
    get throws {
      KeyRecoveryApproval(
        id: try requireID(), recoveryID: recoveryID, operatorID: operatorID,
        operatorEmail: operatorEmail, approvedAt: approvedAt)
    }
  }
}
