import Crypto
import Fluent
import Foundation
import MailsealCA
import MailsealModel
import SwiftASN1
import Testing
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// Key escrow on the server: the policy, the envelope's checks, and one
/// identity check that issues a signing-only and an encryption-only
/// certificate.
@Suite("Key escrow: requests with two keys and an envelope")
struct EscrowTests {
  static let recovery = try! RecoveryKey.generate(organization: "Example Corp")
  static let stranger = try! RecoveryKey.generate(organization: "Someone else")

  /// The environment of an installation with escrow: `policy`, and the
  /// pins (by default the one recovery certificate the tests install).
  static func environment(
    _ policy: String, pinning pinned: [RecoveryCertificate] = [recovery.certificate]
  ) -> [String: String] {
    var environment = ["MAILSEAL_ESCROW": policy]
    if !pinned.isEmpty {
      environment["MAILSEAL_RECOVERY_FINGERPRINTS"] = pinned.map(\.fingerprintText).joined(
        separator: ",")
    }
    return environment
  }

  static func pem(_ key: P256.Signing.PrivateKey) throws -> String {
    try EnrollmentTests.csrPEM(Certificate.PrivateKey(key), algorithm: .ecdsaWithSHA256)
  }

  /// A form with escrow: a signing key, an encryption key and its envelope.
  static func escrowForm(
    encryption: P256.Signing.PrivateKey = P256.Signing.PrivateKey(),
    sealedFor certificates: [RecoveryCertificate] = [recovery.certificate],
    consent: Bool? = true, signing: P256.Signing.PrivateKey = P256.Signing.PrivateKey()
  ) throws -> RequestForm {
    var form = try EnrollmentTests.form(csr: try pem(signing))
    form.encryptionCsr = try pem(encryption)
    form.escrowEnvelope = Data(
      try KeyEnvelope.seal(Array(encryption.derRepresentation), to: certificates)
    ).base64EncodedString()
    form.escrowConsent = consent
    return form
  }

  static func submit(_ app: Application, _ form: RequestForm, mailbox: String = "zoe@example.edu")
    async throws -> CertificateRequest
  {
    try await app.registrationAuthority.enrollment.submit(
      form, session: RenewalTests.session(mailbox, at: Date()), language: .en)
  }

  static func refusal(_ app: Application, _ form: @autoclosure () throws -> RequestForm) async
    -> String?
  {
    do {
      _ = try await submit(app, try form())
      return nil
    } catch let error as MailsealError {
      return error.fields["escrow"]?.id ?? error.code.rawValue
    } catch let error as CAError {
      return error.code.rawValue
    } catch {
      return "\(error)"
    }
  }

