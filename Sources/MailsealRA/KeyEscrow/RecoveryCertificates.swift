public import FluentKit
import Foundation
public import MailsealCA
import MailsealStore
import SQLKit

/// The recovery certificates installed in this portal (key escrow). Each
/// escrow envelope a browser makes must be made for exactly these.
public struct RecoveryCertificates: Sendable {
  let database: any Database

  /// The most that may be installed: every envelope carries one encrypted
  /// key per certificate (``KeyEnvelope/maximumRecipients``).
  public static let maximum = KeyEnvelope.maximumRecipients

  public init(database: any Database) {
    self.database = database
  }

  /// What ``install(_:now:)`` did.
  public enum Installation: Sendable {
    case installed(RecoveryCertificate)
    case alreadyInstalled(RecoveryCertificate)
  }

  /// Installs a recovery certificate (PEM or DER), after checking it
  /// (``RecoveryCertificate``). Installing one twice changes nothing.
  ///
  /// - Throws: ``CAError`` when the certificate is not usable or
  ///   ``maximum`` are installed already.
  public func install(_ bytes: [UInt8], now: Date = Date()) async throws -> Installation {
    let certificate = try RecoveryCertificate(bytes, now: now)
    let fingerprint = certificate.fingerprint.hexString
    let subject = certificate.certificate.subject.description
    let inserted = try await database.transaction { database -> Bool in
      let sql = try database.sql
      try await Self.serializeChanges(on: sql)
      // One statement: the limit, the duplicate and the insert together
      // (SQLite runs a writing statement under its write lock).
      let row = try await sql.raw(
        """
        INSERT INTO recovery_certificates (id, sha256_fingerprint, der, subject, not_after, installed_at)
        SELECT \(bind: UUID()), \(bind: fingerprint), \(bind: Data(certificate.der)), \(bind: subject),
               \(bind: certificate.certificate.notValidAfter), \(bind: now)
        WHERE (SELECT COUNT(*) FROM recovery_certificates) < \(literal: Self.maximum)
        ON CONFLICT (sha256_fingerprint) DO NOTHING
        RETURNING id
        """
      ).first()
      guard row != nil else { return false }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.commandLine, action: .recoveryCertificateInstalled,
          subject: fingerprint,
          details: [
            "subject": subject,
            "notAfter": UTCDateFields(certificate.certificate.notValidAfter).internetDateTime,
          ]),
        on: database, now: now)
      return true
    }
    if inserted { return .installed(certificate) }
    if try await RecoveryCertificateRecord.query(on: database)
      .filter(\.$sha256Fingerprint == fingerprint).first() != nil
    {
      return .alreadyInstalled(certificate)
    }
    throw CAError(
      .recoveryMaterialInvalid,
      "\(Self.maximum) recovery certificates are installed already; no envelope is made for more.")
  }

  /// Removes an installed recovery certificate (rotation: install the new
  /// one first): envelopes made from now on are not made for it; those
  /// made before still open with its key. With escrow on, the last one
  /// stays (the portal would not start without one).
  ///
  /// - Parameter fingerprint: SHA-256 of the certificate, hex, with or
  ///   without colons.
  /// - Returns: whether one was removed.
  public func remove(fingerprint: String, escrowOn: Bool, now: Date = Date()) async throws -> Bool {
    let wanted = fingerprint.replacingOccurrences(of: ":", with: "").lowercased()
    return try await database.transaction { database in
      let sql = try database.sql
      try await Self.serializeChanges(on: sql)
      // One statement: the last one is kept while escrow is on.
      let removed = try await sql.raw(
        """
        DELETE FROM recovery_certificates WHERE sha256_fingerprint = \(bind: wanted)
          AND (\(bind: !escrowOn) OR (SELECT COUNT(*) FROM recovery_certificates) > 1)
        RETURNING subject
        """
      ).first()
      guard let removed else {
        let exists =
          try await RecoveryCertificateRecord.query(on: database)
          .filter(\.$sha256Fingerprint == wanted).first() != nil
        if exists {
          throw CAError(
            .recoveryMaterialInvalid,
            "It is the only recovery certificate and escrow is on: install its successor first.")
        }
        return false
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.commandLine, action: .recoveryCertificateRemoved, subject: wanted,
          details: ["subject": try removed.decode(column: "subject", as: String.self)]),
        on: database, now: now)
      return true
    }
  }

  /// In a transaction that installs or removes: on PostgreSQL, takes a
  /// lock that such transactions take one after the other, so that two at
  /// once never both count room for one more, or one left to remove
  /// (SQLite has one writer at a time anyway).
  static func serializeChanges(on sql: any SQLDatabase) async throws {
    guard sql.dialect.name == "postgresql" else { return }
    try await sql.raw("LOCK TABLE recovery_certificates IN SHARE ROW EXCLUSIVE MODE").run()
  }

  /// The installed recovery certificates, oldest first.
  public func installed() async throws -> [(certificate: RecoveryCertificate, installedAt: Date)] {
    try await RecoveryCertificateRecord.query(on: database).sort(\.$installedAt).all().map {
      // An expired one stays installed: its key still opens old envelopes.
      (try RecoveryCertificate(Array($0.der), now: .distantPast), $0.installedAt)
    }
  }
}
