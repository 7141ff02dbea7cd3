import Crypto
import Fluent
import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import SwiftASN1
import Testing
import Vapor
import X509
import _CryptoExtras

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// Escrow that a changed database cannot redirect: the recovery
/// certificates in force are pinned by the configuration
/// (`MAILSEAL_RECOVERY_FINGERPRINTS`), checked at start and at every use,
/// and envelopes are checked against the pinned keys themselves.
@Suite("Key escrow pinned outside the database")
struct EscrowPinTests {
  static let recovery = EscrowTests.recovery
  /// A certificate with the pinned one's issuer, serial number, names and
  /// extensions (its key identifier extension too) but another key: what
  /// someone who can write the database would put in its place.
  static let forged = try! forgery(of: recovery.certificate)

  static func forgery(of original: RecoveryCertificate) throws -> (
    key: RecoveryKey, certificate: RecoveryCertificate
  ) {
    let key = try _RSA.Encryption.PrivateKey(keySize: .bits3072)
    let signing = try _RSA.Signing.PrivateKey(derRepresentation: key.derRepresentation)
    let copy = original.certificate
    let certificate = try Certificate(
      version: .v3, serialNumber: copy.serialNumber,
      publicKey: Certificate.PublicKey(signing.publicKey),
      notValidBefore: copy.notValidBefore, notValidAfter: copy.notValidAfter,
      issuer: copy.issuer, subject: copy.subject, signatureAlgorithm: .sha256WithRSAEncryption,
      extensions: copy.extensions, issuerPrivateKey: Certificate.PrivateKey(signing))
    var coder = DER.Serializer()
    try coder.serialize(certificate)
    let forged = try RecoveryCertificate(coder.serializedBytes)
    return (try RecoveryKey(Array(key.derRepresentation)), forged)
  }

  /// Puts `certificate`'s bytes in the place of the installed `original`
  /// — the stored fingerprint column left as it was, as a careful forger
  /// would.
  static func swap(
    _ app: Application, _ original: RecoveryCertificate, for certificate: RecoveryCertificate
  )
    async throws
  {
    try await app.db.sql.raw(
      """
      UPDATE recovery_certificates SET der = \(bind: Data(certificate.der))
      WHERE sha256_fingerprint = \(bind: original.fingerprint.hexString)
      """
    ).run()
  }

  static func audited(_ app: Application, _ action: AuditAction) async throws -> Int {
    try await AuditTrail.search(
      actor: nil, action: action.rawValue, subject: nil, before: nil, limit: 50, on: app.db
    ).count
  }

