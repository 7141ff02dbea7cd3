import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import Testing
import UpstreamTestSupport
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// Publishing to a real OpenLDAP `slapd` (StartTLS, a simple bind the
/// server refuses in clear), judged by OpenLDAP's `ldapsearch` and
/// OpenSSL (issue 29).
@Suite("The directory (slapd)", .serialized)
struct DirectoryTests {
  /// The portal configured to publish into `slapd`.
  static func withDirectory(
    _ slapd: Slapd, mode: String = "always", _ body: (Application) async throws -> Void
  ) async throws {
    let secret = slapd.folder.appendingPathComponent("publisher.secret")
    try Slapd.publisherPassword.write(to: secret, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret.path)
    try await TestInstallation.withApp(environment: [
      "MAILSEAL_PUBLISH": mode, "MAILSEAL_LDAP_URL": slapd.url,
      "MAILSEAL_LDAP_CA_FILE": slapd.caFile, "MAILSEAL_LDAP_BIND_DN": Slapd.publisherDN,
      "MAILSEAL_LDAP_PASSWORD_FILE": secret.path, "MAILSEAL_LDAP_BASE_DN": Slapd.suffix,
    ]) { app in
      try await prepareToServe(app)
      #expect(app.mailseal.publishes)
      try await body(app)
    }
  }

  /// Applies what is due until nothing is.
  @discardableResult
  static func drain(_ app: Application, now: Date = Date()) async throws -> Int {
    let worker = try #require(app.publicationWorker)
    var applied = 0
    while true {
      let round = try await worker.applyDue(now: now)
      applied += round
      if round == 0 { return applied }
    }
  }

  /// Why changes are waiting or set aside (for a failing test's words).
  static func lastErrors(_ app: Application) async throws -> [String] {
    try await app.db.sql.raw("SELECT last_error FROM publications WHERE last_error IS NOT NULL")
      .all().map { try $0.decode(column: "last_error", as: String.self) }
  }

