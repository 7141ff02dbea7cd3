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

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Back office: identity evidence, approval rules, issuance exactly once, pause")
struct BackOfficeTests {
  static func csr(for key: Certificate.PrivateKey) throws -> [UInt8] {
    let request = try CertificateSigningRequest(
      version: .v1, subject: DistinguishedName { CommonName("x") }, privateKey: key,
      attributes: .init(),
      signatureAlgorithm: .ecdsaWithSHA256)
    var coder = DER.Serializer()
    try coder.serialize(request)
    return coder.serializedBytes
  }

  /// A request as the form makes it, in a chosen state.
  @discardableResult
  static func request(
    _ app: Application, mailbox: String, given: String = "Zoë", surname: String = "Müller",
    pseudonym: String? = nil, responsible: Bool = true,
    state: CertificateRequestRecord.State = .submitted, validated: Date = Date(),
    approvedAt: Date? = nil
  ) async throws -> CertificateRequestRecord {
    let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
    let der = try csr(for: key)
    let record = CertificateRequestRecord()
    record.id = UUID()
    record.number = RequestNumber.make()
    record.mailbox = mailbox
    record.mailboxType = pseudonym == nil ? .personal : .role
    record.pseudonym = pseudonym
    // A role mailbox names the person responsible (`responsible: false`:
    // a request made before that rule).
    if pseudonym == nil || responsible {
      record.givenName = given
      record.surname = surname
    }
    record.keyType = "p256"
    record.keyFingerprint = try CertificateRequestCheck.check(der).keyFingerprint.hexString
    record.csrDER = Data(der)
    record.state = state
    record.language = "en"
    record.mailboxValidatedAt = validated
    record.mailboxValidationMethod = SessionRecord.loginLink
    record.createdAt = Date()
    record.updatedAt = Date()
    record.approvedAt = approvedAt
    try await record.create(on: app.db)
    try await SearchTerms.save(record.searchTerms, for: record.id!, on: app.db)
    return record
  }

  static func staff(_ app: Application, _ email: String, role: StaffRole = .operator)
    async throws -> StaffAccount
  {
    let (record, _) = try await app.operatorDirectory.add(
      email: email, name: email.components(separatedBy: "@")[0], role: role)
    return record
  }

  static func evidence(
    given: String = "Zoë", surname: String = "Müller", expiry: String = "2035-01-31"
  ) -> EvidenceForm {
    EvidenceForm(
      method: "in-person", documentType: "identity-card",
      issuingAuthority: "Stadt Beispielstadt, DE",
      documentNumber: "L01X00T47", documentExpiry: expiry, verifiedGivenName: given,
      verifiedSurname: surname)
  }

  static func code(_ error: any Error) -> String? { (error as? MailsealError)?.code.rawValue }

  /// Approved requests, inserted in bulk, each with its own P-256 key.
  static func insertApproved(_ app: Application, count: Int) async throws {
    let sql = try app.db.sql
    let approvedAt = Date()
    for chunk in stride(from: 0, to: count, by: 100) {
      var insert = sql.insert(into: "certificate_requests").columns(
        "id", "number", "mailbox", "mailbox_type", "given_name", "surname", "key_type",
        "key_fingerprint", "csr_der",
        "state", "language", "mailbox_validated_at", "created_at", "updated_at", "approved_at")
      for n in chunk..<min(chunk + 100, count) {
        let der = try Self.csr(for: Certificate.PrivateKey(P256.Signing.PrivateKey()))
        insert = insert.values(
          SQLBind(UUID()), SQLBind(RequestNumber.make()), SQLBind("user\(n)@example.edu"),
          SQLBind("personal"),
          SQLBind("Given"), SQLBind("User \(n)"), SQLBind("p256"),
          SQLBind(try CertificateRequestCheck.check(der).keyFingerprint.hexString),
          SQLBind(Data(der)),
          SQLBind("approved"), SQLBind("en"), SQLBind(approvedAt), SQLBind(approvedAt),
          SQLBind(approvedAt),
          SQLBind(approvedAt.addingTimeInterval(Double(n) / 1000)))
      }
      try await insert.run()
    }
  }