  @Test(
    "the issuer and serial number of the pinned certificate with another key: its envelopes are refused"
  )
  func envelopeForAnotherKey() throws {
    let payload = Array(P256.Signing.PrivateKey().derRepresentation)
    #expect(Self.forged.certificate.keyIdentifier != Self.recovery.certificate.keyIdentifier)
    for naming in [KeyEnvelope.Naming.keyIdentifier, .issuerAndSerialNumber] {
      let envelope = try KeyEnvelope(
        derEncoded: KeyEnvelope.seal(payload, to: [Self.forged.certificate], naming: naming))
      let refused = #expect(throws: CAError.self, "\(naming)") {
        try envelope.checkRecipients([Self.recovery.certificate])
      }
      #expect(refused?.code == .envelopeRecipientsWrong)
      // The forger's key opens it: this is what the check keeps out.
      #expect(try envelope.open(with: Self.forged.key) == payload)
    }
    let right = try KeyEnvelope(
      derEncoded: KeyEnvelope.seal(payload, to: [Self.recovery.certificate]))
    try right.checkRecipients([Self.recovery.certificate])
  }

  @Test(
    "escrow on: no pin, a malformed pin, a pin that names nothing installed — the portal does not start, the variable named"
  )
  func start() async throws {
    // No pin at all.
    try await TestInstallation.withApp(
      environment: EscrowTests.environment("required", pinning: [])
    ) { app in
      _ = try await RecoveryCertificates(database: app.db).install(
        Array(Self.recovery.certificate.der))
      let failure = await #expect(throws: StartupFailure.self) { try await prepareToServe(app) }
      #expect(failure?.description.contains("MAILSEAL_RECOVERY_FINGERPRINTS is not set") == true)
      #expect(
        failure?.description.contains(Self.recovery.certificate.fingerprint.hexString) == true)
    }
    // Malformed: named in the configuration error (exit status 78).
    let data = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: data) }
    let pin = String(repeating: "ab", count: 32)
    for bad in ["abc", pin + "," + pin, String(repeating: "g", count: 64)] {
      let error = #expect(throws: ConfigurationError.self, "\(bad)") {
        try MailsealConfiguration.load(from: [
          "MAILSEAL_DATA_DIR": data.path, "MAILSEAL_RECOVERY_FINGERPRINTS": bad,
        ])
      }
      #expect(error?.problems.map(\.variable) == ["MAILSEAL_RECOVERY_FINGERPRINTS"])
    }
    // Colons and case do not matter.
    let pinned = try MailsealConfiguration.load(from: [
      "MAILSEAL_DATA_DIR": data.path,
      "MAILSEAL_RECOVERY_FINGERPRINTS": Self.recovery.certificate.fingerprintText,
    ])
    #expect(pinned.recoveryPins.fingerprints == [Self.recovery.certificate.fingerprint])
    // Pinned, but another certificate is installed: not started.
    try await TestInstallation.withApp(
      environment: EscrowTests.environment("required", pinning: [EscrowTests.stranger.certificate])
    ) { app in
      _ = try await RecoveryCertificates(database: app.db).install(
        Array(Self.recovery.certificate.der))
      let failure = await #expect(throws: StartupFailure.self) { try await prepareToServe(app) }
      #expect(failure?.description.contains("is not installed as pinned") == true)
      #expect(try await Self.audited(app, .escrowStopped) == 1)
    }
  }

  @Test(
    "the pinned certificate replaced in the database (same issuer and serial, another key): refused at start and at submission, escrow stopped once in the trail, the form and /healthz say so; put back, escrow goes on"
  )
  func swappedInTheDatabase() async throws {
    try await TestInstallation.withApp(environment: EscrowTests.environment("required")) { app in
      _ = try await RecoveryCertificates(database: app.db).install(
        Array(Self.recovery.certificate.der))
      try await prepareToServe(app)
      #expect(try await Self.audited(app, .escrowStopped) == 0)

      try await Self.swap(app, Self.recovery.certificate, for: Self.forged.certificate)
      // Whatever the envelope names — the forged key, or the pinned
      // certificate's issuer and serial number — nothing is taken.
      for sealedFor in [[Self.forged.certificate], [Self.recovery.certificate]] {
        #expect(
          await EscrowTests.refusal(app, try EscrowTests.escrowForm(sealedFor: sealedFor))
            == "escrow-stopped")
      }
      #expect(try await Self.audited(app, .escrowStopped) == 1)
      #expect(try await CertificateRequestRecord.query(on: app.db).count() == 0)

      // The form says so and gives the browser nothing to seal to.
      var browser = TestBrowser(app)
      try await EnrollmentTests.signIn(&browser, "zoe@example.edu")
      let form = try await browser.send(.GET, "/requests/new?desktop=1")
      #expect(form.body.contains("id=\"escrow-stopped\""))
      #expect(form.body.contains("data-recovery=\"\""))
      #expect(!form.body.contains(Data(Self.forged.certificate.der).base64EncodedString()))
      // /healthz names it (and stays 200: pages, issuance and OCSP go on).
      let health = try await browser.send(.GET, "/healthz", page: false)
      #expect(health.status == .ok)
      #expect(health.body.contains("stopped: the pinned recovery certificate"), "\(health.body)")
      // A restart refuses to start.
      await #expect(throws: StartupFailure.self) { try await prepareToServe(app) }
      #expect(try await Self.audited(app, .escrowStopped) == 1)

      // Put back: escrow goes on, once in the trail.
      try await Self.swap(app, Self.recovery.certificate, for: Self.recovery.certificate)
      let record = try await EscrowTests.submit(app, try EscrowTests.escrowForm())
      #expect(record.escrowSealedTo == Self.recovery.certificate.fingerprint.hexString)
      #expect(try await Self.audited(app, .escrowResumed) == 1)
      let page = try await browser.send(.GET, "/requests/new?desktop=1")
      #expect(!page.body.contains("id=\"escrow-stopped\""))
      #expect(
        page.body.contains(
          "data-recovery-pins=\"\(Self.recovery.certificate.fingerprint.hexString)\""))
      #expect(page.body.contains(Self.recovery.certificate.shortFingerprint))
    }
  }

  @Test(
    "installed but not pinned: not sealed to, not offered to the browser; the desk page shows the pin an envelope was sealed to"
  )
  func unpinnedAndDesk() async throws {
    try await TestInstallation.withApp(environment: EscrowTests.environment("optional")) { app in
      let certificates = RecoveryCertificates(database: app.db)
      _ = try await certificates.install(Array(Self.recovery.certificate.der))
      _ = try await certificates.install(Array(EscrowTests.stranger.certificate.der))
      try await prepareToServe(app)
      let check = try await app.registrationAuthority.enrollment.escrowCheck()
      #expect(check.problem == nil)
      #expect(check.inForce == [Self.recovery.certificate])
      #expect(check.unpinned == [EscrowTests.stranger.certificate])
      // Sealed to both (the unpinned one too): refused.
      #expect(
        await EscrowTests.refusal(
          app,
          try EscrowTests.escrowForm(
            sealedFor: [Self.recovery.certificate, EscrowTests.stranger.certificate]))
          == "envelope-recipients-wrong")
      var browser = TestBrowser(app)
      try await EnrollmentTests.signIn(&browser, "zoe@example.edu")
      let form = try await browser.send(.GET, "/requests/new?desktop=1")
      #expect(form.body.contains(Data(Self.recovery.certificate.der).base64EncodedString()))
      #expect(!form.body.contains(Data(EscrowTests.stranger.certificate.der).base64EncodedString()))

      let record = try await EscrowTests.submit(app, try EscrowTests.escrowForm())
      var desk = try await DeskWordsTests.signedInStaff(app, "anna@example.edu")
      let page = try await desk.send(.GET, "/operator/requests/\(record.number)")
      #expect(page.body.contains("id=\"request-escrow-pins\""))
      #expect(page.body.contains(Self.recovery.certificate.shortFingerprint))
      #expect(!page.body.contains(EscrowTests.stranger.certificate.shortFingerprint))
    }
  }
}
