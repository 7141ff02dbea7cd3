import Crypto
public import Foundation
import SwiftASN1
public import X509

/// An issuing CA that can sign: its certificate, the chain up to the root,
/// the key in custody, and the policy it issues under.
///
/// Issuance is split in two so that the caller can record the intent
/// durably between the steps, as Boulder does:
///
/// 1. ``prepare(_:for:now:)`` builds the certificate from the validated
///    subject, encodes its to-be-signed bytes, parses them back under a
///    placeholder signature and runs every lint on that copy. Nothing is
///    signed yet.
/// 2. ``sign(_:)`` signs exactly the linted to-be-signed bytes once with the
///    CA key.
public struct CertificateAuthority: Sendable {
  /// The issuing CA certificate.
  public let certificate: Certificate
  /// The chain from the issuing CA (first) to the root (last).
  public let chain: [Certificate]
  /// The policy every certificate is issued under.
  public let policy: IssuerPolicy
  /// The issuer's URL slug (see ``PublicEndpoints/issuerSlug(subjectKeyIdentifier:)``).
  public let slug: String
  /// The issuer's subject key identifier.
  public let keyIdentifier: [UInt8]

  let key: any CASigningKey
  let linter: Linter
  let issuerFacts: IssuerFacts
  /// The extensions every certificate of this CA carries unchanged,
  /// encoded once: extKeyUsage, the CRL and the two AIA locations, and the
  /// authority key identifier.
  let fixedExtensions: FixedExtensions

  struct FixedExtensions: Sendable {
    let extendedKeyUsage: Certificate.Extension
    let crlDistributionPoints: Certificate.Extension
    let authorityInformationAccess: Certificate.Extension
    let authorityKeyIdentifier: Certificate.Extension
  }

  /// Binds a CA certificate to its key and a policy.
  ///
  /// - Throws: when the key is not the certificate's, or the certificate is
  ///   not a CA that may sign certificates.
  public init(
    certificate: Certificate, chain: [Certificate], key: any CASigningKey, policy: IssuerPolicy
  ) throws(CAError) {
    guard key.publicKey == certificate.publicKey else {
      throw CAError(
        .caMaterialInvalid,
        "The CA key does not belong to the CA certificate “\(certificate.subject)”.")
    }
    guard case .isCertificateAuthority? = try? certificate.extensions.basicConstraints,
      (try? certificate.extensions.keyUsage)?.keyCertSign == true
    else {
      throw CAError(
        .caMaterialInvalid,
        "The certificate “\(certificate.subject)” is not a CA certificate that may sign certificates."
      )
    }
    // An S/MIME issuing CA must allow emailProtection (S/MIME BR §7.1.2.2 g)
    // and carry our strict policies or anyPolicy; otherwise every chain it
    // makes fails in mail clients.
    guard (try? certificate.extensions.extendedKeyUsage)??.contains(.emailProtection) ?? true else {
      throw CAError(
        .caMaterialInvalid,
        "The CA certificate “\(certificate.subject)” does not allow emailProtection in its extKeyUsage."
      )
    }
    if let ext = certificate.extensions[oid: .X509ExtensionID.certificatePolicies] {
      let policies = Set((try? CertificatePolicies(ext))?.policies.map(\.policyIdentifier) ?? [])
      let needed: Set<ASN1ObjectIdentifier> = [
        .smimeSponsorValidatedStrict, .smimeMailboxValidatedStrict,
      ]
      guard policies.contains(.anyPolicy) || needed.isSubset(of: policies) else {
        throw CAError(
          .caMaterialInvalid,
          "The CA certificate “\(certificate.subject)” does not name the S/MIME strict policies (2.23.140.1.5.1.3, 2.23.140.1.5.3.3) or anyPolicy."
        )
      }
    }
    self.certificate = certificate
    self.chain = chain.first == certificate ? chain : [certificate] + chain
    self.key = key
    self.policy = policy
    self.keyIdentifier = certificate.subjectKeyIdentifierBytes
    self.slug = PublicEndpoints.issuerSlug(subjectKeyIdentifier: keyIdentifier)
    self.linter = Linter.subscriber
    self.issuerFacts = IssuerFacts(certificate)
    do {
      let endpoints = policy.endpoints
      let slug = self.slug
      fixedExtensions = FixedExtensions(
        extendedKeyUsage: try ExtendedKeyUsage([.emailProtection]).makeCertificateExtension(),
        crlDistributionPoints: try CRLDistributionPoints(
          urls: [endpoints.crlURL(issuerSlug: slug)]
        ).makeCertificateExtension(),
        authorityInformationAccess: try AuthorityInformationAccess([
          .init(method: .ocspServer, location: .uniformResourceIdentifier(endpoints.ocspURL)),
          .init(
            method: .issuingCA,
            location: .uniformResourceIdentifier(endpoints.caCertificateURL(issuerSlug: slug))),
        ]).makeCertificateExtension(),
        authorityKeyIdentifier: try AuthorityKeyIdentifier(
          keyIdentifier: certificate.subjectKeyIdentifierBytes[...]
        ).makeCertificateExtension())
    } catch {
      throw CAError(
        .caMaterialInvalid,
        "The extensions of the CA “\(certificate.subject)” could not be encoded: \(error)")
    }
  }

