public import FluentKit
import Foundation
public import MailsealCA
public import MailsealModel
import MailsealStore
import SwiftASN1
import X509

/// The CA hierarchy of this installation as stored: certificates in the
/// database, keys in custody. Runs the ceremony, imports a CA, and loads the
/// active issuing CA for signing.
public struct CAInstallation: Sendable {
  let database: any Database
  let configuration: MailsealConfiguration
  var store: Store { Store(database) }

  public init(database: any Database, configuration: MailsealConfiguration) {
    self.database = database
    self.configuration = configuration
  }

  /// The active issuing CA's record, if there is one.
  public func activeIssuer() async throws -> CACertificate? {
    try await store.issuers.active()
  }

  /// Every CA certificate, issuing CAs first, newest first.
  public func allIssuers() async throws -> [CACertificate] {
    try await store.issuers.all()
  }

  /// The CA certificate with this id.
  public func issuer(_ id: UUID) async throws -> CACertificate? {
    try await store.issuers.find(id)
  }

  /// The newest delegated OCSP responder certificate of an issuing CA.
  public func newestResponder(of issuer: CACertificate) async throws -> CACertificate? {
    try await store.issuers.newestResponder(of: issuer.id)
  }

  /// The CA certificate whose public URLs use `slug`.
  public func issuer(slug: String) async throws -> CACertificate? {
    try await store.issuers.find(slug: slug)
  }

  /// The chain of an issuing CA up to its root, issuing CA first.
  public func chain(of issuer: CACertificate) async throws -> [CACertificate] {
    [issuer] + (try await store.issuers.chain(from: issuer.parentID, limit: 7))
  }

  package static let alreadyInitialized = CAError(
    .caMaterialInvalid,
    "This installation already has an active issuing CA; `mailseal ca show` lists it.")

  /// Runs the key ceremony: a root and an issuing CA, keys in custody,
  /// certificates stored, the issuing CA made active.
  ///
  /// - Parameters:
  ///   - test: whether the names say "TEST — not trusted".
  ///   - custody: where the keys are made (default: the configuration's;
  ///     a token when `MAILSEAL_PKCS11_TOKEN` is set).
  /// - Throws: when an issuing CA is already active.
  @discardableResult
  public func initialize(
    keyType: CAKeyType, test: Bool, custody choice: MailsealConfiguration.Custody? = nil,
    now: Date = Date()
  ) async throws -> (root: CACertificate, issuing: CACertificate) {
    guard try await activeIssuer() == nil else { throw Self.alreadyInitialized }
    let custody = try configuration.keyCustody(choice ?? configuration.defaultCustody)
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
    let records = try await store.transaction { store in
      // Instances starting together on an empty database: the audit
      // trail's head row (every change locks it) makes them take turns,
      // and the second finds the first one's CA.
      try await store.audit.holdHead()
      guard try await store.issuers.active() == nil else { throw Self.alreadyInitialized }
      let rootRecord = Self.record(
        root, role: .root, keyReference: rootReference, keyType: keyType, parent: nil, test: test,
        active: false)
      try await store.issuers.add(rootRecord)
      let issuingRecord = Self.record(
        issuing, role: .issuing, keyReference: issuingReference, keyType: keyType,
        parent: rootRecord.id, test: test, active: true)
      try await store.issuers.add(issuingRecord)
      try await AuditTrail.append(
        [
          AuditEvent(
            actor: AuditEvent.commandLine, action: .caCreated, subject: rootRecord.slug,
            details: [
              "role": "root", "subject": rootRecord.subject, "keyType": keyType.rawValue,
              "key": rootReference.rawValue,
            ]),
          AuditEvent(
            actor: AuditEvent.commandLine, action: .caCreated, subject: issuingRecord.slug,
            details: [
              "role": "issuing", "subject": issuingRecord.subject, "keyType": keyType.rawValue,
              "key": issuingReference.rawValue,
            ]),
        ], on: store.database, now: now)
      return (rootRecord, issuingRecord)
    }
    try await ensureOCSPResponder(for: records.1, now: now)
    return records
  }

