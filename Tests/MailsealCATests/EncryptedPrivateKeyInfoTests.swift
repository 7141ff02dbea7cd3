import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import MailsealCA

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// CA keys at rest: PKCS#8 encrypted with PBES2, read and written the way
/// OpenSSL does.
@Suite("Encrypted PKCS#8 keys, as OpenSSL reads and writes them")
struct EncryptedPrivateKeyInfoTests {
  static let passphrase = Array("correct horse battery staple".utf8)
  static let fast = 1_000

  /// A PKCS#8 PrivateKeyInfo of a fresh P-256 key.
  static func p256() -> (key: P256.Signing.PrivateKey, der: [UInt8]) {
    let key = P256.Signing.PrivateKey()
    return (key, Array(key.derRepresentation))
  }

  // MARK: - Round trips

  @Test("encrypt then decrypt returns the same PrivateKeyInfo")
  func roundTrip() throws {
    let (_, der) = Self.p256()
    let pem = try EncryptedPrivateKeyInfo.encrypt(
      privateKeyInfo: der, passphrase: Self.passphrase, iterations: Self.fast)
    #expect(pem.hasPrefix("-----BEGIN \(EncryptedPrivateKeyInfo.pemLabel)-----"))
    // Not the unencrypted form's armour (taken from the key made above).
    let (plain, _) = Self.p256()
    #expect(!pem.contains(plain.pemRepresentation.prefix { $0 != "\n" }))
    #expect(
      try EncryptedPrivateKeyInfo.decrypt(Array(pem.utf8), passphrase: Self.passphrase) == der)
    // DER input is read too.
    let encryptedDER = try PEMDocument(pemString: pem).derBytes
    #expect(try EncryptedPrivateKeyInfo.decrypt(encryptedDER, passphrase: Self.passphrase) == der)
  }

  @Test("two encryptions of one key differ (fresh salt and IV)")
  func freshSaltAndIV() throws {
    let (_, der) = Self.p256()
    let first = try EncryptedPrivateKeyInfo.encrypt(
      privateKeyInfo: der, passphrase: Self.passphrase, iterations: Self.fast)
    let second = try EncryptedPrivateKeyInfo.encrypt(
      privateKeyInfo: der, passphrase: Self.passphrase, iterations: Self.fast)
    #expect(first != second)
    #expect(!Array(try PEMDocument(pemString: first).derBytes).containsBytes(Array(der.suffix(32))))
  }

  @Test("the default iteration count round-trips and is what the file says")
  func defaultIterations() throws {
    let (_, der) = Self.p256()
    let pem = try EncryptedPrivateKeyInfo.encrypt(privateKeyInfo: der, passphrase: Self.passphrase)
    #expect(
      try EncryptedPrivateKeyInfo.decrypt(Array(pem.utf8), passphrase: Self.passphrase) == der)
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let file = try workspace.write("default.pem", pem)
    let dump = try workspace.run(["asn1parse", "-in", file])
    // asn1parse prints an INTEGER's content octets in hex.
    var expectedCount = String(
      EncryptedPrivateKeyInfo.defaultIterations, radix: 16, uppercase: true)
    if expectedCount.count % 2 == 1 { expectedCount = "0" + expectedCount }
    if let first = expectedCount.first?.hexDigitValue, first >= 8 {
      expectedCount = "00" + expectedCount
    }
    #expect(dump.contains("INTEGER           :\(expectedCount)"), "\(dump)")
    #expect(dump.contains("hmacWithSHA256"))
    #expect(dump.contains("aes-256-cbc"))
  }

  @Test("openssl pkey opens our file with the passphrase and finds our public key")
  func opensslReadsOurs() throws {
    let (key, der) = Self.p256()
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let file = try workspace.write(
      "ours.pem",
      try EncryptedPrivateKeyInfo.encrypt(
        privateKeyInfo: der, passphrase: Self.passphrase, iterations: Self.fast)
    )
    let publicDER = workspace.path("public.der")
    try workspace.run([
      "pkey", "-in", file, "-passin", "pass:correct horse battery staple", "-pubout", "-outform",
      "DER", "-out", publicDER,
    ])
    #expect(try workspace.read(publicDER) == Array(key.publicKey.derRepresentation))
    // With the wrong passphrase OpenSSL refuses it too.
    let wrong = try ExternalTool.openssl([
      "pkey", "-in", file, "-passin", "pass:wrong horse battery staple", "-noout",
    ])
    #expect(wrong.status != 0)
  }

  static let opensslVariants: [(name: String, options: [String])] = [
    ("aes-256-cbc, default prf", ["-v2", "aes-256-cbc"]),
    ("aes-256-cbc, hmacWithSHA512", ["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512"]),
    ("aes-128-cbc", ["-v2", "aes-128-cbc"]),
    ("aes-192-cbc, hmacWithSHA1", ["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA1"]),
  ]

  @Test("we read what openssl pkcs8 -topk8 writes", arguments: 0..<4)
  func weReadOpenSSL(index: Int) throws {
    let (name, options) = Self.opensslVariants[index]
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let plain = try workspace.generateKey(
      "plain", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"])
    let encrypted = workspace.path("encrypted.pem")
    try workspace.run(
      [
        "pkcs8", "-topk8", "-in", plain, "-out", encrypted, "-passout",
        "pass:correct horse battery staple", "-iter", "2048",
      ]
        + options
    )
    let text = String(decoding: try workspace.read(encrypted), as: UTF8.self)
    #expect(text.contains("BEGIN \(EncryptedPrivateKeyInfo.pemLabel)"), "\(name)")
    let der = try EncryptedPrivateKeyInfo.decrypt(
      workspace.read(encrypted), passphrase: Self.passphrase)
    let ours = try P384.Signing.PrivateKey(derRepresentation: der)
    let theirs = try P384.Signing.PrivateKey(
      pemRepresentation: String(decoding: try workspace.read(plain), as: UTF8.self))
    #expect(ours.rawRepresentation == theirs.rawRepresentation, "\(name)")
    // And it is a CA key we can sign with.
    let signing = try SoftwareSigningKey(privateKeyInfo: der)
    #expect(signing.keyType == .p384)
  }

  // MARK: - Refusals

  @Test("a wrong passphrase is reported as such")
  func wrongPassphrase() throws {
    let (_, der) = Self.p256()
    let pem = try EncryptedPrivateKeyInfo.encrypt(
      privateKeyInfo: der, passphrase: Self.passphrase, iterations: Self.fast)
    for wrong in ["Correct horse battery staple", "", "correct horse battery stapl"] {
      expectCAError(.wrongPassphrase, "passphrase \(wrong)") {
        try EncryptedPrivateKeyInfo.decrypt(Array(pem.utf8), passphrase: Array(wrong.utf8))
      }
    }
  }

  @Test("garbage is not CA material")
  func garbage() {
    var generator = SplitMix64(seed: 0xBAD_5EED)
    for input in [
      generator.bytes(300), Array("hello".utf8), [],
      Array("-----BEGIN \(EncryptedPrivateKeyInfo.pemLabel)-----\nzzz\n".utf8),
    ] {
      expectCAError(.caMaterialInvalid) {
        try EncryptedPrivateKeyInfo.decrypt(input, passphrase: Self.passphrase)
      }
    }
  }

  @Test("an unencrypted PKCS#8 PEM is refused")
  func unencrypted() throws {
    let (key, _) = Self.p256()
    let error = expectCAError(.caMaterialInvalid) {
      try EncryptedPrivateKeyInfo.decrypt(
        Array(key.pemRepresentation.utf8), passphrase: Self.passphrase)
    }
    #expect(error?.message.contains(EncryptedPrivateKeyInfo.pemLabel) == true)
    // Its bare DER is not an EncryptedPrivateKeyInfo either.
    expectCAError(.caMaterialInvalid) {
      try EncryptedPrivateKeyInfo.decrypt(Array(key.derRepresentation), passphrase: Self.passphrase)
    }
  }

  /// An EncryptedPrivateKeyInfo with the given PBKDF2 iteration count and
  /// random ciphertext, built by hand.
  static func handMade(
    iterations: Int, cipher: ASN1ObjectIdentifier = EncryptedPrivateKeyInfo.aes256CBC
  ) throws -> [UInt8] {
    var generator = SplitMix64(seed: UInt64(bitPattern: Int64(iterations)))
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(EncryptedPrivateKeyInfo.pbes2)
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(EncryptedPrivateKeyInfo.pbkdf2)
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(ASN1OctetString(contentBytes: generator.bytes(16)[...]))
              try coder.serialize(iterations)
              try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(EncryptedPrivateKeyInfo.hmacWithSHA256)
                try coder.serialize(ASN1Null())
              }
            }
          }
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.serialize(cipher)
            try coder.serialize(ASN1OctetString(contentBytes: generator.bytes(16)[...]))
          }
        }
      }
      try coder.serialize(ASN1OctetString(contentBytes: generator.bytes(48)[...]))
    }
    return coder.serializedBytes
  }

  @Test("an iteration count above the maximum is refused before any work")
  func tooManyIterations() throws {
    let hostile = try Self.handMade(iterations: EncryptedPrivateKeyInfo.maximumIterations + 1)
    let clock = ContinuousClock()
    let elapsed = clock.measure {
      expectCAError(.caMaterialInvalid) {
        try EncryptedPrivateKeyInfo.decrypt(hostile, passphrase: Self.passphrase)
      }
    }
    #expect(elapsed < .seconds(1), "refusing took \(elapsed)")
    // The same file with a sane count gets as far as the passphrase.
    let sane = try Self.handMade(iterations: 10)
    expectCAError(.wrongPassphrase) {
      try EncryptedPrivateKeyInfo.decrypt(sane, passphrase: Self.passphrase)
    }
    // Zero and negative counts are not files either.
    expectCAError(.caMaterialInvalid) {
      try EncryptedPrivateKeyInfo.decrypt(Self.handMade(iterations: 0), passphrase: Self.passphrase)
    }
    expectCAError(.caMaterialInvalid) {
      try EncryptedPrivateKeyInfo.decrypt(
        Self.handMade(iterations: -1), passphrase: Self.passphrase)
    }
  }

  @Test("a cipher other than AES-CBC is refused")
  func unknownCipher() throws {
    let desEDE3CBC: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 3, 7]
    expectCAError(.caMaterialInvalid) {
      try EncryptedPrivateKeyInfo.decrypt(
        Self.handMade(iterations: 10, cipher: desEDE3CBC), passphrase: Self.passphrase)
    }
  }

  // MARK: - File custody

  static func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return try #require(attributes[.posixPermissions] as? Int) & 0o777
  }

  @Test("generateKey writes a 0600 file in a 0700 folder; loadKey reads it back")
  func fileCustody() throws {
    let base = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(base) }
    let folder = base.appendingPathComponent("keys")
    let custody = try FileKeyCustody(
      directory: folder, passphrase: Self.passphrase, iterations: Self.fast)
    #expect(try Self.permissions(folder.path) == 0o700)

    let (reference, key) = try custody.generateKey(.p256, label: "issuing-test")
    #expect(reference.scheme == "file")
    #expect(reference.rawValue == "file:issuing-test.key.pem")
    let file = folder.appendingPathComponent(reference.locator).path
    #expect(try Self.permissions(file) == 0o600)
    let contents = try String(contentsOfFile: file, encoding: .utf8)
    #expect(contents.hasPrefix("-----BEGIN \(EncryptedPrivateKeyInfo.pemLabel)-----"))
    // No temporary file is left behind.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["issuing-test.key.pem"])

    let loaded = try custody.loadKey(reference)
    #expect(loaded.publicKey == key.publicKey)
    #expect(loaded.keyType == .p256)
    // The loaded key signs, and its signature verifies with the generated key's public half.
    let message: [UInt8] = Array("to be signed".utf8)
    let signature = try P256.Signing.ECDSASignature(derRepresentation: loaded.sign(message[...]))
    #expect(
      try P256.Signing.PublicKey(derRepresentation: key.publicKey.subjectPublicKeyInfoDER)
        .isValidSignature(signature, for: message))

    // openssl opens the custody file with the passphrase.
    let opened = try ExternalTool.openssl([
      "pkey", "-in", file, "-passin", "pass:correct horse battery staple", "-noout",
    ])
    #expect(opened.status == 0, "\(opened.output)")
  }

  @Test("generateKey refuses to overwrite an existing label")
  func noOverwrite() throws {
    let base = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(base) }
    let custody = try FileKeyCustody(
      directory: base.appendingPathComponent("keys"), passphrase: Self.passphrase,
      iterations: Self.fast)
    let (reference, first) = try custody.generateKey(.p256, label: "root")
    let file = custody.directory.appendingPathComponent(reference.locator).path
    let before = try Data(contentsOf: URL(fileURLWithPath: file))
    let error = #expect(throws: CAError.self) { try custody.generateKey(.p256, label: "root") }
    #expect(error?.code == .keyCustody)
    #expect(error?.message.contains("already exists") == true)
    #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == before)
    #expect(try custody.loadKey(reference).publicKey == first.publicKey)
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: custody.directory.path) == [
        "root.key.pem"
      ])
  }

  @Test("a reference of another backend fails naming the backend")
  func otherBackend() throws {
    let base = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(base) }
    let custody = try FileKeyCustody(
      directory: base.appendingPathComponent("keys"), passphrase: Self.passphrase,
      iterations: Self.fast)
    let reference = KeyReference(rawValue: "pkcs11:token=Mailseal;object=issuing")
    #expect(reference.scheme == "pkcs11")
    let error = #expect(throws: CAError.self) { try custody.loadKey(reference) }
    #expect(error?.code == .keyCustody)
    #expect(error?.message.contains("pkcs11") == true, "\(String(describing: error))")
  }

  @Test("the custody registry opens the backend a reference names, and refuses a scheme it lacks")
  func custodyRegistry() throws {
    let base = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(base) }
    let custody = try FileKeyCustody(
      directory: base.appendingPathComponent("keys"), passphrase: Self.passphrase,
      iterations: Self.fast)
    let (reference, key) = try custody.generateKey(.p256, label: "registry")
    var registry = KeyCustodyRegistry()
    registry.register("file") { custody }
    #expect(registry.schemes == ["file"])
    let loaded = try registry.custody(for: reference).loadKey(reference)
    #expect(loaded.publicKey == key.publicKey)
    let foreign = KeyReference(rawValue: "kms:projects/p/keys/k")
    let error = #expect(throws: CAError.self) { try registry.custody(for: foreign) }
    #expect(error?.code == .keyCustody)
    #expect(
      error?.message.contains("“kms”") == true && error?.message.contains("it has file") == true,
      "\(String(describing: error))")
  }

  @Test("a reference that leaves the folder is refused")
  func pathTraversal() throws {
    let base = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(base) }
    let custody = try FileKeyCustody(
      directory: base.appendingPathComponent("keys"), passphrase: Self.passphrase,
      iterations: Self.fast)
    for locator in ["../secret.pem", "/etc/passwd", ".hidden.key.pem", ""] {
      let error = #expect(throws: CAError.self, "\(locator)") {
        try custody.loadKey(KeyReference(rawValue: "file:\(locator)"))
      }
      #expect(error?.code == .keyCustody)
    }
  }

  @Test("a passphrase shorter than 12 characters is refused")
  func shortPassphrase() throws {
    let base = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(base) }
    #expect(FileKeyCustody.minimumPassphraseLength == 12)
    let folder = base.appendingPathComponent("keys")
    let error = expectCAError(.keyCustody) {
      try FileKeyCustody(directory: folder, passphrase: Array("elevenchars".utf8))
    }
    #expect(error?.message.contains("12") == true)
    expectCAError(.keyCustody) { try FileKeyCustody(directory: folder, passphrase: []) }
    // Refused before the folder is made.
    #expect(!FileManager.default.fileExists(atPath: folder.path))
    _ = try FileKeyCustody(directory: folder, passphrase: Array("twelve chars".utf8))
    #expect(FileManager.default.fileExists(atPath: folder.path))
  }

  @Test(
    "importKey takes over an openssl-encrypted P-256 key and re-encrypts it under the custody passphrase"
  )
  func importKey() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let plain = try workspace.generateKey(
      "plain", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    let encrypted = workspace.path("encrypted.pem")
    try workspace.run([
      "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-iter", "2048", "-in", plain, "-out", encrypted,
      "-passout", "pass:import passphrase",
    ])
    let custody = try FileKeyCustody(
      directory: workspace.folder.appendingPathComponent("keys"), passphrase: Self.passphrase,
      iterations: Self.fast
    )
    let (reference, imported) = try custody.importKey(
      encryptedPKCS8: workspace.read(encrypted), passphrase: Array("import passphrase".utf8),
      label: "imported"
    )
    let theirs = try P256.Signing.PrivateKey(
      pemRepresentation: String(decoding: try workspace.read(plain), as: UTF8.self))
    #expect(imported.publicKey == Certificate.PublicKey(theirs.publicKey))
    #expect(try custody.loadKey(reference).publicKey == imported.publicKey)
    // The wrong import passphrase is reported as such, and nothing is written.
    expectCAError(.wrongPassphrase) {
      try custody.importKey(
        encryptedPKCS8: workspace.read(encrypted), passphrase: Self.passphrase, label: "other")
    }
    #expect(
      !FileManager.default.fileExists(
        atPath: custody.directory.appendingPathComponent("other.key.pem").path))
  }
}
