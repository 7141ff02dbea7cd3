import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import MailsealCA

/// Key escrow's offline half: secret sharing, the recovery key and its
/// certificate, the CMS envelope (judged by `openssl cms` both ways) and
/// the PKCS#12 a recovered key is written to.
@Suite("Key recovery: shares, recovery keys, CMS envelopes, PKCS#12")
struct RecoveryTests {
  /// One recovery key for the suite: RSA-4096 takes a moment to make.
  static let recovery = try! RecoveryKey.generate(organization: "Example Corp")

  // MARK: - GF(2⁸) and Shamir

  @Test("GF(2⁸) multiplication is AES's, and every non-zero element has its inverse")
  func field() {
    // FIPS 197 §4.2: {57} • {83} = {c1}; {57} • {13} = {fe}.
    #expect(SecretSharing.multiply(0x57, 0x83) == 0xC1)
    #expect(SecretSharing.multiply(0x57, 0x13) == 0xFE)
    for a in 1...255 {
      #expect(SecretSharing.multiply(UInt8(a), SecretSharing.inverse(UInt8(a))) == 1)
    }
  }

  @Test("any 3 of 5 shares give the secret back; 2 give something else")
  func threeOfFive() throws {
    var generator = SystemRandomNumberGenerator()
    let secret = (0..<300).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let shares = SecretSharing.split(secret, count: 5, threshold: 3)
    #expect(shares.map(\.index) == [1, 2, 3, 4, 5])
    #expect(shares.allSatisfy { $0.value.count == secret.count && $0.value != secret })
    for a in 0..<5 {
      for b in (a + 1)..<5 {
        #expect(SecretSharing.combine([shares[a], shares[b]]) != secret)
        for c in (b + 1)..<5 {
          #expect(SecretSharing.combine([shares[c], shares[a], shares[b]]) == secret)
        }
      }
    }
    #expect(SecretSharing.combine(shares) == secret)
    #expect(SecretSharing.combine([shares[0], shares[0], shares[1]]) == nil)
    #expect(SecretSharing.combine([]) == nil)
  }

  @Test("one share alone is uniformly spread: each byte value appears for a constant secret")
  func oneShareTellsNothing() {
    let secret = [UInt8](repeating: 0x42, count: 4096)
    let share = SecretSharing.split(secret, count: 3, threshold: 2)[0]
    // With a random degree-1 coefficient every value is as likely; 4096
    // samples of 256 values all appear with overwhelming probability.
    #expect(Set(share.value).count > 240)
  }

  // MARK: - The recovery key and its certificate

  @Test("the recovery certificate: RSA 4096, keyEncipherment only, not a CA; OpenSSL reads it")
  func recoveryCertificate() throws {
    let (key, certificate) = Self.recovery
    #expect(key.matches(certificate))
    #expect(try certificate.certificate.extensions.keyUsage == KeyUsage(keyEncipherment: true))
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let file = try workspace.write("recovery.pem", certificate.pemString)
    let text = try workspace.run(["x509", "-in", file, "-noout", "-text"])
    #expect(text.contains("Public-Key: (4096 bit)"))
    #expect(text.contains("Key Encipherment"))
    #expect(text.contains("CA:FALSE"))
    #expect(text.contains("Mailseal key recovery"))
    // Another key does not match it.
    let other = try RecoveryKey(Array(Self.otherKeyPEM.utf8))
    #expect(!other.matches(certificate))
  }

