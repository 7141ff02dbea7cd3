public import Foundation
import SwiftASN1
// The chain is judged at the caller's `now` (tests move it), not the clock.
@_spi(FixedExpiryValidationTime) public import X509

/// The trust an upstream certificate authority's answers must chain to
/// (`MAILSEAL_UPSTREAM_CHAIN_FILE`): its root(s) and its issuing CA(s). Only
/// these certificates build a chain; an intermediate that comes with an
/// answer but is not here does not (a foreign chain is refused, not
/// learned).
public struct UpstreamTrust: Sendable {
  /// The self-signed certificates: the anchors.
  public let roots: [Certificate]
  /// The others: the upstream's issuing CA(s).
  public let intermediates: [Certificate]

  /// The largest chain file read (a root and a few issuing CAs are ~10 KiB).
  public static let maximumSize = 256 * 1024

  /// Reads the PEM certificates of a chain file: at least one self-signed
  /// root, every certificate a CA (basicConstraints cA true).
  public init(pem: String) throws(CAError) {
    guard pem.utf8.count <= Self.maximumSize else {
      throw CAError(
        .caMaterialInvalid,
        "The upstream chain file is larger than \(Self.maximumSize) bytes.")
    }
    let certificates: [Certificate]
    do {
      certificates = try PEMDocument.parseMultiple(pemString: pem)
        .filter { $0.discriminator == "CERTIFICATE" }
        .map { try Certificate(derEncoded: $0.derBytes) }
    } catch {
      throw CAError(
        .caMaterialInvalid, "The upstream chain file holds a certificate that cannot be read.")
    }
    try self.init(certificates)
  }

  /// The given certificates, sorted into roots and issuing CAs.
  public init(_ certificates: [Certificate]) throws(CAError) {
    guard !certificates.isEmpty else {
      throw CAError(.caMaterialInvalid, "The upstream chain file holds no certificate.")
    }
    for certificate in certificates {
      guard case .isCertificateAuthority? = try? certificate.extensions.basicConstraints else {
        throw CAError(
          .caMaterialInvalid,
          "\(certificate.subject) in the upstream chain file is not a CA certificate.")
      }
    }
    roots = certificates.filter { $0.subject == $0.issuer }
    intermediates = certificates.filter { $0.subject != $0.issuer }
    guard !roots.isEmpty else {
      throw CAError(
        .caMaterialInvalid,
        "The upstream chain file holds no root (self-signed) certificate; add the upstream's root.")
    }
  }
}

/// Why a certificate that came back from the upstream is not delivered: the
/// registration authority vouches for what it validated and for nothing
/// else. The reason's raw value is stable (it is stored with the held
/// request and named in the audit trail).
public struct UpstreamCertificateRefusal: Error, Sendable, Hashable, CustomStringConvertible {
  public enum Reason: String, Sendable, Hashable, CaseIterable {
    /// Not a certificate (or not one we can read).
    case malformed
    /// Its public key is not the request's.
    case wrongKey = "wrong-key"
    /// Its e-mail addresses are not exactly the validated mailbox.
    case wrongMailbox = "wrong-mailbox"
    /// It names the holder otherwise than validated.
    case wrongNames = "wrong-names"
    /// It does not chain to the upstream's configured chain.
    case notChained = "not-chained"
    /// It is not valid now.
    case notValidNow = "not-valid-now"
    /// It is not for e-mail protection (extendedKeyUsage).
    case notForEmail = "not-for-email"
  }

  public let reason: Reason
  /// What exactly was seen (for the admin and the audit trail).
  public let detail: String

  public init(_ reason: Reason, _ detail: String) {
    self.reason = reason
    self.detail = detail
  }

  public var description: String { "\(reason.rawValue): \(detail)" }
}

/// The registration authority's checks on a certificate an upstream CA
/// issued for a validated request: its key is the request's, its
/// rfc822Name(s) are exactly the validated mailbox, its names are the
/// validated ones (or none beyond what the profile allows), it chains to
/// the configured trust, it is valid now and carries emailProtection.
///
/// The upstream adds its own organisation's attributes (O, C, L, ST,
/// organizationIdentifier, OU) for a sponsor-validated certificate: those
/// are the upstream's validation, not ours, and pass. What names the
/// holder — common name, given name, surname, pseudonym, emailAddress —
/// must be what the RA validated.
public enum UpstreamCertificateCheck {
  /// The largest certificate read (an S/MIME certificate is 1–3 KiB).
  public static let maximumSize = 64 * 1024

