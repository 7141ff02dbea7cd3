import Foundation
import SwiftASN1
public import X509

/// What a lint sees: the certificate as parsed back from its DER, the CA
/// certificate that will sign it, and what the registration authority
/// validated.
public struct LintContext: Sendable {
  /// The lint copy, parsed from its DER.
  public let certificate: Certificate
  /// The issuing CA certificate.
  public let issuer: Certificate
  /// The validated subject the certificate must name.
  public let subject: ValidatedSubject
  /// The subscriber key type found in the request.
  public let keyType: SubscriberKeyType
  /// What the key is for (decides the keyUsage).
  public let purpose: KeyPurpose
  /// The sponsoring organisation the issuer policy names.
  public let organization: OrganizationIdentity

  /// What several rules need, worked out once per certificate.
  let certificateKeyType: Result<SubscriberKeyType, CAError>
  /// The certificate's SubjectPublicKeyInfo as encoded in it.
  let subjectPublicKeyInfoDER: [UInt8]
  let subjectAttributes: Result<[SubjectLint.Attribute], SubjectLint.Unreadable>
  /// The issuer name as encoded in the certificate (nil: unreadable).
  let issuerNameDER: [UInt8]?
  /// What the rules need of the issuer, worked out once per issuer.
  let issuerFacts: IssuerFacts

  /// Creates a context.
  public init(
    certificate: Certificate, issuer: Certificate, subject: ValidatedSubject,
    keyType: SubscriberKeyType, purpose: KeyPurpose = .dualUse,
    organization: OrganizationIdentity
  ) {
    self.init(
      certificate: certificate, issuer: issuer, subject: subject, keyType: keyType,
      purpose: purpose, organization: organization, issuerFacts: IssuerFacts(issuer))
  }

  /// With `encoded`, the certificate's DER as parsed: the names are read
  /// as they are encoded there, not as a re-serialisation would give them.
  init(
    certificate: Certificate, issuer: Certificate, subject: ValidatedSubject,
    keyType: SubscriberKeyType, purpose: KeyPurpose = .dualUse,
    organization: OrganizationIdentity, issuerFacts: IssuerFacts, encoded: ASN1Node? = nil
  ) {
    self.certificate = certificate
    self.issuer = issuer
    self.subject = subject
    self.keyType = keyType
    self.purpose = purpose
    self.organization = organization
    self.issuerFacts = issuerFacts
    let names = encoded.flatMap(SubjectLint.encodedNames(of:))
    let spki = names.map { Array($0.subjectPublicKeyInfo.encodedBytes) }
    self.subjectPublicKeyInfoDER = spki ?? certificate.publicKey.subjectPublicKeyInfoDER
    self.certificateKeyType = Result { () throws(CAError) in
      if let node = names?.subjectPublicKeyInfo {
        return try CertificateRequestCheck.classify(spki: node)
      }
      return try CertificateRequestCheck.classify(
        subjectPublicKeyInfo: certificate.publicKey.subjectPublicKeyInfoDER)
    }
    self.issuerNameDER =
      names.map { Array($0.issuer.encodedBytes) } ?? (try? SubjectLint.der(certificate.issuer))
    self.subjectAttributes = Result { () throws(SubjectLint.Unreadable) in
      do {
        if let names { return try SubjectLint.attributes(of: names.subject) }
        return try SubjectLint.attributes(of: certificate.subject)
      } catch {
        throw SubjectLint.Unreadable(reason: "\(error)")
      }
    }
  }
}

/// The facts about an issuing CA that lints compare against.
struct IssuerFacts: Sendable {
  /// The DER of the CA's subject, to compare issuer names byte for byte.
  let subjectDER: [UInt8]
  /// The signature algorithm of the CA's key, if it is one of ours.
  let signatureAlgorithm: Certificate.SignatureAlgorithm?
  /// The CA's subject key identifier.
  let keyIdentifier: [UInt8]

  init(_ issuer: Certificate) {
    subjectDER = (try? SubjectLint.der(issuer.subject)) ?? []
    signatureAlgorithm = (try? CAKeyType(publicKey: issuer.publicKey))??.signatureAlgorithm
    keyIdentifier = issuer.subjectKeyIdentifierBytes
  }
}

/// One rule of the S/MIME Baseline Requirements, checked on every
/// certificate before it is signed.
public struct LintRule: Sendable {
  /// A stable identifier, reported when the rule fails.
  public let id: String
  /// The rule in one sentence, with its source.
  public let summary: String
  let check: @Sendable (LintContext) throws -> String?

  /// Creates a rule. `check` returns nil when the certificate passes, or
  /// what is wrong.
  public init(
    _ id: String, _ summary: String, check: @escaping @Sendable (LintContext) throws -> String?
  ) {
    self.id = id
    self.summary = summary
    self.check = check
  }
}

/// Runs a list of rules and refuses the certificate if any fails.
public struct Linter: Sendable {
  /// The rules, in the order they run.
  public let rules: [LintRule]

  /// A linter running the given rules.
  public init(rules: [LintRule]) {
    self.rules = rules
  }

  /// Every failed rule with its finding; empty when the certificate passes.
  public func findings(_ context: LintContext) -> [(rule: LintRule, finding: String)] {
    rules.compactMap { rule in
      do {
        return try rule.check(context).map { (rule, $0) }
      } catch {
        return (rule, "the certificate could not be read for this rule: \(error)")
      }
    }
  }

  /// Throws ``CAError/Code/lintFailed`` naming each failed rule.
  public func check(_ context: LintContext) throws(CAError) {
    let failed = findings(context)
    guard failed.isEmpty else {
      let text = failed.map { "\($0.rule.id): \($0.finding)" }.joined(separator: "; ")
      throw CAError(
        .lintFailed, "Nothing was issued: the certificate failed pre-issuance lint — \(text).",
        failedRules: failed.map(\.rule.id))
    }
  }
}
