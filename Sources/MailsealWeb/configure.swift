import Fluent
import FluentKit
public import Foundation
import Leaf
import LeafKit
import MailsealAdapters
public import MailsealCA
public import MailsealCLI
import MailsealModel
public import MailsealRA
public import MailsealStatus
import MailsealStore
import SQLKit
import Synchronization
public import Vapor

extension Application {
  private struct ConfigurationKey: StorageKey {
    typealias Value = MailsealConfiguration
  }

  /// The installation's configuration, read once at start-up.
  public var mailseal: MailsealConfiguration {
    get {
      guard let configuration = storage[ConfigurationKey.self] else {
        fatalError("configure(_:with:) was not called")
      }
      return configuration
    }
    set { storage[ConfigurationKey.self] = newValue }
  }

  private struct MailWorkerKey: StorageKey {
    typealias Value = MailWorker
  }

  /// The mail worker of this process (set up by `configure`).
  public var mailWorker: MailWorker? {
    get { storage[MailWorkerKey.self] }
    set { storage[MailWorkerKey.self] = newValue }
  }

  private struct IssuanceWorkerKey: StorageKey {
    typealias Value = IssuanceWorker
  }

  /// The issuance worker of this process (set up by `configure`).
  public var issuanceWorker: IssuanceWorker? {
    get { storage[IssuanceWorkerKey.self] }
    set { storage[IssuanceWorkerKey.self] = newValue }
  }

  private struct UpstreamIssuerKey: StorageKey {
    typealias Value = UpstreamIssuer
  }

  /// The upstream CA that issues, when one is configured.
  public var upstreamIssuer: UpstreamIssuer? {
    get { storage[UpstreamIssuerKey.self] }
    set { storage[UpstreamIssuerKey.self] = newValue }
  }

  private struct UpstreamHealthKey: StorageKey {
    typealias Value = UpstreamHealth
  }

  /// What `/healthz` says about the upstream CA, when one issues.
  public var upstreamHealth: UpstreamHealth? {
    get { storage[UpstreamHealthKey.self] }
    set { storage[UpstreamHealthKey.self] = newValue }
  }

  private struct PublisherKey: StorageKey {
    typealias Value = any Publisher
  }

  /// The directory certificates are published to, when one is configured.
  public var publisher: (any Publisher)? {
    get { storage[PublisherKey.self] }
    set { storage[PublisherKey.self] = newValue }
  }

  private struct PublicationWorkerKey: StorageKey {
    typealias Value = PublicationWorker
  }

  /// Applies the queued directory changes, when a publisher is configured.
  public var publicationWorker: PublicationWorker? {
    get { storage[PublicationWorkerKey.self] }
    set { storage[PublicationWorkerKey.self] = newValue }
  }

  private struct CRLPublisherKey: StorageKey {
    typealias Value = CRLPublisher
  }

  /// The CRL publisher of this process (set up by `configure`).
  public var crlPublisher: CRLPublisher? {
    get { storage[CRLPublisherKey.self] }
    set { storage[CRLPublisherKey.self] = newValue }
  }

  private struct MetricsKey: StorageKey {
    typealias Value = MailsealMetrics
  }

  /// The metrics of this process (`GET /metrics`).
  public var metrics: MailsealMetrics {
    get {
      if let metrics = storage[MetricsKey.self] { return metrics }
      let made = MailsealMetrics()
      storage[MetricsKey.self] = made
      return made
    }
    set { storage[MetricsKey.self] = newValue }
  }

  private struct OCSPServiceKey: StorageKey {
    typealias Value = OCSPService
  }

  /// The OCSP responder of this process (set up by `configure`).
  public var ocspService: OCSPService {
    get {
      guard let service = storage[OCSPServiceKey.self] else {
        fatalError("configure(_:with:) was not called")
      }
      return service
    }
    set { storage[OCSPServiceKey.self] = newValue }
  }

  /// The CA hierarchy of this installation.
  public var caInstallation: CAInstallation {
    CAInstallation(database: db, configuration: mailseal)
  }
}

