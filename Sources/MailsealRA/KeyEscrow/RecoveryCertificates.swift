public import FluentKit
import Foundation
public import MailsealCA
import MailsealModel
import MailsealStore

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
    let inserted = try await Store(database).transaction { store -> Bool in
      try await store.recoveryCertificates.serializeChanges()
      // One statement: the limit, the duplicate and the insert together
      // (SQLite runs a writing statement under its write lock).
      guard
        try await store.recoveryCertificates.install(
          der: Data(certificate.der), fingerprint: fingerprint, subject: subject,
          notAfter: certificate.certificate.notValidAfter, maximum: Self.maximum, now: now)
      else { return false }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.commandLine, action: .recoveryCertificateInstalled,
          subject: fingerprint,
          details: [
            "subject": subject,
            "notAfter": UTCDateFields(certificate.certificate.notValidAfter).internetDateTime,
          ]),
        on: store.database, now: now)
      return true
    }
    if inserted { return .installed(certificate) }
    if try await Store(database).recoveryCertificates.contains(fingerprint: fingerprint) {
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
    return try await Store(database).transaction { store in
      try await store.recoveryCertificates.serializeChanges()
      // One statement: the last one is kept while escrow is on.
      guard
        let removed = try await store.recoveryCertificates.remove(
          fingerprint: wanted, keepLast: escrowOn)
      else {
        if try await store.recoveryCertificates.contains(fingerprint: wanted) {
          throw CAError(
            .recoveryMaterialInvalid,
            "It is the only recovery certificate and escrow is on: install its successor first.")
        }
        return false
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.commandLine, action: .recoveryCertificateRemoved, subject: wanted,
          details: ["subject": removed]),
        on: store.database, now: now)
      return true
    }
  }

  /// The installed recovery certificates, oldest first.
  public func installed() async throws -> [(certificate: RecoveryCertificate, installedAt: Date)] {
    try await Store(database).recoveryCertificates.installed().map {
      // An expired one stays installed: its key still opens old envelopes.
      (try RecoveryCertificate(Array($0.der), now: .distantPast), $0.installedAt)
    }
  }
}
