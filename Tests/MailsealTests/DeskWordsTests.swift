import Fluent
import Foundation
import MailsealModel
import Testing
import UpstreamTestSupport
import Vapor

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// What staff and requesters read: words in the page's language, never the
/// store's identifiers; whose ID the desk checks; the issuer in words.
@Suite("Words on the desk's and the pickup's pages")
struct DeskWordsTests {
  /// A staff member enrolled and signed in through the pages.
  static func signedInStaff(
    _ app: Application, _ email: String, role: OperatorRecord.Role = .operator
  ) async throws -> TestBrowser {
    let (_, link) = try await app.operatorDirectory.add(
      email: email, name: "Desk", role: role)
    var browser = TestBrowser(app)
    let secret = try await OperatorTests.enrol(
      &browser, link: link, password: "desk-password-2026")
    let signedIn = try await OperatorTests.signIn(
      &browser, email: email, password: "desk-password-2026",
      code: OneTimePassword.code(secret: secret, step: OneTimePassword.step(Date()) + 1))
    #expect(signedIn.status == .seeOther)
    return browser
  }

  /// The text between tags of `html` (what a reader sees), one string.
  static func visibleText(_ html: String) -> String {
    html.replacingOccurrences(of: "<[^>]*>", with: "\n", options: .regularExpression)
  }