  /// The key type of the issuing CA.
  public var keyType: CAKeyType { key.keyType }

  /// The CA key's signing handle (for a delegated OCSP responder
  /// certificate, or OCSP responses signed by the CA itself).
  public var signingKey: any CASigningKey { key }

  /// Builds, lints and returns a certificate ready for signing.
  ///
  /// - Parameters:
  ///   - request: The checked certificate signing request; only its public
  ///     key is used.
  ///   - subject: The validated subject: the only source of names.
  ///   - purpose: What the key is for, which decides the keyUsage.
  ///   - now: The issuance time (injectable for tests).
  /// - Throws: ``CAError/Code/lintFailed`` naming each failed rule, or
  ///   ``CAError/Code/issuerNotValid`` when the CA is expired.
  public func prepare(
    _ request: CheckedRequest, for subject: ValidatedSubject, purpose: KeyPurpose = .dualUse,
    now: Date = Date()
  ) throws(CAError) -> PreparedCertificate {
    try prepare(request, for: subject, purpose: purpose, now: now, adjust: nil)
  }

  /// The same, with a hook that tests use to bend the template and prove
  /// that the lints catch it.
  func prepare(
    _ request: CheckedRequest,
    for subject: ValidatedSubject,
    purpose: KeyPurpose = .dualUse,
    now: Date,
    adjust: ((inout CertificateTemplate) throws -> Void)?
  ) throws(CAError) -> PreparedCertificate {
    var template = try makeTemplate(
      publicKey: request.publicKey, subjectPublicKeyInfo: request.subjectPublicKeyInfo,
      keyType: request.keyType, subject: subject, purpose: purpose, now: now)
    let tbs: [UInt8]
    let algorithm: [UInt8]
    let lintCopy: [UInt8]
    do {
      try adjust?(&template)
      (tbs, algorithm) = try template.toBeSigned()
      lintCopy = try CertificateTemplate.lintCopy(tbs: tbs, algorithm: algorithm)
    } catch {
      throw CAError(
        .lintFailed, "The certificate could not be built: \(error)", failedRules: ["build"])
    }
    // Parsed back by the X509 package: the lints read what a relying
    // party's parser reads, from the very bytes that will be signed.
    let parsed: Certificate
    let root: ASN1Node
    do {
      root = try DER.parse(lintCopy)
      parsed = try Certificate(derEncoded: root)
    } catch {
      throw CAError(
        .lintFailed, "The certificate built does not parse back: \(error)",
        failedRules: ["der.parses"])
    }
    try linter.check(
      LintContext(
        certificate: parsed, issuer: certificate, subject: subject, keyType: request.keyType,
        purpose: purpose, organization: policy.organization, issuerFacts: issuerFacts,
        encoded: root))
    return PreparedCertificate(
      serialNumber: template.serialNumber,
      serialHex: template.serialNumber.hex,
      tbsCertificate: tbs,
      signatureAlgorithm: algorithm,
      notBefore: template.notBefore,
      notAfter: template.notAfter,
      subject: subject,
      keyFingerprint: request.keyFingerprint,
      issuerSlug: slug
    )
  }

