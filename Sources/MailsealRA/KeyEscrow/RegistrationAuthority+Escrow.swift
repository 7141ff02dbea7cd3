import FluentKit
public import Foundation
public import MailsealCA
import MailsealModel
import MailsealStore

/// The escrow half of a request, checked: the encryption key's request and
/// the envelope the browser sealed it in.
struct EscrowPart: Sendable {
  let request: CheckedRequest
  let envelope: KeyEnvelope
  /// The pinned recovery certificates it is sealed to.
  let sealedTo: [RecoveryCertificate]
}

extension Enrollment {
  /// The largest envelope field taken (base64 of ``KeyEnvelope/maximumSize``).
  static let maximumEnvelopeText = (KeyEnvelope.maximumSize + 2) / 3 * 4

  /// Checks the escrow fields of a request against the policy: with escrow
  /// off none may be sent; required, all; optional, all or none. The
  /// encryption key must be of the chosen type, not the signing key, and
  /// sealed to exactly the keys of the recovery certificates in force (the
  /// pinned ones). What is in the envelope the server cannot see;
  /// `mailseal recovery check` can.
  func validateEscrow(
    _ form: RequestForm, keyType offered: OfferedKeyType, signing: CheckedRequest
  ) async throws -> EscrowPart? {
    let sent =
      form.encryptionCsr != nil || form.escrowEnvelope != nil || form.escrowConsent == true
    switch configuration.escrow {
    case .off:
      guard !sent else {
        throw MailsealError(.invalidForm, fields: ["escrow": Message("field_escrow_not_offered")])
      }
      return nil
    case .optional where !sent:
      return nil
    case .optional, .required:
      break
    }
    guard let csr = form.encryptionCsr, let envelopeText = form.escrowEnvelope else {
      throw MailsealError(.invalidForm, fields: ["escrow": Message("field_escrow_required")])
    }
    guard form.escrowConsent == true else {
      throw MailsealError(.invalidForm, fields: ["escrow": Message("field_escrow_consent")])
    }
    let request = try CertificateRequestCheck.check(pem: csr)
    guard offered.matches(request.keyType) else {
      throw MailsealError(.keyTypeMismatch, ["keyType": offered.rawValue])
    }
    guard request.keyFingerprint != signing.keyFingerprint else {
      throw MailsealError(.invalidForm, fields: ["escrow": Message("field_escrow_same_key")])
    }
    guard envelopeText.utf8.count <= Self.maximumEnvelopeText else {
      throw CAError(
        .envelopeTooLarge, "The key envelope is larger than \(KeyEnvelope.maximumSize) bytes.")
    }
    guard let der = Data(base64Encoded: envelopeText) else {
      throw CAError(.envelopeMalformed, "The key envelope is not base64.")
    }
    let envelope = try KeyEnvelope(derEncoded: Array(der))
    let inForce = try await recoveryCertificatesInForce()
    try envelope.checkRecipients(inForce)
    return EscrowPart(request: request, envelope: envelope, sealedTo: inForce)
  }

  /// The recovery certificates escrowed keys are sealed to now: the
  /// pinned ones, each installed unchanged.
  ///
  /// - Throws: ``MailsealError/Code/escrowStopped`` when they do not
  ///   match the pins (audited and logged once per change).
  public func recoveryCertificatesInForce(now: Date = Date()) async throws
    -> [RecoveryCertificate]
  {
    let check = try await escrowCheck(now: now)
    guard check.problem == nil else { throw MailsealError(.escrowStopped) }
    return check.inForce
  }

  /// Compares the installed recovery certificates with the pins
  /// (``RecoveryPins``). A change from what this process found last —
  /// escrow stopping, or going on again — is written to the audit trail
  /// and the log.
  public func escrowCheck(now: Date = Date()) async throws -> RecoveryPins.Check {
    let installed = try await RecoveryCertificates(database: database).installed()
    let pins = configuration.recoveryPins
    let check = pins.check(installed.map(\.certificate))
    guard let previous = pins.report(check.problem) else { return check }
    do {
      if let problem = check.problem {
        logger.error(
          "Key escrow is stopped: \(problem). Requests that escrow a key are refused until the recovery certificates match MAILSEAL_RECOVERY_FINGERPRINTS."
        )
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.ca, action: .escrowStopped, subject: "recovery-certificates",
            details: [
              "reason": problem,
              "pinned": pins.fingerprints.map(\.hexString).joined(separator: ","),
              "installed": installed.map(\.certificate.fingerprint.hexString).joined(
                separator: ","),
            ]),
          on: database, now: now)
      } else if previous != nil {
        logger.notice(
          "Key escrow goes on: the recovery certificates match MAILSEAL_RECOVERY_FINGERPRINTS again."
        )
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.ca, action: .escrowResumed, subject: "recovery-certificates",
            details: ["pinned": pins.fingerprints.map(\.hexString).joined(separator: ",")]),
          on: database, now: now)
      }
    } catch {
      pins.retract(check.problem, restoring: previous)
      throw error
    }
    if !check.unpinned.isEmpty {
      logger.warning(
        "Recovery certificates installed but not pinned (not used until MAILSEAL_RECOVERY_FINGERPRINTS names them): \(check.unpinned.map(\.fingerprintText).joined(separator: ", "))"
      )
    }
    return check
  }
}
