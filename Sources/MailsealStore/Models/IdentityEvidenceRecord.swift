public import FluentKit
import Foundation
public import MailsealModel

/// The identity check of a request (S/MIME BR §3.2.4): how, with which
/// document, the names as verified, who checked and when. Kept until two
/// years after the certificate expires, then purged.
public final class IdentityEvidenceRecord: Model, @unchecked Sendable {
  public static let schema = "identity_evidence"

  /// How the photo ID was seen.
  public typealias Method = IdentityEvidence.Method

  /// The kind of photo ID.
  public typealias DocumentType = IdentityEvidence.DocumentType

  @ID(key: .id) public var id: UUID?
  @Field(key: "request_id") public var requestID: UUID
  @Field(key: "method") public var method: Method
  @Field(key: "document_type") public var documentType: DocumentType
  @Field(key: "issuing_authority") public var issuingAuthority: String
  @Field(key: "document_number") public var documentNumber: String
  @Field(key: "document_expiry") public var documentExpiry: Date
  /// The names as on the document: given name(s) and surname of the person.
  @Field(key: "verified_given_name") public var verifiedGivenName: String
  @Field(key: "verified_surname") public var verifiedSurname: String
  @Field(key: "checked_by") public var checkedBy: UUID
  @Field(key: "checked_at") public var checkedAt: Date
  /// When it may be purged: two years after the certificate's notAfter
  /// (set at issuance; until then two years after the check).
  @Field(key: "retain_until") public var retainUntil: Date

  public init() {}
}
