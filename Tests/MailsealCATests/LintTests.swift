import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import MailsealCA

/// A CA key that counts its signatures, to prove that a certificate refused
/// by the lints was never signed.
final class CountingSigningKey: CASigningKey, @unchecked Sendable {
  let base: any CASigningKey
  private let lock = NSLock()
  private var signatures = 0

  init(_ base: any CASigningKey) { self.base = base }

  var publicKey: Certificate.PublicKey { base.publicKey }
  var keyType: CAKeyType { base.keyType }
  var count: Int { lock.withLock { signatures } }

  func sign(_ message: ArraySlice<UInt8>) throws -> [UInt8] {
    lock.withLock { signatures += 1 }
    return try base.sign(message)
  }
}

/// Our own pre-issuance lints: each bent profile is caught by the rule that
/// names it, and nothing is signed with the CA key.
@Suite("Pre-issuance lints catch a bent profile")
struct LintTests {
  static let personal = try! ValidatedSubject.person(
    mailbox: "zoe.mueller@example.edu", givenName: "Zoë", surname: "Müller")

  struct Fixture {
    let authority: CertificateAuthority
    let counter: CountingSigningKey
  }

  /// A P-256 test PKI whose issuing key counts signatures.
  static func fixture(_ type: CAKeyType = .p256) throws -> Fixture {
    let pki = try TestPKI.make(type)
    let counter = CountingSigningKey(pki.authority.key)
    let authority = try CertificateAuthority(
      certificate: pki.authority.certificate, chain: pki.authority.chain, key: counter,
      policy: pki.authority.policy
    )
    return Fixture(authority: authority, counter: counter)
  }

