public import Foundation

/// A certificate the CA issued, as the store returns it.
public struct IssuedCertificate: Sendable, Hashable {
  public enum Status: String, Codable, Sendable {
    case active
    case revoked
  }

  public var id: UUID
  public var issuerID: UUID
  /// Hex, lower case, without separators.
  public var serial: String
  public var der: Data
  public var mailbox: String
  public var profile: String
  public var commonName: String
  public var givenName: String?
  public var surname: String?
  public var pseudonym: String?
  public var keyFingerprint: String
  public var keyType: String
  /// `signing`, `encryption` or `both` (RecordWords names them).
  public var keyPurpose: String
  public var notBefore: Date
  public var notAfter: Date
  public var status: Status
  public var revokedAt: Date?
  public var revocationReason: String?
  public var revokedBy: String?
  /// Issued by an upstream CA: when its revocation was asked of it (until
  /// it confirms, the certificate is still valid there).
  public var revocationRequestedAt: Date?
  public var createdAt: Date
  public var requestID: UUID?

  public init(
    id: UUID, issuerID: UUID, serial: String, der: Data, mailbox: String, profile: String,
    commonName: String, keyFingerprint: String, keyType: String, keyPurpose: String,
    notBefore: Date, notAfter: Date, status: Status, createdAt: Date
  ) {
    self.id = id
    self.issuerID = issuerID
    self.serial = serial
    self.der = der
    self.mailbox = mailbox
    self.profile = profile
    self.commonName = commonName
    self.keyFingerprint = keyFingerprint
    self.keyType = keyType
    self.keyPurpose = keyPurpose
    self.notBefore = notBefore
    self.notAfter = notAfter
    self.status = status
    self.createdAt = createdAt
  }
}
