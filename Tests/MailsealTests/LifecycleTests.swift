import Crypto
import Fluent
import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import StoreTestSupport
import SwiftASN1
import Testing
import Vapor
import X509

@testable import MailsealAdapters
@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Revocation, CRL and OCSP in the portal; the audit trail; notices")
struct LifecycleTests {
  /// A certificate issued the way the portal issues it: request, evidence,
  /// approval, the worker.
  static func issue(_ app: Application, mailbox: String, pseudonym: String? = nil) async throws
    -> CertificateRecord
  {
    let authority = app.registrationAuthority
    let desk = try await OperatorRecord.query(on: app.db).filter(\.$email == "desk@example.edu")
      .first()
    let staff: StaffAccount
    if let desk {
      staff = try desk.value
    } else {
      staff = try await BackOfficeTests.staff(app, "desk@example.edu")
    }
    let record = try await BackOfficeTests.request(app, mailbox: mailbox, pseudonym: pseudonym)
    _ = try await authority.desk.recordEvidence(
      number: record.number, BackOfficeTests.evidence(), by: .staff(staff))
    _ = try await authority.desk.approve(number: record.number, by: .staff(staff))
    #expect(try await app.issuanceWorker!.issueDue() == 1)
    let issued = try #require(try await CertificateRequestRecord.find(record.id, on: app.db))
    return try #require(try await CertificateRecord.find(issued.certificateID, on: app.db))
  }

  /// The issuing CA's and the root's certificates as PEM files in `folder`.
  static func writeChain(_ app: Application, to folder: URL) async throws {
    let installation = app.caInstallation
    let active = try #require(try await installation.activeIssuer())
    let chain = try await installation.chain(of: active)
    func pem(_ record: CACertificate) throws -> String {
      try Certificate(derEncoded: Array(record.certificateDER)).serializeAsPEM().pemString + "\n"
    }
    try pem(chain[0]).write(
      to: folder.appendingPathComponent("issuing.pem"), atomically: true, encoding: .utf8)
    try pem(chain.last!).write(
      to: folder.appendingPathComponent("root.pem"), atomically: true, encoding: .utf8)
  }

  static func writePEM(_ record: CertificateRecord, _ url: URL) throws {
    try (try Certificate(derEncoded: Array(record.der)).serializeAsPEM().pemString + "\n").write(
      to: url, atomically: true, encoding: .utf8)
  }

  /// Asks the portal's OCSP responder (POST) about `certificate` and lets
  /// OpenSSL read and verify the answer.
  static func ocsp(
    _ app: Application, _ certificate: URL, folder: URL, nonce: Bool = false
  ) async throws -> String {
    let request = folder.appendingPathComponent("ocsp-request.der")
    let made = try Run.openssl(
      [
        "ocsp", "-issuer", folder.appendingPathComponent("issuing.pem").path, "-cert",
        certificate.path, "-reqout", request.path,
      ] + (nonce ? [] : ["-no_nonce"]))
    #expect(made.status == 0, "\(made.output)")
    var headers = HTTPHeaders()
    headers.contentType = HTTPMediaType(type: "application", subType: "ocsp-request")
    let response = try await app.testing().sendRequest(
      .POST, "/ocsp", headers: headers, body: ByteBuffer(data: try Data(contentsOf: request)))
    #expect(response.status == .ok)
    #expect(response.headers.contentType?.description == "application/ocsp-response")
    let answer = folder.appendingPathComponent("ocsp-response.der")
    try Data(buffer: response.body).write(to: answer)
    let read = try Run.openssl([
      "ocsp", "-reqin", request.path, "-respin", answer.path, "-CAfile",
      folder.appendingPathComponent("root.pem").path, "-verify_other",
      folder.appendingPathComponent("issuing.pem").path, "-resp_text",
    ])
    #expect(read.output.contains("Response verify OK"), "\(read.output)")
    return read.output
  }

