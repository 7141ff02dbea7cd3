public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// The certificates the CA issued, and their revocations.
public struct Certificates: Sendable {
  let database: any Database

  /// The certificate with this serial (hex, lower case, no separators).
  public func find(serial: String) async throws -> IssuedCertificate? {
    try await CertificateRecord.query(on: database).filter(\.$serial == serial).first()?.value
  }

  /// The certificate with this id.
  public func find(_ id: UUID) async throws -> IssuedCertificate? {
    try await CertificateRecord.find(id, on: database)?.value
  }

  /// The certificates of a mailbox, newest first.
  public func of(mailbox: String, limit: Int = 200) async throws -> [IssuedCertificate] {
    try await CertificateRecord.query(on: database).filter(\.$mailbox == mailbox)
      .sort(\.$notBefore, .descending).limit(limit).all().map { try $0.value }
  }

  /// Revokes an active certificate, numbered in commit order
  /// (``RevocationSequence``: this takes the revocations' lock first, so
  /// call it before anything else of the transaction touches
  /// certificates); false when it was revoked a moment ago by another.
  public func revoke(_ id: UUID, at date: Date, reason: String, by actor: String) async throws
    -> Bool
  {
    let sql = try database.sql
    try await RevocationSequence.serialize(on: sql)
    return
      !(try await sql.raw(
        """
        UPDATE certificates SET status = \(IssuedCertificate.Status.revoked), revoked_at = \(bind: date),
          revocation_reason = \(bind: reason), revoked_by = \(bind: actor),
          revocation_seq = \(RevocationSequence.nextNumber)
        WHERE id = \(bind: id) AND status = \(IssuedCertificate.Status.active) RETURNING id
        """
      ).all()).isEmpty
  }

  /// Tells every instance, when the transaction commits, that a
  /// revocation happened.
  public func announceRevocation() async throws {
    try await RevocationSequence.announce(on: try database.sql)
  }

  /// Blocks a key for good (a second time changes nothing).
  public func blockKey(_ fingerprint: String, reason: String, now: Date) async throws {
    let sql = try database.sql
    let blocked = try await sql.select().column("key_fingerprint").from("blocked_keys")
      .where("key_fingerprint", .equal, fingerprint).first()
    guard blocked == nil else { return }
    try await sql.insert(into: "blocked_keys").columns(
      "id", "key_fingerprint", "reason", "created_at"
    ).values(SQLBind(UUID()), SQLBind(fingerprint), SQLBind(reason), SQLBind(now)).run()
  }

  /// The issuer's CRL is out of date from `date` on (the publisher
  /// re-issues it).
  public func markCRLStale(issuer issuerID: UUID, since date: Date) async throws {
    try await database.sql.raw(
      "UPDATE crls SET stale_since = \(bind: date) WHERE issuer_id = \(bind: issuerID)"
    ).run()
  }
}
