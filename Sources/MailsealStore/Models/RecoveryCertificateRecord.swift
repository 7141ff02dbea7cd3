public import FluentKit
import Foundation

/// An installed recovery certificate (key escrow): browsers encrypt every
/// escrowed key to each of them.
public final class RecoveryCertificateRecord: Model, @unchecked Sendable {
  public static let schema = "recovery_certificates"

  @ID(key: .id) public var id: UUID?
  /// SHA-256 of the DER, lowercase hex, unique.
  @Field(key: "sha256_fingerprint") public var sha256Fingerprint: String
  @Field(key: "der") public var der: Data
  /// The subject, as OpenSSL prints it (RFC 4514).
  @Field(key: "subject") public var subject: String
  @Field(key: "not_after") public var notAfter: Date
  @Field(key: "installed_at") public var installedAt: Date

  public init() {}

  public init(
    sha256Fingerprint: String, der: Data, subject: String, notAfter: Date, installedAt: Date
  ) {
    self.sha256Fingerprint = sha256Fingerprint
    self.der = der
    self.subject = subject
    self.notAfter = notAfter
    self.installedAt = installedAt
  }
}