  @Test(
    "a requester revokes: OCSP says revoked at once, the CRL lists it once published, the requester is mailed, the audit trail holds it"
  )
  func requesterRevokes() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let folder = try Run.temporaryDirectory()
      defer { try? FileManager.default.removeItem(at: folder) }
      try await Self.writeChain(app, to: folder)
      let certificate = try await Self.issue(app, mailbox: "zoe@example.edu")
      let other = try await Self.issue(app, mailbox: "max@example.edu")
      let pem = folder.appendingPathComponent("zoe.pem")
      try Self.writePEM(certificate, pem)
      #expect(try await Self.ocsp(app, pem, folder: folder).contains("Cert Status: good"))

      var browser = TestBrowser(app)
      try await EnrollmentTests.signIn(&browser, "zoe@example.edu")
      let list = try await browser.send(.GET, "/requests")
      #expect(list.body.contains("/certificates/\(certificate.serial)"))
      #expect(!list.body.contains(other.serial))
      // Another mailbox's certificate does not exist for this requester.
      #expect(try await browser.send(.GET, "/certificates/\(other.serial)").status == .notFound)
      let page = try await browser.send(.GET, "/certificates/\(certificate.serial)")
      #expect(page.status == .ok && page.body.contains("id=\"revoke-form\""))
      let token = try #require(TestBrowser.formToken(in: page.body))
      // Without the CSRF token, or with a reason that is not the
      // subscriber's, nothing happens.
      #expect(
        try await browser.send(
          .POST, "/certificates/\(certificate.serial)/revoke", form: ["reason": "superseded"]
        ).status == .forbidden)
      let refused = try await browser.send(
        .POST, "/certificates/\(certificate.serial)/revoke",
        form: ["reason": "privilegeWithdrawn", "csrf": token])
      #expect(refused.status == .unprocessableEntity && refused.body.contains("revoke-error"))
      let missing = try await browser.send(
        .POST, "/certificates/\(certificate.serial)/revoke", form: ["csrf": token])
      #expect(missing.status == .unprocessableEntity)
      #expect(
        try await browser.send(
          .POST, "/certificates/\(other.serial)/revoke",
          form: ["reason": "superseded", "csrf": token]
        ).status == .notFound)
      #expect(
        try await CertificateRecord.find(certificate.id, on: app.db)?.status == .active)

      let done = try await browser.send(
        .POST, "/certificates/\(certificate.serial)/revoke",
        form: ["reason": "superseded", "csrf": token])
      #expect(done.status == .seeOther)
      let revoked = try #require(try await CertificateRecord.find(certificate.id, on: app.db))
      #expect(revoked.status == .revoked && revoked.revocationReason == "superseded")
      #expect(revoked.revokedBy == "requester:zoe@example.edu")
      let after = try await browser.send(.GET, "/certificates/\(certificate.serial)?revoked=1")
      #expect(after.body.contains("data-status=\"revoked\"") && !after.body.contains("revoke-form"))
      // Twice is refused.
      let twice = try await browser.send(
        .POST, "/certificates/\(certificate.serial)/revoke",
        form: ["reason": "superseded", "csrf": token])
      #expect(twice.status == .conflict)

      // OCSP: revoked from the next query on, with the reason.
      let status = try await Self.ocsp(app, pem, folder: folder, nonce: true)
      #expect(status.contains("Cert Status: revoked"), "\(status)")
      #expect(status.contains("Revocation Reason: superseded"), "\(status)")

      // The mail.
      let mails = try await OutboxMessageRecord.query(on: app.db).filter(
        \.$recipient == "zoe@example.edu"
      ).all()
      #expect(
        mails.contains {
          $0.subject.contains("revoked")
            && $0.message.replacingOccurrences(of: "=\r\n", with: "").contains(
              revoked.serial.uppercased())
        })

      // The CRL: stale after the revocation, published by the publisher,
      // served at the URL the certificate names.
      let publisher = try #require(app.crlPublisher)
      #expect(try await publisher.publishDue() >= 1)
      #expect(try await publisher.publishDue() == 0)
      let issuer = try #require(try await IssuerRecord.find(revoked.$issuer.id, on: app.db)?.value)
      let response = try await app.testing().sendRequest(.GET, "/crl/\(issuer.slug).crl")
      #expect(response.status == .ok)
      #expect(response.headers.contentType?.description == "application/pkix-crl")
      let crlFile = folder.appendingPathComponent("crl.der")
      try Data(buffer: response.body).write(to: crlFile)
      let chain =
        try String(contentsOf: folder.appendingPathComponent("root.pem"), encoding: .utf8)
        + String(contentsOf: folder.appendingPathComponent("issuing.pem"), encoding: .utf8)
      try chain.write(
        to: folder.appendingPathComponent("chain.pem"), atomically: true, encoding: .utf8)
      let crl = try Run.openssl([
        "crl", "-inform", "DER", "-in", crlFile.path, "-CAfile",
        folder.appendingPathComponent("chain.pem").path, "-noout", "-text",
      ])
      #expect(crl.output.contains("verify OK"), "\(crl.output)")
      #expect(crl.output.contains("Serial Number: \(revoked.serial.uppercased())"), "\(crl.output)")
      #expect(crl.output.contains("Superseded"))
      #expect(!crl.output.contains(other.serial.uppercased()))
      #expect(
        try await app.testing().sendRequest(.GET, "/crl/0000000000000000.crl").status == .notFound)

      // The audit trail: issuance by the CA, revocation by the requester,
      // the CRL by the CA; and the chain holds.
      let actions = try await AuditTrail.search(
        actor: nil, action: nil, subject: nil, before: nil, limit: 100, on: app.db)
      #expect(
        actions.contains {
          $0.action == "certificate.issued" && $0.subject == revoked.serial && $0.actor == "ca"
        })
      #expect(
        actions.contains {
          $0.action == "certificate.revoked" && $0.actor == "requester:zoe@example.edu"
            && $0.details.contains("superseded")
        })
      #expect(actions.contains { $0.action == "crl.published" })
      #expect(try await AuditTrail.verify(on: app.db).firstBroken == nil)
    }
  }

  @Test(
    "staff revoke with their reasons, auditors cannot; key compromise blocks the key for good"
  )
  func staffRevokeAndKeyCompromise() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let authority = app.registrationAuthority
      let first = try await Self.issue(app, mailbox: "zoe@example.edu")
      let second = try await Self.issue(app, mailbox: "max@example.edu")
      let auditor = try await BackOfficeTests.staff(app, "audit@example.edu", role: .auditor)
      let operatorRecord = try await BackOfficeTests.staff(app, "anna@example.edu")
      await #expect(throws: MailsealError.forbiddenForRole) {
        try await authority.certificates.revoke(
          serial: first.serial, reason: .superseded, by: .staff(auditor))
      }
      await #expect(throws: MailsealError.self) {
        try await authority.certificates.revoke(
          serial: first.serial, reason: .cACompromise, by: .staff(operatorRecord))
      }
      try await authority.certificates.revoke(
        serial: second.serial.uppercased(), reason: .privilegeWithdrawn,
        by: .staff(operatorRecord))
      #expect(try await CertificateRecord.find(second.id, on: app.db)?.status == .revoked)

      // Key compromise: the same key is refused for any mailbox from now on.
      try await authority.certificates.revoke(
        serial: first.serial, reason: .keyCompromise,
        by: .requester(mailbox: "zoe@example.edu", validation: .loginLink))
      let request = try #require(
        try await CertificateRequestRecord.query(on: app.db).filter(
          \.$certificateID == first.id!
        ).first())
      let (ca, issuerID) = try await app.caInstallation.loadActiveAuthority()
      let service = IssuanceService(authority: ca, issuerID: issuerID, database: app.db)
      await #expect {
        _ = try await service.issue(
          IssuanceOrder(
            request: Array(request.csrDER), subject: try .mailboxOnly("zoe@example.edu")))
      } throws: { ($0 as? CAError)?.code == .keyCompromised }
      // The CLI's reason cACompromise is open to it.
      let third = try await Self.issue(app, mailbox: "lea@example.edu")
      try await authority.certificates.revoke(
        serial: third.serial, reason: .cACompromise, by: .commandLine)
      #expect(try await CertificateRecord.find(third.id, on: app.db)?.revokedBy == "cli")
    }
  }

  @Test("OCSP: unknown serials, foreign issuers and malformed requests; GET with cache headers")
  func ocspEdges() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let folder = try Run.temporaryDirectory()
      defer { try? FileManager.default.removeItem(at: folder) }
      try await Self.writeChain(app, to: folder)
      let certificate = try await Self.issue(app, mailbox: "zoe@example.edu")
      let pem = folder.appendingPathComponent("zoe.pem")
      try Self.writePEM(certificate, pem)

      // A serial this CA never issued.
      let request = folder.appendingPathComponent("unknown.der")
      _ = try Run.openssl([
        "ocsp", "-issuer", folder.appendingPathComponent("issuing.pem").path, "-serial",
        "0x1234ABCD", "-reqout", request.path, "-no_nonce",
      ])
      // GET: base64 in the path (percent-encoded), cacheable.
      let encoded = try Data(contentsOf: request).base64EncodedString()
        .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
      let get = try await app.testing().sendRequest(.GET, "/ocsp/\(encoded)")
      #expect(get.status == .ok)
      #expect(get.headers.first(name: .cacheControl)?.contains("max-age=") == true)
      let answer = folder.appendingPathComponent("unknown-response.der")
      try Data(buffer: get.body).write(to: answer)
      let read = try Run.openssl([
        "ocsp", "-reqin", request.path, "-respin", answer.path, "-CAfile",
        folder.appendingPathComponent("root.pem").path, "-verify_other",
        folder.appendingPathComponent("issuing.pem").path, "-resp_text",
      ])
      #expect(read.output.contains("Cert Status: unknown"), "\(read.output)")
      #expect(read.output.contains("Response verify OK"))

      // Another CA's CertID: unauthorized (30 03 0A 01 06).
      let otherPEM = folder.appendingPathComponent("other.pem")
      let madeOther = try Run.openssl([
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", folder.appendingPathComponent("other.key").path, "-subj", "/CN=Other CA",
        "-days", "30", "-out", otherPEM.path,
      ])
      #expect(madeOther.status == 0, "\(madeOther.output)")
      let foreign = folder.appendingPathComponent("foreign.der")
      _ = try Run.openssl([
        "ocsp", "-issuer", otherPEM.path, "-serial", "0x01", "-reqout", foreign.path,
      ])
      let unauthorized = try await app.testing().sendRequest(
        .POST, "/ocsp", body: ByteBuffer(data: try Data(contentsOf: foreign)))
      #expect(Array(unauthorized.body.readableBytesView) == [0x30, 0x03, 0x0A, 0x01, 0x06])

      // Malformed, by POST and GET: 30 03 0A 01 01, never an HTTP error.
      for body in [[UInt8](), [0x30, 0x00], Array(repeating: 0x41, count: 100)] {
        let malformed = try await app.testing().sendRequest(
          .POST, "/ocsp", body: ByteBuffer(bytes: body))
        #expect(malformed.status == .ok)
        #expect(Array(malformed.body.readableBytesView) == [0x30, 0x03, 0x0A, 0x01, 0x01])
      }
      for path in ["/ocsp/not-base64!", "/ocsp/MAA%3D", "/ocsp/"] {
        let malformed = try await app.testing().sendRequest(.GET, path)
        #expect(
          Array(malformed.body.readableBytesView) == [0x30, 0x03, 0x0A, 0x01, 0x01], "\(path)")
      }
      // Larger than the body limit: refused before it is read.
      // Larger than the responder reads: still an OCSP answer.
      let huge = try await app.testing().sendRequest(
        .POST, "/ocsp", body: ByteBuffer(bytes: Array(repeating: 0x30, count: 20_000)))
      #expect(huge.status == .ok)
      #expect(Array(huge.body.readableBytesView) == [0x30, 0x03, 0x0A, 0x01, 0x01])
      #expect(huge.headers.first(name: "Content-Security-Policy") == nil)
    }
  }

  @Test("the audit trail: a changed, removed or re-linked record is named by `audit verify`")
  func auditTamper() async throws {
    try await TestInstallation.withApp { app in
      for index in 1...20 {
        try await AuditTrail.append(
          AuditEvent(
            actor: "operator:anna@example.edu", action: .noticeSet, subject: "s\(index)",
            details: ["n": "\(index)"]), on: app.db)
      }
      #expect(try await AuditTrail.verify(on: app.db) == .init(records: 20, firstBroken: nil))
      let sql = try app.db.sql
      // The trail refuses changes by the application's own connection.
      await #expect(throws: (any Error).self) {
        try await sql.raw("UPDATE audit_events SET subject = 'x' WHERE seq = 7").run()
      }
      await #expect(throws: (any Error).self) {
        try await sql.raw("DELETE FROM audit_events WHERE seq = 20").run()
      }
      // Someone with the database's owner rights drops the guard and
      // changes record 7.
      try await AuditTamper.disableGuards(sql)
      try await sql.raw(
        "UPDATE audit_events SET details = '{\"n\":\"700\"}' WHERE seq = 7"
      ).run()
      let broken = try await AuditTrail.verify(on: app.db)
      #expect(broken.firstBroken?.seq == 7, "\(broken)")
      #expect(broken.firstBroken?.reason.contains("contents") == true)
      #expect(broken.records == 6)
    }
  }

  @Test(
    "notices: set in both languages, shown on requester pages, cleared; the pause speaks by itself")
  func notices() async throws {
    try await TestInstallation.withApp { app in
      let settings = Settings(database: app.db)
      var browser = TestBrowser(app)
      #expect(!(try await browser.send(.GET, "/")).body.contains("service-notice"))
      await #expect(throws: MailsealError.self) {
        try await settings.setNotice(german: "Wartung", english: " ", by: AuditEvent.commandLine)
      }
      await #expect(throws: MailsealError.self) {
        try await settings.setNotice(
          german: String(repeating: "x", count: 501), english: "Maintenance",
          by: AuditEvent.commandLine)
      }
      try await settings.setNotice(
        german: "Die Ausstellung ist derzeit nicht möglich.",
        english: "Issuance is currently not possible.", by: AuditEvent.commandLine)
      let english = try await browser.send(.GET, "/")
      #expect(english.body.contains("Issuance is currently not possible."))
      browser.language = "de"
      browser.cookies = [:]
      let german = try await browser.send(.GET, "/?lang=de")
      #expect(german.body.contains("Die Ausstellung ist derzeit nicht möglich."))
      try await settings.clearNotice(by: AuditEvent.commandLine)
      #expect(!(try await browser.send(.GET, "/")).body.contains("service-notice"))
      try await settings.setIssuancePaused(true, by: AuditEvent.commandLine)
      let paused = try await browser.send(.GET, "/")
      #expect(paused.body.contains("id=\"service-paused\""))
      let actions = try await AuditTrail.search(
        actor: "cli", action: nil, subject: nil, before: nil, limit: 10, on: app.db
      ).map(\.action)
      #expect(actions == ["issuance.paused", "notice.cleared", "notice.set"])
    }
  }
  @Test(
    "every action on the path is in the audit trail: link, request, evidence, approval, issuance, rejection, withdrawal, operators; auditors browse and export it"
  )
  func auditCompleteness() async throws {
    try await TestInstallation.withApp(environment: EnrollmentTests.environment) { app in
      try await prepareToServe(app)
      var browser = TestBrowser(app)
      try await EnrollmentTests.signIn(&browser, "zoe@example.edu")
      var numbers: [String] = []
      for _ in 0..<3 {
        let created = try await browser.send(
          .POST, "/api/v1/requests", json: try EnrollmentTests.form(),
          headers: EnrollmentTests.csrf(browser), page: false)
        #expect(created.status == .created, "\(created.body)")
        numbers.append(
          try JSONDecoder.api.decode(
            RequestAPIController.RequestView.self, from: Data(created.body.utf8)
          ).number)
      }
      let authority = app.registrationAuthority
      let anna = try await BackOfficeTests.staff(app, "anna@example.edu")
      _ = try await authority.desk.recordEvidence(
        number: numbers[0], BackOfficeTests.evidence(), by: .staff(anna))
      _ = try await authority.desk.approve(number: numbers[0], by: .staff(anna))
      #expect(try await app.issuanceWorker!.issueDue() == 1)
      _ = try await authority.desk.reject(
        number: numbers[1], reason: "Name unclear", by: .staff(anna))
      let withdrawn = try await browser.send(
        .POST, "/requests/\(numbers[2])/withdraw",
        form: ["csrf": browser.cookies[RequesterSession.csrfCookieName] ?? ""])
      #expect(withdrawn.status == .seeOther)

      let records = try await AuditTrail.search(
        actor: nil, action: nil, subject: nil, before: nil, limit: 1_000, on: app.db)
      func has(_ action: String, _ actor: String, _ subject: String? = nil) -> Bool {
        records.contains {
          $0.action == action && $0.actor == actor && (subject == nil || $0.subject == subject)
        }
      }
      let zoe = "requester:zoe@example.edu"
      #expect(has("login-link.sent", zoe))
      #expect(has("login-link.used", zoe))
      for number in numbers { #expect(has("request.submitted", zoe, number)) }
      #expect(has("operator.added", "cli", "anna@example.edu"))
      #expect(has("evidence.recorded", "operator:anna@example.edu", numbers[0]))
      #expect(!records.contains { $0.details.contains("L01X00T47") }, "no document number")
      #expect(has("request.approved", "operator:anna@example.edu", numbers[0]))
      #expect(has("certificate.issued", "ca"))
      #expect(has("request.rejected", "operator:anna@example.edu", numbers[1]))
      #expect(has("request.withdrawn", zoe, numbers[2]))
      #expect(try await AuditTrail.verify(on: app.db).firstBroken == nil)

      // An auditor browses, filters and exports; an operator may not.
      let (_, link) = try await app.operatorDirectory.add(
        email: "audit@example.edu", name: "Audit", role: .auditor)
      var auditor = TestBrowser(app)
      let secret = try await OperatorTests.enrol(
        &auditor, link: link, password: "audit-password-2026")
      let signedIn = try await OperatorTests.signIn(
        &auditor, email: "audit@example.edu", password: "audit-password-2026",
        code: OneTimePassword.code(secret: secret, step: OneTimePassword.step(Date()) + 1))
      #expect(signedIn.status == .seeOther)
      let all = try await auditor.send(.GET, "/operator/audit")
      #expect(all.status == .ok && all.body.contains("request.withdrawn"))
      let filtered = try await auditor.send(.GET, "/operator/audit?action=request.approved")
      #expect(filtered.body.contains(numbers[0]) && !filtered.body.contains("request.withdrawn"))
      let export = try await auditor.send(.GET, "/operator/audit/export.jsonl")
      #expect(export.status == .ok)
      let lines = export.body.split(separator: "\n")
      #expect(lines.count >= records.count)
      let decoded = try lines.map {
        try JSONDecoder().decode(AuditRecord.self, from: Data($0.utf8))
      }
      #expect(decoded.map(\.seq) == Array(1...Int64(decoded.count)))
      // A serial in the queue's search leads to the certificate.
      let anyCertificate = try #require(try await CertificateRecord.query(on: app.db).first())
      let found = try await auditor.send(
        .GET, "/operator/queue?q=\(anyCertificate.serial.uppercased())")
      #expect(
        found.headers.first(name: .location) == "/operator/certificates/\(anyCertificate.serial)")
      // Auditors cannot revoke, set notices or reach the admin page.
      #expect(try await auditor.send(.GET, "/operator/admin").status == .forbidden)
      let certificate = try #require(try await CertificateRecord.query(on: app.db).first())
      let page = try await auditor.send(.GET, "/operator/certificates/\(certificate.serial)")
      #expect(page.status == .ok && !page.body.contains("revoke-form"))
      let refused = try await auditor.send(
        .POST, "/operator/certificates/\(certificate.serial)/revoke",
        form: [
          "reason": "superseded",
          "csrf": auditor.cookies[OperatorSession.csrfCookieName] ?? "",
        ])
      #expect(refused.status == .forbidden)
      #expect(try await CertificateRecord.find(certificate.id, on: app.db)?.status == .active)
    }
  }

  @Test("an administrator sets and clears the notice and pauses issuance on the admin page")
  func adminPage() async throws {
    try await TestInstallation.withApp { app in
      let (_, link) = try await app.operatorDirectory.add(
        email: "admin@example.edu", name: "Admin", role: .admin)
      var admin = TestBrowser(app)
      let secret = try await OperatorTests.enrol(
        &admin, link: link, password: "admin-password-2026")
      _ = try await OperatorTests.signIn(
        &admin, email: "admin@example.edu", password: "admin-password-2026",
        code: OneTimePassword.code(secret: secret, step: OneTimePassword.step(Date()) + 1))
      let page = try await admin.send(.GET, "/operator/admin")
      #expect(page.status == .ok && page.body.contains("notice-form"))
      let token = try #require(TestBrowser.formToken(in: page.body))
      #expect(
        try await admin.send(.POST, "/operator/notice", form: ["de": "x", "en": "y"]).status
          == .forbidden)
      let invalid = try await admin.send(
        .POST, "/operator/notice", form: ["de": "Wartung heute", "en": "", "csrf": token])
      #expect(invalid.status == .unprocessableEntity && invalid.body.contains("Wartung heute"))
      let saved = try await admin.send(
        .POST, "/operator/notice",
        form: ["de": "Wartung <heute>", "en": "Maintenance <today>", "csrf": token])
      #expect(saved.status == .seeOther)
      var requester = TestBrowser(app)
      let start = try await requester.send(.GET, "/")
      #expect(start.body.contains("Maintenance &lt;today&gt;"), "escaped")
      let paused = try await admin.send(
        .POST, "/operator/issuance", form: ["paused": "true", "back": "admin", "csrf": token])
      #expect(paused.headers.first(name: .location) == "/operator/admin")
      #expect(try await Settings(database: app.db).isIssuancePaused())
      #expect(try await requester.send(.GET, "/").body.contains("service-paused"))
      #expect(
        try await admin.send(.POST, "/operator/notice/clear", form: ["csrf": token]).status
          == .seeOther)
      #expect(try await Settings(database: app.db).serviceState().notice == nil)
      let actions = try await AuditTrail.search(
        actor: "operator:admin@example.edu", action: nil, subject: nil, before: nil, limit: 10,
        on: app.db
      ).map(\.action)
      #expect(actions.starts(with: ["notice.cleared", "issuance.paused", "notice.set"]))
    }
  }

  @Test(
    "GET /metrics: requests by state, issuance, OCSP by status, revocations, mail queue; the token when set"
  )
  func metrics() async throws {
    let token = "metrics-token-0123456789"
    try await TestInstallation.withApp(environment: ["MAILSEAL_METRICS_TOKEN": token]) { app in
      try await prepareToServe(app)
      let folder = try Run.temporaryDirectory()
      defer { try? FileManager.default.removeItem(at: folder) }
      try await Self.writeChain(app, to: folder)
      let certificate = try await Self.issue(app, mailbox: "zoe@example.edu")
      try await BackOfficeTests.request(app, mailbox: "max@example.edu")
      let pem = folder.appendingPathComponent("zoe.pem")
      try Self.writePEM(certificate, pem)
      _ = try await Self.ocsp(app, pem, folder: folder)
      _ = try await app.testing().sendRequest(.POST, "/ocsp", body: ByteBuffer(bytes: [1, 2, 3]))
      try await app.registrationAuthority.certificates.revoke(
        serial: certificate.serial, reason: .superseded, by: .commandLine)
      _ = try await Self.ocsp(app, pem, folder: folder)

      #expect(try await app.testing().sendRequest(.GET, "/metrics").status == .unauthorized)
      var wrong = HTTPHeaders()
      wrong.bearerAuthorization = BearerAuthorization(token: "metrics-token-0123456788")
      #expect(
        try await app.testing().sendRequest(.GET, "/metrics", headers: wrong).status
          == .unauthorized)
      var headers = HTTPHeaders()
      headers.bearerAuthorization = BearerAuthorization(token: token)
      let response = try await app.testing().sendRequest(.GET, "/metrics", headers: headers)
      #expect(response.status == .ok)
      #expect(
        response.headers.first(name: .contentType)?.hasPrefix("text/plain; version=0.0.4") == true)
      let text = response.body.string
      for line in [
        #"mailseal_requests{state="issued"} 1"#,
        #"mailseal_requests{state="submitted"} 1"#,
        #"mailseal_requests{state="approved"} 0"#,
        "mailseal_certificates_issued_total 1",
        #"mailseal_ocsp_responses_total{status="good"} 1"#,
        #"mailseal_ocsp_responses_total{status="revoked"} 1"#,
        #"mailseal_ocsp_responses_total{status="malformedRequest"} 1"#,
        #"mailseal_revocations_total{reason="superseded"} 1"#,
        #"mailseal_certificates{status="revoked"} 1"#,
        #"mailseal_mail_queue{state="queued"} "#,
        #"mailseal_issuance_latency_seconds_count 1"#,
        "# HELP mailseal_requests Certificate requests by state",
      ] {
        #expect(text.contains(line), "\(line) in \(text)")
      }
    }
  }

  @Test("JSON log lines are one JSON object each with time, level, label, message and metadata")
  func jsonLogs() throws {
    let line = JSONLogHandler.line(
      time: Date(timeIntervalSince1970: 1_764_000_000.25), level: .notice, label: "mailseal",
      message: "certificate revoked \"x\"\nnext",
      metadata: ["serial": "ab12", "nested": ["a": "1", "b": ["x", "y"]]], source: "Mailseal")
    #expect(!line.contains("\n"))
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect(object["level"] as? String == "notice")
    #expect(object["message"] as? String == "certificate revoked \"x\"\nnext")
    #expect(object["time"] as? String == "2025-11-24T16:00:00.250Z")
    let metadata = try #require(object["metadata"] as? [String: Any])
    #expect(metadata["serial"] as? String == "ab12")
    #expect((metadata["nested"] as? [String: Any])?["b"] as? [String] == ["x", "y"])
    #expect(throws: (any Error).self) {
      try MailsealConfiguration.load(from: ["MAILSEAL_LOG_FORMAT": "jsn"])
    }
    // RFC 9110's example date, and the mail header's form of the same.
    #expect(
      HTTPHeaders.httpDate(Date(timeIntervalSince1970: 784_111_777))
        == "Sun, 06 Nov 1994 08:49:37 GMT")
    #expect(
      MIME.rfc5322Date(Date(timeIntervalSince1970: 784_111_777))
        == "Sun, 06 Nov 1994 08:49:37 +0000")
  }

}

/// What an attacker with the database owner's rights can do: drop the
/// triggers that keep the trail append-only.
enum AuditTamper {
  static func disableGuards(_ sql: any SQLDatabase) async throws {
    if TestDatabase.kind == "postgres" {
      try await sql.raw("ALTER TABLE audit_events DISABLE TRIGGER USER").run()
    } else {
      for row in try await sql.raw(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_events'"
      ).all() {
        let name = try row.decode(column: "name", as: String.self)
        try await sql.raw("DROP TRIGGER \(unsafeRaw: name)").run()
      }
    }
  }
}