  @Test("certificates that cannot be recovery certificates are refused")
  func refusedCertificates() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let ec = try workspace.generateKey(
      "ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    let small = try workspace.generateKey(
      "small", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    for (name, key, extra) in [
      ("ec", ec, [String]()), ("small", small, []),
      (
        "ca",
        try workspace.generateKey("ca", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"]),
        ["-addext", "basicConstraints=critical,CA:TRUE"]
      ),
      (
        "signing",
        try workspace.generateKey(
          "signing", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"]),
        ["-addext", "keyUsage=critical,digitalSignature"]
      ),
    ] {
      let file = workspace.path("\(name).pem")
      try workspace.run(
        ["req", "-x509", "-key", key, "-subj", "/CN=\(name)", "-days", "30", "-out", file] + extra)
      #expect(throws: CAError.self, "\(name)") {
        try RecoveryCertificate(try workspace.read(file))
      }
    }
  }

  @Test("shares: 3 of 5 give the key back, 2 are refused, forged shares fail the certificate check")
  func shares() throws {
    let (key, certificate) = Self.recovery
    let shares = try RecoveryShare.split(key, certificate: certificate, count: 5, threshold: 3)
    // Each share file reads back as what was written.
    let read = try shares.map { try RecoveryShare(Array($0.pemString.utf8)) }
    #expect(read == shares)
    #expect(!shares[0].pemString.contains(key.pemString.split(separator: "\n")[1]))
    let back = try RecoveryShare.combine([read[4], read[1], read[2]])
    #expect(back.privateKeyInfo == key.privateKeyInfo)
    let two = #expect(throws: CAError.self) { try RecoveryShare.combine([read[0], read[3]]) }
    #expect(two?.code == .recoveryKeyMismatch)
    #expect(two?.message.contains("needs 3") == true)
    // Shares that claim a lower threshold give a key that is not the
    // certificate's, and are refused.
    let forged = [read[0], read[3]].map {
      RecoveryShare(certificate: $0.certificate, threshold: 2, count: 5, share: $0.share)
    }
    let error = #expect(throws: CAError.self) { try RecoveryShare.combine(forged) }
    #expect(error?.code == .recoveryKeyMismatch)
    // A share given twice, and shares of another key.
    #expect(throws: CAError.self) { try RecoveryShare.combine([read[0], read[0], read[1]]) }
    let other = try RecoveryKey.generate(organization: nil)
    let foreign = try RecoveryShare.split(
      other.key, certificate: other.certificate, count: 3, threshold: 2)
    let mixed = #expect(throws: CAError.self) {
      try RecoveryShare.combine([read[0], read[1], foreign[0]])
    }
    #expect(mixed?.message.contains("different recovery keys") == true)
  }

  // MARK: - The envelope

  @Test("openssl cms -decrypt opens our envelope and finds the key")
  func opensslOpensOurs() throws {
    let (key, certificate) = Self.recovery
    let subscriber = P384.Signing.PrivateKey()
    let envelope = try KeyEnvelope.seal(
      Array(subscriber.derRepresentation), to: [certificate, Self.secondCertificate])
    let parsed = try KeyEnvelope(derEncoded: envelope)
    try parsed.checkRecipients([Self.secondCertificate, certificate])
    #expect(try parsed.open(with: key) == Array(subscriber.derRepresentation))

    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let envelopeFile = try workspace.write("envelope.der", envelope)
    let keyFile = try workspace.write("recovery.key", key.pemString)
    let out = workspace.path("key.der")
    try workspace.run([
      "cms", "-decrypt", "-inform", "DER", "-in", envelopeFile, "-inkey", keyFile, "-out", out,
    ])
    #expect(try workspace.read(out) == Array(subscriber.derRepresentation))
  }

  @Test("we open what openssl cms -encrypt makes with OAEP-SHA256 and AES-256")
  func weOpenOpenSSLs() throws {
    let (key, certificate) = Self.recovery
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let subscriber = try workspace.generateKey(
      "subscriber", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    let subscriberDER = workspace.path("subscriber.der")
    try workspace.run(["pkey", "-in", subscriber, "-outform", "DER", "-out", subscriberDER])
    let recipient = try workspace.write("recovery.pem", certificate.pemString)
    func encrypt(_ options: [String]) throws -> [UInt8] {
      let out = workspace.path("envelope-\(options.count).der")
      try workspace.run(
        [
          "cms", "-encrypt", "-binary", "-in", subscriberDER, "-outform", "DER", "-out", out,
          "-recip", recipient,
        ]
          + options)
      return try workspace.read(out)
    }
    let oaep = [
      "-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256", "-keyopt",
      "rsa_mgf1_md:sha256",
    ]
    // Named by key identifier (`-keyid`: our recovery certificates'
    // subjectKeyIdentifier is the SHA-256 of the key) the portal takes it.
    let envelope = try KeyEnvelope(derEncoded: try encrypt(["-aes256", "-keyid"] + oaep))
    try envelope.checkRecipients([certificate])
    #expect(try envelope.open(with: key) == (try workspace.read(subscriberDER)))
    // Named by issuer and serial number (OpenSSL's default, and envelopes
    // sealed before pins): read and opened, but not taken by the portal —
    // anyone can copy an issuer and a serial number.
    let byIssuer = try KeyEnvelope(derEncoded: try encrypt(["-aes256"] + oaep))
    #expect(try byIssuer.open(with: key) == (try workspace.read(subscriberDER)))
    #expect(byIssuer.sealedTo([certificate, Self.secondCertificate]) == [certificate])
    let refused = #expect(throws: CAError.self) { try byIssuer.checkRecipients([certificate]) }
    #expect(refused?.code == .envelopeRecipientsWrong)

    // What OpenSSL makes by default (PKCS#1 v1.5, AES-256) and with OAEP
    // over SHA-1 or AES-128 is refused by shape, before anything is opened.
    for options in [
      ["-aes256"], ["-aes256", "-keyopt", "rsa_padding_mode:oaep"], ["-aes128"] + oaep,
    ] {
      let error = #expect(throws: CAError.self, "\(options)") {
        try KeyEnvelope(derEncoded: try encrypt(options))
      }
      #expect(error?.code == .envelopeMalformed)
    }
  }

