import Crypto
import Foundation
import SwiftASN1
import Testing
import UpstreamTestSupport
import X509

@testable import MailsealCA

/// An upstream CA of the test's own (the shared ``UpstreamTestCA``) that
/// issues whatever it is told to — right or wrong — so that every check of
/// what comes back can be shown to refuse.
private struct UpstreamPKI {
  let ca: UpstreamTestCA
  let now = Date()

  init(name: String = "Upstream") throws {
    ca = try UpstreamTestCA(name: name)
  }

  var root: Certificate { ca.root }
  var issuing: Certificate { ca.issuing }
  var trust: UpstreamTrust { get throws { try ca.trust } }

  /// A subscriber certificate as the upstream might issue it.
  func issue(
    key: Certificate.PublicKey, subject: DistinguishedName,
    names: [GeneralName] = [.rfc822Name("anna.schmidt@example.edu")],
    usage: [ExtendedKeyUsage.Usage] = [.emailProtection], from: Date? = nil, days: Double = 365
  ) throws -> [UInt8] {
    let start = from ?? now - 60
    let certificate = try Certificate(
      version: .v3, serialNumber: .init(), publicKey: key, notValidBefore: start,
      notValidAfter: start + 86_400 * days, issuer: issuing.subject, subject: subject,
      signatureAlgorithm: .ecdsaWithSHA256,
      extensions: try Certificate.Extensions {
        Critical(BasicConstraints.notCertificateAuthority)
        Critical(KeyUsage(digitalSignature: true, keyEncipherment: false))
        try ExtendedKeyUsage(usage)
        SubjectAlternativeNames(names)
      }, issuerPrivateKey: .init(ca.issuingKey))
    var serializer = DER.Serializer()
    try serializer.serialize(certificate)
    return serializer.serializedBytes
  }
}

@Suite("What comes back from an upstream CA: delivered only as validated")
struct UpstreamCertificateCheckTests {
  let subscriberKey = P256.Signing.PrivateKey()

  func request() throws -> CheckedRequest {
    let key = Certificate.PrivateKey(subscriberKey)
    return try CertificateRequestCheck.check(pem: try TestCSR.pem(key))
  }

  static let person = try! ValidatedSubject.person(
    mailbox: "anna.schmidt@example.edu", givenName: "Anna", surname: "Schmidt")

  /// The subject a sponsor-validated upstream writes: the validated names
  /// and the upstream's own organisation attributes.
  static func personSubject(given: String = "Anna", surname: String = "Schmidt") throws
    -> DistinguishedName
  {
    DistinguishedName([
      RelativeDistinguishedName(
        try .init(type: .RDNAttributeType.countryName, printableString: "DE")),
      RelativeDistinguishedName(
        .init(type: .RDNAttributeType.organizationName, utf8String: "Universität Beispielstadt")),
      RelativeDistinguishedName(.init(type: .SubjectAttribute.givenName, utf8String: given)),
      RelativeDistinguishedName(.init(type: .SubjectAttribute.surname, utf8String: surname)),
      RelativeDistinguishedName(
        .init(type: .RDNAttributeType.commonName, utf8String: "\(given) \(surname)")),
    ])
  }

  func refusal(
    _ der: [UInt8], subject: ValidatedSubject = Self.person, trust: UpstreamTrust,
    now: Date = Date()
  ) async throws -> UpstreamCertificateRefusal.Reason? {
    let checked = try request()
    do {
      _ = try await UpstreamCertificateCheck.check(
        der, request: checked, subject: subject, trust: trust, now: now)
      return nil
    } catch {
      return error.reason
    }
  }

  @Test("the certificate as validated is delivered, with its chain up to the root")
  func delivered() async throws {
    let upstream = try UpstreamPKI()
    let der = try upstream.issue(
      key: .init(subscriberKey.publicKey), subject: try Self.personSubject())
    let chain = try await UpstreamCertificateCheck.check(
      der, request: try request(), subject: Self.person, trust: try upstream.trust, now: Date())
    #expect(chain.count == 3)
    #expect(chain.last == upstream.root)
    // The domain of the address in another case is the same mailbox.
    let upper = try upstream.issue(
      key: .init(subscriberKey.publicKey), subject: try Self.personSubject(),
      names: [.rfc822Name("anna.schmidt@EXAMPLE.edu")])
    #expect(try await refusal(upper, trust: try upstream.trust) == nil)
  }

