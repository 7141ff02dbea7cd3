import FluentKit
import Foundation
import MailsealCA
import MailsealStore

/// The escrow half of a request, checked: the encryption key's request and
/// the envelope the browser sealed it in.
struct EscrowPart: Sendable {
  let request: CheckedRequest
  let envelope: KeyEnvelope
}

extension RegistrationAuthority {
  /// The largest envelope field taken (base64 of ``KeyEnvelope/maximumSize``).
  static let maximumEnvelopeText = (KeyEnvelope.maximumSize + 2) / 3 * 4

  /// Checks the escrow fields of a request against the policy: with escrow
  /// off none may be sent; required, all; optional, all or none. The
  /// encryption key must be of the chosen type, not the signing key, and
  /// sealed for exactly the installed recovery certificates. What is in
  /// the envelope the server cannot see; `mailseal recovery check` can.
  func validateEscrow(
    _ form: RequestForm, keyType offered: OfferedKeyType, signing: CheckedRequest
  ) async throws -> EscrowPart? {
    let sent =
      form.encryptionCsr != nil || form.escrowEnvelope != nil || form.escrowConsent == true
    switch configuration.escrow {
    case .off:
      guard !sent else {
        throw MailsealError(.invalidForm, fields: ["escrow": Message("field.escrow.not-offered")])
      }
      return nil
    case .optional where !sent:
      return nil
    case .optional, .required:
      break
    }
    guard let csr = form.encryptionCsr, let envelopeText = form.escrowEnvelope else {
      throw MailsealError(.invalidForm, fields: ["escrow": Message("field.escrow.required")])
    }
    guard form.escrowConsent == true else {
      throw MailsealError(.invalidForm, fields: ["escrow": Message("field.escrow.consent")])
    }
    let request = try CertificateRequestCheck.check(pem: csr)
    guard offered.matches(request.keyType) else {
      throw MailsealError(.keyTypeMismatch, ["keyType": offered.rawValue])
    }
    guard request.keyFingerprint != signing.keyFingerprint else {
      throw MailsealError(.invalidForm, fields: ["escrow": Message("field.escrow.same-key")])
    }
    guard envelopeText.utf8.count <= Self.maximumEnvelopeText else {
      throw CAError(
        .envelopeTooLarge, "The key envelope is larger than \(KeyEnvelope.maximumSize) bytes.")
    }
    guard let der = Data(base64Encoded: envelopeText) else {
      throw CAError(.envelopeMalformed, "The key envelope is not base64.")
    }
    let envelope = try KeyEnvelope(derEncoded: Array(der))
    let installed = try await RecoveryCertificates(database: database).installed()
    try envelope.checkRecipients(installed.map(\.certificate))
    return EscrowPart(request: request, envelope: envelope)
  }
}
