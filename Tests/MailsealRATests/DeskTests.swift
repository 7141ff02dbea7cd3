import FluentKit
import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import Testing

@testable import MailsealRA
@testable import MailsealStore

/// The registration authority without the web: the rule book, the desk's
/// path from a request to its certificate, who may do what, and the store
/// as everyone opens it — on SQLite, and on PostgreSQL in the PostgreSQL
/// run. This target imports neither the web framework nor the web layer.
@Suite("The registration authority on its own: rule book, desk, permissions, store")
struct DeskTests {
  @Test(
    "the rule book: own mailbox by every address, four eyes, 30-day validation, 825-day evidence")
  func ruleBook() throws {
    #expect(throws: MailsealError(.ownMailbox)) {
      try RequestRules.notOwnMailbox(
        request: "a@example.edu", decidedBy: ["b@example.edu", "a@example.edu"])
    }
    try RequestRules.notOwnMailbox(request: "a@example.edu", decidedBy: ["b@example.edu"])
    let checker = UUID()
    #expect(throws: MailsealError(.fourEyes)) {
      try RequestRules.fourEyes(enabled: true, verifiedBy: checker, approvedBy: checker)
    }
    let now = Date()
    try RequestRules.mailboxValidationFresh(now.addingTimeInterval(-29 * 86_400), now: now)
    #expect(throws: MailsealError(.mailboxValidationStale)) {
      try RequestRules.mailboxValidationFresh(now.addingTimeInterval(-31 * 86_400), now: now)
    }
    #expect(
      RequestRules.evidenceReusable(checkedAt: now.addingTimeInterval(-824 * 86_400), now: now))
    #expect(
      !RequestRules.evidenceReusable(checkedAt: now.addingTimeInterval(-826 * 86_400), now: now))
  }

  @Test(
    "submitted, checked, approved by someone else, issued once by the worker; auditors and recovery officers decide nothing"
  )
  func deskPath() async throws {
    try await RAInstallation.with { installation in
      try await installation.makeTestCA()
      let authority = installation.authority
      let anna = try await installation.staff("anna@example.edu")
      let auditor = try await installation.staff("audrey@example.edu", role: .auditor)
      let keeper = try await installation.staff("kim@example.edu", role: .recoveryOfficer)
      let request = try await installation.submit("zoe@example.edu")
      #expect(request.state == .submitted)

      for principal in [auditor, keeper, Principal.anonymous] {
        await #expect(throws: MailsealError.forbiddenForRole) {
          try await authority.desk.recordEvidence(
            number: request.number, RAInstallation.evidence(), by: principal)
        }
      }
      await #expect(throws: MailsealError.forbiddenForRole) {
        try await authority.desk.deskRequest(number: request.number, for: keeper)
      }
      let desk = try await authority.desk.deskRequest(number: request.number, for: auditor)
      #expect(!desk.actions.recordEvidence && !desk.actions.approve)

      _ = try await authority.desk.recordEvidence(
        number: request.number, RAInstallation.evidence(), by: anna)
      let approved = try await authority.desk.approve(number: request.number, by: anna)
      #expect(approved.state == .approved)

      let worker = IssuanceWorker(
        database: installation.database, configuration: installation.configuration,
        logger: RAInstallation.logger)
      #expect(try await worker.issueDue() == 1)
      #expect(try await worker.issueDue() == 0)
      let issued = try #require(
        try await CertificateRequestRecord.find(request.id, on: installation.database))
      #expect(issued.state == .issued && issued.certificateID != nil)
      let audit = try await AuditTrail.search(
        actor: nil, action: AuditAction.certificateIssued.rawValue, subject: nil, before: nil,
        limit: 5, on: installation.database)
      #expect(audit.count == 1)
      #expect(try await AuditTrail.verify(on: installation.database).firstBroken == nil)
    }
  }

  @Test("the store as everyone opens it: every migration run, SQLite in WAL mode")
  func store() async throws {
    try await RAInstallation.with { installation in
      let sql = try installation.database.sql
      for table in ["certificate_requests", "operator_addresses", "publications", "audit_head"] {
        _ = try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()
      }
      if case .sqlite = installation.configuration.database {
        let mode = try await sql.raw("PRAGMA journal_mode").first()?
          .decode(column: "journal_mode", as: String.self)
        #expect(mode == "wal")
      }
    }
  }
}
