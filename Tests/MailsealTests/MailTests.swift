import Fluent
import Foundation
import MailsealModel
import NIOPosix
import Testing
import Vapor

@testable import MailsealAdapters
@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Mail: MIME, the outbox, the worker, SMTP and the .eml folder")
struct MailTests {
  static let message = MailMessage(
    from: "Mailseal Service-Desk <noreply@example.edu>", to: "zoe@example.edu",
    subject: "Ihr Anmeldelink für S/MIME-Zertifikate — äöü ß",
    text:
      "Grüße, Zoë!\nEine lange Zeile mit Umlauten, die über sechsundsiebzig Zeichen hinausgeht: äöüÄÖÜß äöüÄÖÜß äöüÄÖÜß.\n.leading dot\nhttps://smime.example.edu/login/0ebjEk5fDbmdsQhd7V6LZ1dodrLxfdTQWOjxvsH7EUs",
    html: "<p>Grüße, <strong>Zoë</strong>!</p>", language: "de")

  /// Python's email package, an independent reader of what we write.
  static func parse(_ raw: String) throws -> [String: String] {
    let script = """
      import email, email.policy, json, sys
      m = email.message_from_string(sys.stdin.read(), policy=email.policy.default)
      parts = {p.get_content_type(): p.get_content() for p in m.walk() if not p.is_multipart()}
      print(json.dumps({"subject": str(m["subject"]), "from": str(m["from"]), "to": str(m["to"]),
        "date": str(m["date"]), "id": str(m["message-id"]), "lang": str(m["content-language"]),
        "text": parts.get("text/plain", ""), "html": parts.get("text/html", ""),
        "defects": str([d for p in m.walk() for d in p.defects])}))
      """
    let result = try Run.program("/usr/bin/env", ["python3", "-c", script], input: Data(raw.utf8))
    return try JSONDecoder().decode([String: String].self, from: Data(result.output.utf8))
  }