/// Wires the application: database, migrations, commands, routes. Tests call
/// this with their own configuration.
///
/// `readOnly` (a command that only reads): nothing is made or migrated.
public func configure(
  _ app: Application, with configuration: MailsealConfiguration, readOnly: Bool = false
) async throws {
  app.mailseal = configuration
  if !readOnly {
    try FileManager.default.createDirectory(
      at: configuration.dataDirectory, withIntermediateDirectories: true,
      attributes: [.posixPermissions: 0o700])
  }

  // Blocking work — every SQLite statement, file reads and writes — runs
  // on a thread pool of this application's own (NIO's process-wide one has
  // a thread per core, shared by every application in the process). Each
  // SQLite connection (one per event loop) may hold a thread while it waits
  // for another's commit; the one that holds the lock and the files still
  // find a thread free.
  let loops = app.eventLoopGroup.makeIterator().reduce(0) { count, _ in count + 1 }
  app.threadPool = NIOThreadPool(numberOfThreads: 2 * loops + 2)

  // The database, as every user of the store opens it (StoreSetup): the
  // connections' settings, then the migrations.
  try StoreSetup.use(
    configuration.database, waitSeconds: configuration.databaseWait, on: app.databases)
  try await StoreSetup.prepareConnections(
    configuration.database, databases: app.databases, group: app.eventLoopGroup,
    logger: app.logger, readOnly: readOnly)
  // `mailseal migrate` runs the same migrations through the framework's
  // command.
  app.migrations.add(MailsealMigrations.all)
  if !readOnly {
    try await StoreSetup.migrate(
      databases: app.databases, logger: app.logger, on: app.eventLoopGroup.any())
  }
  registerCommands(app)

  // Pages and the browser's scripts ship inside the package.
  let resources = Bundle.module.resourceURL!
  app.directory.viewsDirectory = resources.appendingPathComponent("Views").path + "/"
  app.directory.publicDirectory = resources.appendingPathComponent("Public").path + "/"
  app.views.use(.leaf)
  app.leaf.configuration.rootDirectory = app.directory.viewsDirectory
  // The bundle may sit below a hidden folder (.build): sandboxed to the
  // views folder, but not limited to visible paths.
  app.leaf.sources = .singleSource(
    NIOLeafFiles(
      fileio: app.fileio, limits: [.toSandbox, .requireExtensions],
      sandboxDirectory: app.directory.viewsDirectory, viewDirectory: app.directory.viewsDirectory))
  app.leaf.cache.isEnabled = app.environment.isRelease

  app.middleware = Middlewares()
  app.middleware.use(SecurityHeadersMiddleware())
  app.middleware.use(ProblemMiddleware())
  app.middleware.use(MethodNotAllowedMiddleware())
  app.middleware.use(LanguageMiddleware())
  app.middleware.use(
    PublicFilesMiddleware(files: FileMiddleware(publicDirectory: app.directory.publicDirectory)))
  app.routes.defaultMaxBodySize = "32kb"
  try routes(app)

  // Mail: SMTP when configured, otherwise a folder of .eml files.
  let transport: any MailTransport =
    if let smtp = configuration.mail.smtp {
      SMTPMailTransport(
        settings: smtp, heloName: configuration.mail.domain, group: app.eventLoopGroup)
    } else {
      try FolderMailTransport(directory: configuration.mail.outboxDirectory)
    }
  // The organisation's OpenID provider, when configured: Vapor's HTTP
  // client, trusting MAILSEAL_OIDC_CA_FILE's roots instead of the
  // system's when given.
  if let oidc = configuration.oidc {
    if let caFile = oidc.caFile {
      var tls = TLSConfiguration.makeClientConfiguration()
      tls.trustRoots = .file(caFile)
      app.http.client.configuration.tlsConfiguration = tls
    }
    app.http.client.configuration.redirectConfiguration = .disallow
    app.oidcSignIn = OIDCSignIn(
      database: app.db, configuration: configuration, settings: oidc,
      cache: OIDCProviderCache(
        settings: oidc, transport: VaporOIDCTransport(client: app.http.client.shared)),
      logger: app.logger)
  }

  let metrics = MailsealMetrics()
  app.metrics = metrics
  let mailWorker = MailWorker(
    database: app.db, transport: transport, logger: app.logger, metrics: metrics)
  app.mailWorker = mailWorker
  // The CA that issues: the embedded one, or an upstream through its API
  // (its own HTTP client, ended at shutdown).
  var makeIssuer: (@Sendable () async throws -> any Issuer)?
  if let upstream = configuration.upstream {
    let http = try UpstreamHTTP(caFile: upstream.caFile)
    app.lifecycle.use(UpstreamLifecycle(http: http))
    let issuer = UpstreamIssuer(
      connector: try UpstreamConnectors.make(upstream, http: http), trust: upstream.trust,
      concurrency: upstream.concurrency, database: app.db, logger: app.logger)
    app.upstreamHealth = issuer.health
    app.upstreamIssuer = issuer
    makeIssuer = { issuer }
  }
  // The organisation's directory (MAILSEAL_LDAP_URL): its publisher and
  // the worker that applies the queue.
  var publicationWorker: PublicationWorker?
  if let ldap = configuration.directory.ldap {
    let publisher = LDAPPublisher(settings: ldap, group: app.eventLoopGroup, logger: app.logger)
    app.publisher = publisher
    publicationWorker = PublicationWorker(
      database: app.db, publisher: publisher, logger: app.logger, configuration: configuration)
    app.publicationWorker = publicationWorker
  }
  app.issuanceWorker = IssuanceWorker(
    database: app.db, configuration: configuration, logger: app.logger,
    lease: TimeInterval(configuration.portal.issuanceLease), metrics: metrics,
    issuer: makeIssuer,
    // What issuance queues: the pickup mails and, in the same
    // transaction, the directory's changes.
    mailQueued: { [publicationWorker] in
      mailWorker.nudge()
      publicationWorker?.nudge()
    })
  app.crlPublisher = CRLPublisher(
    database: app.db, configuration: configuration, logger: app.logger, metrics: metrics)
  app.ocspService = OCSPService(database: app.db, configuration: configuration, logger: app.logger)
  app.responder.use { app in
    OCSPFrontResponder(ocsp: app.ocspService, metrics: app.metrics, next: app.responder.default)
  }

  if case .generated(let path) = configuration.passphraseSource {
    app.logger.notice(
      "CA keys are encrypted with a generated passphrase kept in \(path); in production set MAILSEAL_CA_PASSPHRASE_FILE to a file outside the data folder."
    )
  }
  if app.isServing {
    try await prepareToServe(app)
    app.lifecycle.use(WorkerLifecycle())
    if let address = configuration.ocsp.listen {
      app.lifecycle.use(OCSPListenerLifecycle(address: address))
    }
  }
}