  /// A certificate of another CA (DER), as a colleague's entry may hold.
  static func foreignCertificate(in folder: URL) throws -> [UInt8] {
    let path = folder.appendingPathComponent("foreign.der").path
    try Slapd.run(
      "/usr/bin/openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", folder.appendingPathComponent("foreign.key").path, "-outform", "DER", "-out",
        path, "-days", "30", "-subj", "/CN=Other CA user/emailAddress=alice@example.edu",
      ])
    return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  @Test(
    "issued → published in both attributes (the PKCS#7 read by OpenSSL with the chain); revoked → exactly that value removed, the other CA's certificate still there"
  )
  func publishAndRevoke() async throws {
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-foreign-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: scratch) }
    let foreign = try Self.foreignCertificate(in: scratch)
    let slapd = try Slapd(
      extraLDIF: Slapd.person("alice", mailbox: "alice@example.edu")
        .replacingOccurrences(
          of: "mail: alice@example.edu\n",
          with:
            "mail: alice@example.edu\nuserCertificate;binary:: \(Data(foreign).base64EncodedString())\n"
        ))
    defer { slapd.remove() }
    try await Self.withDirectory(slapd) { app in
      let issued = try await LifecycleTests.issue(app, mailbox: "alice@example.edu")
      #expect(try await Self.drain(app) == 1)
      let errors = try await Self.lastErrors(app)
      #expect(errors.isEmpty, "\(errors)")
      let certificates = try slapd.values("userCertificate;binary", filter: "(uid=alice)")
      #expect(Set(certificates) == Set([foreign, Array(issued.der)]))
      let smime = try slapd.values("userSMIMECertificate", filter: "(uid=alice)")
      try #require(smime.count == 1)
      let p7 = slapd.folder.appendingPathComponent("smime.p7c")
      try Data(smime[0]).write(to: p7)
      let printed = try Slapd.run(
        "/usr/bin/openssl", ["pkcs7", "-inform", "DER", "-in", p7.path, "-print_certs", "-noout"])
      let chain = try await app.caInstallation.chain(
        of: try #require(try await app.caInstallation.activeIssuer()))
      // OpenSSL reads the holder's certificate and its chain from it.
      #expect(printed.components(separatedBy: "subject=").count - 1 == 1 + chain.count)
      #expect(printed.contains("organizationIdentifier = NTRDE-"))
      #expect(
        CertificateBundle.certificatesOfPKCS7(smime[0])
          == [Array(issued.der)] + chain.map { Array($0.certificateDER) })
      // Published again (a crash before it was recorded): nothing changes.
      var again = PublicationChange(
        sequence: 0, kind: .publish, mailbox: "alice@example.edu", serial: issued.serial,
        certificate: Array(issued.der), reason: "again")
      again.chain = chain.map { Array($0.certificateDER) }
      try await app.publisher!.apply(again)
      #expect(try slapd.values("userCertificate;binary", filter: "(uid=alice)").count == 2)
      #expect(try slapd.values("userSMIMECertificate", filter: "(uid=alice)").count == 1)

      try await app.registrationAuthority.certificates.revoke(
        serial: issued.serial, reason: .superseded, by: .commandLine)
      #expect(try await Self.drain(app) == 1)
      #expect(try slapd.values("userCertificate;binary", filter: "(uid=alice)") == [foreign])
      #expect(try slapd.values("userSMIMECertificate", filter: "(uid=alice)").isEmpty)
    }
  }

  @Test(
    "consent: not published without it; given on the certificate page → published and found by the look-up; withdrawn → removed and gone from the look-up; expired → removed"
  )
  func consent() async throws {
    let slapd = try Slapd(extraLDIF: Slapd.person("bob", mailbox: "bob@example.edu"))
    defer { slapd.remove() }
    try await Self.withDirectory(slapd, mode: "consent") { app in
      let directory = app.registrationAuthority.directory
      let issued = try await LifecycleTests.issue(app, mailbox: "bob@example.edu")
      #expect(try await Self.drain(app) == 0)
      #expect(try slapd.values("userCertificate;binary", filter: "(uid=bob)").isEmpty)
      #expect(try await directory.lookUp(address: "bob@example.edu", clientAddress: "t").isEmpty)

      try await directory.setConsent(
        serial: issued.serial, consent: true, mailbox: "bob@example.edu")
      // A second click changes nothing.
      try await directory.setConsent(
        serial: issued.serial, consent: true, mailbox: "bob@example.edu")
      #expect(try await Self.drain(app) == 1)
      #expect(
        try slapd.values("userCertificate;binary", filter: "(uid=bob)") == [Array(issued.der)])
      let found = try await directory.lookUp(address: "Bob@Example.EDU", clientAddress: "t")
      #expect(found.map(\.serial) == [issued.serial])
      // Someone else's mailbox cannot change it.
      await #expect(throws: MailsealError.self) {
        try await directory.setConsent(
          serial: issued.serial, consent: false, mailbox: "eve@example.edu")
      }

      try await directory.setConsent(
        serial: issued.serial, consent: false, mailbox: "bob@example.edu")
      #expect(try await Self.drain(app) == 1)
      #expect(try slapd.values("userCertificate;binary", filter: "(uid=bob)").isEmpty)
      #expect(try await directory.lookUp(address: "bob@example.edu", clientAddress: "t").isEmpty)
      let events = try await AuditTrail.search(
        actor: nil, action: nil, subject: issued.serial, before: nil, limit: 20, on: app.db
      ).map(\.action)
      #expect(events.contains(AuditAction.publicationConsentGiven.rawValue))
      #expect(events.contains(AuditAction.publicationConsentWithdrawn.rawValue))

      // Given again, then the certificate expires: removed.
      try await directory.setConsent(
        serial: issued.serial, consent: true, mailbox: "bob@example.edu")
      #expect(try await Self.drain(app) == 1)
      let later = issued.notAfter.addingTimeInterval(86_400)
      #expect(try await PublicationQueue.enqueueExpired(on: app.db, now: later) == 1)
      #expect(try await Self.drain(app, now: later) == 1)
      #expect(try slapd.values("userCertificate;binary", filter: "(uid=bob)").isEmpty)
      #expect(try await PublicationQueue.enqueueExpired(on: app.db, now: later) == 0)
    }
  }

  @Test(
    "the directory stopped while 50 certificates are issued: nothing is lost; after it returns all 50 are published, each change applied once"
  )
  func outage() async throws {
    let people = (0..<50).map { "p\($0)" }
    let slapd = try Slapd(
      extraLDIF: people.map { Slapd.person($0, mailbox: "\($0)@example.edu") }.joined())
    defer { slapd.remove() }
    try await Self.withDirectory(slapd) { app in
      slapd.stop()
      var serials: [String: [UInt8]] = [:]
      for person in people {
        let issued = try await LifecycleTests.issue(app, mailbox: "\(person)@example.edu")
        serials[person] = Array(issued.der)
      }
      #expect(try await Self.drain(app) == 0)
      let counts = try await PublicationQueue.counts(on: app.db)
      #expect(counts[.queued] == 50)
      try slapd.start()
      // Back (and the backoff over): every change applied, in one go.
      #expect(try await Self.drain(app, now: Date().addingTimeInterval(3 * 3600)) == 50)
      #expect(try await PublicationQueue.counts(on: app.db)[.done] == 50)
      for person in people {
        #expect(
          try slapd.values("userCertificate;binary", filter: "(uid=\(person))")
            == [serials[person]!])
      }
      // slapd's own log: one modification per attribute and certificate.
      let modifications = slapd.log.split(separator: "\n").filter { $0.contains(" MOD dn=") }
      #expect(modifications.count == 100)
    }
  }

  @Test(
    "no entry, two entries, an entry the publisher may not change: not published, listed for the admins with the reason, audited; the portal goes on"
  )
  func notPublished() async throws {
    let slapd = try Slapd(
      extraLDIF: Slapd.person("dup1", mailbox: "dup@example.edu")
        + Slapd.person("dup2", mailbox: "dup@example.edu")
        + Slapd.person("locked", mailbox: "locked@example.edu", ou: "locked"))
    defer { slapd.remove() }
    try await Self.withDirectory(slapd) { app in
      for mailbox in ["none@example.edu", "dup@example.edu", "locked@example.edu"] {
        _ = try await LifecycleTests.issue(app, mailbox: mailbox)
      }
      #expect(try await Self.drain(app) == 0)
      let admin = try await BackOfficeTests.staff(app, "admin@example.edu", role: .admin)
      let (count, changes) = try await app.registrationAuthority.directory.notPublished(
        for: .staff(admin))
      #expect(count == 3)
      let reasons = Dictionary(uniqueKeysWithValues: changes.map { ($0.mailbox, $0.reason) })
      #expect(reasons["none@example.edu"]?.contains("no directory entry matches") == true)
      #expect(reasons["dup@example.edu"]?.contains("several directory entries") == true)
      #expect(reasons["locked@example.edu"]?.contains("may not change") == true)
      let setAside = try await AuditTrail.search(
        actor: nil, action: AuditAction.publicationSetAside.rawValue, subject: nil, before: nil,
        limit: 10, on: app.db)
      #expect(setAside.count == 3)
      // The admins' pages: the count on the admin page, the reasons on
      // the directory's page (an operator may not see it).
      var browser = try await DeskWordsTests.signedInStaff(app, "root@example.edu", role: .admin)
      let adminPage = try await browser.send(.GET, "/operator/admin?lang=en").body
      #expect(adminPage.contains(#"<strong data-count="3">3</strong>"#))
      let page = try await browser.send(.GET, "/operator/directory?lang=en")
      #expect(page.status == .ok)
      #expect(page.body.contains(#"data-count="3""#))
      #expect(page.body.contains("several directory entries match (mail=dup@example.edu)"))
      #expect(page.body.contains("no directory entry matches (mail=none@example.edu)"))
      var desk = try await DeskWordsTests.signedInStaff(app, "desk2@example.edu")
      #expect(try await desk.send(.GET, "/operator/directory?lang=en").status == .forbidden)
      // The portal goes on: another certificate is issued.
      _ = try await LifecycleTests.issue(app, mailbox: "next@example.edu")
    }
  }

  @Test(
    "directory sync: a value deleted by hand is put back, a value of a revoked certificate put back by a restore is removed; the dry run changes nothing"
  )
  func sync() async throws {
    let slapd = try Slapd(
      extraLDIF: Slapd.person("carol", mailbox: "carol@example.edu")
        + Slapd.person("dave", mailbox: "dave@example.edu"))
    defer { slapd.remove() }
    try await Self.withDirectory(slapd) { app in
      let carol = try await LifecycleTests.issue(app, mailbox: "carol@example.edu")
      let dave = try await LifecycleTests.issue(app, mailbox: "dave@example.edu")
      #expect(try await Self.drain(app) == 2)
      try await app.registrationAuthority.certificates.revoke(
        serial: dave.serial, reason: .superseded, by: .commandLine)
      #expect(try await Self.drain(app) == 1)
      // By hand: carol's value deleted, dave's old one back (a restore).
      try slapd.modify(
        """
        dn: uid=carol,ou=people,\(Slapd.suffix)
        changetype: modify
        delete: userCertificate;binary
        userCertificate;binary:: \(carol.der.base64EncodedString())

        dn: uid=dave,ou=people,\(Slapd.suffix)
        changetype: modify
        add: userCertificate;binary
        userCertificate;binary:: \(dave.der.base64EncodedString())

        """)
      let directory = app.registrationAuthority.directory
      let publisher = try #require(app.publisher)
      let dry = try await directory.sync(with: publisher, dryRun: true, actor: "test")
      #expect(dry.addresses == 2)
      #expect(
        Set(dry.differences.map { "\($0.kind.rawValue) \($0.serial)" })
          == ["publish \(carol.serial)", "unpublish \(dave.serial)"])
      #expect(try await Self.drain(app) == 0)
      #expect(try slapd.values("userCertificate;binary", filter: "(uid=carol)").isEmpty)

      let done = try await directory.sync(with: publisher, dryRun: false, actor: "test")
      #expect(done.differences.count == 2)
      #expect(try await Self.drain(app) == 2)
      #expect(
        try slapd.values("userCertificate;binary", filter: "(uid=carol)") == [Array(carol.der)])
      #expect(try slapd.values("userCertificate;binary", filter: "(uid=dave)").isEmpty)
      let again = try await directory.sync(with: publisher, dryRun: true, actor: "test")
      #expect(again.differences.isEmpty)

      // A repair read before a revocation committed, queued after its
      // removal: done without touching the directory (the directory holds
      // what it should, whatever the order).
      try await app.registrationAuthority.certificates.revoke(
        serial: carol.serial, reason: .superseded, by: .commandLine)
      try await PublicationQueue.enqueue(
        [
          .init(
            kind: .publish, mailbox: "carol@example.edu", serial: carol.serial,
            certificate: Array(carol.der), reason: "sync")
        ], on: app.db, now: Date())
      #expect(try await Self.drain(app) == 2)
      #expect(try slapd.values("userCertificate;binary", filter: "(uid=carol)").isEmpty)
      #expect(try slapd.values("userSMIMECertificate", filter: "(uid=carol)").isEmpty)
    }
  }

  @Test("the settings: every malformed value named")
  func settings() throws {
    func problems(_ environment: [String: String]) -> [String] {
      do {
        _ = try MailsealConfiguration.load(
          from: ["MAILSEAL_DATA_DIR": FileManager.default.temporaryDirectory.path]
            .merging(environment) { $1 }, readOnly: true)
        return []
      } catch {
        return error.problems.map(\.variable)
      }
    }
    #expect(problems(["MAILSEAL_PUBLISH": "maybe"]) == ["MAILSEAL_PUBLISH"])
    #expect(problems(["MAILSEAL_LDAP_URL": "ldap://127.0.0.1"]) == ["MAILSEAL_LDAP_URL"])
    let found = problems([
      "MAILSEAL_PUBLISH": "consent", "MAILSEAL_LDAP_URL": "http://ldap.example.org",
      "MAILSEAL_LDAP_FILTER": "(mail=*{mailbox})",
      "MAILSEAL_LDAP_ATTRIBUTES": "userCertificate,1bad",
    ])
    #expect(
      Set(found) == [
        "MAILSEAL_LDAP_URL", "MAILSEAL_LDAP_BIND_DN", "MAILSEAL_LDAP_PASSWORD_FILE",
        "MAILSEAL_LDAP_BASE_DN", "MAILSEAL_LDAP_FILTER", "MAILSEAL_LDAP_ATTRIBUTES",
      ])
    #expect(LDAPSettings.parseURL("ldap://ldap.example.org")?.security == .startTLS)
    #expect(LDAPSettings.parseURL("ldap://127.0.0.1:3890/")?.security == .startTLSIfOffered)
    // A name that starts like a loopback address is not one.
    #expect(LDAPSettings.parseURL("ldap://127.corp.example")?.security == .startTLS)
    #expect(LDAPSettings.parseURL("ldap://127.0.0.256")?.security == .startTLS)
    #expect(LDAPSettings.parseURL("ldaps://ldap.example.org")?.port == 636)
    #expect(LDAPSettings.parseURL("ldap://user@ldap.example.org") == nil)
  }
}