  /// Signs a prepared certificate with the CA key, once.
  public func sign(_ prepared: PreparedCertificate) throws(CAError) -> SignedCertificate {
    guard prepared.issuerSlug == slug else {
      throw CAError(.signatureMismatch, "The certificate was prepared for another issuer.")
    }
    let signature: [UInt8]
    do {
      signature = try key.sign(prepared.tbsCertificate[...])
    } catch let error as CAError {
      throw error
    } catch {
      throw CAError(.keyCustody, "The CA key could not sign: \(error)")
    }
    var coder = DER.Serializer()
    do {
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        coder.serializeRawBytes(prepared.tbsCertificate)
        coder.serializeRawBytes(prepared.signatureAlgorithm)
        try coder.serialize(ASN1BitString(bytes: signature[...]))
      }
    } catch {
      throw CAError(.signatureMismatch, "The signed certificate could not be encoded: \(error)")
    }
    return SignedCertificate(der: coder.serializedBytes, prepared: prepared)
  }

  /// The certificate's validity: from `now` (whole seconds) for the policy's
  /// days, inclusive of both ends (RFC 5280 §4.1.2.5), never beyond the CA.
  func validity(now: Date) throws(CAError) -> (Date, Date) {
    let notBefore = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    guard notBefore >= certificate.notValidBefore, notBefore < certificate.notValidAfter else {
      throw CAError(
        .issuerNotValid, "The issuing CA “\(certificate.subject)” is not valid at \(notBefore).")
    }
    let wanted = notBefore.addingTimeInterval(TimeInterval(policy.validityDays * 86_400 - 1))
    return (notBefore, min(wanted, certificate.notValidAfter))
  }

  func makeTemplate(
    publicKey: Certificate.PublicKey, subjectPublicKeyInfo: [UInt8]? = nil,
    keyType: SubscriberKeyType, subject: ValidatedSubject, purpose: KeyPurpose = .dualUse,
    now: Date
  ) throws(CAError) -> CertificateTemplate {
    let (notBefore, notAfter) = try validity(now: now)
    do {
      let spki = subjectPublicKeyInfo ?? publicKey.subjectPublicKeyInfoDER
      let fixed = fixedExtensions
      // In this order: keyUsage (critical), extKeyUsage, certificatePolicies,
      // subjectAltName, CRL distribution points, AIA, AKI, SKI.
      let extensions = try Certificate.Extensions([
        try Critical(purpose.keyUsage(for: keyType)).makeCertificateExtension(),
        fixed.extendedKeyUsage,
        try CertificatePolicies([.init(subject.profile.policyIdentifier)])
          .makeCertificateExtension(),
        try SubjectAlternativeNames([.rfc822Name(subject.mailbox.address)])
          .makeCertificateExtension(),
        fixed.crlDistributionPoints,
        fixed.authorityInformationAccess,
        fixed.authorityKeyIdentifier,
        try SubjectKeyIdentifier(
          keyIdentifier: try Certificate.PublicKey.keyIdentifier(subjectPublicKeyInfo: spki)[...]
        ).makeCertificateExtension(),
      ])
      return CertificateTemplate(
        serialNumber: SerialNumberGenerator.next(),
        publicKey: publicKey,
        subjectPublicKeyInfo: spki,
        notBefore: notBefore,
        notAfter: notAfter,
        issuer: certificate.subject,
        issuerDER: issuerFacts.subjectDER.isEmpty ? nil : issuerFacts.subjectDER,
        subject: try Self.subjectName(subject, organization: policy.organization),
        signatureAlgorithm: key.keyType.signatureAlgorithm,
        extensions: extensions
      )
    } catch {
      throw CAError(
        .lintFailed, "The certificate could not be built: \(error)", failedRules: ["build"])
    }
  }

  /// The subject of the profile (S/MIME BR §7.1.4.2.2, table of
  /// §7.1.4.2.2 for strict certificates), each attribute in its own RDN:
  /// countryName as PrintableString, every other attribute as UTF8String.
  static func subjectName(_ subject: ValidatedSubject, organization: OrganizationIdentity) throws
    -> DistinguishedName
  {
    var rdns: [RelativeDistinguishedName] = []
    func add(_ type: ASN1ObjectIdentifier, _ value: String) {
      rdns.append(RelativeDistinguishedName(.init(type: type, utf8String: value)))
    }
    if subject.profile.namesOrganization {
      rdns.append(
        RelativeDistinguishedName(
          try .init(type: .RDNAttributeType.countryName, printableString: organization.country.code)
        ))
      add(.RDNAttributeType.organizationName, organization.name.value)
      add(.SubjectAttribute.organizationIdentifier, organization.identifier.value)
    }
    switch subject.identity {
    case .person(let given, let surname):
      add(.SubjectAttribute.givenName, given.value)
      add(.SubjectAttribute.surname, surname.value)
    case .pseudonym(let pseudonym):
      add(.SubjectAttribute.pseudonym, pseudonym.value)
    case .mailboxOnly:
      break
    }
    add(.RDNAttributeType.commonName, subject.commonName)
    return DistinguishedName(rdns)
  }
}

/// A certificate built and linted, waiting for the CA signature. The
/// to-be-signed bytes are fixed: the signature will be over exactly these.
public struct PreparedCertificate: Sendable {
  /// The serial number.
  public let serialNumber: Certificate.SerialNumber
  /// The serial number in lowercase hex (kept: the store names it several
  /// times per certificate).
  public let serialHex: String
  /// The DER TBSCertificate that was linted and will be signed.
  public let tbsCertificate: [UInt8]
  /// The DER signatureAlgorithm AlgorithmIdentifier.
  let signatureAlgorithm: [UInt8]
  /// Start of validity.
  public let notBefore: Date
  /// End of validity.
  public let notAfter: Date
  /// Who it is for.
  public let subject: ValidatedSubject
  /// SHA-256 of the subscriber's SubjectPublicKeyInfo.
  public let keyFingerprint: [UInt8]
  /// The issuer's slug.
  public let issuerSlug: String
}

/// A certificate signed by the CA.
public struct SignedCertificate: Sendable {
  /// The certificate's DER.
  public let der: [UInt8]
  /// What was prepared and signed.
  public let prepared: PreparedCertificate

  /// The certificate in PEM.
  public var pem: String { PEMDocument(type: "CERTIFICATE", derBytes: der).pemString }
}