/// The administrator's commands (``MailsealCommands``; also for `--help`,
/// which needs nothing else).
public func registerCommands(_ app: Application) {
  for (name, command) in MailsealCommands.all {
    app.asyncCommands.use(command, as: name)
  }
}

/// The commands run in this installation (``MailsealCommands``) find it
/// here.
extension Application: CommandHost {}

extension Application {
  /// Whether this process runs the web server (the default command).
  var isServing: Bool {
    // `serve` is the default command, so `mailseal` and `mailseal --port 9000`
    // serve too; asking for help never does.
    let arguments = environment.arguments.dropFirst()
    guard !arguments.contains("--help"), !arguments.contains("-h") else { return false }
    return arguments.first.map { $0 == "serve" || $0.hasPrefix("-") } ?? true
  }
}

/// The OCSP listener of its own (`MAILSEAL_OCSP_LISTEN`), while the server
/// runs; a port that cannot be bound stops the start.
final class OCSPListenerLifecycle: LifecycleHandler, Sendable {
  let address: ListenAddress
  private let listener = Mutex<OCSPListener?>(nil)

  init(address: ListenAddress) { self.address = address }

  func didBootAsync(_ application: Application) async throws {
    let made = OCSPListener(
      ocsp: application.ocspService, metrics: application.metrics,
      trustForwardedFor: application.mailseal.portal.trustForwardedFor,
      logger: application.logger)
    try await made.start(host: address.host, port: address.port, group: application.eventLoopGroup)
    listener.withLock { $0 = made }
  }

  func shutdownAsync(_ application: Application) async {
    await listener.withLock { listener -> OCSPListener? in
      defer { listener = nil }
      return listener
    }?.stop()
  }
}

