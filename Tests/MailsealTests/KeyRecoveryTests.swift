import Crypto
import Fluent
import Foundation
import MailsealCA
import MailsealModel
import Testing
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// Key recovery in the portal: asked for by the person or an administrator,
/// approved by two different recovery officers, then the envelope — each
/// rule refused where it is broken, and the deciding statements atomic.
@Suite("Key recovery: two officers, then the envelope")
struct KeyRecoveryTests {
  static let mailbox = "zoe@example.edu"

  /// An escrow request issued: the encryption certificate and its key.
  static func escrowedCertificate(_ app: Application) async throws -> (
    encryption: CertificateRecord, signing: CertificateRecord, key: P256.Signing.PrivateKey
  ) {
    _ = try await RecoveryCertificates(database: app.db).install(
      Array(EscrowTests.recovery.certificate.der))
    try await prepareToServe(app)
    let key = P256.Signing.PrivateKey()
    let record = try await EscrowTests.submit(app, try EscrowTests.escrowForm(encryption: key))
    let desk = try await BackOfficeTests.staff(app, "desk-\(UUID())@example.edu")
    _ = try await app.registrationAuthority.desk.recordEvidence(
      number: record.number, BackOfficeTests.evidence(), by: .staff(desk))
    _ = try await app.registrationAuthority.desk.approve(number: record.number, by: .staff(desk))
    _ = try await #require(app.issuanceWorker).issueDue()
    let issued = try #require(try await CertificateRequestRecord.find(record.id, on: app.db))
    let encryption = try #require(
      try await CertificateRecord.find(issued.encryptionCertificateID, on: app.db))
    let signing = try #require(try await CertificateRecord.find(issued.certificateID, on: app.db))
    return (encryption, signing, key)
  }

  static func officer(_ app: Application, _ email: String) async throws -> StaffAccount {
    try await BackOfficeTests.staff(app, email, role: .recoveryOfficer)
  }

  static func code(_ body: () async throws -> Void) async -> String? {
    do {
      try await body()
      return nil
    } catch {
      return BackOfficeTests.code(error) ?? "\(error)"
    }
  }

  @Test(
    "asked by the person, approved by two officers, then downloaded: every refusal on the way, a mail and an audit record at each step"
  )
  func wholeWay() async throws {
    try await TestInstallation.withApp(environment: EscrowTests.environment("required")) { app in
      let (encryption, signing, key) = try await Self.escrowedCertificate(app)
      let authority = app.registrationAuthority
      // Only an escrowed key, only of one's own mailbox, with a reason.
      #expect(
        await Self.code {
          try await authority.recovery.askRecovery(
            serial: signing.serial, reason: "lost",
            by: .requester(mailbox: Self.mailbox, validation: .loginLink),
            language: .en)
        } == "recovery-not-escrowed")
      #expect(
        await Self.code {
          try await authority.recovery.askRecovery(
            serial: encryption.serial, reason: "lost",
            by: .requester(mailbox: "max@example.edu", validation: .loginLink), language: .en)
        } == "not-found")
      #expect(
        await Self.code {
          try await authority.recovery.askRecovery(
            serial: encryption.serial, reason: " \n ",
            by: .requester(mailbox: Self.mailbox, validation: .loginLink),
            language: .en)
        } == "invalid-reason")
      #expect(
        await Self.code {
          try await authority.recovery.askRecovery(
            serial: encryption.serial, reason: String(repeating: "x", count: 501),
            by: .requester(mailbox: Self.mailbox, validation: .loginLink), language: .en)
        } == "invalid-reason")
      let asked = try await authority.recovery.askRecovery(
        serial: encryption.serial, reason: "My laptop was stolen with the key file.",
        by: .requester(mailbox: Self.mailbox, validation: .loginLink), language: .en)
      #expect(asked.state == .requested && asked.number.hasPrefix("K-") && asked.approvals == 0)
      // One open recovery per certificate.
      #expect(
        await Self.code {
          try await authority.recovery.askRecovery(
            serial: encryption.serial, reason: "again",
            by: .requester(mailbox: Self.mailbox, validation: .loginLink),
            language: .en)
        } == "recovery-open")

      let anna = try await Self.officer(app, "anna@example.edu")
      let ben = try await Self.officer(app, "ben@example.edu")
      let carla = try await Self.officer(app, "carla@example.edu")
      let own = try await Self.officer(app, Self.mailbox)
      let deskOperator = try await BackOfficeTests.staff(app, "olaf@example.edu")
      // Only recovery officers decide, never about their own mailbox.
      #expect(
        await Self.code {
          try await authority.recovery.approveRecovery(
            number: asked.number, by: .staff(deskOperator))
        }
          == "forbidden-for-role")
      #expect(
        await Self.code {
          try await authority.recovery.approveRecovery(number: asked.number, by: .staff(own))
        }
          == "own-mailbox")
      let first = try await authority.recovery.approveRecovery(
        number: asked.number, by: .staff(anna))
      #expect(first.state == .requested && first.approvals == 1)
      // One officer approves once; nothing leaves before two approvals.
      #expect(
        await Self.code {
          try await authority.recovery.approveRecovery(number: asked.number, by: .staff(anna))
        }
          == "recovery-already-approved")
      #expect(
        await Self.code {
          _ = try await authority.recovery.downloadRecoveryEnvelope(
            number: asked.number, by: .staff(anna))
        } == "recovery-not-approved")
      #expect(
        try await KeyRecoveryApprovalRecord.query(on: app.db).count() == 1)
      let second = try await authority.recovery.approveRecovery(
        number: asked.number, by: .staff(ben))
      #expect(second.state == .approved && second.approvals == 2 && second.approvedAt != nil)
      #expect(second.expiresAt > Date().addingTimeInterval(6 * 86_400))
      // A third approval has nothing left to approve.
      #expect(
        await Self.code {
          try await authority.recovery.approveRecovery(number: asked.number, by: .staff(carla))
        }
          == "wrong-state")
      #expect(
        await Self.code {
          _ = try await authority.recovery.downloadRecoveryEnvelope(
            number: asked.number, by: .staff(own))
        } == "own-mailbox")
      #expect(
        await Self.code {
          _ = try await authority.recovery.downloadRecoveryEnvelope(
            number: asked.number, by: .staff(deskOperator))
        } == "forbidden-for-role")
      let download = try await authority.recovery.downloadRecoveryEnvelope(
        number: asked.number, by: .staff(carla))
      #expect(download.serial == encryption.serial && download.certificateDER == encryption.der)
      // What leaves is the envelope, which only the recovery key opens: it
      // holds the encryption certificate's key.
      let opened = try KeyEnvelope(derEncoded: Array(download.envelope)).open(
        with: EscrowTests.recovery.key)
      #expect(
        SubscriberKeyMatch.matches(
          privateKeyInfo: opened, certificate: try Certificate(derEncoded: Array(encryption.der))))
      #expect(Array(opened).count > 0 && key.publicKey.derRepresentation.count > 0)
      let downloaded = try await authority.recovery.recovery(number: asked.number)
      #expect(downloaded.downloads == 1 && downloaded.lastDownloadedBy == "carla@example.edu")

      // The person learnt of every step.
      let subjects = try await OutboxMessageRecord.query(on: app.db)
        .filter(\.$recipient == Self.mailbox).all().map(\.subject)
        .filter { $0.contains(asked.number) }
      #expect(subjects.filter { $0.contains("asked for") }.count == 1)
      #expect(subjects.filter { $0.contains("approval 1 of 2") }.count == 1)
      #expect(subjects.filter { $0.contains("approval 2 of 2") }.count == 1)
      #expect(subjects.filter { $0.contains("handed out") }.count == 1)
      // And the trail has each step, by whom.
      let trail = try await AuditTrail.search(
        actor: nil, action: nil, subject: asked.number, before: nil, limit: 20, on: app.db)
      #expect(
        Set(trail.map { "\($0.action) \($0.actor)" }) == [
          "key-recovery.requested requester:\(Self.mailbox)",
          "key-recovery.approved \(AuditEvent.staff("anna@example.edu"))",
          "key-recovery.approved \(AuditEvent.staff("ben@example.edu"))",
          "key-recovery.envelope-downloaded \(AuditEvent.staff("carla@example.edu"))",
        ])
    }
  }

  @Test(
    "an administrator asks for a person who has left; never for their own mailbox, and whoever asked does not approve"
  )
  func administratorAsks() async throws {
    try await TestInstallation.withApp(environment: EscrowTests.environment("required")) { app in
      let (encryption, _, _) = try await Self.escrowedCertificate(app)
      let authority = app.registrationAuthority
      let deskOperator = try await BackOfficeTests.staff(app, "olaf@example.edu")
      #expect(
        await Self.code {
          try await authority.recovery.askRecovery(
            serial: encryption.serial, reason: "left", by: .staff(deskOperator), language: .en)
        } == "forbidden-for-role")
      let ownAdmin = try await BackOfficeTests.staff(app, Self.mailbox, role: .admin)
      #expect(
        await Self.code {
          try await authority.recovery.askRecovery(
            serial: encryption.serial, reason: "left", by: .staff(ownAdmin), language: .en)
        } == "own-mailbox")
      var admin = try await BackOfficeTests.staff(app, "ada@example.edu", role: .admin)
      let asked = try await authority.recovery.askRecovery(
        serial: encryption.serial, reason: "Zoë has left; her team needs the archive.",
        by: .staff(admin), language: .de)
      #expect(
        asked.askedByOperatorID == admin.id && asked.askedBy == AuditEvent.staff("ada@example.edu"))
      // The person's mail is in the language of their request (English).
      let mail = try #require(
        try await OutboxMessageRecord.query(on: app.db).filter(\.$recipient == Self.mailbox)
          .all().first { $0.subject.contains(asked.number) })
      #expect(mail.message.contains("An administrator has asked for the recovery"))
      // An administrator decides nothing; if the one who asked later becomes
      // a recovery officer, still not about this recovery.
      #expect(
        await Self.code {
          try await authority.recovery.approveRecovery(number: asked.number, by: .staff(admin))
        }
          == "forbidden-for-role")
      let stored = try #require(try await OperatorRecord.find(admin.id, on: app.db))
      stored.role = .recoveryOfficer
      try await stored.save(on: app.db)
      admin.role = .recoveryOfficer
      #expect(
        await Self.code {
          try await authority.recovery.approveRecovery(number: asked.number, by: .staff(admin))
        }
          == "recovery-own-request")
      #expect(try await KeyRecoveryApprovalRecord.query(on: app.db).count() == 0)
    }
  }

  @Test(
    "concurrent approvals: three officers, each three times at once — exactly two approvals, by two people"
  )
  func concurrentApprovals() async throws {
    try await TestInstallation.withApp(environment: EscrowTests.environment("required")) { app in
      let (encryption, _, _) = try await Self.escrowedCertificate(app)
      let authority = app.registrationAuthority
      let asked = try await authority.recovery.askRecovery(
        serial: encryption.serial, reason: "lost",
        by: .requester(mailbox: Self.mailbox, validation: .loginLink),
        language: .en)
      var officers: [StaffAccount] = []
      for name in ["anna", "ben", "carla"] {
        officers.append(try await Self.officer(app, "\(name)@example.edu"))
      }
      let outcomes = await withTaskGroup(of: String.self) { group in
        for officer in officers {
          for _ in 0..<3 {
            group.addTask {
              await Self.code {
                try await authority.recovery.approveRecovery(
                  number: asked.number, by: .staff(officer))
              } ?? "ok"
            }
          }
        }
        return await group.reduce(into: [String]()) { $0.append($1) }
      }
      #expect(outcomes.filter { $0 == "ok" }.count == 2, "\(outcomes)")
      // Everything else was refused for a reason, never an internal error.
      #expect(
        outcomes.allSatisfy { ["ok", "recovery-already-approved", "wrong-state"].contains($0) },
        "\(outcomes)")
      let record = try await authority.recovery.recovery(number: asked.number)
      let approvals = try await KeyRecoveryApprovalRecord.query(on: app.db).all()
      #expect(record.state == .approved && record.approvals == 2)
      #expect(approvals.count == 2 && Set(approvals.map(\.operatorID)).count == 2)
    }
  }

  @Test(
    "a recovery not approved in time expires and may be asked for again; a declined one lets nothing out"
  )
  func expiryAndDecline() async throws {
    try await TestInstallation.withApp(environment: EscrowTests.environment("required")) { app in
      let (encryption, _, _) = try await Self.escrowedCertificate(app)
      let authority = app.registrationAuthority
      let anna = try await Self.officer(app, "anna@example.edu")
      let ben = try await Self.officer(app, "ben@example.edu")
      let old = try await authority.recovery.askRecovery(
        serial: encryption.serial, reason: "lost",
        by: .requester(mailbox: Self.mailbox, validation: .loginLink),
        language: .en, now: Date().addingTimeInterval(-15 * 86_400))
      #expect(
        await Self.code {
          try await authority.recovery.approveRecovery(number: old.number, by: .staff(anna))
        }
          == "recovery-expired")
      let fresh = try await authority.recovery.askRecovery(
        serial: encryption.serial, reason: "lost, again",
        by: .requester(mailbox: Self.mailbox, validation: .loginLink),
        language: .en)
      #expect(try await authority.recovery.recovery(number: old.number).state == .expired)
      _ = try await authority.recovery.approveRecovery(number: fresh.number, by: .staff(anna))
      #expect(
        await Self.code {
          try await authority.recovery.declineRecovery(
            number: fresh.number, reason: "", by: .staff(ben))
        } == "invalid-reason")
      let declined = try await authority.recovery.declineRecovery(
        number: fresh.number, reason: "The person could not be reached to confirm.", by: .staff(ben)
      )
      #expect(declined.state == .declined && declined.declinedBy == "ben@example.edu")
      #expect(
        await Self.code {
          try await authority.recovery.approveRecovery(number: fresh.number, by: .staff(ben))
        }
          == "wrong-state")
      #expect(
        await Self.code {
          _ = try await authority.recovery.downloadRecoveryEnvelope(
            number: fresh.number, by: .staff(ben))
        } == "wrong-state")
      let mail = try #require(
        try await OutboxMessageRecord.query(on: app.db).filter(\.$recipient == Self.mailbox)
          .all().first { $0.subject.contains("\(fresh.number) declined") })
      #expect(
        mail.message.replacingOccurrences(of: "=\r\n", with: "").contains(
          "The person could not be reached to confirm."))
    }
  }
}
