public import SwiftASN1

/// The certificate types this authority issues, each one of the S/MIME
/// Baseline Requirements' strict profiles (§7.1.6.1).
public enum CertificateProfile: String, Hashable, Sendable, CaseIterable, Codable {
  /// A personal mailbox: givenName, surname and a common name made of
  /// them, under the sponsor-validated strict policy.
  case sponsorValidatedPersonal = "sponsor-validated-strict"
  /// A role or group mailbox: a pseudonym, repeated as the common name,
  /// under the sponsor-validated strict policy.
  case sponsorValidatedPseudonym = "sponsor-validated-strict-pseudonym"
  /// Mailbox control only: the common name is the address, under the
  /// mailbox-validated strict policy.
  case mailboxValidated = "mailbox-validated-strict"

  /// The one reserved policy identifier the certificate carries:
  /// 2.23.140.1.5.T.G with T the validation type and G = 3 (strict).
  public var policyIdentifier: ASN1ObjectIdentifier {
    switch self {
    case .sponsorValidatedPersonal, .sponsorValidatedPseudonym: return .smimeSponsorValidatedStrict
    case .mailboxValidated: return .smimeMailboxValidatedStrict
    }
  }

  /// The certificate type as pkilint's `lint_cabf_smime_cert -t` names it.
  public var lintType: String {
    switch self {
    case .sponsorValidatedPersonal, .sponsorValidatedPseudonym: return "SPONSORED-STRICT"
    case .mailboxValidated: return "MAILBOX-STRICT"
    }
  }

  /// Whether the profile names the organisation (O, organizationIdentifier, C).
  public var namesOrganization: Bool { self != .mailboxValidated }
}

extension ASN1ObjectIdentifier {
  /// 2.23.140.1.5.1.3: mailbox-validated, strict.
  public static let smimeMailboxValidatedStrict: ASN1ObjectIdentifier = [2, 23, 140, 1, 5, 1, 3]
  /// 2.23.140.1.5.3.3: sponsor-validated, strict.
  public static let smimeSponsorValidatedStrict: ASN1ObjectIdentifier = [2, 23, 140, 1, 5, 3, 3]
  /// The reserved S/MIME policy arc 2.23.140.1.5.
  public static let smimeReservedArc: ASN1ObjectIdentifier = [2, 23, 140, 1, 5]
  /// anyPolicy (RFC 5280 §4.2.1.4).
  public static let anyPolicy: ASN1ObjectIdentifier = [2, 5, 29, 32, 0]

  /// Attribute types the X509 package does not name.
  public enum SubjectAttribute {
    /// id-at-surname.
    public static let surname: ASN1ObjectIdentifier = [2, 5, 4, 4]
    /// id-at-givenName.
    public static let givenName: ASN1ObjectIdentifier = [2, 5, 4, 42]
    /// id-at-pseudonym.
    public static let pseudonym: ASN1ObjectIdentifier = [2, 5, 4, 65]
    /// id-at-organizationIdentifier.
    public static let organizationIdentifier: ASN1ObjectIdentifier = [2, 5, 4, 97]
  }
}