/// Runs the background services while the server runs: the mail worker,
/// the issuance worker, the CRL publisher, the OCSP responder's board and
/// signatures, and the hourly housekeeping.
final class WorkerLifecycle: LifecycleHandler, Sendable {
  private let running = Mutex<[Task<Void, Never>]>([])

  func didBootAsync(_ application: Application) async throws {
    let mailWorker = application.mailWorker
    let ocsp = application.ocspService
    let housekeeping = Housekeeping(
      database: application.db, configuration: application.mailseal, logger: application.logger,
      respondersRenewed: { ocsp.reloadResponders() }, mailQueued: { mailWorker?.nudge() })
    var services: [@Sendable () async -> Void] = [
      { await housekeeping.run() }, { await ocsp.run() },
    ]
    if let worker = mailWorker { services.append { await worker.run() } }
    if let worker = application.issuanceWorker { services.append { await worker.run() } }
    if let publisher = application.crlPublisher { services.append { await publisher.run() } }
    if let worker = application.publicationWorker { services.append { await worker.run() } }
    let tasks = services.map { service in Task { await service() } }
    running.withLock { $0.append(contentsOf: tasks) }
  }

  func shutdownAsync(_ application: Application) async {
    let tasks = running.withLock { tasks in
      defer { tasks = [] }
      return tasks
    }
    for task in tasks { task.cancel() }
    for task in tasks { await task.value }
  }
}

/// Before the server answers: a CA to sign with (a test CA on a fresh data
/// folder), and no intent left pending by a process that died.
func prepareToServe(_ app: Application) async throws {
  if try await app.caInstallation.activeIssuer() == nil {
    do {
      let (_, issuing) = try await app.caInstallation.initialize(keyType: .p384, test: true)
      app.logger.warning(
        "No CA was configured, so a TEST CA was made (\(issuing.subject)). Its certificates are not trusted by anyone. For production run `mailseal ca init` or `mailseal ca import` on an empty database."
      )
    } catch let error as CAError where error == CAInstallation.alreadyInitialized {
      // Another instance made it a moment ago.
    }
  }
  switch app.mailseal.metrics.access {
  case .open:
    app.logger.notice("GET /metrics is open: the public URL is on loopback.")
  case .token:
    app.logger.notice("GET /metrics needs MAILSEAL_METRICS_TOKEN as a bearer token.")
  case .off:
    app.logger.warning(
      "GET /metrics is off: the public URL is not on loopback and MAILSEAL_METRICS_TOKEN is not set."
    )
  }
  if let oidc = app.mailseal.oidc, !oidc.roles.isEmpty, oidc.staffACR.isEmpty {
    app.logger.warning(
      "Staff sign in through the identity provider without a required second factor: set MAILSEAL_OIDC_STAFF_ACR to the acr values the provider gives for multi-factor sign-in."
    )
  }
  if app.mailseal.organizationIsDefault {
    app.logger.warning(
      "MAILSEAL_ORG_NAME, MAILSEAL_ORG_ID and MAILSEAL_ORG_COUNTRY are not set; certificates name the test organisation “\(app.mailseal.organization.name)”."
    )
  }
  // A CA key in an HSM must open now: a wrong PIN, a missing module or
  // token stops the start (exit status 78), instead of a portal that
  // approves what it can never sign. (Key files are opened when first
  // used: an instance without the key folder may still serve the pages.)
  if let issuer = try await app.caInstallation.activeIssuer(),
    issuer.keyReference.map({ KeyReference(rawValue: $0).scheme }) == "pkcs11"
  {
    do {
      let authority = try await app.caInstallation.authority(for: issuer)
      try authority.signingKey.ensureAvailable()
      app.logger.notice(
        "The issuing CA's key is ready",
        metadata: ["key": .string(issuer.keyReference ?? ""), "issuer": .string(issuer.slug)])
    } catch let error as CAError where error.isCustodyFault {
      throw StartupFailure.custody(error.message)
    }
  }
  // With escrow on, browsers must have recovery certificates to seal for,
  // pinned outside the database and installed as pinned: otherwise the
  // portal does not start (exit status 78).
  if app.mailseal.escrow.isOn {
    let installed = try await RecoveryCertificates(database: app.db).installed()
    guard !installed.isEmpty else { throw StartupFailure.escrowWithoutCertificate }
    guard !app.mailseal.recoveryPins.isEmpty else {
      throw StartupFailure.escrowWithoutPin(
        installed: installed.map(\.certificate.fingerprint.hexString))
    }
    let check = try await app.registrationAuthority.enrollment.escrowCheck()
    if let problem = check.problem { throw StartupFailure.escrowMismatch(problem) }
    app.logger.notice(
      "Key escrow is \(app.mailseal.escrow.rawValue)",
      metadata: [
        "recoveryCertificates": .string(check.inForce.map(\.fingerprintText).joined(separator: ","))
      ])
  }
  try await IssuanceService.recoverAbandonedIntents(on: app.db, logger: app.logger)
  // Every issuing CA has a delegated OCSP responder with time left.
  for issuer in try await Store(app.db).issuers.all(in: .issuing)
  where issuer.keyReference != nil && issuer.notAfter > Date() {
    try await app.caInstallation.ensureOCSPResponder(for: issuer)
  }
}