  @Test("another key, another or a second address, a DNS name: refused")
  func keyAndMailbox() async throws {
    let upstream = try UpstreamPKI()
    let trust = try upstream.trust
    let subject = try Self.personSubject()
    let otherKey = Certificate.PublicKey(P256.Signing.PrivateKey().publicKey)
    #expect(
      try await refusal(try upstream.issue(key: otherKey, subject: subject), trust: trust)
        == .wrongKey)
    let key = Certificate.PublicKey(subscriberKey.publicKey)
    for names: [GeneralName] in [
      [.rfc822Name("anna.schmidt@example.com")],
      [.rfc822Name("Anna.Schmidt@example.edu")],
      [.rfc822Name("anna.schmidt@example.edu"), .rfc822Name("boss@example.edu")],
      [.rfc822Name("anna.schmidt@example.edu"), .dnsName("example.edu")],
      [],
    ] {
      #expect(
        try await refusal(
          try upstream.issue(key: key, subject: subject, names: names), trust: trust)
          == .wrongMailbox, "\(names)")
    }
    let withEmail = DistinguishedName([
      RelativeDistinguishedName(
        .init(type: .RDNAttributeType.commonName, utf8String: "Anna Schmidt")),
      RelativeDistinguishedName(
        try .init(type: .RDNAttributeType.emailAddress, ia5String: "other@example.edu")),
    ])
    #expect(
      try await refusal(try upstream.issue(key: key, subject: withEmail), trust: trust)
        == .wrongMailbox)
  }

  @Test(
    "names not validated — another surname, a person on a role mailbox, a foreign common name — refused"
  )
  func names() async throws {
    let upstream = try UpstreamPKI()
    let trust = try upstream.trust
    let key = Certificate.PublicKey(subscriberKey.publicKey)
    #expect(
      try await refusal(
        try upstream.issue(key: key, subject: try Self.personSubject(surname: "Schmitt")),
        trust: trust) == .wrongNames)
    let role = try ValidatedSubject.pseudonym(
      mailbox: "anna.schmidt@example.edu", name: "Sekretariat")
    #expect(
      try await refusal(
        try upstream.issue(key: key, subject: try Self.personSubject()), subject: role,
        trust: trust) == .wrongNames)
    let mailboxOnly = try ValidatedSubject.mailboxOnly("anna.schmidt@example.edu")
    let byAddress = try DistinguishedName { CommonName("anna.schmidt@example.edu") }
    #expect(
      try await refusal(
        try upstream.issue(key: key, subject: byAddress), subject: mailboxOnly, trust: trust)
        == nil)
    let foreign = try DistinguishedName { CommonName("Mallory") }
    #expect(
      try await refusal(
        try upstream.issue(key: key, subject: foreign), subject: mailboxOnly, trust: trust)
        == .wrongNames)
  }

  @Test("a foreign chain, an expired or future certificate, no emailProtection: refused")
  func chainTimeAndUsage() async throws {
    let upstream = try UpstreamPKI()
    let foreign = try UpstreamPKI(name: "Foreign")
    let key = Certificate.PublicKey(subscriberKey.publicKey)
    let subject = try Self.personSubject()
    #expect(
      try await refusal(try foreign.issue(key: key, subject: subject), trust: try upstream.trust)
        == .notChained)
    // The foreign issuing CA sent along with the answer does not help: only
    // the configured chain builds paths.
    let mixed = try UpstreamTrust([upstream.root, upstream.issuing, foreign.root])
    #expect(
      try await refusal(try foreign.issue(key: key, subject: subject), trust: mixed)
        == .notChained)
    #expect(
      try await refusal(
        try upstream.issue(key: key, subject: subject, from: Date() - 86_400 * 400),
        trust: try upstream.trust) == .notValidNow)
    #expect(
      try await refusal(
        try upstream.issue(key: key, subject: subject, from: Date() + 86_400),
        trust: try upstream.trust) == .notValidNow)
    #expect(
      try await refusal(
        try upstream.issue(key: key, subject: subject, usage: [.clientAuth]),
        trust: try upstream.trust) == .notForEmail)
    #expect(
      try await refusal([0x30, 0x03, 0x02, 0x01, 0x01], trust: try upstream.trust) == .malformed)
  }

  @Test("the chain file: PEM of CA certificates with a root; anything else is refused")
  func trustFile() throws {
    let upstream = try UpstreamPKI()
    let pem = try [upstream.issuing, upstream.root].map { try $0.serializeAsPEM().pemString }
      .joined(separator: "\n")
    let trust = try UpstreamTrust(pem: pem)
    #expect(trust.roots == [upstream.root] && trust.intermediates == [upstream.issuing])
    #expect(throws: CAError.self) { try UpstreamTrust(pem: "") }
    #expect(throws: CAError.self) {
      try UpstreamTrust(pem: try upstream.issuing.serializeAsPEM().pemString)
    }
    #expect(throws: CAError.self) {
      try UpstreamTrust(pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")
    }
  }
}
