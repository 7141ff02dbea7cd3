import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import MailsealCA

/// What an issued certificate says, and that mail software can use it.
@Suite("Issued certificates say what was validated and work in S/MIME")
struct CertificateContentTests {
  static let subject = try! ValidatedSubject.person(
    mailbox: "zoe.mueller@example.edu", givenName: "Zoë", surname: "Müller")

  static func issue(
    _ pki: TestPKI, key: Certificate.PrivateKey, subject: ValidatedSubject = subject,
    now: Date = Date()
  ) throws -> (SignedCertificate, Certificate) {
    let request = try CertificateRequestCheck.check(pem: TestCSR.pem(key))
    let signed = try pki.authority.sign(pki.authority.prepare(request, for: subject, now: now))
    return (signed, try Certificate(derEncoded: signed.der))
  }

  @Test("subject and subjectAltName come from the validated subject, never from the request")
  func namesFromValidatedSubject() throws {
    let pki = try TestPKI.make(.p256)
    let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
    let csr = try TestCSR.pem(key)
    // The request does ask for Mallory.
    #expect(
      try PEMDocument(pemString: csr).derBytes.containsBytes(Array("mallory@evil.example.com".utf8))
    )
    let (signed, certificate) = try Self.issue(pki, key: key)

    for forbidden in ["Mallory", "mallory", "evil.example.com"] {
      #expect(
        !signed.der.containsBytes(Array(forbidden.utf8)), "the certificate contains “\(forbidden)”")
    }
    #expect(
      try certificate.extensions.subjectAlternativeNames.map(Array.init) == [
        .rfc822Name("zoe.mueller@example.edu")
      ])
    let attributes = try SubjectLint.attributes(of: certificate.subject)
    #expect(
      attributes.map(\.type) == [
        .RDNAttributeType.countryName, .RDNAttributeType.organizationName,
        .SubjectAttribute.organizationIdentifier,
        .SubjectAttribute.givenName, .SubjectAttribute.surname, .RDNAttributeType.commonName,
      ])
    #expect(
      attributes.map(\.value) == [
        "DE", "Universität Beispielstadt", "NTRDE-DEB1101.HRB123456", "Zoë", "Müller", "Zoë Müller",
      ])
    #expect(certificate.publicKey == key.publicKey)
    #expect(certificate.issuer == pki.authority.certificate.subject)
  }

  @Test("a mailbox-validated certificate names only the address")
  func mailboxOnlyNames() throws {
    let pki = try TestPKI.make(.p256)
    let (signed, certificate) = try Self.issue(
      pki, key: Certificate.PrivateKey(P256.Signing.PrivateKey()),
      subject: ValidatedSubject.mailboxOnly("Helpdesk@Example.edu")
    )
    let attributes = try SubjectLint.attributes(of: certificate.subject)
    #expect(attributes.map(\.type) == [.RDNAttributeType.commonName])
    #expect(attributes.map(\.value) == ["helpdesk@example.edu"])
    #expect(
      try certificate.extensions.subjectAlternativeNames.map(Array.init) == [
        .rfc822Name("helpdesk@example.edu")
      ])
    // The organisation appears only in the issuer's name, not in the subject.
    var coder = DER.Serializer()
    try coder.serialize(certificate.subject)
    #expect(!coder.serializedBytes.containsBytes(Array("Universität".utf8)))
    #expect(signed.der.containsBytes(Array("Universität".utf8)))
  }

  @Test("validity is 365 days minus one second from notBefore, which is now in whole seconds")
  func validity() throws {
    let pki = try TestPKI.make(.p256)
    let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) + 0.75)
    let (signed, certificate) = try Self.issue(
      pki, key: Certificate.PrivateKey(P256.Signing.PrivateKey()), now: now)
    #expect(
      certificate.notValidBefore
        == Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down)))
    #expect(
      certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore) == 365 * 86_400 - 1)
    #expect(signed.prepared.notBefore == certificate.notValidBefore)
    #expect(signed.prepared.notAfter == certificate.notValidAfter)
  }

  @Test("notAfter is capped at the issuing CA's notAfter")
  func cappedAtCA() throws {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let ceremony = calendar.date(byAdding: DateComponents(year: -9, month: -11), to: Date())!
    let pki = try TestPKI.make(.p256, validityDays: 825, now: ceremony)
    let caNotAfter = pki.authority.certificate.notValidAfter
    try #require(
      caNotAfter > Date() && caNotAfter < Date().addingTimeInterval(825 * 86_400),
      "the CA expires at \(caNotAfter)")

    let (signed, certificate) = try Self.issue(
      pki, key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
    #expect(certificate.notValidAfter == caNotAfter)
    #expect(signed.prepared.notAfter == caNotAfter)
    #expect(
      certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore) < 825 * 86_400 - 1)

    // A fresh CA with the same policy gives the full 825 days.
    let fresh = try TestPKI.make(.p256, validityDays: 825)
    let (_, full) = try Self.issue(fresh, key: Certificate.PrivateKey(P256.Signing.PrivateKey()))
    #expect(full.notValidAfter.timeIntervalSince(full.notValidBefore) == 825 * 86_400 - 1)
  }

  @Test("an expired or not yet valid CA issues nothing")
  func caNotValid() throws {
    let pki = try TestPKI.make(.p256)
    let request = try CertificateRequestCheck.check(
      pem: TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey())))
    expectCAError(.issuerNotValid) {
      try pki.authority.prepare(
        request, for: Self.subject,
        now: pki.authority.certificate.notValidBefore.addingTimeInterval(-1))
    }
    expectCAError(.issuerNotValid) {
      try pki.authority.prepare(
        request, for: Self.subject, now: pki.authority.certificate.notValidAfter)
    }
  }

  @Test("sign refuses a certificate prepared by another authority")
  func preparedElsewhere() throws {
    let first = try TestPKI.make(.p256)
    let second = try TestPKI.make(.p256)
    let request = try CertificateRequestCheck.check(
      pem: TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey())))
    let prepared = try first.authority.prepare(request, for: Self.subject)
    expectCAError(.signatureMismatch) { try second.authority.sign(prepared) }
    // The right authority signs it, and the signature verifies.
    let certificate = try Certificate(derEncoded: first.authority.sign(prepared).der)
    #expect(
      first.authority.certificate.publicKey.isValidSignature(
        certificate.signature, for: certificate))
    #expect(
      !second.authority.certificate.publicKey.isValidSignature(
        certificate.signature, for: certificate))
  }

  @Test("the signed certificate carries exactly the linted to-be-signed bytes")
  func tbsIsLinted() throws {
    let pki = try TestPKI.make(.p384)
    let request = try CertificateRequestCheck.check(
      pem: TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey())))
    let prepared = try pki.authority.prepare(request, for: Self.subject)
    let signed = try pki.authority.sign(prepared)
    let root = try DER.parse(signed.der)
    guard case .constructed(let parts) = root.content, let tbs = Array(parts).first else {
      Issue.record("not a certificate")
      return
    }
    #expect(Array(tbs.encodedBytes) == prepared.tbsCertificate)
    #expect(prepared.keyFingerprint == request.keyFingerprint)
    #expect(prepared.issuerSlug == pki.authority.slug)
  }

  // MARK: - OpenSSL CMS

  @Test(
    "openssl cms signs and verifies, encrypts and decrypts",
    arguments: [TestSubscriberKey.rsa3072, .p256])
  func cmsRoundTrip(subscriber: TestSubscriberKey) throws {
    let pki = try TestPKI.make(.p384)
    let key = try subscriber.privateKey()
    let (signed, _) = try Self.issue(pki, key: key)

    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let cert = try workspace.write("cert.pem", signed.pem)
    let keyFile = try workspace.write("key.pem", try TestSubscriberKey.pkcs8PEM(key))
    let chain = try workspace.write("chain.pem", pki.authority.certificate.pemString)
    let root = try workspace.write("root.pem", pki.root.pemString)
    let plaintext = "Grüße aus dem Rechenzentrum, \(subscriber).\n"
    let message = try workspace.write("message.txt", plaintext)

    let signedMessage = workspace.path("signed.p7m")
    try workspace.run([
      "cms", "-sign", "-binary", "-nodetach", "-in", message, "-signer", cert, "-inkey", keyFile,
      "-certfile", chain,
      "-outform", "DER", "-out", signedMessage,
    ])
    let verified = workspace.path("verified.txt")
    try workspace.run([
      "cms", "-verify", "-binary", "-inform", "DER", "-in", signedMessage, "-CAfile", root,
      "-purpose", "smimesign", "-out", verified,
    ])
    #expect(String(decoding: try workspace.read(verified), as: UTF8.self) == plaintext)

    // Verification against another root fails, so the check above is real.
    let stranger = try TestPKI.make(.p256)
    let strangerRoot = try workspace.write("stranger.pem", stranger.root.pemString)
    let refused = try ExternalTool.openssl([
      "cms", "-verify", "-binary", "-inform", "DER", "-in", signedMessage, "-CAfile", strangerRoot,
      "-purpose", "smimesign",
      "-out", workspace.path("refused.txt"),
    ])
    #expect(refused.status != 0, "verified against a foreign root: \(refused.output)")

    let encrypted = workspace.path("encrypted.p7m")
    try workspace.run([
      "cms", "-encrypt", "-aes256", "-binary", "-in", message, "-outform", "DER", "-out", encrypted,
      cert,
    ])
    #expect(!(try workspace.read(encrypted)).containsBytes(Array("Rechenzentrum".utf8)))
    let decrypted = workspace.path("decrypted.txt")
    try workspace.run([
      "cms", "-decrypt", "-binary", "-inform", "DER", "-in", encrypted, "-recip", cert, "-inkey",
      keyFile, "-out", decrypted,
    ])
    #expect(String(decoding: try workspace.read(decrypted), as: UTF8.self) == plaintext)
  }
}
