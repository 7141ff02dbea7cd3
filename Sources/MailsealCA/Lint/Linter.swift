import Foundation
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
  /// The sponsoring organisation the issuer policy names.
  public let organization: OrganizationIdentity

  /// Creates a context.
  public init(
    certificate: Certificate, issuer: Certificate, subject: ValidatedSubject,
    keyType: SubscriberKeyType,
    organization: OrganizationIdentity
  ) {
    self.certificate = certificate
    self.issuer = issuer
    self.subject = subject
    self.keyType = keyType
    self.organization = organization
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
