public import FluentKit
import Foundation
public import MailsealModel

/// A CA certificate of this installation (a root or an issuing CA), or the
/// delegated OCSP responder certificate of an issuing CA.
public final class IssuerRecord: Model, @unchecked Sendable {
  public static let schema = "issuers"

  /// What the CA is in the hierarchy.
  public typealias Role = CACertificate.Role

  @ID(key: .id) public var id: UUID?
  @Field(key: "role") public var role: Role
  /// The URL path segment of the CA (see `PublicEndpoints.issuerSlug`).
  @Field(key: "slug") public var slug: String
  @Field(key: "subject") public var subject: String
  @Field(key: "certificate_der") public var certificateDER: Data
  @Field(key: "sha256_fingerprint") public var sha256Fingerprint: String
  /// Where the key is held; nil when this installation holds no key for
  /// it (an imported root).
  @OptionalField(key: "key_reference") public var keyReference: String?
  @Field(key: "key_type") public var keyType: String
  @OptionalParent(key: "parent_id") public var parent: IssuerRecord?
  @Field(key: "not_before") public var notBefore: Date
  @Field(key: "not_after") public var notAfter: Date
  /// Made by the embedded test ceremony; its names say "not trusted".
  @Field(key: "is_test") public var isTest: Bool
  /// The issuing CA that signs new certificates (one at a time).
  @Field(key: "is_active") public var isActive: Bool
  @Timestamp(key: "created_at", on: .create) public var createdAt: Date?

  public init() {}
}
