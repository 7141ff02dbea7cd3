public import Foundation
public import SwiftASN1
public import X509

/// The key ceremony: makes a root CA and an issuing CA below it, with the
/// extensions the S/MIME Baseline Requirements ask of them (§7.1.2.1 root,
/// §7.1.2.2 subordinate CA). The same code makes the test PKI and a real one.
public enum CACeremony {
  /// Years a root certificate is valid.
  public static let rootValidityYears = 20
  /// Years an issuing CA certificate is valid.
  public static let issuingValidityYears = 10

  /// The subject names of the two CAs. A test hierarchy says so in every
  /// name, so that nobody mistakes its certificates for real ones. Each name
  /// ends with the first two bytes of its key identifier, so that a second
  /// ceremony in the same year never reuses a name for another key (S/MIME
  /// BR §7.1.4.3.1).
  public static func names(
    organization: OrganizationIdentity, test: Bool, now: Date, rootKey: any CASigningKey,
    issuingKey: any CASigningKey
  ) throws -> (root: DistinguishedName, issuing: DistinguishedName) {
    let year = Calendar(identifier: .gregorian).dateComponents(
      in: TimeZone(identifier: "UTC")!, from: now
    ).year!
    let rootTag = rootKey.publicKey.keyIdentifier.prefix(2).hexString
    let issuingTag = issuingKey.publicKey.keyIdentifier.prefix(2).hexString
    let rootCN =
      test
      ? "TEST — not trusted: Mailseal Root CA \(rootTag)" : "Mailseal Root CA \(year) \(rootTag)"
    let issuingCN =
      test
      ? "TEST — not trusted: Mailseal S/MIME CA \(issuingTag)"
      : "Mailseal S/MIME CA \(year) \(issuingTag)"
    func name(_ commonName: String) throws -> DistinguishedName {
      DistinguishedName([
        RelativeDistinguishedName(
          try .init(type: .RDNAttributeType.countryName, printableString: organization.country.code)
        ),
        RelativeDistinguishedName(
          .init(type: .RDNAttributeType.organizationName, utf8String: organization.name.value)),
        RelativeDistinguishedName(
          .init(
            type: .SubjectAttribute.organizationIdentifier,
            utf8String: organization.identifier.value)),
        RelativeDistinguishedName(
          .init(type: .RDNAttributeType.commonName, utf8String: commonName)),
      ])
    }
    return (try name(rootCN), try name(issuingCN))
  }

  /// A self-signed root certificate.
  public static func makeRoot(key: any CASigningKey, subject: DistinguishedName, now: Date) throws
    -> Certificate
  {
    let notBefore = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    let extensions = try Certificate.Extensions {
      Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
      Critical(KeyUsage(keyCertSign: true, cRLSign: true))
      SubjectKeyIdentifier(keyIdentifier: key.publicKey.keyIdentifier[...])
    }
    let der = try CertificateTemplate(
      serialNumber: SerialNumberGenerator.next(),
      publicKey: key.publicKey,
      notBefore: notBefore,
      notAfter: add(years: rootValidityYears, to: notBefore),
      issuer: subject,
      subject: subject,
      signatureAlgorithm: key.keyType.signatureAlgorithm,
      extensions: extensions
    ).signed(by: key.certificatePrivateKey)
    return try Certificate(derEncoded: der)
  }

