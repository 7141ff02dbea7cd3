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

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Renewal: identity evidence reused for 825 days, reminders before expiry")
struct RenewalTests {
  /// A requester's session for `mailbox`, validated at `now` (the clock of
  /// the test).
  static func session(_ mailbox: String, at now: Date) -> MailboxSession {
    MailboxSession(
      id: UUID(), csrfHash: "", mailbox: mailbox, validatedAt: now,
      validationMethod: MailboxValidation.loginLink.rawValue, createdAt: now,
      expiresAt: now.addingTimeInterval(3600))
  }

  static func renewalForm(_ serial: String, given: String = "Zoë", surname: String = "Müller")
    throws -> RequestForm
  {
    var form = try EnrollmentTests.form(given: given, surname: surname)
    form.renewalOf = serial
    return form
  }

  @Test(
    "a role mailbox's renewal reuses the evidence only for the person checked; another responsible person goes to the desk"
  )
  func roleRenewal() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let authority = app.registrationAuthority
      let mailbox = "sekretariat@example.edu"
      let certificate = try await LifecycleTests.issue(
        app, mailbox: mailbox, pseudonym: "Sekretariat")
      #expect(certificate.pseudonym == "Sekretariat" && certificate.givenName == nil)
      func renew(_ given: String, _ surname: String) async throws -> CertificateRequest {
        var form = try EnrollmentTests.form(
          type: "role", given: given, surname: surname, common: "Sekretariat")
        form.renewalOf = certificate.serial
        return try await authority.enrollment.submit(
          form, session: Self.session(mailbox, at: Date()), language: .en)
      }
      let same = try await renew("Zoë", "Müller")
      #expect(same.state == .verified && same.evidenceRequestID != nil)
      _ = try await authority.enrollment.withdraw(
        number: same.number, session: Self.session(mailbox, at: Date()))
      let successor = try await renew("Jörg", "Weiß")
      #expect(successor.state == .submitted && successor.evidenceRequestID == nil)
      #expect(successor.renewalOf == certificate.id && successor.givenName == "Jörg")
    }
  }

  @Test(
    "within 825 days the evidence is reused and one click issues; beyond, the desk again; names and key must fit"
  )
  func reuse() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let authority = app.registrationAuthority
      let certificate = try await LifecycleTests.issue(app, mailbox: "zoe@example.edu")
      let original = try #require(
        try await CertificateRequestRecord.find(certificate.requestID, on: app.db))
      let evidence = try #require(try await authority.desk.evidence(for: original.value))
      let checked = evidence.checkedAt

      // 824 days after the check: verified at once, the evidence reused.
      let within = checked.addingTimeInterval(824 * 86_400)
      let renewal = try await authority.enrollment.submit(
        try Self.renewalForm(certificate.serial.uppercased()),
        session: Self.session("zoe@example.edu", at: within), language: .de, now: within)
      #expect(renewal.state == .verified)
      #expect(renewal.evidenceRequestID == original.id && renewal.renewalOf == certificate.id)
      #expect(renewal.verifiedBy == evidence.checkedBy)
      #expect(try await authority.desk.evidence(for: renewal)?.id == evidence.id)
      let mail = try #require(
        try await OutboxMessageRecord.query(on: app.db).filter(\.$recipient == "zoe@example.edu")
          .sort(\.$createdAt, .descending).first())
      #expect(mail.subject.contains("Verlängerungsantrag \(renewal.number)"))

      // One click by an operator, then the worker.
      let desk = try await BackOfficeTests.staff(app, "ben@example.edu")
      _ = try await authority.desk.approve(number: renewal.number, by: .staff(desk), now: within)
      #expect(try await app.issuanceWorker!.issueDue() == 1)
      let issued = try #require(try await CertificateRequestRecord.find(renewal.id, on: app.db))
      #expect(issued.state == .issued)
      let renewed = try #require(try await CertificateRecord.find(issued.certificateID, on: app.db))
      #expect(renewed.givenName == "Zoë" && renewed.keyFingerprint != certificate.keyFingerprint)
      // The reused evidence is now kept two years past the new certificate.
      let kept = try #require(try await IdentityEvidenceRecord.find(evidence.id, on: app.db))
      #expect(abs(kept.retainUntil.timeIntervalSince(renewed.notAfter) - 730 * 86_400) < 2)
      let submitted = try await AuditTrail.search(
        actor: nil, action: AuditAction.requestSubmitted.rawValue, subject: renewal.number,
        before: nil, limit: 1,
        on: app.db)
      #expect(submitted.first?.details.contains("\"evidenceReused\":\"true\"") == true)

      // 826 days after the check: a normal request for the desk.
      let beyond = checked.addingTimeInterval(826 * 86_400)
      let late = try await authority.enrollment.submit(
        try Self.renewalForm(certificate.serial),
        session: Self.session("zoe@example.edu", at: beyond), language: .en, now: beyond)
      #expect(late.state == .submitted && late.evidenceRequestID == nil)
      #expect(late.renewalOf == certificate.id)
      #expect(try await authority.desk.evidence(for: late) == nil)
      let basis = try await authority.enrollment.renewalBasis(
        serial: certificate.serial, mailbox: "zoe@example.edu", now: beyond)
      #expect(basis.evidenceRequestID == nil)
      #expect(
        try await authority.enrollment.renewalBasis(
          serial: certificate.serial, mailbox: "zoe@example.edu", now: within
        ).reusableUntil.map { abs($0.timeIntervalSince(checked) - 825 * 86_400) < 1 } == true)

      // Changed names, the old key, another mailbox's certificate.
      await #expect {
        try await authority.enrollment.submit(
          try Self.renewalForm(certificate.serial, surname: "Schmidt"),
          session: Self.session("zoe@example.edu", at: within), language: .en, now: within)
      } throws: { BackOfficeTests.code($0) == "renewal-names-changed" }
      var sameKey = try Self.renewalForm(certificate.serial)
      sameKey.csr =
        PEMDocument(type: "CERTIFICATE REQUEST", derBytes: Array(original.csrDER)).pemString
      await #expect {
        try await authority.enrollment.submit(
          sameKey, session: Self.session("zoe@example.edu", at: within), language: .en, now: within)
      } throws: {
        ["renewal-needs-new-key", "key-already-certified"].contains(
          BackOfficeTests.code($0) ?? ($0 as? CAError)?.code.rawValue)
      }
      let other = try await LifecycleTests.issue(app, mailbox: "max@example.edu")
      await #expect(throws: MailsealError.notFound) {
        try await authority.enrollment.submit(
          try Self.renewalForm(other.serial),
          session: Self.session("zoe@example.edu", at: within), language: .en, now: within)
      }
    }
  }

  @Test(
    "with automatic approval a renewal is issued without anyone; after affiliationChanged the desk checks again"
  )
  func automatic() async throws {
    try await TestInstallation.withApp(environment: ["MAILSEAL_RENEWAL_AUTO_APPROVE": "true"]) {
      app in
      try await prepareToServe(app)
      let authority = app.registrationAuthority
      let certificate = try await LifecycleTests.issue(app, mailbox: "zoe@example.edu")
      let now = Date()
      let renewal = try await authority.enrollment.submit(
        try Self.renewalForm(certificate.serial),
        session: Self.session("zoe@example.edu", at: now), language: .en, now: now)
      #expect(renewal.state == .approved && renewal.approvedBy == nil)
      #expect(try await app.issuanceWorker!.issueDue() == 1)
      let approvals = try await AuditTrail.search(
        actor: "ca", action: AuditAction.requestApproved.rawValue, subject: renewal.number,
        before: nil, limit: 5,
        on: app.db)
      #expect(approvals.count == 1)

      // Revoked because the affiliation changed: no reuse, the desk again.
      let second = try await LifecycleTests.issue(app, mailbox: "max@example.edu")
      try await authority.certificates.revoke(
        serial: second.serial, reason: .affiliationChanged, by: .commandLine)
      let afterChange = try await authority.enrollment.submit(
        try Self.renewalForm(second.serial),
        session: Self.session("max@example.edu", at: now), language: .en, now: now)
      #expect(afterChange.state == .submitted)
    }
  }

  @Test("the renewal form through the pages: names kept, the reuse explained")
  func form() async throws {
    try await TestInstallation.withApp(environment: EnrollmentTests.environment) { app in
      try await prepareToServe(app)
      let certificate = try await LifecycleTests.issue(app, mailbox: "zoe@example.edu")
      var browser = TestBrowser(app)
      try await EnrollmentTests.signIn(&browser, "zoe@example.edu")
      let list = try await browser.send(.GET, "/requests")
      #expect(list.body.contains("/requests/new?renew=\(certificate.serial)"))
      let page = try await browser.send(.GET, "/requests/new?renew=\(certificate.serial)")
      #expect(page.status == .ok)
      #expect(page.body.contains("data-renewal=\"\(certificate.serial)\""))
      #expect(page.body.contains("id=\"renewal-reuse\""))
      #expect(page.body.contains("value=\"Zoë\" readonly"))
      // The language link keeps the renewal.
      #expect(
        page.body.contains(
          "href=\"/requests/new?renew=\(certificate.serial)&amp;lang=de\""), "\(page.body)")
      let created = try await browser.send(
        .POST, "/api/v1/requests", json: try Self.renewalForm(certificate.serial),
        headers: EnrollmentTests.csrf(browser), page: false)
      #expect(created.status == .created, "\(created.body)")
      #expect(created.body.contains("\"state\":\"verified\""))
      // Another mailbox's certificate cannot be renewed here.
      let other = try await LifecycleTests.issue(app, mailbox: "max@example.edu")
      #expect(
        try await browser.send(.GET, "/requests/new?renew=\(other.serial)").status == .notFound)
    }
  }

  @Test(
    "reminders: 30 and 7 days before expiry, each once; a late start sends one; renewed certificates none"
  )
  func reminders() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let reminders = RenewalReminders(
        database: app.db, configuration: app.mailseal, logger: app.logger)
      let first = try await LifecycleTests.issue(app, mailbox: "zoe@example.edu")
      func mails(_ mailbox: String) async throws -> [OutboxMessageRecord] {
        try await OutboxMessageRecord.query(on: app.db).filter(\.$recipient == mailbox).all()
          .filter { $0.subject.contains("expires") }
      }
      #expect(
        try await reminders.sendDue(now: first.notAfter.addingTimeInterval(-31 * 86_400)) == 0)
      let thirty = first.notAfter.addingTimeInterval(-29 * 86_400)
      #expect(try await reminders.sendDue(now: thirty) == 1)
      #expect(try await reminders.sendDue(now: thirty.addingTimeInterval(3_600)) == 0)
      let reminder = try #require(try await mails("zoe@example.edu").first)
      let text = reminder.message.replacingOccurrences(of: "=\r\n", with: "")
      #expect(text.contains("in 29 days") && text.contains(first.serial.uppercased()))
      #expect(text.contains("do not need to visit the service desk"))
      let seven = first.notAfter.addingTimeInterval(-6 * 86_400)
      #expect(try await reminders.sendDue(now: seven) == 1)
      #expect(try await reminders.sendDue(now: seven) == 0)
      #expect(try await mails("zoe@example.edu").count == 2)

      // Never reminded until 5 days before: one mail, not two.
      let second = try await LifecycleTests.issue(app, mailbox: "max@example.edu")
      let late = second.notAfter.addingTimeInterval(-5 * 86_400)
      #expect(try await reminders.sendDue(now: late) >= 1)
      #expect(try await mails("max@example.edu").count == 1)
      #expect(try await reminders.sendDue(now: late.addingTimeInterval(86_400)) == 0)

      // A mailbox with a later certificate is already renewed.
      let old = try await LifecycleTests.issue(app, mailbox: "lea@example.edu")
      let renewed = try await LifecycleTests.issue(app, mailbox: "lea@example.edu")
      let sql = try app.db.sql
      try await sql.raw(
        "UPDATE certificates SET not_after = \(bind: old.notAfter.addingTimeInterval(365 * 86_400)) WHERE id = \(bind: renewed.id!)"
      ).run()
      #expect(
        try await reminders.sendDue(now: old.notAfter.addingTimeInterval(-10 * 86_400)) >= 0)
      #expect(try await mails("lea@example.edu").isEmpty)
      let audit = try await AuditTrail.search(
        actor: "ca", action: AuditAction.renewalReminded.rawValue, subject: nil, before: nil,
        limit: 10, on: app.db)
      #expect(audit.count == 3)
    }
  }
}
