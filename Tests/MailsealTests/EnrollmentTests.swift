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

/// Steps 1–7 through HTTP, and every refusal on the way.
@Suite("Enrollment: login links, sessions, the request form and its API")
struct EnrollmentTests {
  static let environment = ["MAILSEAL_ALLOWED_DOMAINS": "example.edu,*.example.edu"]

  /// The login link in the newest queued mail to `address`.
  static func loginLink(_ app: Application, to address: String) async throws -> String {
    let message = try #require(
      try await OutboxMessageRecord.query(on: app.db).filter(\.$recipient == address).sort(
        \.$createdAt, .descending
      ).first())
    let text = message.message.replacingOccurrences(of: "=\r\n", with: "")
    let range = try #require(
      text.range(of: #"/login/[A-Za-z0-9_-]{43}"#, options: .regularExpression))
    return String(text[range])
  }

  /// Signs a browser in for `address` the way a person does.
  static func signIn(_ browser: inout TestBrowser, _ address: String) async throws {
    // The address form is for desktop browsers; a phone test says it is one.
    let start = try await browser.send(.GET, "/?desktop=1")
    let token = try #require(TestBrowser.formToken(in: start.body))
    let sent = try await browser.send(.POST, "/login", form: ["address": address, "csrf": token])
    // Post, redirect, get: the answer is the page at /login/sent.
    #expect(sent.status == .seeOther, "\(sent.body)")
    #expect(sent.headers.first(name: .location) == "/login/sent")
    #expect(try await browser.send(.GET, "/login/sent").status == .ok)
    let link = try await loginLink(browser.app, to: address.lowercased())
    let requests = try await CertificateRequestRecord.query(on: browser.app.db)
      .filter(\.$mailbox == address.lowercased()).count()
    let certificates = try await CertificateRecord.query(on: browser.app.db)
      .filter(\.$mailbox == address.lowercased()).count()
    let isNew = requests == 0 && certificates == 0
    let opened = try await browser.send(.GET, link)
    #expect(opened.status == .seeOther)
    // Someone new goes straight to the form.
    #expect(opened.headers.first(name: .location) == (isNew ? "/requests/new" : "/requests"))
  }

  static func csrf(_ browser: TestBrowser) -> [String: String] {
    ["X-CSRF-Token": browser.cookies[RequesterSession.csrfCookieName] ?? ""]
  }

  static func csrPEM(_ key: Certificate.PrivateKey, algorithm: Certificate.SignatureAlgorithm)
    throws -> String
  {
    let csr = try CertificateSigningRequest(
      version: .v1, subject: DistinguishedName { CommonName("x") }, privateKey: key,
      attributes: .init(),
      signatureAlgorithm: algorithm)
    return try csr.serializeAsPEM().pemString
  }