  /// Checks `der` against the request and the validated subject; returns
  /// the certificate and the chain it was validated with (leaf first, up
  /// to the root), for the PKCS#12.
  public static func check(
    _ der: [UInt8], request: CheckedRequest, subject: ValidatedSubject, trust: UpstreamTrust,
    now: Date
  ) async throws(UpstreamCertificateRefusal) -> [Certificate] {
    guard der.count <= maximumSize else {
      throw UpstreamCertificateRefusal(.malformed, "larger than \(maximumSize) bytes")
    }
    let certificate: Certificate
    do {
      certificate = try Certificate(derEncoded: der)
    } catch {
      throw UpstreamCertificateRefusal(.malformed, "not a DER X.509 certificate")
    }
    try checkKey(certificate, request: request)
    try checkMailbox(certificate, subject: subject)
    try checkNames(certificate, subject: subject)
    try checkUsage(certificate)
    guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
      throw UpstreamCertificateRefusal(
        .notValidNow,
        "valid \(certificate.notValidBefore) to \(certificate.notValidAfter), checked at \(now)")
    }
    var verifier = Verifier(rootCertificates: CertificateStore(trust.roots)) {
      RFC5280Policy(fixedExpiryValidationTime: now)
      EmailProtectionHandled()
    }
    switch await verifier.validate(
      leaf: certificate, intermediates: CertificateStore(trust.intermediates))
    {
    case .validCertificate(let chain):
      return Array(chain)
    case .couldNotValidate(let failures):
      throw UpstreamCertificateRefusal(
        .notChained,
        "issued by \(certificate.issuer), which does not chain to the configured upstream chain"
          + (failures.first.map { " (\($0.policyFailureReason))" } ?? ""))
    }
  }

  static func checkKey(_ certificate: Certificate, request: CheckedRequest)
    throws(UpstreamCertificateRefusal)
  {
    guard certificate.publicKey == request.publicKey else {
      throw UpstreamCertificateRefusal(.wrongKey, "its public key is not the request's")
    }
  }

  static func checkMailbox(_ certificate: Certificate, subject: ValidatedSubject)
    throws(UpstreamCertificateRefusal)
  {
    let found: SubjectAlternativeNames?
    do {
      found = try certificate.extensions.subjectAlternativeNames
    } catch {
      throw UpstreamCertificateRefusal(.malformed, "its subjectAltName cannot be read")
    }
    guard let names = found else {
      throw UpstreamCertificateRefusal(.wrongMailbox, "no subjectAltName")
    }
    var addresses: [String] = []
    for name in names {
      switch name {
      case .rfc822Name(let address): addresses.append(address)
      default:
        throw UpstreamCertificateRefusal(
          .wrongMailbox, "its subjectAltName holds a name that is not an e-mail address: \(name)")
      }
    }
    guard !addresses.isEmpty,
      addresses.allSatisfy({ Self.sameMailbox($0, subject.mailbox.address) })
    else {
      throw UpstreamCertificateRefusal(
        .wrongMailbox,
        "its addresses are \(addresses.joined(separator: ", ")), not \(subject.mailbox.address)")
    }
  }

  /// Two addresses name one mailbox: the local part as written, the domain
  /// in any case (RFC 5321 §2.4).
  static func sameMailbox(_ one: String, _ other: String) -> Bool {
    guard let at = one.lastIndex(of: "@"), let otherAt = other.lastIndex(of: "@") else {
      return false
    }
    return one[..<at] == other[..<otherAt]
      && one[at...].lowercased() == other[otherAt...].lowercased()
  }

  static func checkNames(_ certificate: Certificate, subject: ValidatedSubject)
    throws(UpstreamCertificateRefusal)
  {
    var given: [String] = []
    var surnames: [String] = []
    var pseudonyms: [String] = []
    var commonNames: [String] = []
    var emails: [String] = []
    for rdn in certificate.subject {
      for attribute in rdn {
        let value = String(attribute.value) ?? "\(attribute.value)"
        switch attribute.type {
        case ASN1ObjectIdentifier.SubjectAttribute.givenName: given.append(value)
        case ASN1ObjectIdentifier.SubjectAttribute.surname: surnames.append(value)
        case ASN1ObjectIdentifier.SubjectAttribute.pseudonym: pseudonyms.append(value)
        case ASN1ObjectIdentifier.RDNAttributeType.commonName: commonNames.append(value)
        case ASN1ObjectIdentifier.RDNAttributeType.emailAddress: emails.append(value)
        default: continue
        }
      }
    }
    for email in emails where !sameMailbox(email, subject.mailbox.address) {
      throw UpstreamCertificateRefusal(.wrongMailbox, "its subject's emailAddress is \(email)")
    }
    // What the common name may be under the validated identity: the
    // validated name, or the address.
    var allowedCommonNames = [subject.mailbox.address]
    switch subject.identity {
    case .person(let givenName, let surname):
      guard given == [givenName.value], surnames == [surname.value], pseudonyms.isEmpty else {
        throw UpstreamCertificateRefusal(
          .wrongNames,
          "it names \(describe(given, surnames, pseudonyms)); validated were given name \(givenName.value), surname \(surname.value)"
        )
      }
      allowedCommonNames.append(subject.commonName)
    case .pseudonym(let name):
      guard given.isEmpty, surnames.isEmpty, pseudonyms.allSatisfy({ $0 == name.value }) else {
        throw UpstreamCertificateRefusal(
          .wrongNames,
          "it names \(describe(given, surnames, pseudonyms)); validated was the pseudonym \(name.value)"
        )
      }
      allowedCommonNames.append(name.value)
    case .mailboxOnly:
      guard given.isEmpty, surnames.isEmpty, pseudonyms.isEmpty else {
        throw UpstreamCertificateRefusal(
          .wrongNames,
          "it names \(describe(given, surnames, pseudonyms)); only the mailbox was validated")
      }
    }
    for name in commonNames
    where !allowedCommonNames.contains(where: { $0 == name || sameMailbox($0, name) }) {
      throw UpstreamCertificateRefusal(
        .wrongNames, "its common name is \(name), which was not validated")
    }
  }

  static func describe(_ given: [String], _ surnames: [String], _ pseudonyms: [String]) -> String {
    let parts =
      given.map { "given name \($0)" } + surnames.map { "surname \($0)" }
      + pseudonyms.map { "pseudonym \($0)" }
    return parts.isEmpty ? "no person" : parts.joined(separator: ", ")
  }

  static func checkUsage(_ certificate: Certificate) throws(UpstreamCertificateRefusal) {
    let usage: ExtendedKeyUsage?
    do {
      usage = try certificate.extensions.extendedKeyUsage
    } catch {
      throw UpstreamCertificateRefusal(.malformed, "its extendedKeyUsage cannot be read")
    }
    guard let usage, usage.contains(.emailProtection) else {
      throw UpstreamCertificateRefusal(.notForEmail, "no extendedKeyUsage emailProtection")
    }
  }
}