  @Test(
    "evidence, approval and the worker: issued once, pickup mail queued, evidence kept two years past expiry"
  )
  func happyPath() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let authority = app.registrationAuthority
      let anna = try await Self.staff(app, "anna@example.edu")
      let record = try await Self.request(app, mailbox: "zoe@example.edu")
      let verified = try await authority.desk.recordEvidence(
        number: record.number, Self.evidence(given: " Zoë ", surname: "Müller"), by: .staff(anna))
      #expect(verified.state == .verified && verified.verifiedBy == anna.id)
      let approved = try await authority.desk.approve(number: record.number, by: .staff(anna))
      #expect(approved.state == .approved)
      let worker = try #require(app.issuanceWorker)
      #expect(try await worker.issueDue() == 1)
      #expect(try await worker.issueDue() == 0)
      let issued = try #require(try await CertificateRequestRecord.find(record.id, on: app.db))
      #expect(
        issued.state == .issued && issued.pickupTokenHash != nil && issued.certificateID != nil)
      let certificate = try #require(
        try await CertificateRecord.find(issued.certificateID, on: app.db))
      #expect(
        certificate.requestID == record.id && certificate.mailbox == "zoe@example.edu"
          && certificate.givenName == "Zoë")
      let evidence = try #require(try await authority.desk.evidence(for: issued.value))
      #expect(abs(evidence.retainUntil.timeIntervalSince(certificate.notAfter) - 730 * 86_400) < 2)
      let mails = try await OutboxMessageRecord.query(on: app.db).filter(
        \.$recipient == "zoe@example.edu"
      ).all()
      #expect(mails.contains { $0.subject.contains("is ready") && $0.message.contains("/pickup/") })
    }
  }

  @Test(
    "queue search: number; any word of a name or address, without case or accents and with umlauts transliterated; wildcards as letters; states; pages"
  )
  func search() async throws {
    try await TestInstallation.withApp { app in
      let zoe = try await Self.request(app, mailbox: "zoe.mueller@example.edu")
      let anna = try await Self.request(
        app, mailbox: "ab@example.edu", given: "Anna", surname: "Hartmann")
      let angel = try await Self.request(
        app, mailbox: "a.b@example.edu", given: "Ängel", surname: "O'Neil", state: .issued)
      let under = try await Self.request(
        app, mailbox: "x_y@example.edu", given: "Per", surname: "Cent")
      let desk = try await Self.request(
        app, mailbox: "service@example.edu", given: "Sina", surname: "Berg-Øster",
        pseudonym: "Servicedesk Süd")
      // Each query both ways: as a narrow query (the matches listed) and
      // as a broad one (checked request by request); both must agree.
      func find(_ query: String, _ state: CertificateRequestRecord.State? = nil) async throws
        -> [String]
      {
        let narrow = try await app.registrationAuthority.desk.searchRequests(
          query: query, state: state, offset: 0, limit: 50
        ).map(\.number)
        let broad = try await app.registrationAuthority.desk.searchRequests(
          query: query, state: state, offset: 0, limit: 50, narrow: 0
        ).map(\.number)
        #expect(narrow == broad, "\(query)")
        return narrow
      }
      #expect(
        try await find(zoe.number.lowercased().replacingOccurrences(of: "-", with: " ")) == [
          zoe.number
        ])
      // "Müller" as written with accents dropped, as in German ID cards'
      // machine-readable zone and most addresses, and as it is.
      for spelling in ["muller", "mueller", "Müller", "MÜLL", "Mueller"] {
        #expect(try await find(spelling) == [zoe.number], "\(spelling)")
      }
      // The end of an address, from any of its words; the domain.
      #expect(try await find("mueller@example.edu") == [zoe.number])
      #expect(try await find("mueller@EXAMPLE") == [zoe.number])
      #expect(try await find("example.edu").count == 5)
      #expect(try await find("y@example.edu") == [under.number])
      // A later word of a name; a role mailbox by its responsible person.
      #expect(try await find("neil") == [angel.number])
      #expect(try await find("oster") == [desk.number])
      #expect(try await find("oester") == [desk.number])
      #expect(try await find("sina b") == [desk.number])
      #expect(try await find("zoe mu") == [zoe.number])
      #expect(try await find("ZOE.") == [zoe.number])
      // Punctuation counts: "a." is not "ab" (a natural-language collation
      // would ignore the dot).
      #expect(try await find("a.") == [angel.number])
      #expect(try await find("ab") == [anna.number])
      // A name that also reads as a request number is still a name.
      #expect(try await find("Hartmann") == [anna.number])
      #expect(try await find("angel o") == [angel.number])
      #expect(try await find("o'n") == [angel.number])
      #expect(try await find("x_") == [under.number])
      #expect(try await find("x%").isEmpty)
      #expect(try await find("_").isEmpty)
      #expect(try await find("%").isEmpty)
      #expect(try await find("servicedesk sud") == [desk.number])
      #expect(try await find("nobody").isEmpty)
      #expect(try await find("a") == [anna.number, angel.number])
      #expect(try await find("a", .issued) == [angel.number])
      // No query: the open requests, oldest first, a page at a time.
      let open = [zoe.number, anna.number, under.number, desk.number]
      #expect(try await find("") == open)
      let first = try await app.registrationAuthority.desk.searchRequests(
        query: "", state: nil, offset: 0, limit: 3)
      let second = try await app.registrationAuthority.desk.searchRequests(
        query: "", state: nil, offset: 3, limit: 3)
      #expect((first + second).map(\.number) == open)
    }
  }

  @Test(
    "refusals: auditor, own mailbox, name mismatch, expired ID, four eyes, wrong states, stale mailbox validation"
  )
  func refusals() async throws {
    try await TestInstallation.withApp(environment: ["MAILSEAL_FOUR_EYES": "true"]) { app in
      let authority = app.registrationAuthority
      let anna = try await Self.staff(app, "anna@example.edu")
      let bert = try await Self.staff(app, "bert@example.edu")
      let audrey = try await Self.staff(app, "audrey@example.edu", role: .auditor)

      let record = try await Self.request(app, mailbox: "zoe@example.edu")
      await #expect(throws: MailsealError.forbiddenForRole) {
        _ = try await authority.desk.recordEvidence(
          number: record.number, Self.evidence(), by: .staff(audrey))
      }
      do {
        _ = try await authority.desk.recordEvidence(
          number: record.number, Self.evidence(given: "Zoe"), by: .staff(anna))
        Issue.record("a name mismatch was accepted")
      } catch { #expect(Self.code(error) == "name-mismatch") }
      do {
        _ = try await authority.desk.recordEvidence(
          number: record.number, Self.evidence(expiry: "2020-01-01"), by: .staff(anna))
        Issue.record("an expired document was accepted")
      } catch { #expect((error as? MailsealError)?.fields["documentExpiry"] != nil) }
      do {
        _ = try await authority.desk.approve(number: record.number, by: .staff(anna))
        Issue.record("an unverified request was approved")
      } catch { #expect(Self.code(error) == "wrong-state") }
      #expect(try await CertificateRequestRecord.find(record.id, on: app.db)?.state == .submitted)

      _ = try await authority.desk.recordEvidence(
        number: record.number, Self.evidence(), by: .staff(anna))
      await #expect(throws: MailsealError.forbiddenForRole) {
        _ = try await authority.desk.approve(number: record.number, by: .staff(audrey))
      }
      do {
        _ = try await authority.desk.approve(number: record.number, by: .staff(anna))
        Issue.record("four eyes were not enforced")
      } catch { #expect(Self.code(error) == "four-eyes") }
      #expect(
        try await authority.desk.approve(number: record.number, by: .staff(bert)).state == .approved
      )

      // An operator's own mailbox.
      let own = try await Self.request(
        app, mailbox: "anna@example.edu", given: "anna", surname: "Desk")
      do {
        _ = try await authority.desk.recordEvidence(
          number: own.number, Self.evidence(given: "anna", surname: "Desk"), by: .staff(anna))
        Issue.record("an operator verified their own mailbox")
      } catch { #expect(Self.code(error) == "own-mailbox") }

      // A withdrawn request cannot be verified or approved.
      let withdrawn = try await Self.request(app, mailbox: "wim@example.edu", state: .withdrawn)
      do {
        _ = try await authority.desk.approve(number: withdrawn.number, by: .staff(bert))
        Issue.record("a withdrawn request was approved")
      } catch { #expect(Self.code(error) == "wrong-state") }

      // Mailbox validation older than 30 days.
      let stale = try await Self.request(
        app, mailbox: "sam@example.edu", validated: Date().addingTimeInterval(-31 * 86_400))
      _ = try await authority.desk.recordEvidence(
        number: stale.number, Self.evidence(), by: .staff(anna))
      do {
        _ = try await authority.desk.approve(number: stale.number, by: .staff(bert))
        Issue.record("a stale mailbox validation was approved")
      } catch { #expect(Self.code(error) == "mailbox-validation-stale") }
      // A fresh login link renews it.
      try await authority.mailboxSignIn.requestLoginLink(
        address: "sam@example.edu", language: .en, clientAddress: "192.0.2.9")
      let link = try await EnrollmentTests.loginLink(app, to: "sam@example.edu")
      _ = try await authority.mailboxSignIn.redeemLoginLink(String(link.dropFirst("/login/".count)))
      #expect(
        try await authority.desk.approve(number: stale.number, by: .staff(bert)).state == .approved)
    }
  }

  @Test(
    "a role mailbox: the desk checks the responsible person's ID against the names the request gives; a request without one takes the names checked"
  )
  func roleMailboxPerson() async throws {
    try await TestInstallation.withApp { app in
      let authority = app.registrationAuthority
      let anna = try await Self.staff(app, "anna@example.edu")
      let role = try await Self.request(
        app, mailbox: "sekretariat@example.edu", given: "Jörg", surname: "Weiß",
        pseudonym: "Sekretariat des Rechenzentrums")
      do {
        _ = try await authority.desk.recordEvidence(
          number: role.number, Self.evidence(given: "Zoë", surname: "Müller"), by: .staff(anna))
        Issue.record("another person's ID was accepted for a role mailbox")
      } catch { #expect(Self.code(error) == "name-mismatch") }
      let verified = try await authority.desk.recordEvidence(
        number: role.number, Self.evidence(given: "Jörg", surname: "Weiß"), by: .staff(anna))
      #expect(verified.state == .verified)
      let evidence = try #require(try await authority.desk.evidence(for: verified))
      #expect(evidence.verifiedGivenName == "Jörg" && evidence.verifiedSurname == "Weiß")
      // Made before responsible persons were asked for: the names checked
      // are recorded as they are.
      let legacy = try await Self.request(
        app, mailbox: "pool@example.edu", pseudonym: "Fahrzeugpool", responsible: false)
      #expect(
        try await authority.desk.recordEvidence(
          number: legacy.number, Self.evidence(given: "Ida", surname: "Kern"), by: .staff(anna)
        ).state == .verified)
    }
  }

  @Test(
    "an identity document's expiry: expired or implausibly far ahead is refused, with the field named"
  )
  func documentExpiry() async throws {
    try await TestInstallation.withApp { app in
      let authority = app.registrationAuthority
      let anna = try await Self.staff(app, "anna@example.edu")
      let record = try await Self.request(app, mailbox: "zoe@example.edu")
      let formatter = ISO8601DateFormatter()
      formatter.formatOptions = [.withFullDate]
      let day = { (years: Double) in
        formatter.string(from: Date().addingTimeInterval(years * 365.25 * 86_400))
      }
      for (expiry, id) in [
        ("1231-02-03", "field_document_expired"),  // 12/31/2030 typed as the old label said
        (day(-0.01), "field_document_expired"),
        (day(20.1), "field_document_expiry_implausible"),
        ("9999-01-01", "field_document_expiry_implausible"),
        ("31.12.2030", "field_date_format"), ("", "field_date_format"),
      ] {
        do {
          _ = try await authority.desk.recordEvidence(
            number: record.number, Self.evidence(expiry: expiry), by: .staff(anna))
          Issue.record("the expiry \(expiry) was accepted")
        } catch {
          #expect((error as? MailsealError)?.fields["documentExpiry"]?.id == id, "\(expiry)")
        }
      }
      #expect(
        try await authority.desk.recordEvidence(
          number: record.number, Self.evidence(expiry: day(19.9)), by: .staff(anna)
        ).state == .verified)
    }
  }

  @Test("rejection tells the requester the reason by mail")
  func rejection() async throws {
    try await TestInstallation.withApp { app in
      let anna = try await Self.staff(app, "anna@example.edu")
      let record = try await Self.request(app, mailbox: "zoe@example.edu")
      do {
        _ = try await app.registrationAuthority.desk.reject(
          number: record.number, reason: "  ", by: .staff(anna))
        Issue.record("a rejection without reason was accepted")
      } catch { #expect(Self.code(error) == "invalid-reason") }
      let rejected = try await app.registrationAuthority.desk.reject(
        number: record.number, reason: "Der Ausweis war abgelaufen.", by: .staff(anna))
      #expect(
        rejected.state == .rejected && rejected.rejectionReason == "Der Ausweis war abgelaufen.")
      let mail = try #require(
        try await OutboxMessageRecord.query(on: app.db).filter(\.$recipient == "zoe@example.edu")
          .first())
      #expect(mail.subject.contains("rejected"))
      #expect(
        mail.message.replacingOccurrences(of: "=\r\n", with: "").contains(
          "Reason: Der Ausweis war abgelaufen."))
    }
  }

  @Test("while issuance is paused approved requests wait; on resume they are issued in order")
  func pause() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let settings = Settings(database: app.db)
      try await settings.setIssuancePaused(true, by: AuditEvent.commandLine)
      for index in 0..<3 {
        try await Self.request(
          app, mailbox: "p\(index)@example.edu", state: .approved,
          approvedAt: Date().addingTimeInterval(Double(index)))
      }
      let worker = try #require(app.issuanceWorker)
      #expect(try await worker.issueDue() == 0)
      #expect(
        try await CertificateRequestRecord.query(on: app.db).filter(\.$state == .approved).count()
          == 3)
      try await settings.setIssuancePaused(false, by: AuditEvent.commandLine)
      #expect(try await worker.issueDue() == 3)
      let certificates = try await CertificateRecord.query(on: app.db).sort(\.$createdAt).all()
      #expect(certificates.count == 3)
    }
  }

  @Test("two workers at once on 1,000 approved requests: each issued exactly once")
  func twoWorkers() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let sql = try app.db.sql
      try await Self.insertApproved(app, count: 1_000)
      let configuration = app.mailseal
      let first = IssuanceWorker(
        database: app.db, configuration: configuration, logger: app.logger, batchSize: 64)
      let second = IssuanceWorker(
        database: app.db, configuration: configuration, logger: app.logger, batchSize: 64)
      async let a: Int = {
        var total = 0
        while true {
          let n = try await first.issueDue()
          if n == 0 { return total }
          total += n
        }
      }()
      async let b: Int = {
        var total = 0
        while true {
          let n = try await second.issueDue()
          if n == 0 { return total }
          total += n
        }
      }()
      let (issuedByFirst, issuedBySecond) = try await (a, b)
      #expect(issuedByFirst + issuedBySecond == 1_000)
      let counts = try await sql.raw(
        "SELECT COUNT(*) AS n, COUNT(DISTINCT request_id) AS requests FROM certificates WHERE request_id IS NOT NULL"
      ).first()
      #expect(try counts?.decode(column: "n", as: Int.self) == 1_000)
      #expect(try counts?.decode(column: "requests", as: Int.self) == 1_000)
      #expect(
        try await CertificateRequestRecord.query(on: app.db).filter(\.$state == .issued).count()
          == 1_000)
      let orphans = try await sql.raw(
        "SELECT COUNT(*) AS n FROM certificate_requests r LEFT JOIN certificates c ON c.id = r.certificate_id WHERE c.id IS NULL"
      ).first()
      #expect(try orphans?.decode(column: "n", as: Int.self) == 0)
      print("two workers: \(issuedByFirst) + \(issuedBySecond) on \(TestDatabase.kind)")
    }
  }
}

@Suite("Identity evidence retention")
struct EvidenceRetentionTests {
  @Test("evidence is purged only after its retention")
  func purge() async throws {
    try await TestInstallation.withApp { app in
      let anna = try await BackOfficeTests.staff(app, "anna@example.edu")
      let record = try await BackOfficeTests.request(app, mailbox: "zoe@example.edu")
      _ = try await app.registrationAuthority.desk.recordEvidence(
        number: record.number, BackOfficeTests.evidence(), by: .staff(anna))
      let evidence = try #require(try await IdentityEvidenceRecord.query(on: app.db).first())
      #expect(
        try await EvidenceRetention.purge(
          on: app.db, logger: app.logger, now: evidence.retainUntil.addingTimeInterval(-60)) == 0)
      #expect(
        try await EvidenceRetention.purge(
          on: app.db, logger: app.logger, now: evidence.retainUntil.addingTimeInterval(60)) == 1)
      #expect(try await IdentityEvidenceRecord.query(on: app.db).count() == 0)
    }
  }
}
