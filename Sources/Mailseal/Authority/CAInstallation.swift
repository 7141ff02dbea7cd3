public import FluentKit
import Foundation
public import MailsealCA
import SwiftASN1
import X509

/// The CA hierarchy of this installation as stored: certificates in the
/// database, keys in custody. Runs the ceremony, imports a CA, and loads the
/// active issuing CA for signing.
public struct CAInstallation: Sendable {
  let database: any Database
  let configuration: MailsealConfiguration

  public init(database: any Database, configuration: MailsealConfiguration) {
    self.database = database
    self.configuration = configuration
  }

  /// The active issuing CA's record, if there is one.
  public func activeIssuer() async throws -> IssuerRecord? {
    try await IssuerRecord.query(on: database).filter(\.$isActive == true).filter(
      \.$role == .issuing
    ).first()
  }

  /// Every CA certificate, issuing CAs first, newest first.
  public func allIssuers() async throws -> [IssuerRecord] {
    try await IssuerRecord.query(on: database).sort(\.$role).sort(\.$createdAt, .descending).all()
  }

  /// The chain of an issuing CA up to its root, issuing CA first.
  public func chain(of issuer: IssuerRecord) async throws -> [IssuerRecord] {
    var chain = [issuer]
    var current = issuer
    while let parentID = current.$parent.id, chain.count < 8,
      let parent = try await IssuerRecord.find(parentID, on: database)
    {
      chain.append(parent)
      current = parent
    }
    return chain
  }

  /// Runs the key ceremony: a root and an issuing CA, keys in custody,
  /// certificates stored, the issuing CA made active.
  ///
  /// - Parameter test: whether the names say "TEST — not trusted".
  /// - Throws: when an issuing CA is already active.
  @discardableResult
  public func initialize(keyType: CAKeyType, test: Bool, now: Date = Date()) async throws -> (
    root: IssuerRecord, issuing: IssuerRecord
  ) {
    guard try await activeIssuer() == nil else {
      throw CAError(
        .caMaterialInvalid,
        "This installation already has an active issuing CA; `mailseal ca show` lists it.")
    }
    let custody = try configuration.keyCustody()
    let stamp = Self.labelStamp(now)
    let (rootReference, rootKey) = try custody.generateKey(keyType, label: "root-\(stamp)")
    let (issuingReference, issuingKey) = try custody.generateKey(keyType, label: "issuing-\(stamp)")
    let names = try CACeremony.names(
      organization: configuration.organization, test: test, now: now, rootKey: rootKey,
      issuingKey: issuingKey)
    let root = try CACeremony.makeRoot(key: rootKey, subject: names.root, now: now)
    let issuing = try CACeremony.makeIssuing(
      key: issuingKey, subject: names.issuing, root: root, rootKey: rootKey,
      endpoints: configuration.endpoints, now: now
    )
    return try await database.transaction { database in
      let rootRecord = Self.record(
        root, role: .root, keyReference: rootReference, keyType: keyType, parent: nil, test: test,
        active: false)
      try await rootRecord.create(on: database)
      let issuingRecord = Self.record(
        issuing, role: .issuing, keyReference: issuingReference, keyType: keyType,
        parent: rootRecord.id, test: test, active: true)
      try await issuingRecord.create(on: database)
      return (rootRecord, issuingRecord)
    }
  }