  /// An issuing CA certificate signed by the root. It may issue only
  /// end-entity certificates (pathLenConstraint 0), only for mail
  /// (extKeyUsage emailProtection), only under the strict policies, and
  /// may sign OCSP responses itself (digitalSignature).
  public static func makeIssuing(
    key: any CASigningKey,
    subject: DistinguishedName,
    root: Certificate,
    rootKey: any CASigningKey,
    endpoints: PublicEndpoints,
    now: Date
  ) throws -> Certificate {
    let notBefore = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    let rootSlug = PublicEndpoints.issuerSlug(subjectKeyIdentifier: root.subjectKeyIdentifierBytes)
    let extensions = try Certificate.Extensions {
      Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
      Critical(KeyUsage(digitalSignature: true, keyCertSign: true, cRLSign: true))
      try ExtendedKeyUsage([.emailProtection])
      CertificatePolicies([
        .init(.smimeSponsorValidatedStrict), .init(.smimeMailboxValidatedStrict),
      ])
      CRLDistributionPoints(urls: [endpoints.crlURL(issuerSlug: rootSlug)])
      AuthorityInformationAccess([
        .init(
          method: .issuingCA,
          location: .uniformResourceIdentifier(endpoints.caCertificateURL(issuerSlug: rootSlug)))
      ])
      AuthorityKeyIdentifier(keyIdentifier: root.subjectKeyIdentifierBytes[...])
      SubjectKeyIdentifier(keyIdentifier: key.publicKey.keyIdentifier[...])
    }
    let der = try CertificateTemplate(
      serialNumber: SerialNumberGenerator.next(),
      publicKey: key.publicKey,
      notBefore: notBefore,
      notAfter: min(add(years: issuingValidityYears, to: notBefore), root.notValidAfter),
      issuer: root.subject,
      subject: subject,
      signatureAlgorithm: rootKey.keyType.signatureAlgorithm,
      extensions: extensions
    ).signed(by: rootKey.certificatePrivateKey)
    return try Certificate(derEncoded: der)
  }

  /// Days a delegated OCSP responder certificate is valid. It carries
  /// id-pkix-ocsp-nocheck, so its own revocation is never checked: it is
  /// kept short and renewed by `serve` when 30 days remain.
  public static let ocspResponderValidityDays = 90

  /// A delegated OCSP responder certificate for an issuing CA (RFC 6960
  /// §4.2.2.2; S/MIME BR §7.1.2.8): signed by the issuing CA, keyUsage
  /// digitalSignature, extKeyUsage id-kp-OCSPSigning only,
  /// id-pkix-ocsp-nocheck, the issuer's authority key identifier. Its
  /// subject is the issuing CA's with " OCSP" after the common name.
  public static func makeOCSPResponder(
    key: any CASigningKey, issuing: Certificate, issuingKey: any CASigningKey, now: Date
  ) throws -> Certificate {
    let notBefore = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    let notAfter = min(
      notBefore.addingTimeInterval(TimeInterval(ocspResponderValidityDays) * 86_400 - 1),
      issuing.notValidAfter)
    let subject = DistinguishedName(
      issuing.subject.map { rdn in
        RelativeDistinguishedName(
          rdn.map { attribute in
            guard attribute.type == .RDNAttributeType.commonName else { return attribute }
            let name = String(describing: attribute.value)
            return .init(
              type: .RDNAttributeType.commonName, utf8String: String((name + " OCSP").suffix(64)))
          })
      })
    let extensions = try Certificate.Extensions {
      Critical(KeyUsage(digitalSignature: true))
      try ExtendedKeyUsage([.ocspSigning])
      Certificate.Extension(oid: .ocspNoCheck, critical: false, value: [0x05, 0x00])
      AuthorityKeyIdentifier(keyIdentifier: issuing.subjectKeyIdentifierBytes[...])
      SubjectKeyIdentifier(keyIdentifier: key.publicKey.keyIdentifier[...])
    }
    let der = try CertificateTemplate(
      serialNumber: SerialNumberGenerator.next(),
      publicKey: key.publicKey,
      notBefore: notBefore,
      notAfter: notAfter,
      issuer: issuing.subject,
      subject: subject,
      signatureAlgorithm: issuingKey.keyType.signatureAlgorithm,
      extensions: extensions
    ).signed(by: issuingKey.certificatePrivateKey)
    return try Certificate(derEncoded: der)
  }

  static func add(years: Int, to date: Date) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar.date(byAdding: .year, value: years, to: date)!
  }
}

extension ASN1ObjectIdentifier {
  /// id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
  public static let ocspNoCheck: ASN1ObjectIdentifier = [1, 3, 6, 1, 5, 5, 7, 48, 1, 5]
}
