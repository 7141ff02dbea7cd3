public import FluentKit
import Foundation

/// A requester's request for a certificate, from the CSR to issuance.
public final class CertificateRequestRecord: Model, @unchecked Sendable {
  public static let schema = "certificate_requests"

  /// The request's state (DESIGN.md, "States").
  public enum State: String, Codable, Sendable, CaseIterable {
    case submitted, verified, approved, issued, rejected, withdrawn, expired
  }

  /// The mailbox types of the request form.
  public enum MailboxType: String, Codable, Sendable {
    case personal
    case role
  }

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
  @Field(key: "created_at") public var createdAt: Date
  @Field(key: "updated_at") public var updatedAt: Date

  public init() {}
}