  /// The key an imported issuing CA signs with.
  public enum ImportedKey: Sendable {
    /// An encrypted PKCS#8 file and its passphrase: re-encrypted into the
    /// file custody.
    case encryptedFile([UInt8], passphrase: [UInt8])
    /// A key that already lives in a token, by its PKCS#11 URI.
    case reference(KeyReference)
  }

  /// Takes over an existing issuing CA for production: its certificate
  /// chain (issuing CA first, then up to the root) and its key as an
  /// encrypted PKCS#8 file, which is re-encrypted into custody.
  @discardableResult
  public func importIssuing(
    chainPEM: String, encryptedKey: [UInt8], keyPassphrase: [UInt8], now: Date = Date()
  ) async throws -> CACertificate {
    try await importIssuing(
      chainPEM: chainPEM, key: .encryptedFile(encryptedKey, passphrase: keyPassphrase), now: now)
  }

  /// Takes over an existing issuing CA: its certificate chain (issuing CA
  /// first, then up to the root) and its key, from a file or in a token.
  @discardableResult
  public func importIssuing(chainPEM: String, key imported: ImportedKey, now: Date = Date())
    async throws -> CACertificate
  {
    guard try await activeIssuer() == nil else { throw Self.alreadyInitialized }
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
    let reference: KeyReference
    let key: any CASigningKey
    switch imported {
    case .encryptedFile(let encryptedKey, let keyPassphrase):
      (reference, key) = try configuration.fileKeyCustody().importKey(
        encryptedPKCS8: encryptedKey, passphrase: keyPassphrase,
        label: "issuing-imported-\(Self.labelStamp(now))")
    case .reference(let given):
      // Canonical form: what `ca show` prints is what is stored.
      reference =
        given.scheme == "pkcs11"
        ? KeyReference(rawValue: try PKCS11URI(given.rawValue).description) : given
      // Adopted, not merely loaded: a key in a token that would hand it
      // out is refused here, once; later loads trust this check.
      key = try configuration.adoptKey(reference)
    }
    // Binding the key to the certificate checks that they belong together.
    _ = try CertificateAuthority(
      certificate: issuing, chain: certificates, key: key, policy: configuration.issuerPolicy())

    let imported = try await store.transaction { store in
      var parentID: UUID?
      for certificate in certificates.dropFirst().reversed() {
        let slug = PublicEndpoints.issuerSlug(
          subjectKeyIdentifier: certificate.subjectKeyIdentifierBytes)
        if let existing = try await store.issuers.find(slug: slug) {
          parentID = existing.id
          continue
        }
        let record = Self.record(
          certificate, role: .root, keyReference: nil,
          keyType: (try? CAKeyType(publicKey: certificate.publicKey)) ?? keyType,
          parent: parentID, test: false, active: false
        )
        try await store.issuers.add(record)
        parentID = record.id
      }
      let record = Self.record(
        issuing, role: .issuing, keyReference: reference, keyType: keyType, parent: parentID,
        test: false, active: true)
      try await store.issuers.add(record)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.commandLine, action: .caImported, subject: record.slug,
          details: [
            "subject": record.subject, "sha256": record.sha256Fingerprint,
            "key": reference.rawValue,
          ]),
        on: store.database, now: now)
      return record
    }
    try await ensureOCSPResponder(for: imported, now: now)
    return imported
  }

  /// Loads the active issuing CA with its key, ready to sign.
  public func loadActiveAuthority() async throws -> (CertificateAuthority, issuerID: UUID) {
    guard let record = try await activeIssuer() else {
      throw CAError(
        .caMaterialInvalid,
        "This installation has no issuing CA yet: run `mailseal ca init` or `mailseal ca import`.")
    }
    return (try await authority(for: record), record.id)
  }

  /// Loads a CA of this installation with its key: an issuing CA, or a
  /// root whose key is in custody (for its CRL).
  public func authority(for record: CACertificate) async throws -> CertificateAuthority {
    guard let reference = record.keyReference else {
      throw CAError(.keyCustody, "The CA “\(record.subject)” has no key in custody.")
    }
    let chain = try await chain(of: record).map {
      try Certificate(derEncoded: Array($0.certificateDER))
    }
    let key = try configuration.loadKey(KeyReference(rawValue: reference))
    return try CertificateAuthority(
      certificate: chain[0], chain: chain, key: key, policy: configuration.issuerPolicy())
  }

  /// The OCSP signer of an issuing CA: its delegated responder certificate
  /// (made here when there is none or it has fewer than 30 days left), or
  /// the CA key itself with `MAILSEAL_OCSP_SIGNER=ca`.
  public func ocspResponder(for issuer: CACertificate, now: Date = Date()) async throws
    -> OCSPResponder
  {
    let authority = try await authority(for: issuer)
    if configuration.ocsp.signedByCA {
      return try OCSPResponder(
        issuer: authority.certificate, signerCertificate: authority.certificate,
        key: authority.signingKey)
    }
    let record = try await ensureOCSPResponder(for: issuer, now: now)
    let certificate = try Certificate(derEncoded: Array(record.certificateDER))
    let key = try configuration.loadKey(KeyReference(rawValue: record.keyReference!))
    return try OCSPResponder(
      issuer: authority.certificate, signerCertificate: certificate, key: key)
  }

  /// The newest delegated OCSP responder certificate of an issuing CA with
  /// more than 30 days left, made now (P-256 key in custody) if there is
  /// none.
  @discardableResult
  public func ensureOCSPResponder(for issuer: CACertificate, now: Date = Date()) async throws
    -> CACertificate
  {
    let current = try await store.issuers.newestResponder(of: issuer.id)
    if let current, current.notAfter.timeIntervalSince(now) > 30 * 86_400,
      current.notBefore <= now
    {
      return current
    }
    let authority = try await authority(for: issuer)
    // The responder's key is kept where its CA's key is.
    let custody = try configuration.keyCustody(
      besides: issuer.keyReference.map(KeyReference.init(rawValue:)))
    let (reference, key) = try custody.generateKey(.p256, label: "ocsp-\(Self.labelStamp(now))")
    let certificate = try CACeremony.makeOCSPResponder(
      key: key, issuing: authority.certificate, issuingKey: authority.signingKey, now: now)
    let record = Self.record(
      certificate, role: .ocspResponder, keyReference: reference, keyType: .p256,
      parent: issuer.id, test: issuer.isTest, active: false)
    try await store.transaction { store in
      try await store.issuers.add(record)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.ca, action: .ocspResponderIssued, subject: record.slug,
          details: [
            "issuer": issuer.slug, "notAfter": "\(certificate.notValidAfter)",
            "sha256": record.sha256Fingerprint,
          ]), on: store.database, now: now)
    }
    return record
  }

  static func record(
    _ certificate: Certificate, role: CACertificate.Role, keyReference: KeyReference?,
    keyType: CAKeyType,
    parent: UUID?, test: Bool, active: Bool
  ) -> CACertificate {
    CACertificate(
      id: UUID(), role: role,
      slug: PublicEndpoints.issuerSlug(subjectKeyIdentifier: certificate.subjectKeyIdentifierBytes),
      subject: certificate.subject.description, certificateDER: Data(certificate.derBytes),
      sha256Fingerprint: certificate.sha256Fingerprint, keyReference: keyReference?.rawValue,
      keyType: keyType.rawValue, parentID: parent, notBefore: certificate.notValidBefore,
      notAfter: certificate.notValidAfter, isTest: test, isActive: active)
  }

  static func labelStamp(_ date: Date) -> String {
    let seconds = Int(date.timeIntervalSince1970)
    return "\(seconds)-\(String(UInt32.random(in: 0...UInt32.max), radix: 16))"
  }
}
