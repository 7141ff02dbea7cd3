public import FluentKit
import Foundation
public import MailsealModel

/// A requester's request for a certificate, from the CSR to issuance.
public final class CertificateRequestRecord: Model, @unchecked Sendable {
  public static let schema = "certificate_requests"

  /// The request's state (DESIGN.md, "States").
  public typealias State = CertificateRequest.State

  /// The mailbox types of the request form.
  public typealias MailboxType = CertificateRequest.MailboxType

  @ID(key: .id) public var id: UUID?
  /// What the requester quotes at the desk: `R-XXXX-XXXX`.
  @Field(key: "number") public var number: String
  @Field(key: "mailbox") public var mailbox: String
  @Field(key: "mailbox_type") public var mailboxType: MailboxType
  @OptionalField(key: "given_name") public var givenName: String?
  @OptionalField(key: "surname") public var surname: String?
  @OptionalField(key: "pseudonym") public var pseudonym: String?
  @Field(key: "key_type") public var keyType: String
  @Field(key: "key_fingerprint") public var keyFingerprint: String
  @Field(key: "csr_der") public var csrDER: Data
  @Field(key: "state") public var state: State
  @Field(key: "language") public var language: String
  /// When control of the mailbox was proven (S/MIME BR: at most 30 days
  /// before issuance).
  @Field(key: "mailbox_validated_at") public var mailboxValidatedAt: Date
  /// How the mailbox was validated: `login-link` or `identity-provider`.
  @Field(key: "mailbox_validation_method") public var mailboxValidationMethod: String
  @Field(key: "created_at") public var createdAt: Date
  @Field(key: "updated_at") public var updatedAt: Date
  /// Who recorded the identity evidence, and when.
  @OptionalField(key: "verified_by") public var verifiedBy: UUID?
  @OptionalField(key: "verified_at") public var verifiedAt: Date?
  /// Who approved, and when.
  @OptionalField(key: "approved_by") public var approvedBy: UUID?
  @OptionalField(key: "approved_at") public var approvedAt: Date?
  /// Who rejected, and why (the requester is told).
  @OptionalField(key: "decided_by") public var decidedBy: UUID?
  @OptionalField(key: "rejection_reason") public var rejectionReason: String?
  /// The certificate issued for the request.
  @OptionalField(key: "certificate_id") public var certificateID: UUID?
  /// Key escrow: the encryption key's request (the one above is then the
  /// signing key's), its fingerprint, the envelope the browser made for
  /// the recovery certificates, when the requester consented, and the
  /// encryption certificate once issued.
  @OptionalField(key: "encryption_csr_der") public var encryptionCSRDER: Data?
  @OptionalField(key: "encryption_key_fingerprint") public var encryptionKeyFingerprint: String?
  @OptionalField(key: "escrow_envelope") public var escrowEnvelope: Data?
  @OptionalField(key: "escrow_consented_at") public var escrowConsentedAt: Date?
  /// The pinned recovery certificates the envelope is sealed to (SHA-256
  /// fingerprints, hex, comma-separated); nil before pins.
  @OptionalField(key: "escrow_sealed_to") public var escrowSealedTo: String?
  @OptionalField(key: "encryption_certificate_id") public var encryptionCertificateID: UUID?
  /// For a renewal: the certificate it renews.
  @OptionalField(key: "renewal_of") public var renewalOf: UUID?
  /// For a renewal that reuses identity evidence: the request whose
  /// evidence it is (S/MIME BR §4.2.1: at most 825 days old).
  @OptionalField(key: "evidence_request_id") public var evidenceRequestID: UUID?
  /// While an issuance worker holds the request.
  @OptionalField(key: "issuing_lease_until") public var issuingLeaseUntil: Date?
  /// Approved, but waiting for a fresh mailbox validation since then (the
  /// requester was told).
  @OptionalField(key: "issuance_held_at") public var issuanceHeldAt: Date?
  /// Held for an admin by the upstream CA's path, and why.
  @OptionalField(key: "upstream_held_at") public var upstreamHeldAt: Date?
  @OptionalField(key: "upstream_held_reason") public var upstreamHeldReason: String?
  /// The pickup link: its SHA-256 and when it stops working.
  @OptionalField(key: "pickup_token_hash") public var pickupTokenHash: String?
  @OptionalField(key: "pickup_expires_at") public var pickupExpiresAt: Date?
  @OptionalField(key: "publish_consent") public var publishConsent: Bool?
  @OptionalField(key: "publish_consent_at") public var publishConsentAt: Date?

  public init() {}

  /// What the desk's search finds this request by (``SearchTerms``): its
  /// names — the holder's or responsible person's, and a role mailbox's —
  /// and its address.
  public var searchTerms: Set<String> {
    SearchTerms.terms(
      mailbox: mailbox,
      names: [[givenName, surname].compactMap { $0 }.joined(separator: " "), pseudonym])
  }

  /// A name as migration M0011 stored it: without case, accents or width.
  /// (The search now uses ``SearchTerms``.)
  static func searchKey(_ text: String) -> String {
    text.folding(
      options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
  }
}
