public import MailsealModel

// Records as values: what the stores return (MailsealModel). Public for
// the statements that have not moved into a store yet; once they have, a
// record never leaves this target.

extension CertificateRequestRecord {
  public var value: CertificateRequest {
    get throws {
      var value = CertificateRequest(
        id: try requireID(), number: number, mailbox: mailbox, mailboxType: mailboxType,
        keyType: keyType, keyFingerprint: keyFingerprint, csrDER: csrDER, state: state,
        language: language, mailboxValidatedAt: mailboxValidatedAt,
        mailboxValidationMethod: mailboxValidationMethod, createdAt: createdAt,
        updatedAt: updatedAt)
      value.givenName = givenName
      value.surname = surname
      value.pseudonym = pseudonym
      value.verifiedBy = verifiedBy
      value.verifiedAt = verifiedAt
      value.approvedBy = approvedBy
      value.approvedAt = approvedAt
      value.decidedBy = decidedBy
      value.rejectionReason = rejectionReason
      value.certificateID = certificateID
      value.encryptionCSRDER = encryptionCSRDER
      value.encryptionKeyFingerprint = encryptionKeyFingerprint
      value.escrowEnvelope = escrowEnvelope
      value.escrowConsentedAt = escrowConsentedAt
      value.escrowSealedTo = escrowSealedTo
      value.encryptionCertificateID = encryptionCertificateID
      value.renewalOf = renewalOf
      value.evidenceRequestID = evidenceRequestID
      value.issuingLeaseUntil = issuingLeaseUntil
      value.issuanceHeldAt = issuanceHeldAt
      value.publishConsent = publishConsent
      value.publishConsentAt = publishConsentAt
      value.upstreamHeldAt = upstreamHeldAt
      value.upstreamHeldReason = upstreamHeldReason
      value.pickupTokenHash = pickupTokenHash
      value.pickupExpiresAt = pickupExpiresAt
      return value
    }
  }
}

extension CertificateRecord {
  public var value: IssuedCertificate {
    get throws {
      var value = IssuedCertificate(
        id: try requireID(), issuerID: $issuer.id, serial: serial, der: der, mailbox: mailbox,
        profile: profile, commonName: commonName, keyFingerprint: keyFingerprint,
        keyType: keyType, keyPurpose: keyPurpose, notBefore: notBefore, notAfter: notAfter,
        status: status, createdAt: createdAt)
      value.givenName = givenName
      value.surname = surname
      value.pseudonym = pseudonym
      value.revokedAt = revokedAt
      value.revocationReason = revocationReason
      value.revokedBy = revokedBy
      value.revocationRequestedAt = revocationRequestedAt
      value.requestID = requestID
      return value
    }
  }
}

extension IdentityEvidenceRecord {
  public var value: IdentityEvidence {
    get throws {
      IdentityEvidence(
        id: try requireID(), requestID: requestID, method: method, documentType: documentType,
        issuingAuthority: issuingAuthority, documentNumber: documentNumber,
        documentExpiry: documentExpiry, verifiedGivenName: verifiedGivenName,
        verifiedSurname: verifiedSurname, checkedBy: checkedBy, checkedAt: checkedAt,
        retainUntil: retainUntil)
    }
  }
}
