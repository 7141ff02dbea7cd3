import Fluent
import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import StoreTestSupport
import Testing
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStatus
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Backup and restore")
struct BackupTests {
  /// Approved requests the drill's portal issues.
  static let requests = 600

  static func count(_ sql: any SQLDatabase, _ query: String) async throws -> Int {
    try await sql.raw(SQLQueryString(query)).first()!.decode(column: "n", as: Int.self)
  }

  /// The number of the issuing CA's CRL now.
  static func crlNumber(_ sql: any SQLDatabase, issuer: UUID) async throws -> Int64 {
    try await sql.raw("SELECT number FROM crls WHERE issuer_id = \(bind: issuer)").first()!
      .decode(column: "number", as: Int64.self)
  }

  /// The drill of the test command: issue, revoke, back up while the
  /// portal issues, lose the machine, restore on a new one, carry on
  /// issuing and revoking — on SQLite and (MAILSEAL_TEST_DATABASE) on
  /// PostgreSQL.
  @Test(
    "The drill: issue, revoke, back up while issuing, wipe, restore, carry on; CRL numbers only go up, the audit chain holds, nothing issued twice, OCSP unknown for what the backup lacks"
  )
  func drill() async throws {
    let old = try await CommandLineTests.Sandbox.make(["MAILSEAL_ISSUANCE_LEASE_SECONDS": "5"])
    let new = try await CommandLineTests.Sandbox.make(["MAILSEAL_ISSUANCE_LEASE_SECONDS": "5"])
    let spare = try await CommandLineTests.Sandbox.make()
    defer {
      Task {
        await old.cleanUp()
        await new.cleanUp()
        await spare.cleanUp()
      }
    }
    let backupFile = old.folder.appendingPathComponent("mailseal-backup.tar").path
    var crlNumbers: [Int64] = []
    var oldSerials: [String: String] = [:]  // serial → request id
    var lostRevocation = ""
    var keptRevocation = ""
    var issuerDER = Data()
    var issuingID = UUID()

    try await TestInstallation.withApp(environment: old.environment) { app in
      let (_, issuing) = try await app.caInstallation.initialize(keyType: .p256, test: true)
      issuerDER = issuing.certificateDER
      issuingID = issuing.id
      try await BackOfficeTests.insertApproved(app, count: Self.requests)
      let sql = try app.db.sql
      func count(_ query: String) async throws -> Int { try await Self.count(sql, query) }
      func crlNumber() async throws -> Int64 { try await Self.crlNumber(sql, issuer: issuingID) }

      let server = try CrashTests.serve(old)
      try await CrashTests.waitUntil {
        try await count("SELECT COUNT(*) AS n FROM certificates") >= 2
      }
      keptRevocation = try await sql.raw(
        "SELECT serial FROM certificates ORDER BY created_at, serial LIMIT 1"
      ).first()!.decode(column: "serial", as: String.self)
      let revoked = try old.mailseal(
        "ca", "revoke", "--serial", keptRevocation, "--reason", "keyCompromise")
      #expect(revoked.status == 0, "\(revoked.output)")
      crlNumbers.append(try await crlNumber())

      // The backup, while the portal issues.
      let backup = try old.mailseal("backup", "--out", backupFile)
      #expect(backup.status == 0, "\(backup.output)")
      #expect(backup.output.contains("Backup written: \(backupFile)"), "\(backup.output)")
      let keyFiles = try FileManager.default.contentsOfDirectory(
        atPath: old.folder.appendingPathComponent("data/ca-keys").path)
      #expect(!keyFiles.isEmpty)
      #expect(backup.output.contains("\(keyFiles.count) CA key files"), "\(backup.output)")
      #expect(backup.output.contains("MAILSEAL_CA_PASSPHRASE: the passphrase of the CA key files"))
      // Never over an existing file.
      let again = try old.mailseal("backup", "--out", backupFile)
      #expect(again.status != 0)
      #expect(again.output.contains("exists already"), "\(again.output)")
      let listing = try Run.program("/usr/bin/tar", ["tf", backupFile])
      #expect(listing.status == 0)
      #expect(listing.output.contains("manifest.json"))
      #expect(listing.output.contains("configuration.env"))
      let configuration = try Run.program("/usr/bin/tar", ["xOf", backupFile, "configuration.env"])
      #expect(configuration.output.contains("MAILSEAL_CA_PASSPHRASE=(secret: not in the backup)"))
      #expect(!configuration.output.contains(TestInstallation.passphrase))

      try await CrashTests.waitUntil {
        try await count("SELECT COUNT(*) AS n FROM certificate_requests WHERE state = 'issued'")
          == Self.requests
      }
      // Revoked after the backup: lost with the machine.
      lostRevocation = try await sql.raw(
        "SELECT serial FROM certificates ORDER BY created_at DESC, serial LIMIT 1"
      ).first()!.decode(column: "serial", as: String.self)
      let late = try old.mailseal(
        "ca", "revoke", "--serial", lostRevocation, "--reason", "superseded")
      #expect(late.status == 0, "\(late.output)")
      crlNumbers.append(try await crlNumber())
      server.interrupt()
      server.waitUntilExit()
      for row in try await sql.raw("SELECT serial, request_id FROM certificates").all() {
        oldSerials[try row.decode(column: "serial", as: String.self)] =
          try row.decode(column: "request_id", as: UUID.self).uuidString
      }
      // A restore goes into an empty installation only.
      let refused = try old.mailseal("restore", "--from", backupFile)
      #expect(refused.status == 78, "\(refused.output)")
      #expect(refused.output.contains("empty installation only"), "\(refused.output)")
    }
    #expect(oldSerials.count == Self.requests)

    // The new machine: with another passphrase the keys do not open, and
    // nothing is written.
    var wrong = new.environment
    wrong["MAILSEAL_CA_PASSPHRASE"] = "a-different-passphrase-entirely"
    let refused = try Run.program(
      Run.mailsealExecutable, ["restore", "--from", backupFile], environment: wrong)
    #expect(refused.status == 78, "\(refused.output)")
    #expect(refused.output.contains("does not open with this installation's passphrase"))
    let keyFolder = new.folder.appendingPathComponent("data/ca-keys").path
    #expect((try? FileManager.default.contentsOfDirectory(atPath: keyFolder))?.isEmpty ?? true)
    let location = try MailsealConfiguration.load(from: new.environment, readOnly: true).database
    #expect(try await DatabaseSnapshot.contents(of: location, logger: Logger(label: "test")) == nil)

    // A damaged backup is refused before anything is written.
    var damaged = try Data(contentsOf: URL(fileURLWithPath: backupFile))
    damaged[damaged.count / 2] ^= 0xFF
    let damagedFile = spare.folder.appendingPathComponent("damaged.tar").path
    try damaged.write(to: URL(fileURLWithPath: damagedFile))
    let broken = try spare.mailseal("restore", "--from", damagedFile)
    #expect(broken.status != 0)
    #expect(
      broken.output.contains("damaged") || broken.output.contains("not what its manifest says"),
      "\(broken.output)")

