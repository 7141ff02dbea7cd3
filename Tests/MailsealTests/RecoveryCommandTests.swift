import Crypto
import Foundation
import MailsealCA
import MailsealModel
import Testing
import X509

@testable import MailsealRA
@testable import MailsealWeb

/// `mailseal recovery …` as the officers and the administrator run it: a
/// recovery key made offline and split, its certificate installed, an
/// envelope opened with enough shares and refused with too few.
@Suite("The recovery commands")
struct RecoveryCommandTests {
  /// An environment with no data folder, no database and no configuration:
  /// what the offline machine has.
  static var offlineEnvironment: [String: String] {
    ProcessInfo.processInfo.environment.filter { ["PATH", "HOME"].contains($0.key) }
  }

  static func read(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

  @Test("init --split 5 --threshold 3 offline; install and show; open with 3 shares, not with 2")
  func ceremony() async throws {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let keys = folder.appendingPathComponent("keys")
    // The offline machine: no MAILSEAL_DATA_DIR, no database. A data
    // folder the default would name is not made.
    let made = try Run.program(
      Run.mailsealExecutable,
      ["recovery", "init", "--out", keys.path, "--split", "5", "--threshold", "3"],
      environment: Self.offlineEnvironment, in: folder)
    try #require(made.status == 0, "\(made.output)")
    let files = try FileManager.default.contentsOfDirectory(atPath: keys.path).sorted()
    #expect(
      files
        == ["recovery-certificate.pem"] + (1...5).map { "recovery-share-\($0)-of-5.pem" })
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["keys"])
    let certificate = try RecoveryCertificate(
      try Self.read(keys.appendingPathComponent("recovery-certificate.pem")))
    #expect(made.output.contains(certificate.fingerprintText))
    // Each share is readable only by its owner.
    let attributes = try FileManager.default.attributesOfItem(
      atPath: keys.appendingPathComponent("recovery-share-1-of-5.pem").path)
    #expect((attributes[.posixPermissions] as? Int) == 0o600)
    // A second init into the same folder overwrites nothing.
    let again = try Run.program(
      Run.mailsealExecutable, ["recovery", "init", "--out", keys.path],
      environment: Self.offlineEnvironment)
    #expect(again.status != 0)
    #expect(again.output.contains("not empty"))

