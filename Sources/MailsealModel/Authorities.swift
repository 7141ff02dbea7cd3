public import Foundation

/// A certificate of this installation's own hierarchy: a root, an issuing
/// CA, or an issuing CA's delegated OCSP responder; its key (if any) in
/// custody, named by reference.
public struct CACertificate: Sendable, Hashable {
  public enum Role: String, Codable, Sendable {
    case root
    case issuing
    case ocspResponder
    /// A CA certificate of an upstream certificate authority (its issuing
    /// CA or root): no key of ours; kept so that the certificates it
    /// issued have their issuer and their chain for the PKCS#12.
    case upstream
  }

  public var id: UUID
  public var role: Role
  /// Names the CA in public URLs (from its subject key identifier).
  public var slug: String
  public var subject: String
  public var certificateDER: Data
  public var sha256Fingerprint: String
  /// Where its key is (`file:…`, `pkcs11:…`); nil for a certificate whose
  /// key is not ours (an imported root).
  public var keyReference: String?
  public var keyType: String
  /// The CA that issued it (nil for a root).
  public var parentID: UUID?
  public var notBefore: Date
  public var notAfter: Date
  /// Made by the test ceremony ("TEST — not trusted").
  public var isTest: Bool
  /// The issuing CA that signs now.
  public var isActive: Bool
  public var createdAt: Date?

  public init(
    id: UUID, role: Role, slug: String, subject: String, certificateDER: Data,
    sha256Fingerprint: String, keyReference: String?, keyType: String, parentID: UUID?,
    notBefore: Date, notAfter: Date, isTest: Bool, isActive: Bool, createdAt: Date? = nil
  ) {
    self.id = id
    self.role = role
    self.slug = slug
    self.subject = subject
    self.certificateDER = certificateDER
    self.sha256Fingerprint = sha256Fingerprint
    self.keyReference = keyReference
    self.keyType = keyType
    self.parentID = parentID
    self.notBefore = notBefore
    self.notAfter = notAfter
    self.isTest = isTest
    self.isActive = isActive
    self.createdAt = createdAt
  }
}