  /// No line of `text` is one of the store's identifiers.
  static func expectNoIdentifiers(_ text: String, _ page: String) {
    let lines = Set(text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
    for identifier in identifiers {
      #expect(!lines.contains(identifier), "\(page) shows \(identifier)")
    }
  }

  static let identifiers = [
    "in-person", "video-call", "identity-card", "residence-permit", "passport", "personal",
    "role", "rsa3072", "rsa4096", "p256", "submitted", "verified", "approved", "issued",
    "rejected", "withdrawn", "expired",
  ]

  @Test(
    "queue, desk page and evidence: methods, documents, types, key types and states in words, German and English"
  )
  func staffWords() async throws {
    try await TestInstallation.withApp { app in
      var desk = try await Self.signedInStaff(app, "anna@example.edu")
      let ben = try await BackOfficeTests.staff(app, "ben@example.edu")
      let personal = try await BackOfficeTests.request(app, mailbox: "zoe@example.edu")
      let role = try await BackOfficeTests.request(
        app, mailbox: "sekretariat@example.edu", given: "Jörg", surname: "Weiß",
        pseudonym: "Sekretariat")
      _ = try await app.registrationAuthority.desk.recordEvidence(
        number: personal.number, BackOfficeTests.evidence(), by: .staff(ben))

      for (language, words) in [
        ("en", ["ECDSA P-256", "Identity checked"]),
        ("de", ["ECDSA P-256", "Identität geprüft"]),
      ] {
        let queue = try await desk.send(.GET, "/operator/queue?lang=\(language)")
        #expect(queue.status == .ok)
        let visible = Self.visibleText(queue.body)
        Self.expectNoIdentifiers(visible, "\(language) queue")
        #expect(visible.contains(words[0]) && visible.contains(words[1]))
        // A role mailbox is listed with its responsible person.
        #expect(visible.contains("Sekretariat (Jörg Weiß)"))

        for number in [personal.number, role.number] {
          let page = try await desk.send(.GET, "/operator/requests/\(number)?lang=\(language)")
          #expect(page.status == .ok)
          let text = Self.visibleText(page.body)
          Self.expectNoIdentifiers(text, "\(language) desk page")
          #expect(!text.contains("YYYY") && !text.contains("JJJJ"))
        }
      }
      // English: the evidence recorded, in words.
      let verified = try await desk.send(.GET, "/operator/requests/\(personal.number)?lang=en")
      #expect(verified.body.contains("In person at the service desk"))
      #expect(verified.body.contains("Identity card"))
      // The role request names whose ID to check, and why.
      let rolePage = try await desk.send(.GET, "/operator/requests/\(role.number)?lang=en")
      #expect(rolePage.body.contains("<strong>Jörg Weiß</strong>"))
      #expect(rolePage.body.contains("person responsible for the role mailbox"))
      #expect(rolePage.body.contains(#"<option value="in-person">In person at the service desk"#))
      #expect(rolePage.body.contains(#"<option value="residence-permit">Residence permit"#))
      // The date picker is bounded: from today to 20 years ahead.
      let bounds = try #require(
        rolePage.body.range(
          of: #"min="\d{4}-\d{2}-\d{2}" max="\d{4}-\d{2}-\d{2}""#, options: .regularExpression))
      let years = rolePage.body[bounds].split(separator: "\"").compactMap { Int($0.prefix(4)) }
      #expect(years.count == 2 && years[1] - years[0] == 20)
    }
  }

  @Test("while issuance is paused, an approved request says it waits, on the desk's pages too")
  func pausedOnTheDesk() async throws {
    try await TestInstallation.withApp { app in
      var desk = try await Self.signedInStaff(app, "anna@example.edu")
      let record = try await BackOfficeTests.request(
        app, mailbox: "zoe@example.edu", state: .approved, approvedAt: Date())
      try await app.registrationAuthority.service.setIssuancePaused(true, by: .commandLine)
      for path in ["/operator/queue?lang=en", "/operator/requests/\(record.number)?lang=en"] {
        let page = try await desk.send(.GET, path)
        #expect(page.body.contains("Approved – waiting: issuance is paused"), "\(path)")
        #expect(!page.body.contains("Approved – being issued"), "\(path)")
      }
    }
  }

  @Test(
    "an upstream CA issues: approved requests wait for it, held ones for an administrator, whose page lists them with the decisions (CSRF-protected)"
  )
  func upstreamWords() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-upstream-words-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let chain = folder.appendingPathComponent("chain.pem")
    try Data(try UpstreamTestCA().chainPEM.utf8).write(to: chain)
    let secret = folder.appendingPathComponent("secret")
    try Data("cmp-shared-secret\n".utf8).write(to: secret)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret.path)
    let environment = [
      "MAILSEAL_UPSTREAM": "cmp", "MAILSEAL_UPSTREAM_URL": "http://127.0.0.1:9/pkix/",
      "MAILSEAL_UPSTREAM_CHAIN_FILE": chain.path, "MAILSEAL_CMP_REFERENCE": "mailseal",
      "MAILSEAL_CMP_SECRET_FILE": secret.path,
      "MAILSEAL_CMP_RECIPIENT": "CN=Upstream Test S/MIME CA,O=Upstream Test Trust",
    ]
    try await TestInstallation.withApp(environment: environment) { app in
      var admin = try await Self.signedInStaff(app, "ada@example.edu", role: .admin)
      let record = try await BackOfficeTests.request(
        app, mailbox: "zoe@example.edu", state: .approved, approvedAt: Date())
      let path = "/operator/requests/\(record.number)?lang=en"
      #expect(
        try await admin.send(.GET, path).body.contains(
          "Approved – waiting for the certificate authority"))
      _ = try await Store(app.db).upstreamOrders.hold(
        try record.requireID(), reason: "wrong-key: its public key is not the request's",
        now: Date())
      #expect(
        try await admin.send(.GET, path).body.contains(
          "Approved – being checked by an administrator"))
      let page = try await admin.send(.GET, "/operator/admin?lang=en").body
      #expect(page.contains("Held at the certificate authority"))
      #expect(page.contains(record.number) && page.contains("wrong-key"))
      #expect(page.contains("Order again") && page.contains("Reject the request"))
      let refused = try await admin.send(
        .POST, "/operator/upstream/release", form: ["number": record.number])
      #expect(refused.status != .seeOther)
      let still = try #require(try await CertificateRequestRecord.find(record.id, on: app.db))
      #expect(still.upstreamHeldAt != nil)
    }
  }

  @Test("times are shown in the configured zone (MAILSEAL_TIME_ZONE), and the zone is named")
  func timeZone() async throws {
    for name in ["Asia/Tokyo", "America/New_York"] {
      try await TestInstallation.withApp(environment: ["MAILSEAL_TIME_ZONE": name]) { app in
        let zone = try #require(TimeZone(identifier: name))
        var desk = try await Self.signedInStaff(app, "anna@example.edu")
        let record = try await BackOfficeTests.request(app, mailbox: "zoe@example.edu")
        let page = try await desk.send(.GET, "/operator/requests/\(record.number)?lang=en")
        let shown = DateWords.format(record.createdAt, language: .en, zone: zone)
        #expect(page.body.contains(shown), "\(shown)")
        let abbreviation = try #require(zone.abbreviation(for: record.createdAt))
        #expect(shown.hasSuffix(" " + abbreviation))
        // The same instant in another zone reads differently.
        #expect(
          shown
            != DateWords.format(record.createdAt, language: .en, zone: TimeZone(identifier: "UTC")!)
        )
      }
    }
  }

  @Test("the pickup page names the issuer in words; its whole name stays in a details element")
  func issuerInWords() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let certificate = try await LifecycleTests.issue(app, mailbox: "zoe@example.edu")
      var browser = TestBrowser(app)
      try await EnrollmentTests.signIn(&browser, "zoe@example.edu")
      let request = try #require(
        try await CertificateRequestRecord.find(certificate.requestID, on: app.db))
      let page = try await browser.send(.GET, "/requests/\(request.number)/pickup?lang=en")
      #expect(page.status == .ok)
      let name = try #require(
        page.body.range(of: #"id="issuer-name">[^<]+<"#, options: .regularExpression))
      let shown = page.body[name].dropFirst(#"id="issuer-name">"#.count).dropLast()
      #expect(!shown.isEmpty && !shown.contains("CN=") && !shown.contains("2.5.4.97"))
      #expect(page.body.contains(#"id="issuer-organization">"#))
      let details = try #require(page.body.range(of: "<details>"))
      let full = try #require(page.body.range(of: "CN="))
      #expect(full.lowerBound > details.lowerBound)
    }
  }
}