/// Declares extendedKeyUsage handled (``UpstreamCertificateCheck`` checks
/// it before the chain is built), so that a leaf marking it critical is not
/// refused as an unknown critical extension.
struct EmailProtectionHandled: VerifierPolicy {
  let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
    .X509ExtensionID.extendedKeyUsage
  ]

  func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async
    -> PolicyEvaluationResult
  {
    .meetsPolicy
  }
}

extension SignedCertificate {
  /// A certificate an upstream CA issued and ``UpstreamCertificateCheck``
  /// passed, as the store keeps every certificate: its serial, validity,
  /// the validated subject (which the check found in it) and its key.
  /// `issuerSlug` names the upstream CA that signed it.
  public init(upstream certificate: Certificate, subject: ValidatedSubject, issuerSlug: String)
    throws
  {
    var serializer = DER.Serializer()
    try serializer.serialize(certificate)
    self.init(
      der: serializer.serializedBytes,
      prepared: PreparedCertificate(
        serialNumber: certificate.serialNumber,
        serialHex: certificate.serialNumber.hex,
        tbsCertificate: Array(certificate.tbsCertificateBytes),
        signatureAlgorithm: [],
        notBefore: certificate.notValidBefore,
        notAfter: certificate.notValidAfter,
        subject: subject,
        keyFingerprint: Certificate.PublicKey.fingerprint(
          subjectPublicKeyInfo: certificate.publicKey.subjectPublicKeyInfoDER),
        issuerSlug: issuerSlug))
  }
}