    // The restore.
    let started = ContinuousClock.now
    let restored = try new.mailseal("restore", "--from", backupFile)
    print("restore of the drill's backup: \(ContinuousClock.now - started)")
    #expect(restored.status == 0, "\(restored.output)")
    #expect(restored.output.contains("This installation lacks everything from"))
    #expect(restored.output.contains("revoke those certificates again"))
    let verified = try new.mailseal("audit", "verify")
    #expect(verified.status == 0, "\(verified.output)")

    try await TestInstallation.withApp(environment: new.environment) { app in
      let sql = try app.db.sql
      func count(_ query: String) async throws -> Int { try await Self.count(sql, query) }
      func crlNumber() async throws -> Int64 { try await Self.crlNumber(sql, issuer: issuingID) }
      var backupSerials: Set<String> = []
      for row in try await sql.raw("SELECT serial, request_id FROM certificates").all() {
        let serial = try row.decode(column: "serial", as: String.self)
        backupSerials.insert(serial)
        // What the backup holds is what the old installation had.
        #expect(
          oldSerials[serial] == (try row.decode(column: "request_id", as: UUID.self)).uuidString)
      }
      let waiting = try await count(
        "SELECT COUNT(*) AS n FROM certificate_requests WHERE state = 'approved'")
      print(
        "the backup holds \(backupSerials.count) certificates; \(waiting) requests were waiting")
      #expect(backupSerials.contains(keptRevocation))
      // Consistent: no certificate without its intent, none issued twice.
      #expect(
        try await count(
          "SELECT COUNT(*) AS n FROM certificates c JOIN issuance_intents i ON i.serial = c.serial")
          == backupSerials.count)
      #expect(
        try await count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'backup.restored'")
          == 1)

      // Carry on: serve issues what was waiting and makes a new CRL at once.
      let server = try CrashTests.serve(new)
      try await CrashTests.waitUntil {
        try await count("SELECT COUNT(*) AS n FROM certificate_requests WHERE state = 'issued'")
          == Self.requests
      }
      try await CrashTests.waitUntil { try await crlNumber() > crlNumbers.last! }
      crlNumbers.append(try await crlNumber())

      let issuer = try Certificate(derEncoded: Array(issuerDER))
      let service = OCSPService(database: app.db, configuration: app.mailseal, logger: app.logger)
      func status(_ serial: String) async throws -> OCSPOutcome {
        let request = try Run.ocspRequest(issuer: issuer, serial: serial)
        return await service.respond(to: request).outcome
      }
      #expect(try await status(keptRevocation) == .revoked)
      // Issued after the backup by the old installation: unknown here.
      let lost = oldSerials.keys.filter { !backupSerials.contains($0) }
      if let missing = lost.first {
        #expect(try await status(missing) == .unknown)
      }
      if !backupSerials.contains(lostRevocation) {
        #expect(try await status(lostRevocation) == .unknown)
      }
      if let good = backupSerials.first(where: { $0 != keptRevocation && $0 != lostRevocation }) {
        #expect(try await status(good) == .good)
      }

      // Logins and pickup work on what the backup holds: the holder of a
      // certificate it knows signs in by a new login link and picks it up.
      let good = try #require(
        backupSerials.first { $0 != keptRevocation && $0 != lostRevocation })
      let holder = try #require(
        try await sql.raw(
          "SELECT r.mailbox, r.number FROM certificate_requests r JOIN certificates c ON c.request_id = r.id WHERE c.serial = \(bind: good)"
        ).first())
      let mailbox = try holder.decode(column: "mailbox", as: String.self)
      let number = try holder.decode(column: "number", as: String.self)
      var browser = TestBrowser(app)
      let start = try await browser.send(.GET, "/")
      let token = try #require(TestBrowser.formToken(in: start.body))
      let sent = try await browser.send(.POST, "/login", form: ["address": mailbox, "csrf": token])
      #expect(sent.status == .seeOther)
      let link = try await EnrollmentTests.loginLink(app, to: mailbox)
      #expect(try await browser.send(.GET, link).status == .seeOther)
      let pickup = try await browser.send(.GET, "/requests/\(number)/pickup")
      #expect(pickup.status == .ok, "\(pickup.body.prefix(300))")

      // And revoking goes on, numbered above everything before.
      let newest = try await sql.raw(
        "SELECT serial FROM certificates ORDER BY created_at DESC, serial LIMIT 1"
      ).first()!.decode(column: "serial", as: String.self)
      let revoked = try new.mailseal("ca", "revoke", "--serial", newest, "--reason", "superseded")
      #expect(revoked.status == 0, "\(revoked.output)")
      crlNumbers.append(try await crlNumber())
      server.interrupt()
      server.waitUntilExit()

      // Nothing issued twice: one certificate per request, and no serial
      // the old installation issued after the backup appears again.
      #expect(try await count("SELECT COUNT(*) AS n FROM certificates") == Self.requests)
      #expect(
        try await count("SELECT COUNT(DISTINCT request_id) AS n FROM certificates") == Self.requests
      )
      var newSerials: Set<String> = []
      for row in try await sql.raw("SELECT serial FROM certificates").all() {
        newSerials.insert(try row.decode(column: "serial", as: String.self))
      }
      #expect(newSerials.intersection(lost).isEmpty)
      #expect(newSerials.isSuperset(of: backupSerials))
    }
    print("CRL numbers through the drill: \(crlNumbers)")
    #expect(crlNumbers == crlNumbers.sorted() && Set(crlNumbers).count == crlNumbers.count)
    #expect(crlNumbers.count == 4)
    let verifiedAgain = try new.mailseal("audit", "verify")
    #expect(verifiedAgain.status == 0, "\(verifiedAgain.output)")
  }
}

@Suite("Migrations")
struct MigrationTests {
  @Test(
    "Instances starting together on an empty database run every migration once, in one batch, and all start"
  )
  func startTogether() async throws {
    let sandbox = try await CommandLineTests.Sandbox.make()
    defer { Task { await sandbox.cleanUp() } }
    let runs = try await withThrowingTaskGroup(of: Run.Result.self) { group in
      for _ in 0..<3 {
        group.addTask { try sandbox.mailseal("migrate") }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    for run in runs { #expect(run.status == 0, "\(run.output)") }
    try await TestInstallation.withApp(environment: sandbox.environment) { app in
      let rows = try await app.db.sql.raw("SELECT name, batch FROM _fluent_migrations").all()
      let names = try rows.map { try $0.decode(column: "name", as: String.self) }
      let batches = Set(try rows.map { try $0.decode(column: "batch", as: Int.self) })
      #expect(names.count == MailsealMigrations.all.count)
      #expect(Set(names) == Set(MailsealMigrations.all.map(\.name)))
      #expect(batches.count == 1)
    }
  }
}