  /// Prepares a certificate with `adjust` applied to its template and
  /// expects the lint to refuse it naming `rule`, with no CA signature.
  @discardableResult
  static func expectRefused(
    _ rule: String,
    key: Certificate.PrivateKey = Certificate.PrivateKey(P256.Signing.PrivateKey()),
    subject: ValidatedSubject = personal,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ adjust: @escaping (inout CertificateTemplate, CertificateAuthority) throws -> Void
  ) throws -> CAError? {
    let fixture = try fixture()
    let request = try CertificateRequestCheck.check(pem: TestCSR.pem(key))
    let authority = fixture.authority
    let error = expectCAError(.lintFailed, sourceLocation: sourceLocation) {
      try authority.prepare(
        request, for: subject, now: Date(), adjust: { template in try adjust(&template, authority) }
      )
    }
    #expect(
      error?.failedRules.contains(rule) == true,
      "expected \(rule) among \(error?.failedRules ?? [])", sourceLocation: sourceLocation)
    #expect(error?.message.contains(rule) == true, sourceLocation: sourceLocation)
    #expect(
      fixture.counter.count == 0, "the CA key signed \(fixture.counter.count) times",
      sourceLocation: sourceLocation)
    return error
  }

  // MARK: - The control

  @Test("an unbent template passes every lint and is signed exactly once")
  func unbentPasses() throws {
    let fixture = try Self.fixture()
    let request = try CertificateRequestCheck.check(
      pem: TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey())))
    let prepared = try fixture.authority.prepare(
      request, for: Self.personal, now: Date(), adjust: { _ in })
    #expect(fixture.counter.count == 0, "prepare must not use the CA key")
    let signed = try fixture.authority.sign(prepared)
    #expect(fixture.counter.count == 1)
    let certificate = try Certificate(derEncoded: signed.der)
    #expect(
      fixture.authority.certificate.publicKey.isValidSignature(
        certificate.signature, for: certificate))
  }

  // MARK: - Bends

  @Test("serverAuth in extKeyUsage")
  func serverAuth() throws {
    try Self.expectRefused("smime.eku.email_protection_only") { template, _ in
      template.extensions.update(
        try ExtendedKeyUsage([.emailProtection, .serverAuth]).makeCertificateExtension())
    }
  }

  @Test("extKeyUsage missing")
  func ekuMissing() throws {
    try Self.expectRefused("smime.eku.email_protection_only") { template, _ in
      template.extensions.remove(.X509ExtensionID.extendedKeyUsage)
    }
  }

  @Test("no CRL distribution points")
  func crlDistributionPointsMissing() throws {
    try Self.expectRefused("smime.crldp.http") { template, _ in
      try #require(template.extensions.remove(.X509ExtensionID.cRLDistributionPoints) != nil)
    }
  }

  @Test("an https CRL URL")
  func httpsCRL() throws {
    try Self.expectRefused("smime.crldp.http") { template, authority in
      template.extensions.update(
        try CRLDistributionPoints(urls: ["https://pki.example.edu/crl/\(authority.slug).crl"])
          .makeCertificateExtension()
      )
    }
  }

  @Test("an https OCSP URL")
  func httpsOCSP() throws {
    try Self.expectRefused("smime.aia.ocsp_and_ca_issuers_http") { template, authority in
      template.extensions.update(
        try AuthorityInformationAccess([
          .init(
            method: .ocspServer,
            location: .uniformResourceIdentifier("https://pki.example.edu/ocsp")),
          .init(
            method: .issuingCA,
            location: .uniformResourceIdentifier(
              authority.policy.endpoints.caCertificateURL(issuerSlug: authority.slug))),
        ]).makeCertificateExtension()
      )
    }
  }

  @Test("validity of 900 days")
  func validity900Days() throws {
    try Self.expectRefused("smime.validity.at_most_825_days") { template, _ in
      template.notAfter = template.notBefore.addingTimeInterval(900 * 86_400 - 1)
    }
  }

  @Test("validity of exactly 825 days passes the validity rule")
  func validity825Days() throws {
    let fixture = try Self.fixture()
    let request = try CertificateRequestCheck.check(
      pem: TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey())))
    let prepared = try fixture.authority.prepare(request, for: Self.personal, now: Date()) {
      template in
      template.notAfter = template.notBefore.addingTimeInterval(825 * 86_400 - 1)
    }
    #expect(prepared.notAfter.timeIntervalSince(prepared.notBefore) == 825 * 86_400 - 1)
    // One second more is refused.
    expectCAError(.lintFailed) {
      try fixture.authority.prepare(request, for: Self.personal, now: Date()) { template in
        template.notAfter = template.notBefore.addingTimeInterval(825 * 86_400)
      }
    }
  }

  @Test("the legacy policy 2.23.140.1.5.3.1")
  func legacyPolicy() throws {
    try Self.expectRefused("smime.policy.single_reserved_strict") { template, _ in
      template.extensions.update(
        try CertificatePolicies([.init([2, 23, 140, 1, 5, 3, 1])]).makeCertificateExtension())
    }
  }

  @Test("a second policy beside the strict one")
  func secondPolicy() throws {
    try Self.expectRefused("smime.policy.single_reserved_strict") { template, _ in
      template.extensions.update(
        try CertificatePolicies([.init(.smimeSponsorValidatedStrict), .init(.anyPolicy)])
          .makeCertificateExtension()
      )
    }
  }

  @Test("a second rfc822Name in subjectAltName")
  func secondMailbox() throws {
    try Self.expectRefused("smime.san.rfc822_mailbox") { template, _ in
      template.extensions.update(
        try SubjectAlternativeNames([
          .rfc822Name(Self.personal.mailbox.address), .rfc822Name("zoe@example.org"),
        ])
        .makeCertificateExtension()
      )
    }
  }

  @Test("a critical subjectAltName")
  func criticalSAN() throws {
    try Self.expectRefused("smime.san.rfc822_mailbox") { template, _ in
      template.extensions.update(
        try Critical(SubjectAlternativeNames([.rfc822Name(Self.personal.mailbox.address)]))
          .makeCertificateExtension())
    }
  }

  @Test("keyUsage with keyEncipherment for an EC subscriber key")
  func keyEnciphermentForEC() throws {
    try Self.expectRefused("smime.key_usage.matches_key_type") { template, _ in
      template.extensions.update(
        try Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
          .makeCertificateExtension())
    }
  }

  @Test("keyUsage with keyAgreement for an RSA subscriber key")
  func keyAgreementForRSA() throws {
    try Self.expectRefused(
      "smime.key_usage.matches_key_type", key: TestSubscriberKey.rsa2048.privateKey()
    ) { template, _ in
      template.extensions.update(
        try Critical(KeyUsage(digitalSignature: true, keyAgreement: true))
          .makeCertificateExtension())
    }
  }

  @Test("keyUsage not critical")
  func keyUsageNotCritical() throws {
    try Self.expectRefused("smime.key_usage.matches_key_type") { template, _ in
      template.extensions.update(
        try KeyUsage(digitalSignature: true, keyAgreement: true).makeCertificateExtension())
    }
  }

  @Test("a dual-use keyUsage on a signing-only or encryption-only certificate, and the reverse")
  func keyUsageAgainstPurpose() throws {
    let fixture = try Self.fixture()
    let request = try CertificateRequestCheck.check(
      pem: TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey())))
    let cases: [(KeyPurpose, KeyUsage)] = [
      (.signing, KeyUsage(digitalSignature: true, keyAgreement: true)),
      (.signing, KeyUsage(digitalSignature: true, nonRepudiation: true)),
      (.encryption, KeyUsage(digitalSignature: true, keyAgreement: true)),
      (.encryption, KeyUsage(keyEncipherment: true)),
      (.dualUse, KeyUsage(digitalSignature: true)),
    ]
    for (purpose, usage) in cases {
      let error = expectCAError(.lintFailed) {
        try fixture.authority.prepare(request, for: Self.personal, purpose: purpose, now: Date()) {
          template in
          template.extensions.update(try Critical(usage).makeCertificateExtension())
        }
      }
      #expect(error?.failedRules == ["smime.key_usage.matches_key_type"], "\(purpose) \(usage)")
    }
  }

  @Test("an extra subject attribute")
  func extraSubjectAttribute() throws {
    try Self.expectRefused("smime.subject.profile_attributes") { template, _ in
      template.subject = DistinguishedName(
        Array(template.subject) + [
          RelativeDistinguishedName(
            .init(type: .RDNAttributeType.organizationalUnitName, utf8String: "Rechenzentrum"))
        ]
      )
    }
  }

  @Test("a subject name that differs from the validated one")
  func differentName() throws {
    try Self.expectRefused("smime.subject.profile_attributes") { template, authority in
      let other = try ValidatedSubject.person(
        mailbox: Self.personal.mailbox.address, givenName: "Mallory", surname: "Müller")
      template.subject = try CertificateAuthority.subjectName(
        other, organization: authority.policy.organization)
    }
  }

  @Test(
    "NFC is decided without normalising below U+0300, and by normalising above: decomposed marks and singletons are not NFC"
  )
  func normalFormC() {
    for text in ["Zoë", "Müller-Lüdenscheidt", "Łukasz Żółć", "ʃ", "한국", "Ἀθῆναι", "山田"] {
      #expect(SubjectLint.isNFC(text), "\(text)")
    }
    // A combining diaeresis, the Ångström sign (U+212B, NFC: U+00C5), a
    // Greek question mark (U+037E, NFC: ";") and Hangul jamo are not NFC.
    for text in ["Zoe\u{0308}", "\u{212B}ngström", "Wer\u{037E}", "\u{1112}\u{1161}\u{11AB}"] {
      #expect(!SubjectLint.isNFC(text), "\(text.unicodeScalars.map { $0.value })")
    }
  }

  @Test(
    "the lints read the names as encoded in the certificate: the same bytes and attributes as the parsed names give, with or without a version field"
  )
  func encodedNames() throws {
    let fixture = try Self.fixture()
    let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
    let request = try CertificateRequestCheck.check(pem: TestCSR.pem(key))
    let prepared = try fixture.authority.prepare(request, for: Self.personal, now: Date())
    let signed = try fixture.authority.sign(prepared)
    let certificate = try Certificate(derEncoded: signed.der)
    let names = try #require(SubjectLint.encodedNames(of: try DER.parse(signed.der)))
    #expect(Array(names.issuer.encodedBytes) == (try SubjectLint.der(certificate.issuer)))
    let fromBytes = try SubjectLint.attributes(of: names.subject)
    let fromName = try SubjectLint.attributes(of: certificate.subject)
    #expect(fromBytes.map(\.value) == fromName.map(\.value))
    #expect(fromBytes.map(\.type) == fromName.map(\.type))
    #expect(fromBytes.map(\.value).last == Self.personal.commonName)
    // Not a certificate's shape: nothing is read.
    #expect(SubjectLint.encodedNames(of: try DER.parse([0x30, 0x03, 0x02, 0x01, 0x01])) == nil)
  }

  @Test("a given name in NFD (decomposed), which Swift's == would call equal to the NFC one")
  func decomposedName() throws {
    try Self.expectRefused("smime.subject.profile_attributes") { template, authority in
      var rdns = Array(template.subject)
      let index = try #require(rdns.firstIndex { $0.first?.type == .SubjectAttribute.givenName })
      rdns[index] = RelativeDistinguishedName(
        .init(type: .SubjectAttribute.givenName, utf8String: "Zoe\u{0308}"))
      template.subject = DistinguishedName(rdns)
    }
  }

  @Test("an organisation name that is not the issuer policy's")
  func differentOrganization() throws {
    try Self.expectRefused("smime.subject.profile_attributes") { template, _ in
      var rdns = Array(template.subject)
      rdns[1] = RelativeDistinguishedName(
        .init(type: .RDNAttributeType.organizationName, utf8String: "Evil Corp"))
      template.subject = DistinguishedName(rdns)
    }
  }

  @Test("an organisation identifier that is valid but not the issuer policy's")
  func differentOrganizationIdentifier() throws {
    try Self.expectRefused("smime.subject.profile_attributes") { template, _ in
      var rdns = Array(template.subject)
      rdns[2] = RelativeDistinguishedName(
        .init(type: .SubjectAttribute.organizationIdentifier, utf8String: "VATDE-123456789"))
      template.subject = DistinguishedName(rdns)
    }
  }

  @Test("countryName as UTF8String instead of PrintableString")
  func countryAsUTF8() throws {
    try Self.expectRefused("smime.subject.profile_attributes") { template, _ in
      var rdns = Array(template.subject)
      rdns[0] = RelativeDistinguishedName(
        .init(type: .RDNAttributeType.countryName, utf8String: "DE"))
      template.subject = DistinguishedName(rdns)
    }
  }

  @Test("basicConstraints cA TRUE")
  func basicConstraintsCA() throws {
    try Self.expectRefused("smime.basic_constraints.not_ca") { template, _ in
      try template.extensions.append(
        try Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
          .makeCertificateExtension())
    }
  }

  @Test("an extension outside the profile")
  func extraExtension() throws {
    try Self.expectRefused("smime.extensions.allowed_set") { template, _ in
      try template.extensions.append(
        try NameConstraints(permittedDNSDomains: ["example.edu"]).makeCertificateExtension()
      )
    }
  }

  @Test("a short serial number")
  func shortSerial() throws {
    try Self.expectRefused("smime.serial.random_positive") { template, _ in
      template.serialNumber = Certificate.SerialNumber(bytes: [
        0x41, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
      ])
    }
  }

  @Test("an issuer name that is not the CA's subject")
  func wrongIssuer() throws {
    try Self.expectRefused("smime.issuer.matches_ca_subject") { template, _ in
      template.issuer = try DistinguishedName { CommonName("Somebody Else CA") }
    }
  }

  @Test("a signature algorithm that is not the issuer key's")
  func wrongSignatureAlgorithm() throws {
    try Self.expectRefused("smime.signature_algorithm.matches_issuer") { template, _ in
      template.signatureAlgorithm = .ecdsaWithSHA384
    }
  }

  @Test("an authorityKeyIdentifier that is not the CA's")
  func wrongAKI() throws {
    try Self.expectRefused("smime.aki.key_identifier_only") { template, _ in
      template.extensions.update(
        try AuthorityKeyIdentifier(keyIdentifier: [UInt8](repeating: 7, count: 20)[...])
          .makeCertificateExtension())
    }
  }

  @Test("a subjectKeyIdentifier that is not the key's")
  func wrongSKI() throws {
    try Self.expectRefused("smime.ski.present") { template, _ in
      template.extensions.update(
        try SubjectKeyIdentifier(keyIdentifier: [UInt8](repeating: 7, count: 20)[...])
          .makeCertificateExtension())
    }
  }

  // MARK: - The rule list

  @Test("rule identifiers are unique and every rule has a summary")
  func ruleList() {
    let rules = Linter.subscriber.rules
    #expect(rules.count >= 15)
    #expect(Set(rules.map(\.id)).count == rules.count, "duplicate ids in \(rules.map(\.id))")
    for rule in rules {
      #expect(!rule.id.isEmpty)
      #expect(rule.id.hasPrefix("smime."), "\(rule.id)")
      #expect(
        !rule.summary.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
        "\(rule.id) has no summary")
    }
    for expected in [
      "smime.eku.email_protection_only", "smime.crldp.http", "smime.validity.at_most_825_days",
      "smime.policy.single_reserved_strict", "smime.san.rfc822_mailbox",
      "smime.key_usage.matches_key_type",
      "smime.subject.profile_attributes", "smime.basic_constraints.not_ca",
    ] {
      #expect(rules.contains { $0.id == expected }, "missing rule \(expected)")
    }
  }

  // MARK: - The judge

  /// If pkilint could not run, or ran on nothing, the issuance matrix would
  /// see no findings and pass. A bent certificate proves that it judges.
  @Test("the judge is alive: pkilint finds a bent certificate and passes the unbent one")
  func judgeIsAlive() throws {
    let pki = try TestPKI.make(.p256)
    let subscriber = P256.Signing.PrivateKey()
    let template = try pki.authority.makeTemplate(
      publicKey: Certificate.PublicKey(subscriber.publicKey), keyType: .ecP256,
      subject: Self.personal, now: Date()
    )
    var bent = template
    bent.extensions.update(
      try ExtendedKeyUsage([.emailProtection, .serverAuth]).makeCertificateExtension())

    let folder = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(folder) }
    func lint(_ template: CertificateTemplate, name: String) throws -> PkilintReport {
      let der = try template.signed(by: Certificate.PrivateKey(P256.Signing.PrivateKey()))
      let file = folder.appendingPathComponent(name)
      try PEMDocument(type: "CERTIFICATE", derBytes: der).pemString.write(
        to: file, atomically: true, encoding: .utf8)
      return try PkilintReport.lint(file, type: Self.personal.profile.lintType)
    }
    let bentReport = try lint(bent, name: "bent.pem")
    #expect(
      !bentReport.atWarningOrAbove.isEmpty,
      "pkilint found nothing in a certificate with serverAuth: \(bentReport.findings)")
    let cleanReport = try lint(template, name: "clean.pem")
    #expect(
      cleanReport.atWarningOrAbove.isEmpty,
      "pkilint on the unbent template: \(cleanReport.atWarningOrAbove)")
  }
}
