public import FluentKit
import Foundation
public import MailsealModel

/// The certificates of this installation's own hierarchy.
public struct Issuers: Sendable {
  let database: any Database

  /// The active issuing CA, if there is one.
  public func active() async throws -> CACertificate? {
    try await IssuerRecord.query(on: database).filter(\.$isActive == true)
      .filter(\.$role == .issuing).first()?.value
  }

  /// Every CA certificate, issuing CAs first, newest first.
  public func all() async throws -> [CACertificate] {
    try await IssuerRecord.query(on: database).sort(\.$role).sort(\.$createdAt, .descending).all()
      .map { try $0.value }
  }

  /// Every CA certificate in `role`.
  public func all(in role: CACertificate.Role) async throws -> [CACertificate] {
    try await IssuerRecord.query(on: database).filter(\.$role == role).all().map { try $0.value }
  }

  public func find(_ id: UUID) async throws -> CACertificate? {
    try await IssuerRecord.find(id, on: database)?.value
  }

  /// The CA with this id and its parents up to the root, that CA first, at
  /// most `limit` certificates.
  public func chain(from id: UUID?, limit: Int = 8) async throws -> [CACertificate] {
    var chain: [CACertificate] = []
    var next = id
    while let id = next, chain.count < limit, let issuer = try await find(id) {
      chain.append(issuer)
      next = issuer.parentID
    }
    return chain
  }

  public func find(fingerprint: String) async throws -> CACertificate? {
    try await IssuerRecord.query(on: database).filter(\.$sha256Fingerprint == fingerprint).first()?
      .value
  }

  public func find(slug: String) async throws -> CACertificate? {
    try await IssuerRecord.query(on: database).filter(\.$slug == slug).first()?.value
  }

  /// The newest delegated OCSP responder certificate of an issuing CA.
  public func newestResponder(of issuerID: UUID) async throws -> CACertificate? {
    try await IssuerRecord.query(on: database).filter(\.$role == .ocspResponder)
      .filter(\.$parent.$id == issuerID).sort(\.$notAfter, .descending).first()?.value
  }

  /// Stores a CA certificate.
  public func add(_ certificate: CACertificate) async throws {
    let record = IssuerRecord()
    record.id = certificate.id
    record.role = certificate.role
    record.slug = certificate.slug
    record.subject = certificate.subject
    record.certificateDER = certificate.certificateDER
    record.sha256Fingerprint = certificate.sha256Fingerprint
    record.keyReference = certificate.keyReference
    record.keyType = certificate.keyType
    record.$parent.id = certificate.parentID
    record.notBefore = certificate.notBefore
    record.notAfter = certificate.notAfter
    record.isTest = certificate.isTest
    record.isActive = certificate.isActive
    try await record.create(on: database)
  }
}

extension IssuerRecord {
  /// The certificate as a value.
  public var value: CACertificate {
    get throws {
      CACertificate(
        id: try requireID(), role: role, slug: slug, subject: subject,
        certificateDER: certificateDER, sha256Fingerprint: sha256Fingerprint,
        keyReference: keyReference, keyType: keyType, parentID: $parent.id, notBefore: notBefore,
        notAfter: notAfter, isTest: isTest, isActive: isActive, createdAt: createdAt)
    }
  }
}
