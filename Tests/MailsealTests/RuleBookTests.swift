import Crypto
import Fluent
import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import Testing
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("The rule book: each rule at its transition and again when the worker issues")
struct RuleBookTests {
  @Test("an operator cannot reject a request for their own mailbox (only the page hid the button)")
  func rejectOwnMailbox() async throws {
    try await TestInstallation.withApp { app in
      let anna = try await BackOfficeTests.staff(app, "anna@example.edu")
      let own = try await BackOfficeTests.request(app, mailbox: "anna@example.edu")
      await #expect(throws: MailsealError(.ownMailbox)) {
        try await app.registrationAuthority.desk.reject(
          number: own.number, reason: "no", by: .staff(anna))
      }
      let record = try #require(try await CertificateRequestRecord.find(own.id, on: app.db))
      #expect(record.state == .submitted)
      let events = try await AuditTrail.search(
        actor: nil, action: nil, subject: nil, before: nil, limit: 50, on: app.db)
      #expect(!events.contains { $0.action == "request.rejected" })
    }
  }

  @Test(
    "approved, then left while issuance is paused beyond 30 days: not issued on resume; the requester is told once and the trail says why; a fresh login link lets it be issued"
  )
  func staleValidationAfterPause() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let authority = app.registrationAuthority
      let anna = try await BackOfficeTests.staff(app, "anna@example.edu")
      let approvedAt = Date().addingTimeInterval(-31 * 86_400)
      let record = try await BackOfficeTests.request(
        app, mailbox: "zoe@example.edu", validated: approvedAt.addingTimeInterval(-3600))
      _ = try await authority.desk.recordEvidence(
        number: record.number, BackOfficeTests.evidence(), by: .staff(anna),
        now: approvedAt.addingTimeInterval(-60))
      _ = try await authority.desk.approve(number: record.number, by: .staff(anna), now: approvedAt)
      try await authority.service.setIssuancePaused(true, by: .commandLine, now: approvedAt)
      let worker = try #require(app.issuanceWorker)
      #expect(try await worker.issueDue() == 0)
      // 31 days later issuance resumes.
      try await authority.service.setIssuancePaused(false, by: .commandLine)
      #expect(try await worker.issueDue() == 0)
      #expect(try await worker.issueDue() == 0)
      let waiting = try #require(try await CertificateRequestRecord.find(record.id, on: app.db))
      #expect(waiting.state == .approved && waiting.certificateID == nil)
      #expect(waiting.issuanceHeldAt != nil)
      let mails = try await OutboxMessageRecord.query(on: app.db)
        .filter(\.$recipient == "zoe@example.edu").all()
        .filter { $0.subject.contains("confirm your mailbox") }
      #expect(mails.count == 1, "told once, however often the worker looks")
      #expect(mails.first?.message.contains("/login") == false)
      let trail = try await AuditTrail.search(
        actor: nil, action: AuditAction.issuanceHeld.rawValue, subject: nil, before: nil, limit: 10,
        on: app.db)
      #expect(trail.count == 1 && trail.first?.subject == record.number)
      #expect(trail.first?.details.contains("mailbox-validation-stale") == true)

      // A fresh login link validates the mailbox again: the worker issues.
      try await authority.mailboxSignIn.requestLoginLink(
        address: "zoe@example.edu", language: .en, clientAddress: "192.0.2.1")
      let link = try #require(
        try await OutboxMessageRecord.query(on: app.db).filter(\.$recipient == "zoe@example.edu")
          .all().compactMap { $0.message.firstMatch(of: #//login/([A-Za-z0-9_-]{43})/#) }.first)
      _ = try await authority.mailboxSignIn.redeemLoginLink(String(link.output.1))
      #expect(try await worker.issueDue() == 1)
      let issued = try #require(try await CertificateRequestRecord.find(record.id, on: app.db))
      #expect(issued.state == .issued && issued.issuanceHeldAt == nil)
    }
  }

  @Test(
    "a refusal by the worker (the key was certified for another mailbox meanwhile) is audited and mailed"
  )
  func workerRefusalIsAuditedAndMailed() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let anna = try await BackOfficeTests.staff(app, "anna@example.edu")
      let record = try await BackOfficeTests.request(app, mailbox: "zoe@example.edu")
      _ = try await app.registrationAuthority.desk.recordEvidence(
        number: record.number, BackOfficeTests.evidence(), by: .staff(anna))
      _ = try await app.registrationAuthority.desk.approve(number: record.number, by: .staff(anna))
      // Meanwhile the same key was certified for another mailbox (at the
      // command line, say).
      let (authority, issuerID) = try await app.caInstallation.loadActiveAuthority()
      let service = IssuanceService(authority: authority, issuerID: issuerID, database: app.db)
      let other = try await service.issue([
        IssuanceOrder(
          request: Array(record.csrDER), subject: try .mailboxOnly("other@example.edu"),
          requestID: nil)
      ])
      _ = try other[0].get()

      let worker = try #require(app.issuanceWorker)
      #expect(try await worker.issueDue() == 0)
      let refused = try #require(try await CertificateRequestRecord.find(record.id, on: app.db))
      #expect(refused.state == .rejected)
      #expect(refused.rejectionReason?.contains("another mailbox") == true)
      let trail = try await AuditTrail.search(
        actor: nil, action: AuditAction.issuanceRefused.rawValue, subject: nil, before: nil,
        limit: 10, on: app.db)
      #expect(trail.count == 1 && trail.first?.actor == AuditEvent.ca)
      #expect(trail.first?.details.contains("key-already-certified") == true)
      let mail = try #require(
        try await OutboxMessageRecord.query(on: app.db).filter(\.$recipient == "zoe@example.edu")
          .all().first { $0.subject.contains("could not be issued") })
      #expect(mail.message.contains("certified for another mailbox or blocked"))
    }
  }

  @Test("the rules themselves")
  func rules() throws {
    #expect(throws: MailsealError(.ownMailbox)) {
      try RequestRules.notOwnMailbox(request: "a@example.edu", decidedBy: ["a@example.edu"])
    }
    // Every address the account ever had counts, not only today's.
    #expect(throws: MailsealError(.ownMailbox)) {
      try RequestRules.notOwnMailbox(
        request: "a@example.edu", decidedBy: ["b@example.edu", "a@example.edu"])
    }
    try RequestRules.notOwnMailbox(request: "a@example.edu", decidedBy: ["b@example.edu"])
    try RequestRules.notOwnMailbox(request: "a@example.edu", decidedBy: [])
    let checker = UUID()
    #expect(throws: MailsealError(.fourEyes)) {
      try RequestRules.fourEyes(enabled: true, verifiedBy: checker, approvedBy: checker)
    }
    try RequestRules.fourEyes(enabled: false, verifiedBy: checker, approvedBy: checker)
    let now = Date()
    try RequestRules.mailboxValidationFresh(now.addingTimeInterval(-30 * 86_400), now: now)
    #expect(throws: MailsealError(.mailboxValidationStale)) {
      try RequestRules.mailboxValidationFresh(now.addingTimeInterval(-30 * 86_400 - 1), now: now)
    }
    try RequestRules.evidenceFresh(checkedAt: now.addingTimeInterval(-825 * 86_400), now: now)
    #expect(throws: MailsealError(.evidenceTooOld)) {
      try RequestRules.evidenceFresh(checkedAt: now.addingTimeInterval(-826 * 86_400), now: now)
    }
  }
}
