public import Foundation

/// A requester's request for a certificate, from the CSR to issuance, as
/// the store returns it.
public struct CertificateRequest: Sendable, Hashable {
  /// The request's state (DESIGN.md, "States").
  public enum State: String, Codable, Sendable, CaseIterable {
    case submitted, verified, approved, issued, rejected, withdrawn, expired
  }

  /// The mailbox types of the request form.
  public enum MailboxType: String, Codable, Sendable {
    case personal
    case role
  }

  public var id: UUID
  /// What the requester quotes at the desk: `R-XXXX-XXXX`.
  public var number: String
  public var mailbox: String
  public var mailboxType: MailboxType
  public var givenName: String?
  public var surname: String?
  public var pseudonym: String?
  public var keyType: String
  public var keyFingerprint: String
  public var csrDER: Data
  public var state: State
  public var language: String
  /// When control of the mailbox was proven, and how (``MailboxValidation``).
  public var mailboxValidatedAt: Date
  public var mailboxValidationMethod: String
  public var createdAt: Date
  public var updatedAt: Date
  public var verifiedBy: UUID?
  public var verifiedAt: Date?
  public var approvedBy: UUID?
  public var approvedAt: Date?
  public var decidedBy: UUID?
  public var rejectionReason: String?
  public var certificateID: UUID?
  /// Key escrow: the encryption key's request, its fingerprint, the
  /// envelope, the consent, the pins it is sealed to, the encryption
  /// certificate.
  public var encryptionCSRDER: Data?
  public var encryptionKeyFingerprint: String?
  public var escrowEnvelope: Data?
  public var escrowConsentedAt: Date?
  public var escrowSealedTo: String?
  public var encryptionCertificateID: UUID?
  /// A renewal: the certificate it renews, and the request whose identity
  /// evidence it reuses.
  public var renewalOf: UUID?
  public var evidenceRequestID: UUID?
  public var issuingLeaseUntil: Date?
  /// Approved, but waiting for a fresh mailbox validation since then.
  public var issuanceHeldAt: Date?
  /// Approved, but held for an admin by the upstream certificate authority's
  /// path (what came back failed the RA's check, an order no look-up can
  /// settle): since when, and why.
  public var upstreamHeldAt: Date?
  public var upstreamHeldReason: String?
  public var pickupTokenHash: String?
  public var pickupExpiresAt: Date?
  /// `MAILSEAL_PUBLISH=consent`: whether the holder agreed that the
  /// certificate is published (nil: not asked), and when they last said so.
  public var publishConsent: Bool?
  public var publishConsentAt: Date?

  public init(
    id: UUID, number: String, mailbox: String, mailboxType: MailboxType, keyType: String,
    keyFingerprint: String, csrDER: Data, state: State, language: String,
    mailboxValidatedAt: Date, mailboxValidationMethod: String, createdAt: Date, updatedAt: Date
  ) {
    self.id = id
    self.number = number
    self.mailbox = mailbox
    self.mailboxType = mailboxType
    self.keyType = keyType
    self.keyFingerprint = keyFingerprint
    self.csrDER = csrDER
    self.state = state
    self.language = language
    self.mailboxValidatedAt = mailboxValidatedAt
    self.mailboxValidationMethod = mailboxValidationMethod
    self.createdAt = createdAt
    self.updatedAt = updatedAt
  }

  /// How the mailbox was validated, as a value (``MailboxSession/validation``).
  public var mailboxValidation: MailboxValidation {
    MailboxValidation(rawValue: mailboxValidationMethod) ?? .loginLink
  }
}

/// The photo-ID check the desk recorded for a request.
public struct IdentityEvidence: Sendable, Hashable {
  public enum Method: String, Codable, Sendable, CaseIterable {
    case inPerson = "in-person"
    case videoCall = "video-call"
  }

  public enum DocumentType: String, Codable, Sendable, CaseIterable {
    case identityCard = "identity-card"
    case passport
    case residencePermit = "residence-permit"
  }

  public var id: UUID
  public var requestID: UUID
  public var method: Method
  public var documentType: DocumentType
  public var issuingAuthority: String
  public var documentNumber: String
  public var documentExpiry: Date
  public var verifiedGivenName: String
  public var verifiedSurname: String
  public var checkedBy: UUID
  public var checkedAt: Date
  public var retainUntil: Date

  public init(
    id: UUID, requestID: UUID, method: Method, documentType: DocumentType,
    issuingAuthority: String, documentNumber: String, documentExpiry: Date,
    verifiedGivenName: String, verifiedSurname: String, checkedBy: UUID, checkedAt: Date,
    retainUntil: Date
  ) {
    self.id = id
    self.requestID = requestID
    self.method = method
    self.documentType = documentType
    self.issuingAuthority = issuingAuthority
    self.documentNumber = documentNumber
    self.documentExpiry = documentExpiry
    self.verifiedGivenName = verifiedGivenName
    self.verifiedSurname = verifiedSurname
    self.checkedBy = checkedBy
    self.checkedAt = checkedAt
    self.retainUntil = retainUntil
  }
}
