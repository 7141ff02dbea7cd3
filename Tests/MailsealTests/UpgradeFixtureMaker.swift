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

/// The upgrade fixtures (issue 30): an installation made by one build, with
/// every kind of record, kept under `Tests/fixtures/upgrade/<date>-<commit>/`
/// so that every later build is started on it (``UpgradeFixtureTests``).
enum UpgradeFixture {
  /// `Tests/fixtures/upgrade`, found from this file.
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures/upgrade", isDirectory: true)

  /// The fixtures' folder names, oldest first (they begin with the date).
  static func folders() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
    return names.filter {
      FileManager.default.fileExists(
        atPath: root.appendingPathComponent($0).appendingPathComponent(Manifest.fileName).path)
    }.sorted()
  }

  /// The database file of each kind of database in a fixture.
  static let databaseFiles = ["sqlite": "mailseal.sqlite", "postgres": "mailseal.pgdump.sql"]

  /// The password every enrolled staff account of a fixture has (a test one).
  static let staffPassword = "upgrade-fixture-staff-password"

  /// The tables that need not hold a row: the migrator's own log (it holds
  /// one per migration anyway, and grows with every release).
  static let bookkeeping: Set<String> = ["_fluent_migrations"]

  /// What a fixture says about itself (`fixture.json`): the environment it
  /// was made with (beyond the data folder and the database), the staff's
  /// password and, per database, its TOTP secrets and the rows per table.
  struct Manifest: Codable {
    static let fileName = "fixture.json"

    struct Made: Codable {
      /// When it was made (ISO 8601).
      var madeAt: String
      /// `git rev-parse HEAD` of the checkout that made it.
      var commit: String
      /// The database file in the fixture folder.
      var file: String
      /// The CA key files (in `ca-keys/`) its issuers name.
      var keyFiles: [String]
      /// Each enrolled staff account's TOTP secret (base32).
      var totpSecrets: [String: String]
      /// Rows per table when it was made.
      var counts: [String: Int]
    }

    var format = 1
    var environment: [String: String]
    var staffPassword: String
    var databases: [String: Made] = [:]

    static func read(from folder: URL) throws -> Manifest {
      try JSONDecoder().decode(
        Manifest.self, from: Data(contentsOf: folder.appendingPathComponent(fileName)))
    }

    func write(to folder: URL) throws {
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      try (encoder.encode(self) + Data("\n".utf8)).write(
        to: folder.appendingPathComponent(Self.fileName))
    }
  }

  /// The database's own tables (not SQLite's), by name.
  static func tables(on database: any Database) async throws -> [String] {
    let sql = try database.sql
    let query: SQLQueryString =
      sql.dialect.name == "sqlite"
      ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
      : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
    return try await sql.raw(query).all().map { try $0.decode(column: "name", as: String.self) }
  }

  /// Rows per table.
  static func counts(on database: any Database) async throws -> [String: Int] {
    let sql = try database.sql
    var counts: [String: Int] = [:]
    for table in try await tables(on: database) {
      counts[table] = try await sql.raw("SELECT COUNT(*) AS n FROM \(ident: table)").first()?
        .decode(column: "n", as: Int.self)
    }
    return counts
  }

  /// The test recovery key of the fixtures in `folder`: read, or made and
  /// written (unencrypted: it opens the fixture's escrow envelopes and
  /// nothing else).
  static func recoveryKey(in folder: URL) throws -> (
    key: RecoveryKey, certificate: RecoveryCertificate
  ) {
    let keyFile = folder.appendingPathComponent("recovery-key.pem")
    let certificateFile = folder.appendingPathComponent("recovery-certificate.pem")
    if FileManager.default.fileExists(atPath: keyFile.path) {
      return (
        try RecoveryKey(Array(try Data(contentsOf: keyFile))),
        try RecoveryCertificate(Array(try Data(contentsOf: certificateFile)))
      )
    }
    let made = try RecoveryKey.generate(organization: "Universität Beispielstadt")
    try made.key.pemString.write(to: keyFile, atomically: true, encoding: .utf8)
    try made.certificate.pemString.write(to: certificateFile, atomically: true, encoding: .utf8)
    return made
  }

  /// The environment a fixture is made with and started on (the data
  /// folder and the database are the sandbox's): the test installation's,
  /// with key escrow and publishing on.
  static func environment(pinning recovery: RecoveryCertificate) -> [String: String] {
    var environment = TestInstallation.environment(
      dataDirectory: URL(fileURLWithPath: "/"), databaseURL: "")
    environment["MAILSEAL_DATA_DIR"] = nil
    environment["DATABASE_URL"] = nil
    environment["MAILSEAL_DB_WAIT_SECONDS"] = nil
    environment.merge([
      "MAILSEAL_ALLOWED_DOMAINS": "example.edu",
      "MAILSEAL_CERT_DAYS": "365",
      "MAILSEAL_ESCROW": "optional",
      "MAILSEAL_RECOVERY_FINGERPRINTS": recovery.fingerprintText,
      "MAILSEAL_PUBLISH": "consent",
    ]) { $1 }
    return environment
  }
}