  @Test(
    "escrow on without a recovery certificate: the portal does not start; the last one is not removed"
  )
  func noRecoveryCertificate() async throws {
    try await TestInstallation.withApp(environment: Self.environment("required")) { app in
      await #expect(throws: StartupFailure.self) { try await prepareToServe(app) }
      let certificates = RecoveryCertificates(database: app.db)
      _ = try await certificates.install(Array(Self.recovery.certificate.der))
      try await prepareToServe(app)
      // Rotation: the last one stays while escrow is on; with a successor
      // installed it goes, and the trail says so.
      let only = await #expect(throws: CAError.self) {
        try await certificates.remove(
          fingerprint: Self.recovery.certificate.fingerprintText, escrowOn: true)
      }
      #expect(only?.message.contains("successor") == true)
      _ = try await certificates.install(Array(Self.stranger.certificate.der))
      #expect(
        try await certificates.remove(
          fingerprint: Self.recovery.certificate.fingerprintText, escrowOn: true))
      #expect(
        try await certificates.installed().map(\.certificate) == [Self.stranger.certificate])
      #expect(
        try await !certificates.remove(
          fingerprint: Self.recovery.certificate.fingerprint.hexString, escrowOn: false))
      let removed = try await AuditTrail.search(
        actor: nil, action: AuditAction.recoveryCertificateRemoved.rawValue, subject: nil,
        before: nil, limit: 5, on: app.db)
      #expect(removed.count == 1)
    }
  }

  @Test(
    "one identity check, two certificates: signing-only and encryption-only, the envelope kept, consent audited"
  )
  func twoCertificates() async throws {
    try await TestInstallation.withApp(environment: Self.environment("optional")) { app in
      _ = try await RecoveryCertificates(database: app.db).install(
        Array(Self.recovery.certificate.der))
      try await prepareToServe(app)
      let encryption = P256.Signing.PrivateKey()
      let signing = P256.Signing.PrivateKey()
      let record = try await Self.submit(
        app, try Self.escrowForm(encryption: encryption, signing: signing))
      #expect(record.escrowConsentedAt != nil && record.encryptionCSRDER != nil)
      // Optional: a request without escrow is taken too (one dual-use key).
      let plain = try await Self.submit(
        app, try EnrollmentTests.form(), mailbox: "max@example.edu")
      #expect(plain.escrowEnvelope == nil && plain.encryptionKeyFingerprint == nil)

      let anna = try await BackOfficeTests.staff(app, "anna@example.edu")
      let authority = app.registrationAuthority
      for number in [record.number, plain.number] {
        _ = try await authority.desk.recordEvidence(
          number: number,
          BackOfficeTests.evidence(
            given: "Zoë", surname: "Müller"), by: .staff(anna))
        _ = try await authority.desk.approve(number: number, by: .staff(anna))
      }
      let worker = try #require(app.issuanceWorker)
      #expect(try await worker.issueDue() == 3)
      let issued = try #require(try await CertificateRequestRecord.find(record.id, on: app.db))
      #expect(issued.state == .issued)
      let signingRecord = try #require(
        try await CertificateRecord.find(issued.certificateID, on: app.db))
      let encryptionRecord = try #require(
        try await CertificateRecord.find(issued.encryptionCertificateID, on: app.db))
      #expect(signingRecord.keyPurpose == "signing" && encryptionRecord.keyPurpose == "encryption")
      let signingCertificate = try Certificate(derEncoded: Array(signingRecord.der))
      let encryptionCertificate = try Certificate(derEncoded: Array(encryptionRecord.der))
      #expect(signingCertificate.publicKey == Certificate.PublicKey(signing.publicKey))
      #expect(encryptionCertificate.publicKey == Certificate.PublicKey(encryption.publicKey))
      #expect(try signingCertificate.extensions.keyUsage == KeyUsage(digitalSignature: true))
      #expect(try encryptionCertificate.extensions.keyUsage == KeyUsage(keyAgreement: true))
      // The envelope is kept as sent; only the recovery key opens it, and
      // what it holds is the encryption certificate's key.
      let envelope = try KeyEnvelope(derEncoded: Array(try #require(issued.escrowEnvelope)))
      let opened = try envelope.open(with: Self.recovery.key)
      #expect(
        SubscriberKeyMatch.matches(privateKeyInfo: opened, certificate: encryptionCertificate))
      // The request without escrow: one dual-use certificate.
      let single = try #require(try await CertificateRequestRecord.find(plain.id, on: app.db))
      let dual = try #require(try await CertificateRecord.find(single.certificateID, on: app.db))
      #expect(dual.keyPurpose == "dual-use" && single.encryptionCertificateID == nil)
      // A renewal makes new keys, both of them.
      var reused = try Self.escrowForm(encryption: encryption)
      reused.renewalOf = signingRecord.serial
      #expect(await Self.refusal(app, reused) == "renewal-needs-new-key")
      var renewal = try Self.escrowForm()
      renewal.renewalOf = signingRecord.serial
      let renewed = try await Self.submit(app, renewal)
      #expect(renewed.renewalOf == signingRecord.id && renewed.escrowEnvelope != nil)
      // The consent is in the audit trail.
      let submitted = try await AuditTrail.search(
        actor: nil, action: AuditAction.requestSubmitted.rawValue, subject: record.number,
        before: nil, limit: 5, on: app.db)
      #expect(submitted.first?.details.contains("\"keyEscrow\":\"consented\"") == true)
    }
  }

  @Test(
    "refused: escrow when it is off; no consent; one key twice; an envelope for another recipient, or too large; the encryption key of another mailbox"
  )
  func refusals() async throws {
    try await TestInstallation.withApp { app in
      #expect(await Self.refusal(app, try Self.escrowForm()) == "field_escrow_not_offered")
    }
    try await TestInstallation.withApp(environment: Self.environment("required")) { app in
      let certificates = RecoveryCertificates(database: app.db)
      _ = try await certificates.install(Array(Self.recovery.certificate.der))
      try await prepareToServe(app)
      #expect(await Self.refusal(app, try EnrollmentTests.form()) == "field_escrow_required")
      #expect(
        await Self.refusal(app, try Self.escrowForm(consent: nil)) == "field_escrow_consent")
      let key = P256.Signing.PrivateKey()
      #expect(
        await Self.refusal(app, try Self.escrowForm(encryption: key, signing: key))
          == "field_escrow_same_key")
      #expect(
        await Self.refusal(app, try Self.escrowForm(sealedFor: [Self.stranger.certificate]))
          == "envelope-recipients-wrong")
      #expect(
        await Self.refusal(
          app,
          try Self.escrowForm(sealedFor: [Self.recovery.certificate, Self.stranger.certificate]))
          == "envelope-recipients-wrong")
      var large = try Self.escrowForm()
      large.escrowEnvelope = String(
        repeating: "A", count: Enrollment.maximumEnvelopeText + 4)
      #expect(await Self.refusal(app, large) == "envelope-too-large")
      var garbage = try Self.escrowForm()
      garbage.escrowEnvelope = Data([0x30, 0x03, 0x02, 0x01, 0x00]).base64EncodedString()
      #expect(await Self.refusal(app, garbage) == "envelope-malformed")
      // An encryption key already requested for another mailbox.
      let shared = P256.Signing.PrivateKey()
      _ = try await Self.submit(app, try Self.escrowForm(encryption: shared))
      do {
        _ = try await Self.submit(
          app, try Self.escrowForm(encryption: shared), mailbox: "max@example.edu")
        Issue.record("a key requested for another mailbox was taken")
      } catch let error as CAError {
        #expect(error.code == .keyAlreadyCertified)
      }
      // Nothing refused was stored.
      #expect(try await CertificateRequestRecord.query(on: app.db).count() == 1)
    }
  }

  @Test("a request's two certificates are never split between chunks of the pipeline")
  func chunksKeepPairs() throws {
    let subject = try ValidatedSubject.mailboxOnly("zoe@example.edu")
    var orders: [IssuanceOrder] = []
    // Single orders, then pairs straddling every chunk boundary.
    for _ in 0..<IssuanceService.chunkSize - 1 {
      orders.append(IssuanceOrder(request: [], subject: subject, requestID: UUID()))
    }
    for _ in 0..<200 {
      let id = UUID()
      orders.append(IssuanceOrder(request: [], subject: subject, requestID: id, purpose: .signing))
      orders.append(
        IssuanceOrder(request: [], subject: subject, requestID: id, purpose: .encryption))
    }
    let chunks = IssuanceService.chunks(of: orders)
    #expect(chunks.flatMap { $0 } == Array(orders.indices))
    for chunk in chunks.dropLast() {
      #expect(chunk.count <= IssuanceService.chunkSize + 1)
      let last = chunk.last!
      #expect(orders[last].requestID != orders[last + 1].requestID)
    }
  }
}
