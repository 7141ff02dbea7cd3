import Foundation
import Testing

@testable import MailsealCA

/// The validated names a certificate is built from. String equality in
/// Swift is canonical equivalence, so normalisation is checked on scalars.
@Suite("Names, addresses, identifiers and the issuer policy are validated")
struct NameTests {
  static func scalars(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) }

  // MARK: - Mailbox

  @Test("a valid address is trimmed and lowercased")
  func mailboxNormalised() throws {
    let mailbox = try Mailbox("  Zoe.Mueller+Lists@Example.EDU \n")
    #expect(mailbox.address == "zoe.mueller+lists@example.edu")
    #expect(mailbox.domain == "example.edu")
    #expect(try Mailbox("ZOE@EXAMPLE.EDU") == Mailbox("zoe@example.edu"))
    #expect(try Mailbox("o'brien@xn--mller-kva.de").address == "o'brien@xn--mller-kva.de")
  }

  static func address(local: Int, thirdLabel: Int) -> String {
    String(repeating: "a", count: local) + "@" + String(repeating: "b", count: 63) + "."
      + String(repeating: "c", count: 63) + "."
      + String(repeating: "d", count: thirdLabel) + ".edu"
  }

  @Test("the length limits: 254 characters, 64 before the @, 63 per label")
  func mailboxLimits() throws {
    let longest = Self.address(local: 64, thirdLabel: 57)
    #expect(longest.utf8.count == 254)
    #expect(try Mailbox(longest).address == longest)
    let tooLong = Self.address(local: 64, thirdLabel: 58)
    #expect(tooLong.utf8.count == 255)
    expectCAError(.invalidMailbox) { try Mailbox(tooLong) }

    #expect(try Mailbox(String(repeating: "l", count: 64) + "@example.edu").address.count == 76)
    expectCAError(.invalidMailbox) {
      try Mailbox(String(repeating: "l", count: 65) + "@example.edu")
    }
    #expect(try Mailbox("zoe@" + String(repeating: "x", count: 63) + ".edu").address.count == 71)
    expectCAError(.invalidMailbox) {
      try Mailbox("zoe@" + String(repeating: "x", count: 64) + ".edu")
    }
  }

  @Test(
    "invalid addresses are refused",
    arguments: [
      "", "   ", "zoe.example.edu", "zoe@@example.edu", "zoe@mail@example.edu", "@example.edu",
      ".zoe@example.edu", "zoe.@example.edu", "zoe..mueller@example.edu", "zoë@example.edu",
      "zoe@exämple.edu",
      "zoe@[192.0.2.1]", "zoe@192.0.2.1", "zoe@edu", "zoe@example.edu.", "zoe@.example.edu",
      "zoe@-example.edu",
      "zoe@example-.edu", "zoe@exa_mple.edu", "\"zoe\"@example.edu", "zoe mueller@example.edu",
      "zoe@example.edu>",
    ]
  )
  func mailboxInvalid(input: String) {
    expectCAError(.invalidMailbox, "“\(input)”") { try Mailbox(input) }
  }

  // MARK: - SubjectName

  static func name(_ input: String, maximumLength: Int = 64) throws(CAError) -> SubjectName {
    try SubjectName(input, field: "given name", maximumLength: maximumLength)
  }

  @Test("NFD input becomes NFC")
  func nfc() throws {
    let name = try Self.name("Zoe\u{0308}")
    #expect(Self.scalars(name.value) == [0x5A, 0x6F, 0xEB])
    #expect(
      Self.scalars(try Self.name("Mu\u{0308}ller-Lu\u{0308}denscheidt").value)
        == Self.scalars("M\u{FC}ller-L\u{FC}denscheidt"))
  }

  @Test("whitespace is trimmed and inner runs collapse to one space")
  func whitespace() throws {
    let name = try Self.name("  Zoë   Anna\u{00A0}\u{3000}Müller  ")
    #expect(Array(name.value.utf8) == Array("Zo\u{EB} Anna M\u{FC}ller".utf8))
  }

  @Test(
    "control and bidirectional characters are refused",
    arguments: [
      "Zo\u{0007}ë", "Zoë\u{0000}", "\u{202E}rellüM", "Zoë\u{200F}", "Zoë\u{202A}Müller",
      "Zo\u{2066}ë", "Zoë\u{2028}Müller",
    ]
  )
  func forbiddenCharacters(input: String) {
    expectCAError(.invalidName, "\(Self.scalars(input))") { try Self.name(input) }
  }

  @Test("a name needs a letter", arguments: ["...", "12345", "-- --", "", "   "])
  func noLetter(input: String) {
    expectCAError(.invalidName, "“\(input)”") { try Self.name(input) }
  }

  @Test("the length bound is counted in scalars after normalisation")
  func length() throws {
    #expect(try Self.name(String(repeating: "a", count: 64)).value.count == 64)
    expectCAError(.invalidName) { try Self.name(String(repeating: "a", count: 65)) }
    // 64 letters given in NFD are 128 scalars in, 64 after NFC.
    let decomposed = String(repeating: "e\u{0308}", count: 64)
    #expect(decomposed.unicodeScalars.count == 128)
    #expect(try Self.name(decomposed).value.unicodeScalars.count == 64)
    expectCAError(.invalidName) {
      try Self.name(String(repeating: "ë", count: 11), maximumLength: 10)
    }
  }

  // MARK: - Organisation

  @Test(
    "valid organisation identifiers",
    arguments: [
      "VATDE-123456789", "NTRDE-DEB1101.HRB123456", "GOVDE", "GOVDE+BW",
      "LEIXG-529900T8BM49AURSDO55", "INTXG",
    ]
  )
  func organizationIdentifierValid(input: String) throws {
    #expect(try OrganizationIdentifier(input).value == input)
  }

  @Test(
    "invalid organisation identifiers",
    arguments: [
      "XYZDE-1", "VATZZ-1", "LEIXG-529900T8BM49AURSDO56", "GOVDE-123", "VATDE", "VATDE-",
      "LEIXG-529900T8BM49AURSDO5", "INTDE", "VAT",
    ]
  )
  func organizationIdentifierInvalid(input: String) {
    expectCAError(.invalidIssuerPolicy, "“\(input)”") { try OrganizationIdentifier(input) }
  }

  @Test("country codes are ISO 3166-1, uppercased")
  func countryCode() throws {
    #expect(try CountryCode("de").code == "DE")
    #expect(try CountryCode(" DE ").code == "DE")
    expectCAError(.invalidIssuerPolicy) { try CountryCode("XX") }
    expectCAError(.invalidIssuerPolicy) { try CountryCode("DEU") }
    expectCAError(.invalidIssuerPolicy) { try CountryCode("") }
  }

  // MARK: - ValidatedSubject

  @Test("a personal subject's common name is given name, space, surname")
  func personal() throws {
    let subject = try ValidatedSubject.person(
      mailbox: "Zoe@Example.edu", givenName: " Zoe\u{0308} ", surname: "Müller")
    #expect(Array(subject.commonName.utf8) == Array("Zo\u{EB} M\u{FC}ller".utf8))
    #expect(subject.mailbox.address == "zoe@example.edu")
    #expect(subject.profile == .sponsorValidatedPersonal)
    #expect(subject.profile.policyIdentifier == .smimeSponsorValidatedStrict)
  }

  @Test("given name and surname together may not exceed 64 characters")
  func personalTooLong() throws {
    let fits = try ValidatedSubject.person(
      mailbox: "long@example.edu", givenName: String(repeating: "g", count: 31),
      surname: String(repeating: "s", count: 32)
    )
    #expect(fits.commonName.count == 64)
    expectCAError(.invalidName) {
      try ValidatedSubject.person(
        mailbox: "long@example.edu", givenName: String(repeating: "g", count: 32),
        surname: String(repeating: "s", count: 32)
      )
    }
  }

  @Test("a pseudonym subject's common name is the pseudonym")
  func pseudonym() throws {
    let subject = try ValidatedSubject.pseudonym(
      mailbox: "sekretariat@example.edu", name: "Sekretariat  des Rechenzentrums")
    #expect(subject.commonName == "Sekretariat des Rechenzentrums")
    #expect(subject.profile == .sponsorValidatedPseudonym)
    expectCAError(.invalidName) {
      try ValidatedSubject.pseudonym(
        mailbox: "x@example.edu", name: String(repeating: "p", count: 65))
    }
  }

  @Test("a mailbox-only subject names the address, which must fit the 64-character common name")
  func mailboxOnly() throws {
    let subject = try ValidatedSubject.mailboxOnly("Helpdesk@Example.edu")
    #expect(subject.commonName == "helpdesk@example.edu")
    #expect(subject.profile == .mailboxValidated)
    #expect(subject.profile.policyIdentifier == .smimeMailboxValidatedStrict)
    let sixtyFour = String(repeating: "m", count: 52) + "@example.edu"
    #expect(sixtyFour.count == 64)
    #expect(try ValidatedSubject.mailboxOnly(sixtyFour).commonName == sixtyFour)
    // A valid address of 65 characters cannot be a common name.
    let sixtyFive = String(repeating: "m", count: 53) + "@example.edu"
    #expect(try Mailbox(sixtyFive).address == sixtyFive)
    expectCAError(.invalidMailbox) { try ValidatedSubject.mailboxOnly(sixtyFive) }
  }

  // MARK: - Issuer policy and endpoints

  static let organization = TestPKI.organization

  @Test("validity must be 1 to 825 days")
  func validityDays() throws {
    let endpoints = try PublicEndpoints(baseURL: "http://pki.example.edu")
    for days in [0, -1, 826, 10_000] {
      expectCAError(.invalidIssuerPolicy, "\(days) days") {
        try IssuerPolicy(organization: Self.organization, validityDays: days, endpoints: endpoints)
      }
    }
    #expect(
      try IssuerPolicy(organization: Self.organization, validityDays: 825, endpoints: endpoints)
        .validityDays == 825)
    #expect(
      try IssuerPolicy(organization: Self.organization, validityDays: 1, endpoints: endpoints)
        .validityDays == 1)
    #expect(
      try IssuerPolicy(organization: Self.organization, endpoints: endpoints).validityDays == 365)
  }

  @Test(
    "publication URLs must be plain http://",
    arguments: [
      "https://pki.example.edu", "ftp://pki.example.edu", "pki.example.edu", "http://",
      "http:///crl", "http://pki.example.edu/?x=1", "http://pki.example.edu/#top",
      "http://pki example.edu", "http://pki.example.edu:abc", "http://pki.example.edu:99999",
      "http://pki.example.edu:", "http://user:secret@pki.example.edu", "http://pki_x.example.edu",
    ])
  func endpointsRefused(input: String) {
    expectCAError(.invalidIssuerPolicy, "“\(input)”") { try PublicEndpoints(baseURL: input) }
  }

  @Test("URLs are derived from the base: /ca/<slug>.cer, /crl/<slug>.crl, /ocsp")
  func endpointsDerived() throws {
    let endpoints = try PublicEndpoints(baseURL: "http://pki.example.edu:8080/smime/")
    #expect(endpoints.baseURL == "http://pki.example.edu:8080/smime")
    #expect(
      endpoints.caCertificateURL(issuerSlug: "0a1b2c3d4e5f6071")
        == "http://pki.example.edu:8080/smime/ca/0a1b2c3d4e5f6071.cer")
    #expect(
      endpoints.crlURL(issuerSlug: "0a1b2c3d4e5f6071")
        == "http://pki.example.edu:8080/smime/crl/0a1b2c3d4e5f6071.crl")
    #expect(endpoints.ocspURL == "http://pki.example.edu:8080/smime/ocsp")
    #expect(
      try PublicEndpoints(baseURL: "http://pki.example.edu//").baseURL == "http://pki.example.edu")
    #expect(
      try PublicEndpoints(baseURL: " http://pki.example.edu ").ocspURL
        == "http://pki.example.edu/ocsp")
  }

  @Test("the issuer slug is the first eight key identifier bytes in lowercase hex")
  func slug() {
    let identifier: [UInt8] = [0x00, 0x0A, 0xB0, 0xFF, 0x10, 0x01, 0x7E, 0xC3, 0x99, 0x42]
    #expect(PublicEndpoints.issuerSlug(subjectKeyIdentifier: identifier) == "000ab0ff10017ec3")
  }
}
