public import FluentKit
import Foundation
public import MailsealModel

/// A certificate the CA signed, with what it names and its state.
public final class CertificateRecord: Model, @unchecked Sendable {
  public static let schema = "certificates"

  /// The certificate's state; expiry is read from `not_after`.
  public typealias Status = IssuedCertificate.Status

  @ID(key: .id) public var id: UUID?
  @Parent(key: "issuer_id") public var issuer: IssuerRecord
  /// Lowercase hex, unique.
  @Field(key: "serial") public var serial: String
  @Field(key: "der") public var der: Data
  @Field(key: "mailbox") public var mailbox: String
  @Field(key: "profile") public var profile: String
  @Field(key: "common_name") public var commonName: String
  @OptionalField(key: "given_name") public var givenName: String?
  @OptionalField(key: "surname") public var surname: String?
  @OptionalField(key: "pseudonym") public var pseudonym: String?
  /// SHA-256 of the SubjectPublicKeyInfo, lowercase hex.
  @Field(key: "key_fingerprint") public var keyFingerprint: String
  @Field(key: "key_type") public var keyType: String
  /// dual-use, signing or encryption (key escrow).
  @Field(key: "key_purpose") public var keyPurpose: String
  @Field(key: "not_before") public var notBefore: Date
  @Field(key: "not_after") public var notAfter: Date
  @Field(key: "status") public var status: Status
  @OptionalField(key: "revoked_at") public var revokedAt: Date?
  /// The RFC 5280 name of the reason (`keyCompromise`, …).
  @OptionalField(key: "revocation_reason") public var revocationReason: String?
  /// Who revoked: `requester:<mailbox>`, `operator:<email>` or `cli`.
  @OptionalField(key: "revoked_by") public var revokedBy: String?
  /// An upstream's certificate: when its revocation was asked of it.
  @OptionalField(key: "revocation_requested_at") public var revocationRequestedAt: Date?
  @Field(key: "created_at") public var createdAt: Date
  /// The request it was issued for (none for `mailseal ca issue`).
  @OptionalField(key: "request_id") public var requestID: UUID?

  public init() {}
}
