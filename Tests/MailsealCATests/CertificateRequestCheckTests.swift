import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import MailsealCA

/// Every refusal of ``CertificateRequestCheck`` with its own code, and the
/// requests it accepts, most of them made by OpenSSL.
@Suite("Certificate signing requests are checked before anything is built")
struct CertificateRequestCheckTests {
  // MARK: - Helpers

  /// A valid P-256 request made by the X509 package, as DER.
  static func validDER() throws -> [UInt8] {
    let pem = try TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey()))
    return try PEMDocument(pemString: pem).derBytes
  }

  /// An RSA SubjectPublicKeyInfo built by hand, for keys OpenSSL will not
  /// make (even exponents, huge moduli).
  static func rsaSPKI(modulusBits: Int, exponent: [UInt8]) throws -> [UInt8] {
    var modulus = [UInt8](repeating: 0xA5, count: (modulusBits + 7) / 8)
    let topBits = modulusBits % 8 == 0 ? 8 : modulusBits % 8
    modulus[0] = UInt8(1 << (topBits - 1)) | 0x01  // exactly `modulusBits` long
    modulus[modulus.count - 1] |= 0x01  // odd, as a real modulus
    // No factor below 1000 either, so that only the property under test
    // can make the key fail.
    let smallPrimes = (3..<1000).filter { n in (2..<n).allSatisfy { n % $0 != 0 } }
    func hasSmallFactor(_ bytes: [UInt8]) -> Bool {
      smallPrimes.contains { prime in bytes.reduce(0) { ($0 * 256 + Int($1)) % prime } == 0 }
    }
    while hasSmallFactor(modulus) {
      let (low, overflow) = modulus[modulus.count - 1].addingReportingOverflow(2)
      modulus[modulus.count - 1] = low
      if overflow { modulus[modulus.count - 2] &+= 1 }
    }
    func integer(_ magnitude: [UInt8]) -> [UInt8] {
      magnitude.first.map { $0 & 0x80 != 0 } == true ? [0] + magnitude : magnitude
    }

    var key = DER.Serializer()
    key.appendConstructedNode(identifier: .sequence) { coder in
      coder.appendPrimitiveNode(identifier: .integer) { $0.append(contentsOf: integer(modulus)) }
      coder.appendPrimitiveNode(identifier: .integer) { $0.append(contentsOf: integer(exponent)) }
    }
    var spki = DER.Serializer()
    try spki.appendConstructedNode(identifier: .sequence) { coder in
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(CertificateRequestCheck.rsaEncryption)
        try coder.serialize(ASN1Null())
      }
      try coder.serialize(ASN1BitString(bytes: key.serializedBytes[...]))
    }
    return spki.serializedBytes
  }

  /// A CertificationRequest (RFC 2986) around a given SubjectPublicKeyInfo,
  /// with signature bytes that sign nothing.
  static func request(spki: [UInt8]) throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(0)
        try coder.serialize(try DistinguishedName { CommonName("Even exponent") })
        coder.serializeRawBytes(spki)
        coder.appendConstructedNode(
          identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
        ) { _ in }
      }
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize([1, 2, 840, 113_549, 1, 1, 11] as ASN1ObjectIdentifier)
        try coder.serialize(ASN1Null())
      }
      try coder.serialize(ASN1BitString(bytes: [UInt8](repeating: 0x5A, count: 256)[...]))
    }
    return coder.serializedBytes
  }

  // MARK: - Malformed

  @Test("random bytes are malformed")
  func randomBytes() {
    var generator = SplitMix64(seed: 0x5EED_0001)
    for length in [1, 7, 64, 512, 4096] {
      let bytes = generator.bytes(length)
      expectCAError(.csrMalformed, "\(length) random bytes") {
        try CertificateRequestCheck.check(bytes)
      }
    }
  }

  @Test("empty input is malformed")
  func empty() {
    expectCAError(.csrMalformed) { try CertificateRequestCheck.check([UInt8]()) }
  }

  @Test("truncated DER is malformed")
  func truncatedDER() throws {
    let der = try Self.validDER()
    for cut in [1, 10, der.count / 2, der.count - 1] {
      expectCAError(.csrMalformed, "cut to \(cut) of \(der.count) bytes") {
        try CertificateRequestCheck.check(der.prefix(cut))
      }
    }
  }

  @Test("PEM with the label CERTIFICATE is malformed")
  func wrongPEMLabel() throws {
    let pem = PEMDocument(type: "CERTIFICATE", derBytes: try Self.validDER()).pemString
    let error = expectCAError(.csrMalformed) { try CertificateRequestCheck.check(pem: pem) }
    #expect(error?.message.contains("CERTIFICATE") == true)
  }

  @Test("PEM with broken base64 is malformed")
  func brokenBase64() throws {
    let pem = PEMDocument(type: "CERTIFICATE REQUEST", derBytes: try Self.validDER()).pemString
    var lines = pem.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    lines[2] = "!!!*" + lines[2].dropFirst(4)
    expectCAError(.csrMalformed) {
      try CertificateRequestCheck.check(pem: lines.joined(separator: "\n"))
    }
  }

  @Test("PEM whose base64 is valid but holds no request is malformed")
  func pemOfGarbage() {
    let pem = PEMDocument(type: "CERTIFICATE REQUEST", derBytes: Array("not a request at all".utf8))
      .pemString
    expectCAError(.csrMalformed) { try CertificateRequestCheck.check(pem: pem) }
  }

  // MARK: - Size

  @Test("16 KiB + 1 bytes is too large; 16 KiB is read (and here found malformed)")
  func tooLarge() {
    let limit = CertificateRequestCheck.maximumSize
    #expect(limit == 16 * 1024)
    expectCAError(.csrTooLarge) {
      try CertificateRequestCheck.check([UInt8](repeating: 0x30, count: limit + 1))
    }
    expectCAError(.csrMalformed) {
      try CertificateRequestCheck.check([UInt8](repeating: 0x30, count: limit))
    }
  }

  // MARK: - Signature

  @Test("a flipped bit in the signature is a bad signature", arguments: ["p256", "rsa2048"])
  func flippedSignatureBit(keyType: String) throws {
    let key =
      keyType == "p256"
      ? Certificate.PrivateKey(P256.Signing.PrivateKey())
      : try TestSubscriberKey.rsa2048.privateKey()
    var der = try PEMDocument(pemString: TestCSR.pem(key)).derBytes
    #expect(try CertificateRequestCheck.check(der).der == der)
    der[der.count - 1] ^= 0x01
    expectCAError(.csrBadSignature) { try CertificateRequestCheck.check(der) }
  }

  @Test("a signature is remembered by the request's exact bytes, and only when it verified")
  func verifiedSignaturesAreRemembered() throws {
    let pem = try TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey()))
    let der = try PEMDocument(pemString: pem).derBytes
    let digest = SHA256.hash(data: der)
    #expect(!VerifiedSignatures.shared.contains(digest))
    let first = try CertificateRequestCheck.check(pem: pem)
    #expect(VerifiedSignatures.shared.contains(digest))
    // The submission's check (PEM) and the issuance's (the stored DER)
    // meet on the same digest, with the same result.
    #expect(try CertificateRequestCheck.check(der) == first)
    // A refused signature is never remembered: the same bytes are
    // refused every time.
    var forged = der
    forged[forged.count - 1] ^= 0x01
    for _ in 0..<2 {
      expectCAError(.csrBadSignature) { try CertificateRequestCheck.check(forged) }
      #expect(!VerifiedSignatures.shared.contains(SHA256.hash(data: forged)))
    }
  }

  @Test("the record of verified signatures forgets the oldest first, never past its capacity")
  func verifiedSignaturesAreBounded() {
    let record = VerifiedSignatures(capacity: 3)
    let digests = (0..<5).map { SHA256.hash(data: [UInt8($0)]) }
    for digest in digests { record.insert(digest) }
    record.insert(digests[4])  // again: no second place
    #expect(record.count == 3)
    #expect(digests.map(record.contains) == [false, false, true, true, true])
    record.removeAll()
    #expect(record.count == 0 && !record.contains(digests[4]))
  }

  @Test("a request signed with SHA-1 is refused")
  func sha1Signature() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let key = try workspace.generateKey(
      "rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
    let csr = try workspace.request("sha1", key: key, extra: ["-sha1"])
    let text = try workspace.run(["req", "-in", csr, "-noout", "-text"])
    try #require(text.contains("sha1WithRSAEncryption"), "OpenSSL did not sign with SHA-1: \(text)")
    let error = expectCAError(.csrBadSignature) {
      try CertificateRequestCheck.check(workspace.read(csr))
    }
    #expect(error?.message.contains("SHA-256") == true)
  }

  // MARK: - Keys

  @Test("RSA 1024 is too small")
  func rsa1024() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let key = try workspace.generateKey(
      "rsa1024", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"])
    let csr = try workspace.request("rsa1024", key: key)
    expectCAError(.csrRSAKeyTooSmall) { try CertificateRequestCheck.check(workspace.read(csr)) }
  }

  @Test("an RSA modulus of 2052 bits is not byte aligned")
  func rsa2052() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let key = try workspace.generateKey(
      "rsa2052", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2052"])
    let csr = try workspace.request("rsa2052", key: key)
    expectCAError(.csrRSAModulusNotByteAligned) {
      try CertificateRequestCheck.check(workspace.read(csr))
    }
  }

  @Test("RSA public exponent 3 is not allowed")
  func exponentThree() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let key = try workspace.generateKey(
      "e3",
      ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-pkeyopt", "rsa_keygen_pubexp:3"]
    )
    let csr = try workspace.request("e3", key: key)
    let text = try workspace.run(["req", "-in", csr, "-noout", "-text"])
    try #require(text.contains("Exponent: 3 "), "OpenSSL did not use exponent 3: \(text)")
    expectCAError(.csrRSAExponentNotAllowed) {
      try CertificateRequestCheck.check(workspace.read(csr))
    }
  }

  @Test("an even RSA public exponent (65538) is not allowed, checked before the signature")
  func evenExponent() throws {
    let der = try Self.request(spki: Self.rsaSPKI(modulusBits: 2048, exponent: [0x01, 0x00, 0x02]))
    expectCAError(.csrRSAExponentNotAllowed) { try CertificateRequestCheck.check(der) }
    // The same request with exponent 65537 passes the key check and then
    // fails on its signature: the exponent, not the structure, was refused.
    let odd = try Self.request(spki: Self.rsaSPKI(modulusBits: 2048, exponent: [0x01, 0x00, 0x01]))
    expectCAError(.csrBadSignature) { try CertificateRequestCheck.check(odd) }
  }

  @Test(
    "RSA exponents that are even, below 65537 or above 2^256−1 are refused by the key classifier",
    arguments: [
      [0x00], [0x01], [0x03], [0xFF, 0xFF], [0x01, 0x00, 0x00], [0x01, 0x00, 0x02],
      [0x01] + [UInt8](repeating: 0, count: 31) + [0x01],  // 2^256 + 1: 257 bits
      [0x01] + [UInt8](repeating: 0, count: 32) + [0x01],  // 2^264 + 1
    ] as [[UInt8]]
  )
  func exponentRefused(exponent: [UInt8]) throws {
    let spki = try Self.rsaSPKI(modulusBits: 2048, exponent: exponent)
    expectCAError(.csrRSAExponentNotAllowed, "exponent \(exponent.hexString)") {
      try CertificateRequestCheck.classify(subjectPublicKeyInfo: spki)
    }
  }

  @Test("RSA exponents 65537 and 2^256−1 are the allowed extremes")
  func exponentExtremes() throws {
    for exponent in [[0x01, 0x00, 0x01], [UInt8](repeating: 0xFF, count: 32)] {
      let spki = try Self.rsaSPKI(modulusBits: 2048, exponent: exponent)
      #expect(try CertificateRequestCheck.classify(subjectPublicKeyInfo: spki) == .rsa(bits: 2048))
    }
    let tooBig = try Self.rsaSPKI(
      modulusBits: 2048, exponent: [0x01] + [UInt8](repeating: 0, count: 31) + [0x01])
    expectCAError(.csrRSAExponentNotAllowed, "2^256+1") {
      try CertificateRequestCheck.classify(subjectPublicKeyInfo: tooBig)
    }
  }

  @Test("an RSA modulus above 8192 bits is not allowed")
  func rsaTooLarge() throws {
    #expect(
      try CertificateRequestCheck.classify(
        subjectPublicKeyInfo: Self.rsaSPKI(modulusBits: 8192, exponent: [1, 0, 1]))
        == .rsa(bits: 8192))
    let spki = try Self.rsaSPKI(modulusBits: 8200, exponent: [1, 0, 1])
    expectCAError(.csrKeyNotAllowed) {
      try CertificateRequestCheck.classify(subjectPublicKeyInfo: spki)
    }
  }

  @Test("the curve secp256k1 is not allowed")
  func secp256k1() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let key = try workspace.generateKey(
      "k1", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:secp256k1"])
    let csr = try workspace.request("k1", key: key)
    expectCAError(.csrCurveNotAllowed) { try CertificateRequestCheck.check(workspace.read(csr)) }
  }

  @Test("an Ed25519 key is not allowed")
  func ed25519() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let key = try workspace.generateKey("ed", ["-algorithm", "ED25519"])
    let csr = try workspace.request("ed", key: key)
    expectCAError(.csrKeyNotAllowed) { try CertificateRequestCheck.check(workspace.read(csr)) }
  }

  // MARK: - Accepted

  @Test("PEM with leading whitespace, the NEW CERTIFICATE REQUEST label, and raw DER are read")
  func envelopes() throws {
    let key = P256.Signing.PrivateKey()
    let pem = try TestCSR.pem(Certificate.PrivateKey(key))
    let der = try PEMDocument(pemString: pem).derBytes
    let expected = Certificate.PublicKey(key.publicKey)

    let padded = try CertificateRequestCheck.check(pem: " \n\t\r\n  " + pem + "\n\n")
    #expect(padded.publicKey == expected)
    #expect(padded.der == der)

    let legacy = try CertificateRequestCheck.check(
      pem: PEMDocument(type: "NEW CERTIFICATE REQUEST", derBytes: der).pemString)
    #expect(legacy.publicKey == expected)
    #expect(legacy.der == der)

    let raw = try CertificateRequestCheck.check(der)
    #expect(raw.publicKey == expected)
    #expect(raw.der == der)
    #expect(raw.keyType == .ecP256)
  }

  static let acceptedKeys: [(options: [String], type: SubscriberKeyType)] = [
    (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], .rsa(bits: 2048)),
    (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"], .rsa(bits: 3072)),
    (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096"], .rsa(bits: 4096)),
    (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], .ecP256),
    (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], .ecP384),
    (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"], .ecP521),
  ]

  @Test(
    "OpenSSL requests with allowed keys are accepted, with the key type and the SPKI fingerprint",
    arguments: 0..<6)
  func acceptedKey(index: Int) throws {
    let (options, type) = Self.acceptedKeys[index]
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let key = try workspace.generateKey("subscriber", options)
    let csr = try workspace.request("subscriber", key: key)
    let checked = try CertificateRequestCheck.check(workspace.read(csr))
    #expect(checked.keyType == type)
    #expect(
      checked.der
        == (try PEMDocument(pemString: String(decoding: workspace.read(csr), as: UTF8.self))
          .derBytes))

    let publicPEM = workspace.path("public.pem")
    let publicDER = workspace.path("public.der")
    try workspace.run(["req", "-in", csr, "-pubkey", "-noout", "-out", publicPEM])
    try workspace.run(["pkey", "-pubin", "-in", publicPEM, "-outform", "DER", "-out", publicDER])
    let spki = try workspace.read(publicDER)
    #expect(checked.keyFingerprint == Array(SHA256.hash(data: spki)))
    #expect(checked.keyFingerprint.count == 32)
    #expect(checked.publicKey.subjectPublicKeyInfoDER == spki)
  }
}
