public import FluentKit
import Foundation
import SQLKit

/// The recovery certificates installed (key escrow), as stored: DER and
/// SHA-256. Installs and removals take one lock in turn (PostgreSQL), so
/// that two at once never both count room for one more, or one left.
public struct RecoveryCertificateStore: Sendable {
  let database: any Database

  /// In a transaction that installs or removes: takes the lock.
  public func serializeChanges() async throws {
    let sql = try database.sql
    guard sql.dialect.name == "postgresql" else { return }
    try await sql.raw("LOCK TABLE recovery_certificates IN SHARE ROW EXCLUSIVE MODE").run()
  }

  /// Installs one, in one statement: while fewer than `maximum` are
  /// installed and this one is not. False when refused.
  public func install(
    der: Data, fingerprint: String, subject: String, notAfter: Date, maximum: Int, now: Date
  ) async throws -> Bool {
    try await database.sql.raw(
      """
      INSERT INTO recovery_certificates (id, sha256_fingerprint, der, subject, not_after, installed_at)
      SELECT \(bind: UUID()), \(bind: fingerprint), \(bind: der), \(bind: subject),
             \(bind: notAfter), \(bind: now)
      WHERE (SELECT COUNT(*) FROM recovery_certificates) < \(literal: maximum)
      ON CONFLICT (sha256_fingerprint) DO NOTHING
      RETURNING id
      """
    ).first() != nil
  }

  /// Whether the one with this fingerprint is installed.
  public func contains(fingerprint: String) async throws -> Bool {
    try await RecoveryCertificateRecord.query(on: database)
      .filter(\.$sha256Fingerprint == fingerprint).first() != nil
  }

  /// Removes the one with this fingerprint, in one statement — unless it
  /// is the last and `keepLast`. Its subject, or nil when nothing was
  /// removed.
  public func remove(fingerprint: String, keepLast: Bool) async throws -> String? {
    try await database.sql.raw(
      """
      DELETE FROM recovery_certificates WHERE sha256_fingerprint = \(bind: fingerprint)
        AND (\(bind: !keepLast) OR (SELECT COUNT(*) FROM recovery_certificates) > 1)
      RETURNING subject
      """
    ).first()?.decode(column: "subject", as: String.self)
  }

  /// The installed ones (DER), oldest first.
  public func installed() async throws -> [(der: Data, installedAt: Date)] {
    try await RecoveryCertificateRecord.query(on: database).sort(\.$installedAt).all().map {
      ($0.der, $0.installedAt)
    }
  }
}
