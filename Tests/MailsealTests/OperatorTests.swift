import Fluent
import Foundation
import MailsealModel
import Testing
import Vapor

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Operators: enrolment with password and TOTP, sign-in, lockout, roles")
struct OperatorTests {
  @Test("TOTP codes are RFC 6238's (SHA-1, six digits) and base32 is RFC 4648's")
  func vectors() {
    let secret = Array("12345678901234567890".utf8)
    for (time, code) in [
      (59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"),
      (2_000_000_000, "279037"),
    ] {
      #expect(OneTimePassword.code(secret: secret, step: time / 30) == code)
    }
    #expect(OneTimePassword.base32(Array("foobar".utf8)) == "MZXW6YTBOI")
    #expect(OneTimePassword.base32(Array("f".utf8)) == "MY")
    // One step of drift either way, never a used step again.
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let step = OneTimePassword.step(now)
    #expect(
      OneTimePassword.verify(
        OneTimePassword.code(secret: secret, step: step - 1), secret: secret, now: now, lastUsed: 0)
        == step - 1)
    #expect(
      OneTimePassword.verify(
        OneTimePassword.code(secret: secret, step: step - 2), secret: secret, now: now, lastUsed: 0)
        == nil)
    #expect(
      OneTimePassword.verify(
        OneTimePassword.code(secret: secret, step: step), secret: secret, now: now, lastUsed: step)
        == nil)
  }

  @Test("passwords are scrypt hashes that verify only the right password")
  func passwords() throws {
    let hash = try PasswordHash.make("correct horse battery")
    #expect(hash.hasPrefix("scrypt$32768$8$1$"))
    #expect(PasswordHash.verify("correct horse battery", against: hash))
    #expect(!PasswordHash.verify("correct horse batterz", against: hash))
    #expect(!PasswordHash.verify("x", against: "scrypt$99999999$8$1$AAAA$AAAA"))
  }

  /// Enrols an operator through the pages and returns the TOTP secret.
  static func enrol(_ browser: inout TestBrowser, link: String, password: String) async throws
    -> [UInt8]
  {
    let path = String(link[link.range(of: "/operator/enrol/")!.lowerBound...])
    let form = try await browser.send(.GET, path)
    #expect(form.status == .ok)
    let token = try #require(TestBrowser.formToken(in: form.body))
    let setPassword = try await browser.send(
      .POST, path, form: ["password": password, "passwordRepeat": password, "csrf": token])
    // Post, redirect, get: the QR code is the enrolment page again, in the
    // browser that set the password.
    #expect(setPassword.status == .seeOther, "\(setPassword.body)")
    let qrPage = try await browser.send(.GET, path)
    #expect(qrPage.status == .ok, "\(qrPage.body)")
    let secretRange = try #require(
      qrPage.body.range(of: #"id="totp-secret">[A-Z2-7]+<"#, options: .regularExpression))
    let secretText = qrPage.body[secretRange].dropFirst(#"id="totp-secret">"#.count).dropLast()
    // The QR code on the page holds the otpauth URI with that secret.
    let qrRange = try #require(
      qrPage.body.range(
        of: #"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"#, options: .regularExpression))
    let svg = String(
      decoding: Data(
        base64Encoded: String(qrPage.body[qrRange].dropFirst("data:image/svg+xml;base64,".count)))!,
      as: UTF8.self)
    #expect(svg.hasPrefix("<svg"))
    let secret = try #require(base32Decode(String(secretText)))
    let code = OneTimePassword.code(secret: secret, step: OneTimePassword.step(Date()))
    let done = try await browser.send(
      .POST, path + "/confirm", form: ["code": code, "csrf": token])
    #expect(done.status == .seeOther, "\(done.body)")
    #expect(done.headers.first(name: .location) == "/operator/enrolled")
    #expect(try await browser.send(.GET, "/operator/enrolled").status == .ok)
    return secret
  }

  static func base32Decode(_ text: String) -> [UInt8]? {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    var buffer = 0
    var bits = 0
    var out: [UInt8] = []
    for character in text {
      guard let value = alphabet.firstIndex(of: character) else { return nil }
      buffer = (buffer << 5) | value
      bits += 5
      if bits >= 8 {
        out.append(UInt8((buffer >> (bits - 8)) & 0xFF))
        bits -= 8
      }
    }
    return out
  }

  /// Signs in through both steps; returns the final page.
  static func signIn(_ browser: inout TestBrowser, email: String, password: String, code: String)
    async throws -> TestBrowser.Page
  {
    let form = try await browser.send(.GET, "/operator/login")
    let token = try #require(TestBrowser.formToken(in: form.body))
    let first = try await browser.send(
      .POST, "/operator/login", form: ["email": email, "password": password, "csrf": token])
    guard first.status == .seeOther else { return first }
    let codePage = try await browser.send(.GET, "/operator/code")
    let codeToken = try #require(TestBrowser.formToken(in: codePage.body))
    return try await browser.send(.POST, "/operator/code", form: ["code": code, "csrf": codeToken])
  }

  @Test(
    "an operator enrols with the link, signs in with password and code, reaches the queue; the link works once"
  )
  func enrolAndSignIn() async throws {
    try await TestInstallation.withApp { app in
      let (record, link) = try await app.operatorDirectory.add(
        email: "Anna.Desk@Example.edu", name: "Anna Desk", role: .operator)
      #expect(record.email == "anna.desk@example.edu" && !record.isEnrolled)
      var browser = TestBrowser(app)
      let secret = try await Self.enrol(&browser, link: link, password: "desk-password-2026")
      let reused = try await browser.send(
        .GET, String(link[link.range(of: "/operator/enrol/")!.lowerBound...]))
      #expect(reused.status == .notFound)

      // The next time step, so that the enrolment code is not reused.
      let later = OneTimePassword.code(secret: secret, step: OneTimePassword.step(Date()) + 1)
      let signedIn = try await Self.signIn(
        &browser, email: "anna.desk@example.edu", password: "desk-password-2026", code: later)
      #expect(
        signedIn.status == .seeOther && signedIn.headers.first(name: .location) == "/operator/queue"
      )
      let queue = try await browser.send(.GET, "/operator/queue")
      #expect(queue.status == .ok && queue.body.contains("Anna Desk"))
      // The same code does not work twice.
      var second = TestBrowser(app)
      let again = try await Self.signIn(
        &second, email: "anna.desk@example.edu", password: "desk-password-2026", code: later)
      #expect(again.status == .unauthorized)
      // A requester's session is not an operator's.
      var requester = TestBrowser(app)
      try await EnrollmentTests.signIn(&requester, "anna.desk@example.edu")
      #expect(try await requester.send(.GET, "/operator/queue").status == .unauthorized)
    }
  }

  @Test(
    "a wrong code or password is refused; five failures lock the account even for the right ones")
  func lockout() async throws {
    try await TestInstallation.withApp { app in
      let (_, link) = try await app.operatorDirectory.add(
        email: "bob@example.edu", name: "Bob Desk", role: .admin)
      var browser = TestBrowser(app)
      let secret = try await Self.enrol(&browser, link: link, password: "bob-password-2026")
      let wrongCode = try await Self.signIn(
        &browser, email: "bob@example.edu", password: "bob-password-2026", code: "000000")
      #expect(wrongCode.status == .unauthorized && wrongCode.body.contains("Sign-in failed"))
      for _ in 0..<3 {
        #expect(
          try await Self.signIn(
            &browser, email: "bob@example.edu", password: "wrong-password-1", code: ""
          ).status == .unauthorized)
      }
      let unknown = try await Self.signIn(
        &browser, email: "nobody@example.edu", password: "whatever-123456", code: "")
      #expect(unknown.status == .unauthorized)
      #expect(
        try await Self.signIn(
          &browser, email: "bob@example.edu", password: "wrong-password-1", code: ""
        ).status == .unauthorized)
      let right = OneTimePassword.code(secret: secret, step: OneTimePassword.step(Date()) + 1)
      let locked = try await Self.signIn(
        &browser, email: "bob@example.edu", password: "bob-password-2026", code: right)
      #expect(locked.status == .locked && locked.body.contains("locked"))
      let record = try #require(
        try await OperatorRecord.query(on: app.db).filter(\.$email == "bob@example.edu").first())
      #expect((record.lockedUntil ?? .distantPast) > Date())
    }
  }

  @Test("enrolment refuses short or different passwords and wrong codes")
  func enrolmentRefusals() async throws {
    try await TestInstallation.withApp { app in
      let (_, link) = try await app.operatorDirectory.add(
        email: "carla@example.edu", name: "Carla Audit", role: .auditor)
      var browser = TestBrowser(app)
      let path = String(link[link.range(of: "/operator/enrol/")!.lowerBound...])
      let form = try await browser.send(.GET, path)
      let token = try #require(TestBrowser.formToken(in: form.body))
      let short = try await browser.send(
        .POST, path, form: ["password": "short", "passwordRepeat": "short", "csrf": token])
      #expect(short.status == .unprocessableEntity)
      let different = try await browser.send(
        .POST, path,
        form: ["password": "long-enough-pass", "passwordRepeat": "long-enough-pasz", "csrf": token])
      #expect(different.status == .unprocessableEntity)
      let noCSRF = try await browser.send(
        .POST, path,
        form: ["password": "long-enough-pass", "passwordRepeat": "long-enough-pass", "csrf": "x"])
      #expect(noCSRF.status == .forbidden)
      _ = try await browser.send(
        .POST, path,
        form: ["password": "long-enough-pass", "passwordRepeat": "long-enough-pass", "csrf": token])
      let wrong = try await browser.send(
        .POST, path + "/confirm", form: ["code": "123456", "csrf": token])
      #expect(wrong.status == .unprocessableEntity)
      let record = try #require(
        try await OperatorRecord.query(on: app.db).filter(\.$email == "carla@example.edu").first())
      #expect(!record.isEnrolled)
      await #expect(throws: MailsealError.self) {
        _ = try await app.operatorDirectory.add(
          email: "carla@example.edu", name: "Carla Again", role: .operator)
      }
    }
  }
}
