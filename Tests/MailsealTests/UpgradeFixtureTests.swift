import Crypto
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
@testable import MailsealStore
@testable import MailsealWeb

/// The current build started on every fixture under `Tests/fixtures/upgrade/`
/// (made by older builds with `scripts/make-upgrade-fixture.sh`): on SQLite,
/// and on PostgreSQL in its run (`MAILSEAL_TEST_DATABASE=postgres`).
@Suite("Upgrades: the current build on every fixture an older build made")
struct UpgradeFixtureTests {
  /// Tables whose rows a migration since the fixture was made may
  /// legitimately have changed (name → why). Empty: no migration yet has.
  static let changedByLaterMigrations: [String: String] = [:]

  @Test(
    "there is a fixture; each has both databases, the key files its issuers name, its recovery key and a README naming its commit"
  )
  func fixturesComplete() throws {
    let folders = UpgradeFixture.folders()
    #expect(!folders.isEmpty, "no fixture under \(UpgradeFixture.root.path)")
    for name in folders {
      let folder = UpgradeFixture.root.appendingPathComponent(name)
      let manifest = try UpgradeFixture.Manifest.read(from: folder)
      #expect(Set(manifest.databases.keys) == Set(UpgradeFixture.databaseFiles.keys), "\(name)")
      for (kind, made) in manifest.databases {
        #expect(made.file == UpgradeFixture.databaseFiles[kind], "\(name) \(kind)")
        #expect(
          FileManager.default.fileExists(atPath: folder.appendingPathComponent(made.file).path),
          "\(name)/\(made.file)")
        #expect(!made.keyFiles.isEmpty, "\(name) \(kind)")
        for key in made.keyFiles {
          #expect(
            FileManager.default.fileExists(
              atPath: folder.appendingPathComponent("ca-keys").appendingPathComponent(key).path),
            "\(name)/ca-keys/\(key)")
        }
        #expect(name.hasSuffix("-" + made.commit.prefix(7)), "\(name) names commit \(made.commit)")
      }
      for file in ["README.md", "recovery-key.pem", "recovery-certificate.pem"] {
        #expect(
          FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path),
          "\(name)/\(file)")
      }
    }
  }

  @Test(
    "the current build on an older fixture: migrated, every table filled and every row read, the audit chain intact, issuance goes on from its CA",
    arguments: UpgradeFixture.folders())
  func upgrade(fixture name: String) async throws {
    let started = ContinuousClock.now
    let folder = UpgradeFixture.root.appendingPathComponent(name)
    let manifest = try UpgradeFixture.Manifest.read(from: folder)
    let kind = TestDatabase.kind
    let made = try #require(manifest.databases[kind], "\(name) has no \(kind) database")
    let sandbox = try await Self.sandbox(folder: folder, manifest: manifest, made: made)
    defer { Task { await sandbox.cleanUp() } }

    // Started on it, the build runs the migrations it lacks (`migrate`; so
    // does every other command and `serve`), and every one is recorded.
    let migrated = try sandbox.mailseal("migrate")
    #expect(migrated.status == 0, "\(migrated.output)")

    var records: Int64 = 0
    try await TestInstallation.withApp(environment: sandbox.environment) { app in
      #expect(
        Set(try await DatabaseSnapshot.migrations(on: app.db))
          == Set(MailsealMigrations.all.map(\.name)))
      let context = try Context(app: app, folder: folder, manifest: manifest, made: made)

      // Every kind of record is there: no table but the migrator's own is
      // empty (a thin fixture fails), and none lost rows on the way.
      let counts = try await UpgradeFixture.counts(on: app.db)
      for (table, count) in counts.sorted(by: { $0.key < $1.key })
      where !UpgradeFixture.bookkeeping.contains(table) {
        #expect(count > 0, "\(name): the table \(table) is empty")
      }
      for (table, count) in made.counts
      where !UpgradeFixture.bookkeeping.contains(table)
        && Self.changedByLaterMigrations[table] == nil
      {
        #expect(
          counts[table] == count, "\(name): \(table) had \(count) rows, now \(counts[table] ?? 0)")
      }
      // And every row of every table reads through the store and the RA.
      for table in counts.keys.sorted() where !UpgradeFixture.bookkeeping.contains(table) {
        guard let read = try await Self.read(table, context) else {
          Issue.record(
            "\(name): no reader for the table \(table): add one to UpgradeFixtureTests.read")
          continue
        }
        #expect(
          read == counts[table], "\(name): \(read) of \(counts[table] ?? 0) rows of \(table) read")
      }
      records = try await Store(app.db).audit.verify().records
      // Each enrolled account signs in with its password and authenticator
      // (after the reads: signing in writes sessions, counters and records):
      // the scrypt hashes and the TOTP secrets sealed under the passphrase
      // still open.
      let directory = app.operatorDirectory
      for (email, base32) in made.totpSecrets.sorted(by: { $0.key < $1.key }) {
        let secret = try #require(OperatorTests.base32Decode(base32))
        let pending = try await directory.signIn(
          email: email, password: manifest.staffPassword, clientAddress: "192.0.2.30")
        let now = Date()
        _ = try await directory.completeSignIn(
          pendingToken: pending.session,
          code: OneTimePassword.code(secret: secret, step: OneTimePassword.step(now)), now: now)
      }
    }

    // The audit chain verifies, by the administrator's command.
    let verified = try sandbox.mailseal("audit", "verify")
    #expect(verified.status == 0 && verified.output.contains("intact"), "\(verified.output)")

    // Issuance goes on: `serve` on the fixture issues what was approved in it
    // (once its mailbox is validated again, when that is too old) and a
    // request made now, with the fixture's CA key; its CRL is served.
    // The requests are made and approved first, then `serve` starts (the
    // test's own writes and the portal's do not wait on one SQLite file
    // under the whole suite's load).
    let port = try TestSMTPServer.freePort()
    let running = Running()
    defer {
      if let server = running.server, server.isRunning {
        server.interrupt()
        server.waitUntilExit()
      }
    }
    let tooOld = Counter()
    try await TestInstallation.withApp(environment: sandbox.environment) { app in
      tooOld.value = try await Self.continueIssuance(app, port: port, fixture: name) {
        (running.server, running.log) = try CrashTests.serveWithLog(sandbox, port: port)
      }
    }
    let server = try #require(running.server)
    let log = try #require(running.log)
    server.interrupt()
    server.waitUntilExit()
    // No error logged (unless the fixture approved requests whose identity
    // evidence is now too old: their refusal is logged as one).
    if tooOld.value == 0 {
      #expect(
        !log.contents.contains("[ ERROR ]") && !log.contents.contains("[ CRITICAL ]"),
        "\(log.contents)")
    }

    let again = try sandbox.mailseal("audit", "verify")
    #expect(again.status == 0 && again.output.contains("intact"), "\(again.output)")
    let before = records
    try await TestInstallation.withApp(environment: sandbox.environment) { app in
      let after = try await Store(app.db).audit.verify().records
      #expect(after > before)
    }
    print("upgrade fixture \(name) on \(kind): \(ContinuousClock.now - started)")
  }

  /// A number set inside a closure and read after it.
  final class Counter: @unchecked Sendable {
    var value = 0
  }

  final class Running: @unchecked Sendable {
    var server: Process?
    var log: CrashTests.ServeLog?
  }

  // MARK: - The sandbox

  /// A data folder and database of their own holding a copy of the
  /// fixture: the key files (mode 0600, as custody wants them), and the
  /// SQLite file or the PostgreSQL dump loaded by psql.
  static func sandbox(
    folder: URL, manifest: UpgradeFixture.Manifest, made: UpgradeFixture.Manifest.Made
  ) async throws -> CommandLineTests.Sandbox {
    let sandbox = try await CommandLineTests.Sandbox.make(manifest.environment)
    let data = URL(fileURLWithPath: try #require(sandbox.environment["MAILSEAL_DATA_DIR"]))
    let keys = data.appendingPathComponent("ca-keys", isDirectory: true)
    try FileManager.default.createDirectory(
      at: keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: data.path)
    for name in made.keyFiles {
      let target = keys.appendingPathComponent(name)
      try FileManager.default.copyItem(
        at: folder.appendingPathComponent("ca-keys").appendingPathComponent(name), to: target)
      try FileManager.default.setAttributes(
        [.posixPermissions: 0o600], ofItemAtPath: target.path)
    }
    let url = try #require(sandbox.environment["DATABASE_URL"])
    let file = folder.appendingPathComponent(made.file)
    if TestDatabase.kind == "postgres" {
      let loaded = try Run.program(
        "/usr/bin/psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-f", file.path])
      try #require(loaded.status == 0, "psql: \(loaded.output)")
    } else {
      let path = String(url.dropFirst("sqlite://".count))
      try FileManager.default.copyItem(at: file, to: URL(fileURLWithPath: path))
    }
    return sandbox
  }

  // MARK: - Reading every row

  /// What the readers need: the application on the fixture and the
  /// fixture's own material (its recovery key, the staff's secrets).
  struct Context {
    let app: Application
    let recoveryKey: RecoveryKey
    let manifest: UpgradeFixture.Manifest
    let made: UpgradeFixture.Manifest.Made

    init(
      app: Application, folder: URL, manifest: UpgradeFixture.Manifest,
      made: UpgradeFixture.Manifest.Made
    ) throws {
      self.app = app
      self.recoveryKey = try RecoveryKey(
        Array(try Data(contentsOf: folder.appendingPathComponent("recovery-key.pem"))))
      self.manifest = manifest
      self.made = made
    }

    var store: Store { Store(app.db) }
    var sql: any SQLDatabase { get throws { try app.db.sql } }

    /// Every row of `table`, each decoded by `decode` (as the store would).
    func rows(_ table: String, _ decode: (any SQLRow) throws -> Void) async throws -> Int {
      let rows = try await sql.select().column("*").from(table).all()
      for row in rows { try decode(row) }
      return rows.count
    }
  }

  /// Reads every row of `table` through the models, the store and the
  /// registration authority, checking what each holds; the rows read, or
  /// nil when no reader knows the table (a table added since: add one).
  static func read(_ table: String, _ context: Context) async throws -> Int? {
    let app = context.app
    let db = app.db
    let store = context.store
    let authority = app.registrationAuthority
    switch table {
    case "issuers":
      let issuers = try await IssuerRecord.query(on: db).all()
      for issuer in issuers {
        let value = try issuer.value
        let certificate = try Certificate(derEncoded: Array(value.certificateDER))
        #expect(certificate.subject.description.isEmpty == false)
        if let parent = value.parentID {
          let parentRecord = try #require(try await store.issuers.find(parent))
          let parentCertificate = try Certificate(derEncoded: Array(parentRecord.certificateDER))
          #expect(
            parentCertificate.publicKey.isValidSignature(certificate.signature, for: certificate),
            "\(value.slug) is signed by its parent")
        }
      }
      // The active issuing CA opens its key from the fixture's key files
      // with the fixture's passphrase.
      let active = try #require(try await app.caInstallation.activeIssuer())
      _ = try await app.caInstallation.authority(for: active)
      #expect(try await app.caInstallation.chain(of: active).count >= 2)
      return issuers.count

    case "certificates":
      let records = try await CertificateRecord.query(on: db).all()
      for record in records {
        let certificate = try Certificate(derEncoded: Array(record.der))
        #expect(certificate.serialNumber.description.isEmpty == false)
        let issuer = try #require(try await store.issuers.find(record.$issuer.id))
        #expect(
          try Certificate(derEncoded: Array(issuer.certificateDER)).publicKey.isValidSignature(
            certificate.signature, for: certificate), "\(record.serial)")
        let issued = try await authority.certificates.certificate(serial: record.serial)
        #expect(issued.mailbox == record.mailbox && issued.der == record.der)
        #expect(
          try certificate.extensions.subjectAlternativeNames.map(Array.init)?.contains(
            .rfc822Name(record.mailbox)) == true)
      }
      #expect(records.contains { $0.status == .revoked })
      return records.count

    case "certificate_requests":
      let records = try await CertificateRequestRecord.query(on: db).all()
      var states: Set<CertificateRequest.State> = []
      for record in records {
        let request = try record.value
        states.insert(request.state)
        #expect(try await store.requests.find(number: request.number)?.id == request.id)
        let checked = try CertificateRequestCheck.check(Array(request.csrDER))
        #expect(checked.keyFingerprint.hexString == request.keyFingerprint)
        if let envelope = request.escrowEnvelope {
          // The envelope opens with the fixture's recovery key, and holds
          // the key of the request's encryption certificate.
          let opened = try KeyEnvelope(derEncoded: Array(envelope)).open(with: context.recoveryKey)
          if let id = request.encryptionCertificateID {
            let encryption = try #require(try await store.certificates.find(id))
            #expect(
              SubscriberKeyMatch.matches(
                privateKeyInfo: opened,
                certificate: try Certificate(derEncoded: Array(encryption.der))))
          }
        }
      }
      // Every state a request can be in, counted alike by the store.
      #expect(states == Set(CertificateRequest.State.allCases))
      for state in CertificateRequest.State.allCases {
        #expect(
          try await store.requests.count(in: state) == records.filter { $0.state == state }.count)
      }
      return records.count

    case "request_search_terms":
      // The desk finds every request by its number and by its surname or
      // role name (through the search terms).
      var found = 0
      for record in try await CertificateRequestRecord.query(on: db).all() {
        let request = try record.value
        let word = request.surname ?? request.pseudonym ?? request.mailbox
        let hits = try await authority.desk.searchRequests(
          query: word, state: request.state, offset: 0, limit: 50)
        #expect(hits.contains { $0.id == request.id }, "\(word) finds \(request.number)")
        found += 1
      }
      #expect(found > 0)
      return try await context.rows(table) { row in
        _ = try row.decode(column: "term", as: String.self)
        _ = try row.decode(column: "request_id", as: UUID.self)
      }

    case "identity_evidence":
      let records = try await IdentityEvidenceRecord.query(on: db).all()
      for record in records {
        let evidence = try record.value
        let request = try #require(try await store.requests.find(evidence.requestID))
        #expect(try await authority.desk.evidence(for: request)?.id == evidence.id)
      }
      return records.count

    case "issuance_intents":
      let intents = try await IssuanceIntentRecord.query(on: db).all()
      for intent in intents where intent.state == .signed {
        let serial = try #require(intent.id)
        #expect(try await store.certificates.find(serial: serial) != nil)
      }
      return intents.count

    case "blocked_keys":
      return try await BlockedKeyRecord.query(on: db).all().filter { !$0.keyFingerprint.isEmpty }
        .count

    case "login_links":
      return try await LoginLinkRecord.query(on: db).all().count

    case "sessions":
      return try await MailsealStore.SessionRecord.query(on: db).all().count

    case "operators":
      let operators = try await OperatorRecord.query(on: db).all()
      for record in operators { _ = try record.value }
      return operators.count

    case "operator_sessions":
      return try await OperatorSessionRecord.query(on: db).all().count

    case "operator_addresses":
      for record in try await OperatorRecord.query(on: db).all() {
        let account = try record.value
        let member = StaffMember(
          id: account.id, email: account.email, name: account.name, role: account.role)
        #expect(try await store.staffAddresses.of(member).contains(account.email))
      }
      return try await context.rows(table) { row in
        _ = try row.decode(column: "operator_id", as: UUID.self)
        _ = try row.decode(column: "address", as: String.self)
        _ = try row.decode(column: "first_seen_at", as: Date.self)
      }

    case "outbox_messages":
      return try await OutboxMessageRecord.query(on: db).all().filter { !$0.message.isEmpty }
        .count

    case "recovery_certificates":
      let installed = try await RecoveryCertificates(database: db).installed()
      let pins = context.manifest.environment["MAILSEAL_RECOVERY_FINGERPRINTS"] ?? ""
      for (certificate, _) in installed {
        #expect(pins.contains(certificate.fingerprintText))
      }
      return installed.count

    case "key_recoveries":
      let records = try await KeyRecoveryRecord.query(on: db).all()
      for record in records {
        let recovery = try await authority.recovery.recovery(number: record.number)
        #expect(try await store.certificates.find(recovery.certificateID) != nil)
      }
      return records.count

    case "key_recovery_approvals":
      var approvals = 0
      for record in try await KeyRecoveryRecord.query(on: db).all() {
        approvals += try await store.recoveries.approvals(of: try #require(record.id)).count
      }
      return approvals

    case "settings":
      _ = try await Settings(database: db).serviceState()
      return try await context.rows(table) { row in
        _ = try row.decode(column: "key", as: String.self)
        _ = try row.decode(column: "value", as: String.self)
        _ = try row.decode(column: "updated_at", as: Date.self)
      }

    case "crls":
      // The stored CRL of each CA verifies under that CA (OpenSSL judges).
      var read = 0
      for issuer in try await store.issuers.all() {
        guard let crl = try await store.crls.current(issuer: issuer.id) else { continue }
        #expect(try Self.opensslVerifiesCRL(crl.der, issuer: issuer), "CRL of \(issuer.slug)")
        read += 1
      }
      return read

    case "audit_events":
      let verification = try await store.audit.verify()
      #expect(verification.firstBroken == nil, "\(String(describing: verification.firstBroken))")
      return Int(verification.records)

    case "audit_head":
      return try await context.rows(table) { row in
        _ = try row.decode(column: "seq", as: Int64.self)
        _ = try row.decode(column: "hash", as: String.self)
      }

    case "renewal_reminders":
      return try await context.rows(table) { row in
        _ = try row.decode(column: "certificate_id", as: UUID.self)
        _ = try row.decode(column: "days", as: Int.self)
        _ = try row.decode(column: "sent_at", as: Date.self)
      }

    case "rate_limits":
      return try await context.rows(table) { row in
        _ = try row.decode(column: "key", as: String.self)
        _ = try row.decode(column: "window_start", as: Date.self)
        _ = try row.decode(column: "count", as: Int64.self)
      }

    case "oidc_logins":
      return try await context.rows(table) { row in
        _ = try row.decode(column: "id", as: UUID.self)
        _ = try row.decode(column: "state_hash", as: String.self)
        _ = try row.decode(column: "browser_hash", as: String.self)
        _ = try row.decode(column: "purpose", as: String.self)
        _ = try row.decode(column: "expires_at", as: Date.self)
      }

    case "publications":
      let counts = try await store.publications.counts()
      let serials = try await context.sql.select().column("serial").from(table).all().map {
        try $0.decode(column: "serial", as: String.self)
      }
      for serial in Set(serials) {
        _ = try await store.publications.published(serial: serial)
      }
      return counts.values.reduce(0, +)

    case "publication_head":
      return try await context.rows(table) { row in
        _ = try row.decode(column: "sequence", as: Int64.self)
      }

    case "upstream_orders":
      let ids = try await context.sql.select().column("id").from(table).all().map {
        try $0.decode(column: "id", as: UUID.self)
      }
      return try await store.upstreamOrders.orders(ids: ids).count

    case "upstream_revocations":
      return try await context.rows(table) { row in
        _ = try row.decode(column: "certificate_id", as: UUID.self)
        _ = try row.decode(column: "reason", as: String.self)
        _ = try row.decode(column: "state", as: String.self)
        _ = try row.decode(column: "attempts", as: Int.self)
        _ = try row.decode(column: "next_attempt_at", as: Date.self)
      }

    default:
      return nil
    }
  }

  /// Whether OpenSSL reads `der` as a CRL whose signature `issuer` made.
  static func opensslVerifiesCRL(_ der: [UInt8], issuer: CACertificate) throws -> Bool {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let crl = folder.appendingPathComponent("ca.crl")
    let certificate = folder.appendingPathComponent("ca.pem")
    try Data(der).write(to: crl)
    try (try Certificate(derEncoded: Array(issuer.certificateDER)).serializeAsPEM().pemString)
      .write(to: certificate, atomically: true, encoding: .utf8)
    let result = try Run.openssl([
      "crl", "-inform", "DER", "-in", crl.path, "-CAfile", certificate.path, "-noout",
    ])
    return result.status == 0 && result.output.contains("verify OK")
  }

  // MARK: - Issuance goes on

  /// With `serve` started on the fixture (`serve`, once the requests are
  /// made): its approved requests are issued
  /// (after a fresh login link where the mailbox validation is older than
  /// 30 days), a new request is submitted, checked, approved and issued
  /// by the fixture's CA, and the CRL the portal serves lists the
  /// fixture's revocations. Returns how many approved requests of the
  /// fixture were too old to issue.
  static func continueIssuance(
    _ app: Application, port: Int, fixture name: String, serve: () throws -> Void
  ) async throws -> Int {
    let authority = app.registrationAuthority
    let store = Store(app.db)
    let now = Date()
    var waiting: [UUID] = []
    var tooOld = 0
    for record in try await CertificateRequestRecord.query(on: app.db)
      .filter(\.$state == .approved).all()
    {
      let request = try record.value
      // Identity evidence is reused for at most 825 days: a fixture older
      // than that cannot issue what it approved (and must not).
      let evidence = try await authority.desk.evidence(for: request)
      guard
        RequestRules.evidenceReusable(
          checkedAt: evidence?.checkedAt ?? request.approvedAt ?? now, now: now)
      else {
        tooOld += 1
        continue
      }
      _ = try await UpgradeFixtureMaker.signIn(app, request.mailbox)
      waiting.append(request.id)
    }

    // A request made now, checked and approved by the fixture's operators.
    let operators = try await OperatorRecord.query(on: app.db).all().map { try $0.value }
      .filter { $0.role == .operator && $0.isEnrolled && $0.isEnabled }
    let checker = try #require(operators.first, "\(name) has no enrolled operator")
    let approver = operators.dropFirst().first ?? checker
    let mailbox = "neu-\(UUID().uuidString.prefix(8).lowercased())@example.edu"
    let session = try await UpgradeFixtureMaker.signIn(app, mailbox)
    let key = P256.Signing.PrivateKey()
    var form = try EnrollmentTests.form(
      given: "Nele", surname: "Neumann",
      csr: try EnrollmentTests.csrPEM(Certificate.PrivateKey(key), algorithm: .ecdsaWithSHA256))
    form.publishConsent = true
    let request = try await authority.enrollment.submit(form, session: session, language: .de)
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate]
    _ = try await authority.desk.recordEvidence(
      number: request.number,
      BackOfficeTests.evidence(
        given: "Nele", surname: "Neumann",
        expiry: formatter.string(from: now.addingTimeInterval(5 * 365 * 86_400))),
      by: .staff(checker))
    _ = try await authority.desk.approve(number: request.number, by: .staff(approver))
    waiting.append(request.id)
    try serve()

    try await CrashTests.waitUntil(limit: .seconds(180)) {
      for id in waiting where try await store.requests.find(id)?.state != .issued {
        return false
      }
      return true
    }
    let issued = try #require(try await store.requests.find(request.id))
    let certificateID = try #require(issued.certificateID)
    let record = try #require(try await store.certificates.find(certificateID))
    let certificate = try Certificate(derEncoded: Array(record.der))
    let active = try #require(try await app.caInstallation.activeIssuer())
    let issuing = try Certificate(derEncoded: Array(active.certificateDER))
    #expect(certificate.issuer == issuing.subject)
    #expect(issuing.publicKey.isValidSignature(certificate.signature, for: certificate))
    #expect(certificate.publicKey == Certificate.PublicKey(key.publicKey))

    // The portal answers, and serves the CA's CRL listing the fixture's
    // revocations.
    let health = try Run.program(
      "/usr/bin/curl", ["-sS", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)/healthz"])
    #expect(health.output.hasSuffix("\n200"), "\(health.output)")
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let crl = folder.appendingPathComponent("issuing.crl")
    let fetched = try Run.program(
      "/usr/bin/curl",
      ["-sS", "-f", "-o", crl.path, "http://127.0.0.1:\(port)/crl/\(active.slug).crl"])
    #expect(fetched.status == 0, "\(fetched.output)")
    #expect(try Self.opensslVerifiesCRL(Array(try Data(contentsOf: crl)), issuer: active))
    let listed = try Run.openssl(["crl", "-inform", "DER", "-in", crl.path, "-noout", "-text"])
      .output.lowercased()
    for revoked in try await CertificateRecord.query(on: app.db).filter(\.$status == .revoked)
      .filter(\.$issuer.$id == active.id).all()
    {
      // (OpenSSL prints serials without leading zeros.)
      let serial = String(revoked.serial.lowercased().drop { $0 == "0" })
      #expect(listed.contains("serial number: \(serial)"), "\(revoked.serial) on the CRL")
    }
    return tooOld
  }
}
