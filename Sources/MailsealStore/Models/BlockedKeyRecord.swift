public import FluentKit
import Foundation

/// A public key that must never be certified again (revoked for key
/// compromise, or reported compromised).
public final class BlockedKeyRecord: Model, @unchecked Sendable {
  public static let schema = "blocked_keys"

  @ID(key: .id) public var id: UUID?
  /// SHA-256 of the SubjectPublicKeyInfo, lowercase hex, unique.
  @Field(key: "key_fingerprint") public var keyFingerprint: String
  @Field(key: "reason") public var reason: String
  @Field(key: "created_at") public var createdAt: Date

  public init() {}

  public init(keyFingerprint: String, reason: String, createdAt: Date) {
    self.keyFingerprint = keyFingerprint
    self.reason = reason
    self.createdAt = createdAt
  }
}