  @Test("a message is proper MIME: UTF-8 subject and parts, both alternatives, Message-ID and Date")
  func mime() throws {
    let raw = Self.message.rendered(
      date: Date(timeIntervalSince1970: 1_795_600_000), messageID: "abc@example.edu",
      boundary: "=_b1")
    #expect(
      raw.split(separator: "\r\n", omittingEmptySubsequences: false).allSatisfy {
        $0.utf8.count <= 78
      })
    #expect(raw.utf8.allSatisfy { $0 < 0x80 })
    let parsed = try Self.parse(raw)
    #expect(parsed["subject"] == Self.message.subject)
    #expect(parsed["from"] == "Mailseal Service-Desk <noreply@example.edu>")
    #expect(parsed["id"] == "<abc@example.edu>" && parsed["lang"] == "de")
    #expect(parsed["date"]?.hasPrefix("Wed, 25 Nov 2026") == true)
    #expect(
      parsed["text"]?.replacingOccurrences(of: "\r\n", with: "\n").trimmingCharacters(in: .newlines)
        == Self.message.text)
    #expect(parsed["html"]?.contains("<strong>Zoë</strong>") == true)
    #expect(parsed["defects"] == "[]")
  }

  @Test(
    "the Date header is what DateFormatter writes, for 2,000 whole-second dates from 1903 to 2381")
  func dateHeader() {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
    var dates = [
      "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2000-02-29T12:00:00Z",
      "2100-03-01T00:00:00Z", "2026-11-25T20:26:55Z",
    ].compactMap { try? Date($0, strategy: .iso8601) }
    var generator = SystemRandomNumberGenerator()
    for _ in 0..<1995 {
      dates.append(
        Date(
          timeIntervalSince1970: Double.random(in: -2.1e9...1.3e10, using: &generator).rounded(
            .down)))
    }
    for date in dates {
      #expect(MIME.rfc5322Date(date) == formatter.string(from: date))
    }
  }

  @Test("quoted-printable decodes back to the text, CRLF line ends, no line over 76")
  func quotedPrintable() throws {
    let texts = [
      Self.message.text, "", "\n", "a\r\nb\n", "trailing space \nand tab\t\n=equals=",
      String(repeating: "ä", count: 100), String(repeating: "x", count: 200) + " ",
    ]
    for text in texts {
      let encoded = MIME.quotedPrintable(text)
      #expect(
        encoded.split(separator: "\r\n", omittingEmptySubsequences: false).allSatisfy {
          $0.utf8.count <= 76
        })
      #expect(!encoded.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
      // Decode: soft breaks out, =XX to the byte.
      let bytes = Array(encoded.replacingOccurrences(of: "=\r\n", with: "").utf8)
      var decoded: [UInt8] = []
      var index = 0
      while index < bytes.count {
        if bytes[index] == UInt8(ascii: "="), index + 2 < bytes.count,
          let value = UInt8(
            String(decoding: bytes[index + 1...index + 2], as: UTF8.self), radix: 16)
        {
          decoded.append(value)
          index += 3
        } else {
          decoded.append(bytes[index])
          index += 1
        }
      }
      let expected = text.replacingOccurrences(of: "\r\n", with: "\n")
        .replacingOccurrences(of: "\n", with: "\r\n")
      #expect(String(decoding: decoded, as: UTF8.self) == expected)
    }
  }

  @Test("SMTP lines starting with a dot are stuffed")
  func dotStuffing() {
    #expect(SMTPClient.dotStuffed(".a\r\nb\r\n.c") == "..a\r\nb\r\n..c\r\n")
  }

  @Test("the worker writes .eml files by default and marks messages sent")
  func folder() async throws {
    try await TestInstallation.withApp { app in
      let id = try await Outbox.enqueue(Self.message, on: app.db, messageDomain: "example.edu")
      let worker = try #require(app.mailWorker)
      #expect(try await worker.deliverDue() == 1)
      let record = try #require(try await OutboxMessageRecord.find(id, on: app.db))
      #expect(record.state == .sent && record.attempts == 1 && record.sentAt != nil)
      let folder = app.mailseal.mail.outboxDirectory
      let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter {
        $0.hasSuffix(".eml")
      }
      #expect(files.count == 1)
      let parsed = try Self.parse(
        try String(contentsOf: folder.appendingPathComponent(files[0]), encoding: .utf8))
      #expect(parsed["subject"] == Self.message.subject)
      #expect(try await worker.deliverDue() == 0)
    }
  }

  @Test("while the SMTP server is down the message waits; when it comes back it is delivered, once")
  func smtpDownAndUp() async throws {
    let port = try TestSMTPServer.freePort()
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    try await TestInstallation.withApp(environment: [
      "MAILSEAL_SMTP_URL": "smtp://127.0.0.1:\(port)"
    ]) { app in
      let worker = try #require(app.mailWorker)
      let server = TestSMTPServer(port: port, maildir: folder.appendingPathComponent("maildir"))
      let first = try await Outbox.enqueue(Self.message, on: app.db, messageDomain: "example.edu")

      // Down: kept, with the reason and a later attempt.
      let now = Date()
      #expect(try await worker.deliverDue(now: now) == 0)
      var record = try #require(try await OutboxMessageRecord.find(first, on: app.db))
      #expect(record.state == .queued && record.attempts == 1 && record.lastError != nil)
      #expect(record.nextAttemptAt > now.addingTimeInterval(20))
      #expect(try await worker.deliverDue(now: now.addingTimeInterval(1)) == 0)  // not due yet
      #expect(try await OutboxMessageRecord.find(first, on: app.db)?.attempts == 1)

      // Up: delivered at the next attempt.
      try server.start()
      #expect(try await worker.deliverDue(now: now.addingTimeInterval(31)) == 1)
      record = try #require(try await OutboxMessageRecord.find(first, on: app.db))
      #expect(record.state == .sent && record.attempts == 2)
      var received = try server.messages()
      #expect(received.count == 1)
      #expect(try Self.parse(received[0])["subject"] == Self.message.subject)

      // Stopped and started again.
      server.stop()
      let second = try await Outbox.enqueue(Self.message, on: app.db, messageDomain: "example.edu")
      #expect(try await worker.deliverDue(now: now.addingTimeInterval(40)) == 0)
      try server.start()
      #expect(try await worker.deliverDue(now: now.addingTimeInterval(100)) == 1)
      #expect(try await OutboxMessageRecord.find(second, on: app.db)?.state == .sent)
      received = try server.messages()
      #expect(received.count == 2)
      #expect(try await worker.deliverDue(now: now.addingTimeInterval(200)) == 0)
      server.stop()
    }
  }

  @Test("STARTTLS and AUTH: delivered over TLS with the password; never a password without TLS")
  func startTLSAndAuth() async throws {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    // A CA and a server certificate for localhost.
    let ca = folder.appendingPathComponent("ca.pem")
    let caKey = folder.appendingPathComponent("ca.key")
    let cert = folder.appendingPathComponent("server.pem")
    let key = folder.appendingPathComponent("server.key")
    let csr = folder.appendingPathComponent("server.csr")
    let ext = folder.appendingPathComponent("ext.cnf")
    try "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n".write(
      to: ext, atomically: true, encoding: .utf8)
    for arguments in [
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        caKey.path, "-out", ca.path, "-subj", "/CN=Test SMTP CA", "-days", "2",
      ],
      [
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        key.path, "-out", csr.path, "-subj", "/CN=localhost",
      ],
      [
        "x509", "-req", "-in", csr.path, "-CA", ca.path, "-CAkey", caKey.path, "-CAcreateserial",
        "-out", cert.path, "-days", "2", "-extfile", ext.path,
      ],
    ] {
      let result = try Run.openssl(arguments)
      #expect(result.status == 0, "\(result.output)")
    }
    let port = try TestSMTPServer.freePort()
    let server = TestSMTPServer(
      port: port, maildir: folder.appendingPathComponent("maildir"), tlsCertificate: cert,
      tlsKey: key, user: "relay", password: "s3cret pass")
    try server.start()
    defer { server.stop() }

    var settings = try #require(SMTPSettings(url: "smtp://relay:s3cret%20pass@localhost:\(port)"))
    settings.trustedCertificatesFile = ca.path
    let group = MultiThreadedEventLoopGroup.singleton
    let raw = Self.message.rendered(date: Date(), messageID: "tls@example.edu", boundary: "=_b")
    try await SMTPClient.send(
      message: raw, from: "noreply@example.edu", to: ["zoe@example.edu"], settings: settings,
      heloName: "example.edu", group: group)
    #expect(try server.messages().count == 1)

    // A wrong password is a permanent refusal.
    var wrong = settings
    wrong.password = "nope"
    do {
      try await SMTPClient.send(
        message: raw, from: "noreply@example.edu", to: ["zoe@example.edu"], settings: wrong,
        heloName: "example.edu",
        group: group)
      Issue.record("a wrong password was accepted")
    } catch let error as SMTPError {
      #expect(
        error.description.contains("535") && !error.isTransient
          && !error.description.contains("nope"))
    }
    // A server certificate nobody vouches for is refused.
    var untrusted = settings
    untrusted.trustedCertificatesFile = nil
    await #expect(throws: (any Error).self) {
      try await SMTPClient.send(
        message: raw, from: "noreply@example.edu", to: ["zoe@example.edu"], settings: untrusted,
        heloName: "example.edu",
        group: group)
    }
    #expect(try server.messages().count == 1)

    // A server without STARTTLS never sees the password.
    let plainPort = try TestSMTPServer.freePort()
    let plain = TestSMTPServer(port: plainPort, maildir: folder.appendingPathComponent("plain"))
    try plain.start()
    defer { plain.stop() }
    let clear = try #require(SMTPSettings(url: "smtp://relay:secret@127.0.0.1:\(plainPort)"))
    do {
      try await SMTPClient.send(
        message: raw, from: "noreply@example.edu", to: ["zoe@example.edu"], settings: clear,
        heloName: "example.edu", group: group)
      Issue.record("a password was offered without TLS")
    } catch let error as SMTPError {
      #expect(error.description.contains("offers no STARTTLS") && !error.isTransient)
    }
    #expect(try plain.messages().isEmpty)
  }
}