  @Test("envelopes the portal must refuse: wrong recipients, too large, not CMS, wrong key")
  func refusedEnvelopes() throws {
    let (key, certificate) = Self.recovery
    let payload = Array(P256.Signing.PrivateKey().derRepresentation)
    // Made for a certificate that is not installed.
    let foreign = try KeyEnvelope(
      derEncoded: KeyEnvelope.seal(payload, to: [Self.secondCertificate]))
    let wrong = #expect(throws: CAError.self) { try foreign.checkRecipients([certificate]) }
    #expect(wrong?.code == .envelopeRecipientsWrong)
    // Made for one of two installed certificates only, or for one more.
    let one = try KeyEnvelope(derEncoded: KeyEnvelope.seal(payload, to: [certificate]))
    #expect(throws: CAError.self) {
      try one.checkRecipients([certificate, Self.secondCertificate])
    }
    let two = try KeyEnvelope(
      derEncoded: KeyEnvelope.seal(payload, to: [certificate, Self.secondCertificate]))
    #expect(throws: CAError.self) { try two.checkRecipients([certificate]) }
    // Opened with a key it was not made for.
    let other = try RecoveryKey(Array(Self.otherKeyPEM.utf8))
    let mismatch = #expect(throws: CAError.self) { try foreign.open(with: key) }
    #expect(mismatch?.code == .recoveryKeyMismatch)
    #expect(try foreign.open(with: other) == payload)
    // Too large, and not CMS.
    let large = #expect(throws: CAError.self) {
      try KeyEnvelope(derEncoded: [UInt8](repeating: 0x30, count: KeyEnvelope.maximumSize + 1))
    }
    #expect(large?.code == .envelopeTooLarge)
    for bytes in [
      [], [0x30, 0x00], Array(payload),
      Array(try KeyEnvelope.seal(payload, to: [certificate]).dropLast()),
    ] {
      #expect(throws: CAError.self) { try KeyEnvelope(derEncoded: bytes) }
    }
  }

  // MARK: - PKCS#12 and the key check

  @Test(
    "a recovered key's PKCS#12: OpenSSL opens it with the password and finds key and certificate")
  func pkcs12() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let keyFile = try workspace.generateKey(
      "person", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    let certificateFile = workspace.path("person.pem")
    try workspace.run([
      "req", "-x509", "-key", keyFile, "-subj", "/CN=Person", "-days", "30", "-out",
      certificateFile,
    ])
    let keyDER = workspace.path("person.der")
    try workspace.run([
      "pkcs8", "-topk8", "-nocrypt", "-in", keyFile, "-outform", "DER", "-out", keyDER,
    ])
    let privateKeyInfo = try workspace.read(keyDER)
    let certificate = try Certificate(
      pemEncoded: String(decoding: try workspace.read(certificateFile), as: UTF8.self))
    #expect(SubscriberKeyMatch.matches(privateKeyInfo: privateKeyInfo, certificate: certificate))
    #expect(
      !SubscriberKeyMatch.matches(
        privateKeyInfo: Array(P256.Signing.PrivateKey().derRepresentation), certificate: certificate
      ))

    let pfx = try PKCS12.make(
      privateKeyInfo: privateKeyInfo, certificate: certificate,
      chain: [Self.recovery.certificate.certificate],
      password: "Zürich-Ωmega 42", friendlyName: "Person (recovered)", iterations: 1_000)
    let pfxFile = try workspace.write("person.p12", pfx)
    let out = workspace.path("out.pem")
    try workspace.run([
      "pkcs12", "-in", pfxFile, "-passin", "pass:Zürich-Ωmega 42", "-nodes", "-out", out,
    ])
    let text = String(decoding: try workspace.read(out), as: UTF8.self)
    #expect(text.contains("friendlyName: Person (recovered)"))
    #expect(text.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
    let outKey = workspace.path("out.der")
    try workspace.run([
      "pkcs8", "-topk8", "-nocrypt", "-in", out, "-outform", "DER", "-out", outKey,
    ])
    #expect(try workspace.read(outKey) == privateKeyInfo)
    // The MAC is checked: a wrong password is refused.
    let wrong = try ExternalTool.openssl([
      "pkcs12", "-in", pfxFile, "-passin", "pass:wrong", "-nodes", "-noout",
    ])
    #expect(wrong.status != 0)
  }

  // MARK: - Fixtures

  static let second = try! RecoveryKey.generate(organization: "Example Corp")
  static var secondCertificate: RecoveryCertificate { second.certificate }
  static var otherKeyPEM: String { second.key.pemString }
}