    // The portal: install the certificate (twice: nothing changes), show it.
    let sandbox = try await CommandLineTests.Sandbox.make()
    let certificatePath = keys.appendingPathComponent("recovery-certificate.pem").path
    let installed = try sandbox.mailseal("recovery", "install", "--cert", certificatePath)
    #expect(installed.status == 0, "\(installed.output)")
    #expect(installed.output.contains("Installed recovery certificate"))
    // Installed is not in force: it says what to pin, and that escrow
    // stays off until the pin names it.
    #expect(
      installed.output.contains(
        "MAILSEAL_RECOVERY_FINGERPRINTS=\(certificate.fingerprint.hexString)"),
      "\(installed.output)")
    #expect(installed.output.contains("key escrow stays off until MAILSEAL_RECOVERY_FINGERPRINTS"))
    let twice = try sandbox.mailseal("recovery", "install", "--cert", certificatePath)
    #expect(twice.status == 0)
    #expect(twice.output.contains("installed already"))
    let shown = try sandbox.mailseal("recovery", "show")
    #expect(shown.output.contains(certificate.fingerprintText))
    #expect(shown.output.components(separatedBy: "SHA-256").count == 2)
    let audit = try sandbox.mailseal("audit", "export")
    #expect(
      audit.output.components(separatedBy: "recovery-certificate.installed").count == 2,
      "\(audit.output.suffix(2000))")
    // A certificate that is no recovery certificate is refused.
    let share = keys.appendingPathComponent("recovery-share-1-of-5.pem").path
    let refused = try sandbox.mailseal("recovery", "install", "--cert", share)
    #expect(refused.status != 0)
    #expect(refused.output.contains("recovery-material-invalid"))
    await sandbox.cleanUp()

    // A person's encryption key, escrowed to the recovery certificate.
    let person = P256.Signing.PrivateKey()
    let personCertificate = try Self.selfSigned(person, name: "Erika Mustermann")
    let other = try Self.selfSigned(P256.Signing.PrivateKey(), name: "Someone Else")
    let envelope = try KeyEnvelope.seal(Array(person.derRepresentation), to: [certificate])
    let envelopeURL = folder.appendingPathComponent("envelope.der")
    try Data(envelope).write(to: envelopeURL)
    let certificateURL = folder.appendingPathComponent("person.pem")
    try personCertificate.write(to: certificateURL, atomically: true, encoding: .utf8)
    let otherURL = folder.appendingPathComponent("other.pem")
    try other.write(to: otherURL, atomically: true, encoding: .utf8)

    func open(_ shares: [Int], certificate: URL, out: String) throws -> Run.Result {
      try Run.program(
        Run.mailsealExecutable,
        ["recovery", "open", "--envelope", envelopeURL.path, "--certificate", certificate.path]
          + shares.flatMap {
            ["--share", keys.appendingPathComponent("recovery-share-\($0)-of-5.pem").path]
          } + ["--out", folder.appendingPathComponent(out).path],
        environment: Self.offlineEnvironment)
    }
    // Two of five: refused, nothing written.
    let two = try open([2, 4], certificate: certificateURL, out: "two.p12")
    #expect(two.status != 0)
    #expect(two.output.contains("needs 3"))
    #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("two.p12").path))
    // Three of five but the wrong person's certificate: refused.
    let wrong = try open([1, 3, 5], certificate: otherURL, out: "wrong.p12")
    #expect(wrong.status != 0)
    #expect(wrong.output.contains("recovered-key-mismatch"))
    #expect(
      !FileManager.default.fileExists(atPath: folder.appendingPathComponent("wrong.p12").path))
    // Three of five: a PKCS#12 under a fresh password OpenSSL opens.
    let three = try open([5, 1, 3], certificate: certificateURL, out: "three.p12")
    try #require(three.status == 0, "\(three.output)")
    let password = try #require(three.output.split(separator: "\n").last.map(String.init))
    #expect(password.count == 29)
    let keyOut = folder.appendingPathComponent("key.der")
    let opened = try Run.program(
      "/bin/sh",
      [
        "-c",
        "openssl pkcs12 -in \"$1\" -passin \"pass:$2\" -nodes -nocerts | openssl pkcs8 -topk8 -nocrypt -outform DER -out \"$3\"",
        "sh", folder.appendingPathComponent("three.p12").path, password, keyOut.path,
      ])
    #expect(opened.status == 0, "\(opened.output)")
    #expect(try Self.read(keyOut) == Array(person.derRepresentation))

    // The escrow check: a folder as `recovery export` writes it, with one
    // good envelope and one a faulty browser made (another key inside).
    let export = folder.appendingPathComponent("export")
    try FileManager.default.createDirectory(at: export, withIntermediateDirectories: true)
    try Data(envelope).write(to: export.appendingPathComponent("aa01.envelope.der"))
    try personCertificate.write(
      to: export.appendingPathComponent("aa01.certificate.pem"), atomically: true, encoding: .utf8)
    let faulty = try KeyEnvelope.seal(
      Array(P256.Signing.PrivateKey().derRepresentation), to: [certificate])
    try Data(faulty).write(to: export.appendingPathComponent("bb02.envelope.der"))
    try personCertificate.write(
      to: export.appendingPathComponent("bb02.certificate.pem"), atomically: true, encoding: .utf8)
    let shares = (1...3).map {
      keys.appendingPathComponent("recovery-share-\($0)-of-5.pem").path
    }
    let checked = try Run.program(
      Run.mailsealExecutable,
      ["recovery", "check", "--export", export.path]
        + shares.flatMap { ["--share", $0] },
      environment: Self.offlineEnvironment)
    #expect(checked.status != 0)
    #expect(checked.output.contains("FAULT bb02"), "\(checked.output)")
    #expect(!checked.output.contains("FAULT aa01"))
    #expect(checked.output.contains("2 envelope(s) checked, 1 good, 1 faulty"))
    try FileManager.default.removeItem(at: export.appendingPathComponent("bb02.envelope.der"))
    let good = try Run.program(
      Run.mailsealExecutable,
      ["recovery", "check", "--export", export.path] + shares.flatMap { ["--share", $0] },
      environment: Self.offlineEnvironment)
    #expect(good.status == 0, "\(good.output)")
    #expect(good.output.contains("1 envelope(s) checked, 1 good, 0 faulty"))
  }

  @Test("nine installs at once: eight recovery certificates installed, the ninth refused")
  func installLimit() async throws {
    // Nine recovery certificates (RSA 3072 by OpenSSL: quicker to make).
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let pems = try (0..<9).map { index in
      let certificate = folder.appendingPathComponent("r\(index).pem").path
      let made = try Run.program(
        "/usr/bin/openssl",
        [
          "req", "-x509", "-newkey", "rsa:3072", "-nodes", "-keyout",
          folder.appendingPathComponent("r\(index).key").path, "-subj", "/CN=Recovery \(index)",
          "-days", "30", "-addext", "keyUsage=critical,keyEncipherment", "-addext",
          "basicConstraints=critical,CA:FALSE", "-out", certificate,
        ])
      try #require(made.status == 0, "\(made.output)")
      return try Self.read(URL(fileURLWithPath: certificate))
    }
    try await TestInstallation.withApp { app in
      let certificates = RecoveryCertificates(database: app.db)
      let outcomes = await withTaskGroup(of: Bool.self) { group in
        for pem in pems {
          group.addTask {
            // A store too busy to answer (the whole suite runs at once)
            // is tried again, as an administrator would; only the limit
            // refuses.
            for _ in 0..<50 {
              do {
                guard case .installed = try await certificates.install(pem) else { return false }
                return true
              } catch let error as CAError where error.code == .recoveryMaterialInvalid {
                return false
              } catch {
                continue
              }
            }
            return false
          }
        }
        return await group.reduce(into: [Bool]()) { $0.append($1) }
      }
      #expect(outcomes.filter { $0 }.count == RecoveryCertificates.maximum)
      #expect(try await certificates.installed().count == RecoveryCertificates.maximum)
      let events = try await AuditTrail.search(
        actor: nil, action: AuditAction.recoveryCertificateInstalled.rawValue, subject: nil,
        before: nil, limit: 100, on: app.db)
      #expect(events.count == RecoveryCertificates.maximum)
    }
  }

  /// A self-signed certificate for a key, PEM: a stand-in for the
  /// encryption certificate the CA issued.
  static func selfSigned(_ key: P256.Signing.PrivateKey, name: String) throws -> String {
    let subject = try DistinguishedName { CommonName(name) }
    let certificate = try Certificate(
      version: .v3, serialNumber: Certificate.SerialNumber(),
      publicKey: Certificate.PublicKey(key.publicKey), notValidBefore: Date(),
      notValidAfter: Date().addingTimeInterval(86_400), issuer: subject, subject: subject,
      signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
      issuerPrivateKey: Certificate.PrivateKey(key))
    return try certificate.serializeAsPEM().pemString
  }
}
