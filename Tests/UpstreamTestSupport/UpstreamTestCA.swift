public import Crypto
import Foundation
public import MailsealCA
import SwiftASN1
public import X509

/// An upstream certificate authority of the tests' own: a root and an
/// issuing CA on P-256, issuing from a PKCS#10 the way the real services
/// do — the subject from the order's validated names (never the CSR's),
/// the upstream's organisation added — or, for a fault, whatever it is
/// told to.
public struct UpstreamTestCA: Sendable {
  let rootKey = P256.Signing.PrivateKey()
  /// The issuing CA's key, for a test that issues what the real services
  /// would not.
  public let issuingKey = P256.Signing.PrivateKey()
  public let root: Certificate
  public let issuing: Certificate

  public init(name: String = "Upstream Test") throws {
    let now = Date()
    let rootName = try DistinguishedName {
      OrganizationName("\(name) Trust")
      CommonName("\(name) Root")
    }
    let issuingName = try DistinguishedName {
      OrganizationName("\(name) Trust")
      CommonName("\(name) S/MIME CA")
    }
    root = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(rootKey.publicKey),
      notValidBefore: now - 86_400, notValidAfter: now + 86_400 * 3650, issuer: rootName,
      subject: rootName, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
      }, issuerPrivateKey: .init(rootKey))
    issuing = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: .init(issuingKey.publicKey),
      notValidBefore: now - 86_400, notValidAfter: now + 86_400 * 1825, issuer: rootName,
      subject: issuingName, signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
        Critical(KeyUsage(keyCertSign: true, cRLSign: true))
      }, issuerPrivateKey: .init(rootKey))
  }

  /// The chain file's contents (`MAILSEAL_UPSTREAM_CHAIN_FILE`).
  public var chainPEM: String {
    get throws {
      try issuing.serializeAsPEM().pemString + "\n" + root.serializeAsPEM().pemString + "\n"
    }
  }

  public var trust: UpstreamTrust { get throws { try UpstreamTrust([issuing, root]) } }

  /// A certificate for `csr` (PEM or DER) and the validated subject: the
  /// names of the order, the mailbox as the only address. `mailbox`,
  /// `key` override them for a fault.
  public func issue(
    csr: [UInt8], for subject: ValidatedSubject, mailbox: String? = nil,
    key: Certificate.PublicKey? = nil
  ) throws -> Certificate {
    let request = try CertificateRequestCheck.check(csr)
    let now = Date()
    var rdns: [RelativeDistinguishedName] = [
      RelativeDistinguishedName(
        .init(type: .RDNAttributeType.organizationName, utf8String: "Upstream Sponsor Org"))
    ]
    switch subject.identity {
    case .person(let given, let surname):
      rdns.append(
        RelativeDistinguishedName(.init(type: .SubjectAttribute.givenName, utf8String: given.value))
      )
      rdns.append(
        RelativeDistinguishedName(.init(type: .SubjectAttribute.surname, utf8String: surname.value))
      )
    case .pseudonym(let pseudonym):
      rdns.append(
        RelativeDistinguishedName(
          .init(type: .SubjectAttribute.pseudonym, utf8String: pseudonym.value)))
    case .mailboxOnly:
      break
    }
    rdns.append(
      RelativeDistinguishedName(
        .init(type: .RDNAttributeType.commonName, utf8String: subject.commonName)))
    return try Certificate(
      version: .v3, serialNumber: .init(), publicKey: key ?? request.publicKey,
      notValidBefore: now - 60, notValidAfter: now + 86_400 * 365, issuer: issuing.subject,
      subject: DistinguishedName(rdns), signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(digitalSignature: true, keyEncipherment: false))
        try ExtendedKeyUsage([.emailProtection])
        SubjectAlternativeNames([.rfc822Name(mailbox ?? subject.mailbox.address)])
      }, issuerPrivateKey: .init(issuingKey))
  }
}