// MARK: - The parts on this installation's database (the web reaches the
// store only through these)

extension Application {
  /// The registration authority of this installation (for commands and
  /// background work; a request uses ``Vapor/Request/registrationAuthority``).
  public var registrationAuthority: RegistrationAuthority { makeRegistrationAuthority(on: db) }

  /// The registration authority on `database`, wired to this process's
  /// workers.
  func makeRegistrationAuthority(on database: any Database) -> RegistrationAuthority {
    let mailWorker = self.mailWorker
    let crlPublisher = self.crlPublisher
    let issuanceWorker = self.issuanceWorker
    let metrics = self.metrics
    let ocsp = self.ocspService
    return RegistrationAuthority(
      database: database, configuration: mailseal, logger: logger,
      mailQueued: { mailWorker?.nudge() },
      revocationRecorded: { revocation in
        // This instance's OCSP answers say revoked from now on.
        ocsp.apply(revocation)
        crlPublisher?.nudge()
        metrics.revocations[revocation.reason]?.increment()
      },
      issuanceResumed: { issuanceWorker?.nudge() })
  }
}

extension Request {
  /// The registration authority on this request's connection pool.
  var registrationAuthority: RegistrationAuthority {
    application.makeRegistrationAuthority(on: db)
  }
}

extension Application {
  /// The staff accounts of this installation.
  public var operatorDirectory: OperatorDirectory {
    OperatorDirectory(database: db, configuration: mailseal, logger: logger)
  }
}

extension Request {
  /// The operator directory on this request's connection pool.
  var operatorDirectory: OperatorDirectory {
    OperatorDirectory(database: db, configuration: application.mailseal, logger: logger)
  }
}

extension Application {
  /// The recovery certificates installed here (key escrow).
  public var recoveryCertificates: RecoveryCertificates { RecoveryCertificates(database: db) }

  /// The escrowed keys, for their export to the recovery officers.
  public var escrowedKeys: EscrowedKeys { EscrowedKeys(database: db) }

  /// Issuance by `authority` (the command line's `ca issue`).
  public func issuanceService(authority: CertificateAuthority, issuerID: UUID)
    -> IssuanceService
  {
    IssuanceService(authority: authority, issuerID: issuerID, database: db)
  }

  /// Publishes the CRL of an issuer now (after a revocation on the command
  /// line, which ends before the publisher's debounce).
  public func publishCRL(issuerID: UUID) async throws {
    if let issuer = try await caInstallation.issuer(issuerID) {
      try await crlPublisher?.publish(issuer)
    }
  }

  /// Writes a backup of the installation to `path` (`mailseal backup`).
  public func backup(to path: String) async throws -> InstallationBackup.Written {
    try await InstallationBackup(configuration: mailseal, logger: logger).write(
      to: path, database: db)
  }

  /// The metrics in Prometheus' text format, the gauges read now.
  func scrapeMetrics() async throws -> [UInt8] {
    try await metrics.scrape(db)
  }
}

/// Ends the upstream CA's HTTP client at shutdown.
final class UpstreamLifecycle: LifecycleHandler, Sendable {
  let http: UpstreamHTTP

  init(http: UpstreamHTTP) { self.http = http }

  func shutdownAsync(_ application: Application) async {
    try? await http.shutdown()
  }
}