/// Makes a fixture: runs only when `MAILSEAL_MAKE_UPGRADE_FIXTURE` names the
/// fixture's folder (`scripts/make-upgrade-fixture.sh` sets it, once per
/// database); a tool, not a test.
@Suite("Upgrade fixture maker (scripts/make-upgrade-fixture.sh)")
struct UpgradeFixtureMaker {
  static var target: String? {
    ProcessInfo.processInfo.environment["MAILSEAL_MAKE_UPGRADE_FIXTURE"]
  }

  @Test(
    "populates a fresh installation through the RA with every kind of record and writes it into the fixture folder",
    .enabled(if: target != nil))
  func make() async throws {
    let folder = URL(fileURLWithPath: try #require(Self.target), isDirectory: true)
    let kind = TestDatabase.kind
    let keys = folder.appendingPathComponent("ca-keys", isDirectory: true)
    try FileManager.default.createDirectory(at: keys, withIntermediateDirectories: true)
    let recovery = try UpgradeFixture.recoveryKey(in: folder)
    var manifest =
      (try? UpgradeFixture.Manifest.read(from: folder))
      ?? UpgradeFixture.Manifest(
        environment: UpgradeFixture.environment(pinning: recovery.certificate),
        staffPassword: UpgradeFixture.staffPassword)
    // Key files as production makes them; directory changes queued as with
    // a directory configured (none is reached: nothing applies them but the
    // maker itself).
    let adjust: (inout MailsealConfiguration) -> Void = {
      $0.keyIterations = EncryptedPrivateKeyInfo.defaultIterations
      $0.publishes = true
    }
    try await TestInstallation.withApp(environment: manifest.environment, adjust: adjust) { app in
      let secrets = try await Self.populate(app, recovery: recovery)
      // Nothing is left out, and the trail is whole.
      let counts = try await UpgradeFixture.counts(on: app.db)
      let empty = counts.filter { $0.value == 0 && !UpgradeFixture.bookkeeping.contains($0.key) }
      #expect(empty.isEmpty, "tables left empty: \(empty.keys.sorted())")
      let verification = try await Store(app.db).audit.verify()
      #expect(verification.firstBroken == nil)

      // The database, the key files its issuers name, the manifest.
      let file = try #require(UpgradeFixture.databaseFiles[kind])
      let output = folder.appendingPathComponent(file)
      try? FileManager.default.removeItem(at: output)
      switch app.mailseal.database {
      case .sqlite:
        try await app.db.sql.raw("VACUUM INTO \(bind: output.path)").run()
      case .postgres(let url):
        let dumped = try Run.program(
          "/usr/bin/pg_dump",
          [
            "--format=plain", "--no-owner", "--no-privileges", "--file=\(output.path)",
            "--dbname=\(url)",
          ])
        #expect(dumped.status == 0, "\(dumped.output)")
      }
      var keyFiles: [String] = []
      for issuer in try await Store(app.db).issuers.all() {
        guard let reference = issuer.keyReference, reference.hasPrefix("file:") else { continue }
        let name = String(reference.dropFirst("file:".count))
        let target = keys.appendingPathComponent(name)
        if !FileManager.default.fileExists(atPath: target.path) {
          try FileManager.default.copyItem(
            at: app.mailseal.keyDirectory.appendingPathComponent(name), to: target)
        }
        keyFiles.append(name)
      }
      let formatter = ISO8601DateFormatter()
      manifest.databases[kind] = UpgradeFixture.Manifest.Made(
        madeAt: formatter.string(from: Date()),
        commit: ProcessInfo.processInfo.environment["MAILSEAL_FIXTURE_COMMIT"] ?? "unknown",
        file: file, keyFiles: keyFiles.sorted(), totpSecrets: secrets, counts: counts)
      try manifest.write(to: folder)
    }
  }

  /// A requester's session through a login link, as the portal makes one.
  static func signIn(_ app: Application, _ mailbox: String) async throws -> MailboxSession {
    let authority = app.registrationAuthority
    try await authority.mailboxSignIn.requestLoginLink(
      address: mailbox, language: .de, clientAddress: "192.0.2.20")
    let link = try await EnrollmentTests.loginLink(app, to: mailbox)
    let signIn = try await authority.mailboxSignIn.redeemLoginLink(
      String(link.dropFirst("/login/".count)))
    return try #require(try await authority.mailboxSignIn.session(token: signIn.sessionToken))
  }

  /// Every kind of record the current build writes, each through the
  /// registration authority's own calls where there is one; returns the
  /// enrolled staff's TOTP secrets.
  static func populate(
    _ app: Application, recovery: (key: RecoveryKey, certificate: RecoveryCertificate)
  ) async throws -> [String: String] {
    let authority = app.registrationAuthority
    let store = Store(app.db)
    let password = UpgradeFixture.staffPassword

    // The recovery certificate, then a test CA (as `serve` makes one on a
    // fresh data folder) with its OCSP responder.
    _ = try await RecoveryCertificates(database: app.db).install(Array(recovery.certificate.der))
    try await prepareToServe(app)

    // Staff of every role: enrolled (password, TOTP) and some signed in;
    // one whose enrolment link is still open.
    var secrets: [String: String] = [:]
    func enrol(_ email: String, _ name: String, _ role: StaffRole, signIn: Bool) async throws
      -> StaffAccount
    {
      let directory = app.operatorDirectory
      let (account, link) = try await directory.add(email: email, name: name, role: role)
      let token = String(try #require(link.split(separator: "/").last))
      let (factor, tokens) = try await directory.setPassword(
        token: token, password: password, repeat: password, clientAddress: "192.0.2.10")
      let secret = try #require(OperatorTests.base32Decode(factor.secret))
      let now = Date()
      try await directory.confirmEnrolment(
        sessionToken: tokens.session,
        code: OneTimePassword.code(secret: secret, step: OneTimePassword.step(now)), now: now)
      secrets[email] = factor.secret
      if signIn {
        // The next step of the authenticator (a step is used once).
        let later = now.addingTimeInterval(30)
        let pending = try await directory.signIn(
          email: email, password: password, clientAddress: "192.0.2.10", now: later)
        _ = try await directory.completeSignIn(
          pendingToken: pending.session,
          code: OneTimePassword.code(secret: secret, step: OneTimePassword.step(later)),
          now: later)
      }
      return try #require(try await store.staff.find(account.id))
    }
    let anna = try await enrol("anna@example.edu", "Anna Schmidt", .operator, signIn: true)
    let bert = try await enrol("bert@example.edu", "Bert Wagner", .operator, signIn: false)
    let ada = try await enrol("ada@example.edu", "Ada Lehmann", .admin, signIn: true)
    _ = try await enrol("audrey@example.edu", "Audrey Krüger", .auditor, signIn: true)
    let rita = try await enrol("rita@example.edu", "Rita Vogel", .recoveryOfficer, signIn: false)
    let rolf = try await enrol("rolf@example.edu", "Rolf Brandt", .recoveryOfficer, signIn: false)
    let carla = try await enrol(
      "carla@example.edu", "Carla Nowak", .recoveryOfficer, signIn: true)
    _ = try await app.operatorDirectory.add(
      email: "olaf@example.edu", name: "Olaf Peters", role: .operator)

    // An administrator who came through the identity provider (the
    // statements of its sign-in after the ID token's check), a requester
    // signed in there, and a sign-in at the provider still in flight.
    let providerNow = Date()
    try await store.transaction { store in
      let account = try await store.staff.saveFromProvider(
        nil, email: "ida@example.edu", name: "Ida Kern", role: .admin,
        oidcSubject: "https://login.example.edu/realms/staff 4f1c2a9e-ida", now: providerNow)
      try await store.staffAddresses.record("ida@example.edu", for: account.id, now: providerNow)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.identityProvider, action: .operatorAdded, subject: "ida@example.edu",
          details: ["name": "Ida Kern", "role": "admin", "via": "identity-provider"]),
        on: store.database, now: providerNow)
      try await OperatorDirectory.createSession(
        .init(session: SecretToken.make(), csrf: SecretToken.make()), for: account.id,
        stage: .complete, expires: providerNow.addingTimeInterval(3_600), now: providerNow,
        viaIdentityProvider: true, providerSessionID: "sid-7d41c0", in: store)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff("ida@example.edu"), action: .operatorSignedIn,
          subject: "ida@example.edu", details: ["via": "identity-provider", "acr": "mfa"]),
        on: store.database, now: providerNow)
      _ = try await RequesterSessions.start(
        by: OIDCSignIn.self, mailbox: "nora@example.edu", lifetime: 8 * 3_600, now: providerNow,
        names: ("Nora", "Berger"), in: store)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.requester("nora@example.edu"), action: .identityProviderSignedIn,
          subject: "nora@example.edu",
          details: ["subject": "https://login.example.edu/realms/staff 88e0-nora"]),
        on: store.database, now: providerNow)
      try await store.providerSignIns.begin(
        stateHash: SecretToken.hash(SecretToken.make()),
        browserHash: SecretToken.hash(SecretToken.make()), purpose: "requester", now: providerNow,
        expiresAt: providerNow.addingTimeInterval(600))
    }

    // Requests, each from a session a login link made.
    let enrollment = authority.enrollment
    let desk = authority.desk
    func submit(_ mailbox: String, _ form: RequestForm) async throws -> CertificateRequest {
      try await enrollment.submit(form, session: try await signIn(app, mailbox), language: .de)
    }
    var zoeForm = try EnrollmentTests.form()
    zoeForm.publishConsent = true
    let zoe = try await submit("zoe@example.edu", zoeForm)
    let role = try await submit(
      "sekretariat@example.edu",
      try EnrollmentTests.form(
        type: "role", given: "Jörg", surname: "Weiß", common: "Sekretariat des Rechenzentrums"))
    let escrowed = try await submit(
      "eva@example.edu",
      try EscrowTests.escrowForm(sealedFor: [recovery.certificate], consent: true))
    let rex = try await submit(
      "rex@example.edu", try EnrollmentTests.form(given: "Rex", surname: "Hoffmann"))
    let vera = try await submit(
      "vera@example.edu", try EnrollmentTests.form(given: "Vera", surname: "Schulz"))
    _ = try await submit(
      "sam@example.edu", try EnrollmentTests.form(given: "Sam", surname: "Fischer"))
    let april = try await submit(
      "april@example.edu", try EnrollmentTests.form(given: "April", surname: "Meyer"))
    let ralf = try await submit(
      "ralf@example.edu", try EnrollmentTests.form(given: "Ralf", surname: "Becker"))
    let wimSession = try await signIn(app, "wim@example.edu")
    let wim = try await enrollment.submit(
      try EnrollmentTests.form(given: "Wim", surname: "Jansen"), session: wimSession,
      language: .en)
    let ella = try await submit(
      "ella@example.edu", try EnrollmentTests.form(given: "Ella", surname: "Roth"))
    // A mailbox validated almost 30 days ago: approved now, then held by
    // the issuance worker until a fresh login link (issuance_held_at).
    let heldSince = Date().addingTimeInterval(-30 * 86_400 + 8)
    let hugo = try await enrollment.submit(
      try EnrollmentTests.form(given: "Hugo", surname: "Keller"),
      session: RenewalTests.session("hugo@example.edu", at: heldSince), language: .en)

    func evidence(_ given: String, _ surname: String) -> EvidenceForm {
      BackOfficeTests.evidence(given: given, surname: surname, expiry: "2034-06-30")
    }
    _ = try await desk.recordEvidence(
      number: hugo.number, evidence("Hugo", "Keller"), by: .staff(anna))
    _ = try await desk.approve(number: hugo.number, by: .staff(bert))
    for (request, given, surname) in [
      (zoe, "Zoë", "Müller"), (role, "Jörg", "Weiß"), (escrowed, "Zoë", "Müller"),
      (rex, "Rex", "Hoffmann"),
    ] {
      _ = try await desk.recordEvidence(
        number: request.number, evidence(given, surname), by: .staff(anna))
      _ = try await desk.approve(number: request.number, by: .staff(bert))
    }
    _ = try await desk.recordEvidence(
      number: vera.number, evidence("Vera", "Schulz"), by: .staff(anna))
    _ = try await desk.reject(
      number: ralf.number, reason: "Der Ausweis war abgelaufen.", by: .staff(anna))
    _ = try await enrollment.withdraw(number: wim.number, session: wimSession)
    // Nothing in this build moves a request to `expired` (the state is in
    // the model and the API's description): written as a row of an older
    // installation could hold it.
    let expired = try #require(try await CertificateRequestRecord.find(ella.id, on: app.db))
    expired.state = .expired
    expired.updatedAt = Date()
    try await expired.save(on: app.db)

    // Issuance, paused and resumed by an administrator; Hugo's request is
    // held once its mailbox validation is 30 days old.
    let worker = try #require(app.issuanceWorker)
    try await authority.service.setIssuancePaused(true, by: .staff(ada))
    #expect(try await worker.issueDue() == 0)
    try await authority.service.setIssuancePaused(false, by: .staff(ada))
    while Date() < heldSince.addingTimeInterval(30 * 86_400 + 1) {
      try await Task.sleep(for: .milliseconds(200))
    }
    var issued = 0
    while true {
      let round = try await worker.issueDue()
      if round == 0 { break }
      issued += round
    }
    #expect(issued == 5)
    #expect(try await store.requests.find(hugo.id)?.issuanceHeldAt != nil)

    func certificate(of request: CertificateRequest) async throws -> IssuedCertificate {
      let stored = try await store.requests.find(request.id)
      guard let id = stored?.certificateID else {
        throw TestSetupError("request \(request.number) has no certificate")
      }
      let found = try await store.certificates.find(id)
      guard let found else { throw TestSetupError("certificate \(id) is missing") }
      return found
    }
    let zoeCertificate = try await certificate(of: zoe)
    let rexCertificate = try await certificate(of: rex)

    // A renewal that reuses the identity evidence, approved and issued.
    var renewalForm = try RenewalTests.renewalForm(zoeCertificate.serial)
    renewalForm.publishConsent = true
    let renewal = try await submit("zoe@example.edu", renewalForm)
    #expect(renewal.state == .verified && renewal.evidenceRequestID == zoe.id)
    _ = try await desk.approve(number: renewal.number, by: .staff(bert))
    #expect(try await worker.issueDue() == 1)

    // A revocation for key compromise (the key blocked), the CRL published.
    try await authority.certificates.revoke(
      serial: rexCertificate.serial, reason: .keyCompromise, by: .staff(anna))
    let crlPublisher = try #require(app.crlPublisher)
    #expect(try await crlPublisher.publishDue() >= 1)

    // Publication: Zoë withdraws her consent for the first certificate (a
    // removal queued after its publication); one change applied.
    try await authority.directory.setConsent(
      serial: zoeCertificate.serial, consent: false, mailbox: "zoe@example.edu")
    for claimed in try await store.publications.claimDue(now: Date(), lease: 60, limit: 1) {
      try await store.publications.markDone(claimed.id, now: Date())
    }

    // Key recovery of Eva's escrowed encryption key: asked by her, approved
    // by two recovery officers, the envelope handed to a third.
    let escrowedRequest = try #require(try await store.requests.find(escrowed.id))
    let encryptionID = try #require(escrowedRequest.encryptionCertificateID)
    let encryption = try #require(try await store.certificates.find(encryptionID))
    let recovery = try await authority.recovery.askRecovery(
      serial: encryption.serial, reason: "Mein Laptop wurde gestohlen.",
      by: .requester(mailbox: "eva@example.edu", validation: .loginLink), language: .de)
    _ = try await authority.recovery.approveRecovery(number: recovery.number, by: .staff(rita))
    _ = try await authority.recovery.approveRecovery(number: recovery.number, by: .staff(rolf))
    _ = try await authority.recovery.downloadRecoveryEnvelope(
      number: recovery.number, by: .staff(carla))

    // Renewal reminders as they go out 29 days before the certificates end
    // (the only records here written with a later time).
    let reminders = RenewalReminders(
      database: app.db, configuration: app.mailseal, logger: app.logger)
    #expect(
      try await reminders.sendDue(now: rexCertificate.notAfter.addingTimeInterval(-29 * 86_400))
        >= 1)

    // The mail so far delivered (to the data folder's outbox); what follows
    // stays queued.
    let mailWorker = try #require(app.mailWorker)
    #expect(try await mailWorker.deliverDue(limit: 500) > 0)

    // A service notice.
    try await authority.service.setNotice(
      german: "Am Samstag ist das Portal von 8 bis 10 Uhr nicht erreichbar.",
      english: "The portal is unavailable on Saturday from 8 to 10.", by: .staff(ada))

    // Orders at an upstream CA as an installation that issued through one
    // holds them (recorded through the store: the RA writes them only with
    // an upstream configured): one refused, one revocation confirmed.
    let orderTime = Date()
    #expect(
      try await store.upstreamOrders.record(
        UpstreamOrder(
          requestID: ralf.id, purpose: "dual-use", upstream: "sectigo", state: .refused,
          reference: "4711", attempts: 1, nextAttemptAt: orderTime,
          lastError: "the upstream refused the order: domain not validated",
          createdAt: orderTime, updatedAt: orderTime)))
    #expect(
      try await store.upstreamRevocations.request(
        certificateID: rexCertificate.id, reason: "keyCompromise",
        by: AuditEvent.staff("ada@example.edu"), now: orderTime))
    for due in try await store.upstreamRevocations.claimDue(
      now: orderTime, until: orderTime.addingTimeInterval(60))
    {
      try await store.upstreamRevocations.done(due.id, now: orderTime)
    }

    // Last, an approved request waiting for the issuance worker, and a
    // login link nobody opened.
    _ = try await desk.recordEvidence(
      number: april.number, evidence("April", "Meyer"), by: .staff(anna))
    _ = try await desk.approve(number: april.number, by: .staff(bert))
    try await authority.mailboxSignIn.requestLoginLink(
      address: "max@example.edu", language: .en, clientAddress: "192.0.2.21")

    // Every state of a request is there.
    var states: Set<CertificateRequest.State> = []
    for record in try await CertificateRequestRecord.query(on: app.db).all() {
      states.insert(try record.value.state)
    }
    #expect(states == Set(CertificateRequest.State.allCases))
    return secrets
  }
}