  /// A mail's quoted-printable parts as text (soft line breaks joined).
  static func quotedPrintableDecoded(_ message: String) -> String {
    let joined = Array(message.replacingOccurrences(of: "=\r\n", with: "").utf8)
    var bytes: [UInt8] = []
    var index = 0
    while index < joined.count {
      if joined[index] == UInt8(ascii: "="), index + 2 < joined.count,
        let value = UInt8(String(decoding: joined[index + 1...index + 2], as: UTF8.self), radix: 16)
      {
        bytes.append(value)
        index += 3
      } else {
        bytes.append(joined[index])
        index += 1
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func form(
    type: String = "personal", given: String? = "Zoë", surname: String? = "Müller",
    common: String? = nil,
    keyType: String = "p256", csr: String? = nil
  ) throws -> RequestForm {
    RequestForm(
      mailboxType: type, givenName: given, surname: surname, commonName: common, keyType: keyType,
      csr: try csr
        ?? csrPEM(Certificate.PrivateKey(P256.Signing.PrivateKey()), algorithm: .ecdsaWithSHA256))
  }

  @Test("a login link signs in once; the request is stored as submitted and confirmed by mail")
  func happyPath() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      try await Self.signIn(&browser, "Zoe@Example.edu")
      let list = try await browser.send(.GET, "/requests")
      #expect(list.status == .ok)
      #expect(list.body.contains("zoe@example.edu"))

      let created = try await browser.send(
        .POST, "/api/v1/requests", json: try Self.form(), headers: Self.csrf(browser), page: false)
      #expect(created.status == .created, "\(created.body)")
      let view = try JSONDecoder.api.decode(
        RequestAPIController.RequestView.self, from: Data(created.body.utf8))
      #expect(
        view.state == "submitted" && view.mailbox == "zoe@example.edu"
          && view.keyFileName == "mailseal-\(view.number).key.pem")
      let record = try #require(
        try await CertificateRequestRecord.query(on: app.db).filter(\.$number == view.number)
          .first())
      #expect(
        record.state == .submitted && record.givenName == "Zoë" && record.surname == "Müller"
          && record.keyType == "p256")
      // The stored CSR is the posted one and its key is the fingerprint.
      let checked = try CertificateRequestCheck.check(Array(record.csrDER))
      #expect(checked.keyFingerprint.hexString == record.keyFingerprint)
      // The confirmation mail names the number.
      let mails = try await OutboxMessageRecord.query(on: app.db).filter(
        \.$recipient == "zoe@example.edu"
      ).all()
      #expect(mails.contains { $0.message.contains(view.number) })
      // The confirmation page.
      let page = try await browser.send(.GET, "/requests/\(view.number)?submitted=1")
      #expect(page.status == .ok && page.body.contains(view.number))
    }
  }

  @Test("opening a link twice, late or tampered gives a clear page, never a session")
  func badLinks() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      try await Self.signIn(&browser, "zoe@example.edu")
      let link = try await Self.loginLink(app, to: "zoe@example.edu")

      var other = TestBrowser(app)
      let again = try await other.send(.GET, link)
      #expect(again.status == .gone && again.body.contains("login-link-used"))
      #expect(other.cookies[RequesterSession.cookieName] == nil)

      var tampered = link
      tampered.removeLast()
      tampered += link.hasSuffix("A") ? "B" : "A"
      let forged = try await other.send(.GET, tampered)
      #expect(forged.status == .notFound && forged.body.contains("login-link-invalid"))
      let truncated = try await other.send(.GET, String(link.dropLast(5)))
      #expect(truncated.status == .notFound)

      // A link that has expired.
      let authority = app.registrationAuthority
      try await authority.mailboxSignIn.requestLoginLink(
        address: "late@example.edu", language: .en, clientAddress: "192.0.2.1",
        now: Date().addingTimeInterval(-31 * 60))
      let late = try await Self.loginLink(app, to: "late@example.edu")
      let expired = try await other.send(.GET, late)
      #expect(expired.status == .gone && expired.body.contains("login-link-expired"))
      #expect(other.cookies[RequesterSession.cookieName] == nil)
    }
  }

  @Test("a disallowed domain is refused with a clear message; an allowed subdomain is accepted")
  func domains() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      let start = try await browser.send(.GET, "/")
      let token = try #require(TestBrowser.formToken(in: start.body))
      let refused = try await browser.send(
        .POST, "/login", form: ["address": "mallory@evil.example.com", "csrf": token])
      #expect(refused.status == .unprocessableEntity)
      #expect(refused.body.contains("only for addresses of these domains"))
      #expect(try await OutboxMessageRecord.query(on: app.db).count() == 0)
      let invalid = try await browser.send(
        .POST, "/login", form: ["address": "not an address", "csrf": token])
      #expect(
        invalid.status == .unprocessableEntity && invalid.body.contains("not a valid mail address"))
      let sub = try await browser.send(
        .POST, "/login", form: ["address": "a@cs.example.edu", "csrf": token])
      #expect(sub.status == .seeOther)
      #expect(try await OutboxMessageRecord.query(on: app.db).count() == 1)
    }
  }

  @Test(
    "login links are rate-limited per address and per client, answered 429 with a human message")
  func rateLimits() async throws {
    try await TestInstallation.withApp(
      environment: Self.environment.merging([
        "MAILSEAL_LOGIN_LIMIT_PER_ADDRESS": "2", "MAILSEAL_LOGIN_LIMIT_PER_CLIENT": "3",
      ]) { $1 }
    ) { app in
      var browser = TestBrowser(app)
      let start = try await browser.send(.GET, "/")
      let token = try #require(TestBrowser.formToken(in: start.body))
      for _ in 0..<2 {
        #expect(
          try await browser.send(
            .POST, "/login", form: ["address": "zoe@example.edu", "csrf": token]
          ).status == .seeOther)
      }
      let third = try await browser.send(
        .POST, "/login", form: ["address": "zoe@example.edu", "csrf": token])
      #expect(third.status == .tooManyRequests && third.body.contains("Too many login links"))
      #expect(
        try await browser.send(
          .POST, "/login", form: ["address": "ann@example.edu", "csrf": token]
        ).status == .seeOther)
      let perClient = try await browser.send(
        .POST, "/login", form: ["address": "bob@example.edu", "csrf": token])
      #expect(perClient.status == .tooManyRequests)
      let api = try await browser.send(
        .POST, "/login", form: ["address": "eve@example.edu", "csrf": token], page: false)
      #expect(api.status == .tooManyRequests && api.headers.first(name: "Retry-After") == "3600")
      #expect(try await OutboxMessageRecord.query(on: app.db).count() == 3)
    }
  }

  @Test("state-changing requests without the CSRF token are refused")
  func csrf() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      _ = try await browser.send(.GET, "/")
      let noToken = try await browser.send(
        .POST, "/login", form: ["address": "zoe@example.edu", "csrf": "x"])
      #expect(noToken.status == .forbidden)
      try await Self.signIn(&browser, "zoe@example.edu")
      let missing = try await browser.send(
        .POST, "/api/v1/requests", json: try Self.form(), page: false)
      #expect(missing.status == .forbidden && missing.body.contains("csrf-token-invalid"))
      let wrong = try await browser.send(
        .POST, "/api/v1/requests", json: try Self.form(),
        headers: ["X-CSRF-Token": SecretToken.make()], page: false)
      #expect(wrong.status == .forbidden)
      #expect(try await CertificateRequestRecord.query(on: app.db).count() == 0)
      let logout = try await browser.send(.POST, "/logout", form: ["csrf": "nope"])
      #expect(logout.status == .forbidden)
    }
  }

  @Test(
    "each bad form field is named with a clear message",
    arguments: [
      ("givenName", "", "is missing"), ("givenName", "...", "at least one letter"),
      ("givenName", "Zo\u{0007}e", "control character"),
      ("givenName", String(repeating: "a", count: 65), "too long"),
      ("surname", "   ", "is missing"), ("surname", "M\u{202E}ller", "control character"),
    ])
  func badFields(field: String, value: String, message: String) async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      try await Self.signIn(&browser, "zoe@example.edu")
      var form = try Self.form()
      if field == "givenName" { form.givenName = value } else { form.surname = value }
      let answer = try await browser.send(
        .POST, "/api/v1/requests", json: form, headers: Self.csrf(browser), page: false)
      #expect(answer.status == .unprocessableEntity)
      let problem = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
      let errors = problem?["errors"] as? [String: String]
      #expect(errors?[field]?.contains(message) == true, "\(answer.body)")
      #expect(try await CertificateRequestRecord.query(on: app.db).count() == 0)
    }
  }

  @Test(
    "role mailboxes need their name and the responsible person's; the key type must be offered and match the CSR"
  )
  func roleAndKeyType() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      try await Self.signIn(&browser, "sekretariat@example.edu")
      let noName = try await browser.send(
        .POST, "/api/v1/requests",
        json: try Self.form(type: "role", given: nil, surname: nil, common: nil),
        headers: Self.csrf(browser), page: false)
      #expect(noName.status == .unprocessableEntity && noName.body.contains("commonName"))
      let badType = try await browser.send(
        .POST, "/api/v1/requests", json: try Self.form(type: "shared"), headers: Self.csrf(browser),
        page: false)
      #expect(badType.status == .unprocessableEntity && badType.body.contains("mailboxType"))
      let wrongKey = try await browser.send(
        .POST, "/api/v1/requests", json: try Self.form(keyType: "rsa3072"),
        headers: Self.csrf(browser), page: false)
      #expect(
        wrongKey.status == .unprocessableEntity && wrongKey.body.contains("key-type-mismatch"))
      // The person responsible must be named: the desk checks their ID.
      let nobody = try await browser.send(
        .POST, "/api/v1/requests",
        json: try Self.form(
          type: "role", given: nil, surname: nil, common: "Sekretariat des Rechenzentrums"),
        headers: Self.csrf(browser), page: false)
      #expect(
        nobody.status == .unprocessableEntity && nobody.body.contains("givenName")
          && nobody.body.contains("surname") && !nobody.body.contains("commonName"))
      let role = try await browser.send(
        .POST, "/api/v1/requests",
        json: try Self.form(
          type: "role", given: "Jörg", surname: "Weiß", common: "Sekretariat des Rechenzentrums"),
        headers: Self.csrf(browser), page: false)
      #expect(role.status == .created)
      let stored = try #require(try await CertificateRequestRecord.query(on: app.db).first())
      #expect(
        stored.pseudonym == "Sekretariat des Rechenzentrums" && stored.givenName == "Jörg"
          && stored.surname == "Weiß")
      // The confirmation says whose ID the desk checks.
      let mail = try #require(
        try await OutboxMessageRecord.query(on: app.db)
          .filter(\.$subject ~~ stored.number).first())
      let text = Self.quotedPrintableDecoded(mail.message)
      #expect(text.contains("Jörg Weiß") && text.contains("Sekretariat des Rechenzentrums"))
    }
  }

  @Test(
    "the confirmation page and mail always name both ways of the identity check: the video call's link when configured, otherwise ask the desk"
  )
  func bothWaysOfTheCheck() async throws {
    for videoCall in [nil, "https://meet.example.edu/id-check"] {
      var environment = Self.environment
      environment["MAILSEAL_VIDEO_CALL_URL"] = videoCall
      try await TestInstallation.withApp(environment: environment) { app in
        var browser = TestBrowser(app)
        try await Self.signIn(&browser, "zoe@example.edu")
        let created = try await browser.send(
          .POST, "/api/v1/requests", json: try Self.form(), headers: Self.csrf(browser),
          page: false)
        #expect(created.status == .created)
        let record = try #require(try await CertificateRequestRecord.query(on: app.db).first())
        let page = try await browser.send(.GET, "/requests/\(record.number)?lang=en")
        let mail = Self.quotedPrintableDecoded(
          try #require(
            try await OutboxMessageRecord.query(on: app.db)
              .filter(\.$subject ~~ record.number).first()
          ).message)
        #expect(page.body.contains("In person at the service desk:"))
        #expect(page.body.contains("Or by video call:"))
        #expect(mail.contains("video call"))
        if let videoCall {
          #expect(page.body.contains("href=\"\(videoCall)\""))
          #expect(mail.contains(videoCall))
        } else {
          #expect(page.body.contains("Ask the service desk for an appointment."))
          #expect(mail.contains("ask the service desk for an appointment"))
        }
      }
    }
  }

  @Test("a bad CSR is refused at once with the CA core's reason")
  func badCSR() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      try await Self.signIn(&browser, "zoe@example.edu")
      for (csr, code) in [
        ("garbage", "csr-malformed"),
        (String(repeating: "A", count: 17_000), "csr-too-large"),
      ] {
        let answer = try await browser.send(
          .POST, "/api/v1/requests", json: try Self.form(csr: csr), headers: Self.csrf(browser),
          page: false)
        #expect(answer.body.contains(code), "\(answer.body)")
        #expect(answer.status == .unprocessableEntity || answer.status == .payloadTooLarge)
      }
      // A request whose signature does not verify.
      var pem = try Self.csrPEM(
        Certificate.PrivateKey(P256.Signing.PrivateKey()), algorithm: .ecdsaWithSHA256)
      var der = try PEMDocument(pemString: pem).derBytes
      der[der.count - 3] ^= 0x01
      pem = PEMDocument(type: "CERTIFICATE REQUEST", derBytes: der).pemString
      let forged = try await browser.send(
        .POST, "/api/v1/requests", json: try Self.form(csr: pem), headers: Self.csrf(browser),
        page: false)
      #expect(forged.status == .unprocessableEntity && forged.body.contains("csr-bad-signature"))
      #expect(try await CertificateRequestRecord.query(on: app.db).count() == 0)
    }
  }

  @Test("another mailbox's request is not found; withdrawing works once and only before approval")
  func otherMailboxAndWithdraw() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var zoe = TestBrowser(app)
      try await Self.signIn(&zoe, "zoe@example.edu")
      let created = try await zoe.send(
        .POST, "/api/v1/requests", json: try Self.form(), headers: Self.csrf(zoe), page: false)
      let number = try JSONDecoder.api.decode(
        RequestAPIController.RequestView.self, from: Data(created.body.utf8)
      ).number

      var bob = TestBrowser(app)
      try await Self.signIn(&bob, "bob@example.edu")
      #expect(
        try await bob.send(.GET, "/api/v1/requests/\(number)", page: false).status == .notFound)
      #expect(try await bob.send(.GET, "/requests/\(number)").status == .notFound)
      let stolen = try await bob.send(
        .POST, "/api/v1/requests/\(number)/withdraw", headers: Self.csrf(bob), page: false)
      #expect(stolen.status == .notFound)
      let bobsList = try await bob.send(.GET, "/api/v1/requests", page: false)
      #expect(bobsList.body == "[]")

      let withdrawn = try await zoe.send(
        .POST, "/api/v1/requests/\(number)/withdraw", headers: Self.csrf(zoe), page: false)
      #expect(withdrawn.status == .ok && withdrawn.body.contains("\"state\":\"withdrawn\""))
      let twice = try await zoe.send(
        .POST, "/api/v1/requests/\(number)/withdraw", headers: Self.csrf(zoe), page: false)
      #expect(twice.status == .conflict)

      // Not signed in at all.
      var stranger = TestBrowser(app)
      #expect(
        try await stranger.send(.GET, "/api/v1/requests", page: false).status == .unauthorized)
      #expect(try await stranger.send(.GET, "/requests").status == .unauthorized)
    }
  }

  @Test("phones and tablets are told to use a desktop browser")
  func phones() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      browser.userAgent =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
      let start = try await browser.send(.GET, "/")
      #expect(start.body.contains("Please use a desktop browser"))
      // The explanation and no form; a link for a browser taken for a phone.
      #expect(!start.body.contains("action=\"/login\""))
      #expect(start.body.contains("href=\"/?desktop=1\""))
      try await Self.signIn(&browser, "zoe@example.edu")
      // Signed in (the link said "desktop" on the way): a phone that has not
      // said so gets no form.
      browser.cookies[RequesterController.desktopCookieName] = nil
      let form = try await browser.send(.GET, "/requests/new")
      #expect(form.body.contains("Please use a desktop browser"))
      #expect(!form.body.contains("request-form"))
      // Who says it is a desktop computer after all gets the form.
      let desktop = try await browser.send(.GET, "/requests/new?desktop=1")
      #expect(desktop.body.contains("request-form"))
      #expect(browser.cookies[RequesterController.desktopCookieName] == "1")
    }
  }

  @Test("pages are in German or English, switchable and remembered, with a strict CSP")
  func languages() async throws {
    try await TestInstallation.withApp(environment: Self.environment) { app in
      var browser = TestBrowser(app)
      browser.language = "de-DE,de;q=0.9,en;q=0.5"
      let german = try await browser.send(.GET, "/")
      #expect(
        german.body.contains("<html lang=\"de\">") && german.body.contains("Anmeldelink senden"))
      let policy = german.headers.first(name: "Content-Security-Policy") ?? ""
      #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
      #expect(german.headers.first(name: "Referrer-Policy") == "no-referrer")
      let switched = try await browser.send(.GET, "/?lang=en")
      #expect(switched.body.contains("Send login link"))
      let remembered = try await browser.send(.GET, "/")
      #expect(remembered.body.contains("<html lang=\"en\">"))
    }
  }

  @Test("the OpenAPI document describes the API")
  func openAPI() async throws {
    try await TestInstallation.withApp { app in
      var browser = TestBrowser(app)
      let answer = try await browser.send(.GET, "/api/openapi.json", page: false)
      let document =
        try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
      let paths = document?["paths"] as? [String: Any]
      #expect(
        Set(paths?.keys.map { $0 } ?? []) == [
          "/api/v1/requests", "/api/v1/requests/{number}", "/api/v1/requests/{number}/withdraw",
          "/api/v1/directory",
        ])
    }
  }
}

extension JSONDecoder {
  static var api: JSONDecoder {
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    return decoder
  }
}