  /// Takes over an existing issuing CA for production: its certificate
  /// chain (issuing CA first, then up to the root) and its key as an
  /// encrypted PKCS#8 file, which is re-encrypted into custody.
  @discardableResult
  public func importIssuing(
    chainPEM: String, encryptedKey: [UInt8], keyPassphrase: [UInt8], now: Date = Date()
  ) async throws -> IssuerRecord {
    guard try await activeIssuer() == nil else {
      throw CAError(
        .caMaterialInvalid,
        "This installation already has an active issuing CA; `mailseal ca show` lists it.")
    }
    let certificates: [Certificate]
    do {
      certificates = try PEMDocument.parseMultiple(pemString: chainPEM)
        .filter { $0.discriminator == "CERTIFICATE" }
        .map { try Certificate(derEncoded: $0.derBytes) }
    } catch {
      throw CAError(.caMaterialInvalid, "The chain file is not a list of PEM certificates.")
    }
    guard let issuing = certificates.first else {
      throw CAError(.caMaterialInvalid, "The chain file holds no certificate.")
    }
    for (child, parent) in zip(certificates, certificates.dropFirst()) {
      guard child.issuer == parent.subject,
        parent.publicKey.isValidSignature(child.signature, for: child)
      else {
        throw CAError(
          .caMaterialInvalid,
          "The chain is out of order: “\(child.subject)” is not signed by “\(parent.subject)”. List the issuing CA first, then each issuer up to the root."
        )
      }
    }
    guard let keyType = try CAKeyType(publicKey: issuing.publicKey) else {
      throw CAError(
        .caMaterialInvalid, "The issuing CA's key is not P-256, P-384, P-521 or RSA 4096.")
    }
    guard try issuing.extensions.extendedKeyUsage.map({ $0.contains(.emailProtection) }) ?? true
    else {
      throw CAError(
        .caMaterialInvalid,
        "The issuing CA's extKeyUsage does not allow emailProtection, so it cannot issue S/MIME certificates."
      )
    }
    guard issuing.notValidAfter > now else {
      throw CAError(.caMaterialInvalid, "The issuing CA expired on \(issuing.notValidAfter).")
    }
    let custody = try configuration.keyCustody()
    let (reference, key) = try custody.importKey(
      encryptedPKCS8: encryptedKey, passphrase: keyPassphrase,
      label: "issuing-imported-\(Self.labelStamp(now))")
    // Binding the key to the certificate checks that they belong together.
    _ = try CertificateAuthority(
      certificate: issuing, chain: certificates, key: key, policy: configuration.issuerPolicy())

    return try await database.transaction { database in
      var parentID: UUID?
      for certificate in certificates.dropFirst().reversed() {
        let slug = PublicEndpoints.issuerSlug(
          subjectKeyIdentifier: certificate.subjectKeyIdentifierBytes)
        if let existing = try await IssuerRecord.query(on: database).filter(\.$slug == slug).first()
        {
          parentID = existing.id
          continue
        }
        let record = Self.record(
          certificate, role: .root, keyReference: nil,
          keyType: (try? CAKeyType(publicKey: certificate.publicKey)) ?? keyType,
          parent: parentID, test: false, active: false
        )
        try await record.create(on: database)
        parentID = record.id
      }
      let record = Self.record(
        issuing, role: .issuing, keyReference: reference, keyType: keyType, parent: parentID,
        test: false, active: true)
      try await record.create(on: database)
      return record
    }
  }

  /// Loads the active issuing CA with its key, ready to sign.
  public func loadActiveAuthority() async throws -> (CertificateAuthority, issuerID: UUID) {
    guard let record = try await activeIssuer(), let id = record.id else {
      throw CAError(
        .caMaterialInvalid,
        "This installation has no issuing CA yet: run `mailseal ca init` or `mailseal ca import`.")
    }
    guard let reference = record.keyReference else {
      throw CAError(.keyCustody, "The active issuing CA has no key in custody.")
    }
    let chain = try await chain(of: record).map {
      try Certificate(derEncoded: Array($0.certificateDER))
    }
    let key = try configuration.keyCustody().loadKey(KeyReference(rawValue: reference))
    let authority = try CertificateAuthority(
      certificate: chain[0], chain: chain, key: key, policy: configuration.issuerPolicy())
    return (authority, id)
  }

  static func record(
    _ certificate: Certificate, role: IssuerRecord.Role, keyReference: KeyReference?,
    keyType: CAKeyType,
    parent: UUID?, test: Bool, active: Bool
  ) -> IssuerRecord {
    let record = IssuerRecord()
    record.id = UUID()
    record.role = role
    record.slug = PublicEndpoints.issuerSlug(
      subjectKeyIdentifier: certificate.subjectKeyIdentifierBytes)
    record.subject = certificate.subject.description
    record.certificateDER = Data(certificate.derBytes)
    record.sha256Fingerprint = certificate.sha256Fingerprint
    record.keyReference = keyReference?.rawValue
    record.keyType = keyType.rawValue
    record.$parent.id = parent
    record.notBefore = certificate.notValidBefore
    record.notAfter = certificate.notValidAfter
    record.isTest = test
    record.isActive = active
    return record
  }

  static func labelStamp(_ date: Date) -> String {
    let seconds = Int(date.timeIntervalSince1970)
    return "\(seconds)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
  }
}
