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

/// The rest of the read-decide-write family (issue 15): each check that
/// guards a state holds when the same change arrives many times at once.
/// Real concurrency on one database (PostgreSQL in the PostgreSQL run).
@Suite("Concurrent changes: one key, one operator, one reminder, one test CA")
struct ConcurrencyTests {
  @Test("one key sent for several mailboxes at the same moment: one request only")
  func oneKeyManyMailboxes() async throws {
    try await TestInstallation.withApp(environment: EnrollmentTests.environment) { app in
      try await prepareToServe(app)
      let csr = try EnrollmentTests.csrPEM(
        Certificate.PrivateKey(P256.Signing.PrivateKey()), algorithm: .ecdsaWithSHA256)
      let form = try EnrollmentTests.form(csr: csr)
      let authority = app.registrationAuthority
      let accepted = await withTaskGroup(of: Bool.self) { group in
        for index in 0..<16 {
          group.addTask {
            let session = RenewalTests.session("user\(index)@example.edu", at: Date())
            return (try? await authority.enrollment.submit(form, session: session, language: .en))
              != nil
          }
        }
        return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
      }
      #expect(accepted == 1)
      let fingerprint = try CertificateRequestCheck.check(pem: csr).keyFingerprint.hexString
      let stored = try await CertificateRequestRecord.query(on: app.db)
        .filter(\.$keyFingerprint == fingerprint).count()
      #expect(stored == 1)
    }
  }

  @Test("one address added as an operator twice at once: one account, the other told it exists")
  func operatorAddedTwice() async throws {
    try await TestInstallation.withApp { app in
      let directory = app.operatorDirectory
      let outcomes = await withTaskGroup(of: String.self) { group in
        for _ in 0..<8 {
          group.addTask {
            do {
              _ = try await directory.add(email: "ada@example.edu", name: "Ada", role: .admin)
              return "added"
            } catch let error as MailsealError {
              return error.code.rawValue
            } catch {
              return "\(error)"
            }
          }
        }
        return await group.reduce(into: [String]()) { $0.append($1) }
      }
      #expect(outcomes.filter { $0 == "added" }.count == 1, "\(outcomes)")
      #expect(outcomes.filter { $0 == "operator-exists" }.count == 7, "\(outcomes)")
    }
  }

  @Test("two instances' reminder rounds at the same moment: each reminder is mailed once")
  func remindersOnce() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      var certificates: [CertificateRecord] = []
      for index in 0..<6 {
        certificates.append(try await LifecycleTests.issue(app, mailbox: "r\(index)@example.edu"))
      }
      let now = certificates[0].notAfter.addingTimeInterval(-29 * 86_400)
      let reminders = RenewalReminders(
        database: app.db, configuration: app.mailseal, logger: app.logger)
      let sent = await withTaskGroup(of: Int.self) { group in
        for _ in 0..<4 {
          group.addTask { (try? await reminders.sendDue(now: now)) ?? 0 }
        }
        return await group.reduce(0, +)
      }
      let mails = try await OutboxMessageRecord.query(on: app.db).all()
        .filter { $0.subject.contains("expires") }
      #expect(sent == 6 && mails.count == 6, "\(sent) \(mails.count)")
    }
  }

  @Test("instances starting together on an empty database make one test CA")
  func oneTestCA() async throws {
    try await TestInstallation.withApp { app in
      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<3 { group.addTask { try await prepareToServe(app) } }
        try await group.waitForAll()
      }
      let issuing = try await IssuerRecord.query(on: app.db).filter(\.$role == .issuing).count()
      #expect(issuing == 1)
    }
  }
}
