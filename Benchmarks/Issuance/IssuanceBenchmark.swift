import Benchmark
import Crypto
import Foundation
import MailsealCA
import MailsealRA
import MailsealStore
import MailsealWeb
import SQLKit
import SoftHSMSupport
import Vapor
import X509

// The issuance pipeline — check the request, build, lint the to-be-signed
// bytes, record the intent, sign once, store — measured per CA key type on
// SQLite and on PostgreSQL, with the raw signature rate of the same key
// measured in the same iteration beside it.
//
// Run with scripts/benchmark.sh (it starts PostgreSQL on 127.0.0.1 and sets
// MAILSEAL_BENCH_POSTGRES_URL); without that variable only SQLite runs.

let batchSize = 512
/// The steady-state cases: sixteen chunks of the pipeline, so its fill (the
/// first chunk checked and built alone) and drain (the last commit alone)
/// weigh an eighth of what they weigh in a batch of 512.
let longBatchSize = 4_096
let certificatesPerSecond = BenchmarkMetric.custom(
  "certs/s (durable)", polarity: .prefersLarger, useScalingFactor: false)
let rawSignaturesPerSecond = BenchmarkMetric.custom(
  "raw signatures/s", polarity: .prefersLarger, useScalingFactor: false)
let ratioPercent = BenchmarkMetric.custom(
  "pipeline / raw (%)", polarity: .prefersLarger, useScalingFactor: false)
/// The process's CPU time (every thread, user and system) during the
/// pipeline minus that during the raw signatures, per certificate: what a
/// certificate costs besides its signature — check, key look-up, build,
/// lint, and the store's work in this process (SQLite runs here; the
/// PostgreSQL server's own CPU is not counted).
let cpuOutsideSignatures = BenchmarkMetric.custom(
  "CPU besides the signature (µs/cert)", polarity: .prefersSmaller, useScalingFactor: false)

/// One installation under test: its own data folder and database; the CA
/// keys in files, or in a SoftHSM2 token (`inToken`).
///
/// `submitted`: the requests were checked once before, as the portal checks
/// each request when it is submitted, so issuance finds their signatures
/// verified (``VerifiedSignatures``). Otherwise every iteration starts with
/// that record empty and the pipeline verifies every signature itself.
final class Installation: @unchecked Sendable {
  let keyType: CAKeyType
  let database: String
  let inToken: Bool
  let submitted: Bool
  /// How many requests each iteration issues.
  let size: Int
  var app: Application?
  var service: IssuanceService?
  var key: (any CASigningKey)?
  var orders: [IssuanceOrder] = []
  var messages: [ArraySlice<UInt8>] = []
  var folder: URL?
  var dropDatabase: (() -> Void)?

  init(
    keyType: CAKeyType, database: String, inToken: Bool = false, submitted: Bool = false,
    size: Int = batchSize
  ) {
    self.keyType = keyType
    self.database = database
    self.inToken = inToken
    self.submitted = submitted
    self.size = size
  }

  func setUp() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    self.folder = folder
    var databaseURL = "sqlite://" + folder.appendingPathComponent("bench.sqlite").path
    if database == "PostgreSQL" {
      guard let admin = ProcessInfo.processInfo.environment["MAILSEAL_BENCH_POSTGRES_URL"],
        var components = URLComponents(string: admin)
      else { throw BenchmarkSetupError("MAILSEAL_BENCH_POSTGRES_URL is not set") }
      let name =
        "mailseal_bench_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
      try psql(admin, "CREATE DATABASE \(name)")
      components.path = "/" + name
      databaseURL = components.string!
      dropDatabase = { try? psql(admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }
    var environment = [
      "MAILSEAL_DATA_DIR": folder.appendingPathComponent("data").path,
      "DATABASE_URL": databaseURL,
      "MAILSEAL_CA_PASSPHRASE": "benchmark-passphrase-not-secret",
      "MAILSEAL_PUBLIC_URL": "http://pki.example.edu",
      "MAILSEAL_ORG_NAME": "Universität Beispielstadt",
      "MAILSEAL_ORG_ID": "NTRDE-DEB1101.HRB123456",
      "MAILSEAL_ORG_COUNTRY": "DE",
    ]
    if inToken {
      let token = try SoftHSM.shared.token("bench-\(keyType.rawValue)-\(database)")
      environment["MAILSEAL_PKCS11_MODULE"] = SoftHSM.modulePath
      environment["MAILSEAL_PKCS11_PIN_FILE"] = token.pinFile
      environment["MAILSEAL_PKCS11_TOKEN"] = token.label
    }
    let configuration = try MailsealConfiguration.load(from: environment)
    let app = try await Application.make(
      Environment(name: "production", arguments: ["mailseal", "benchmark"]))
    app.logger.logLevel = .warning
    self.app = app
    try await configure(app, with: configuration)
    try await app.caInstallation.initialize(keyType: keyType, test: true)
    let (authority, issuerID) = try await app.caInstallation.loadActiveAuthority()
    service = IssuanceService(authority: authority, issuerID: issuerID, database: app.db)
    // MAILSEAL_BENCH_STAGES=1 logs each batch's stage times (prepare:
    // check, key look-up, build and lint; sign; commit; the rounds' wall
    // time), to see which stage bounds the pipeline.
    if ProcessInfo.processInfo.environment["MAILSEAL_BENCH_STAGES"] == "1" {
      service?.logger.logLevel = .debug
    }
    let record = try await app.caInstallation.activeIssuer()!
    key = try configuration.loadKey(KeyReference(rawValue: record.keyReference!))

    // Requests from distinct P-256 keys (the browser also offers RSA, whose
    // verification is cheaper), one mailbox each.
    orders = try (0..<size).map { index in
      let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
      let csr = try CertificateSigningRequest(
        version: .v1, subject: DistinguishedName { CommonName("ignored") }, privateKey: key,
        attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256)
      let pem = Array(try csr.serializeAsPEM().pemString.utf8)
      let subject = try ValidatedSubject.person(
        mailbox: "person\(index)@example.edu", givenName: "Given\(index)", surname: "Surname")
      return IssuanceOrder(request: pem, subject: subject)
    }
    if submitted {
      for order in orders { _ = try CertificateRequestCheck.check(order.request) }
    }
    // Messages the size of a to-be-signed certificate, for the raw rate.
    messages = (0..<size).map { index in
      ArraySlice((0..<900).map { UInt8(truncatingIfNeeded: $0 &+ index) })
    }
  }

  func tearDown() async throws {
    try await app?.asyncShutdown()
    dropDatabase?()
    if let folder { try? FileManager.default.removeItem(at: folder) }
  }

  /// One iteration: a batch through the pipeline, then the same number of
  /// raw signatures with the same key on the same cores.
  func run(_ benchmark: Benchmark) async throws {
    guard let service, let key else { throw BenchmarkSetupError("set-up did not run") }
    let orders = self.orders
    let messages = self.messages
    if !submitted { VerifiedSignatures.shared.removeAll() }
    benchmark.startMeasurement()
    let cpu0 = cpuSeconds()
    let start = ContinuousClock.now
    let results = try await onEveryCore { try await service.issue(orders) }
    let pipeline = ContinuousClock.now - start
    let cpu1 = cpuSeconds()
    benchmark.stopMeasurement()
    for result in results { _ = try result.get() }

    let rawStart = ContinuousClock.now
    let signatures = await onEveryCore {
      await Parallel.map(messages) { message in (try? key.sign(message))?.count ?? 0 }
    }
    let raw = ContinuousClock.now - rawStart
    let cpu2 = cpuSeconds()
    precondition(signatures.allSatisfy { $0 > 0 })

    let pipelineRate = Double(size) / seconds(pipeline)
    let rawRate = Double(size) / seconds(raw)
    benchmark.measurement(certificatesPerSecond, Int(pipelineRate))
    benchmark.measurement(rawSignaturesPerSecond, Int(rawRate))
    benchmark.measurement(ratioPercent, Int(100 * pipelineRate / rawRate))
    benchmark.measurement(
      cpuOutsideSignatures, Int(1e6 * ((cpu1 - cpu0) - (cpu2 - cpu1)) / Double(size)))
  }
}

extension Installation {
  /// Builds and lints the batch's certificates one after another.
  func buildAndLint(_ benchmark: Benchmark) throws {
    guard let authority = service?.authority else {
      throw BenchmarkSetupError("set-up did not run")
    }
    let requests = try orders.map { try CertificateRequestCheck.check($0.request) }
    let now = Date()
    benchmark.startMeasurement()
    for (order, request) in zip(orders, requests) {
      blackHole(try authority.prepare(request, for: order.subject, now: now))
    }
    benchmark.stopMeasurement()
  }
}

/// Where the measured work runs: threads of their own, as many as there
/// are cores. The harness runs an async benchmark by blocking one thread of
/// Swift's cooperative pool on a semaphore (`Benchmark.runAsync`), so on
/// this 2-core machine the work would get one core where the portal gets
/// two — the pipeline and the raw rate alike were one-core figures until
/// this was found.
final class EveryCoreExecutor: TaskExecutor, @unchecked Sendable {
  static let shared = EveryCoreExecutor()
  private let queue = DispatchQueue(
    label: "mailseal.benchmark.every-core", qos: .userInitiated, attributes: .concurrent)

  func enqueue(_ job: consuming ExecutorJob) {
    let job = UnownedJob(job)
    let executor = asUnownedTaskExecutor()
    queue.async { job.runSynchronously(on: executor) }
  }
}

/// Runs `work` (and every task it makes) on ``EveryCoreExecutor``.
func onEveryCore<Result: Sendable>(_ work: @Sendable () async throws -> Result) async rethrows
  -> Result
{
  try await withTaskExecutorPreference(EveryCoreExecutor.shared) { try await work() }
}

/// The CPU time this process has used so far, every thread, user and system.
func cpuSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
    + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

func seconds(_ duration: Duration) -> Double {
  Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

struct BenchmarkSetupError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}

func psql(_ url: String, _ statement: String) throws {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
  process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-qc", statement]
  try process.run()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw BenchmarkSetupError("psql failed: \(statement)")
  }
}

/// Approved requests through the issuance worker: claim (lease), pipeline,
/// request marked issued and pickup mail queued in the certificate's
/// transaction.
final class WorkerInstallation: @unchecked Sendable {
  let base: Installation
  var worker: IssuanceWorker?
  var csrs: [[UInt8]] = []
  var round = 0

  init(keyType: CAKeyType, database: String) {
    base = Installation(keyType: keyType, database: database)
  }

  func setUp() async throws {
    try await base.setUp()
    guard let app = base.app else { return }
    worker = IssuanceWorker(
      database: app.db, configuration: app.mailseal, logger: app.logger, batchSize: batchSize)
    csrs = base.orders.map(\.request)
    // The portal checks each request when it is submitted; these are
    // inserted as approved directly, so check them here, as it would have.
    for csr in csrs { _ = try CertificateRequestCheck.check(csr) }
  }

  func tearDown() async throws { try await base.tearDown() }

  /// Inserts a batch of approved requests (not measured), then lets the
  /// worker issue them (measured).
  func run(_ benchmark: Benchmark) async throws {
    guard let app = base.app, let worker else { throw BenchmarkSetupError("set-up did not run") }
    round += 1
    let sql = try app.db.sql
    let now = Date()
    var insert = sql.insert(into: "certificate_requests").columns(
      "id", "number", "mailbox", "mailbox_type", "given_name", "surname", "key_type",
      "key_fingerprint", "csr_der",
      "state", "language", "mailbox_validated_at", "created_at", "updated_at", "approved_at")
    for (index, csr) in csrs.enumerated() {
      insert = insert.values(
        SQLBind(UUID()), SQLBind("B-\(round)-\(index)"), SQLBind("person\(index)@example.edu"),
        SQLBind("personal"),
        SQLBind("Given\(index)"), SQLBind("Surname"), SQLBind("p256"),
        SQLBind("fingerprint-\(round)-\(index)"),
        SQLBind(Data(csr)), SQLBind("approved"), SQLBind("en"), SQLBind(now), SQLBind(now),
        SQLBind(now), SQLBind(now))
    }
    try await insert.run()
    benchmark.startMeasurement()
    let start = ContinuousClock.now
    let issued = try await onEveryCore {
      var issued = 0
      while true {
        let count = try await worker.issueDue()
        if count == 0 { break }
        issued += count
      }
      return issued
    }
    let elapsed = ContinuousClock.now - start
    benchmark.stopMeasurement()
    precondition(issued == csrs.count, "issued \(issued) of \(csrs.count)")
    benchmark.measurement(certificatesPerSecond, Int(Double(issued) / seconds(elapsed)))
  }
}

/// One issuance case: a batch through the pipeline per iteration, beside
/// the raw signature rate of the same key.
func issuanceBenchmark(
  _ name: String, _ installation: Installation, maxDuration: Duration, maxIterations: Int
) {
  Benchmark(
    name,
    configuration: .init(
      metrics: [
        .wallClock, certificatesPerSecond, rawSignaturesPerSecond, ratioPercent,
        cpuOutsideSignatures,
      ],
      timeUnits: .milliseconds,
      warmupIterations: 1,
      maxDuration: maxDuration, maxIterations: maxIterations,
      setup: { try await installation.setUp() },
      teardown: { try await installation.tearDown() }
    )
  ) { benchmark in
    try await installation.run(benchmark)
  }
}

let benchmarks: @Sendable () -> Void = {
  var databases = ["SQLite"]
  if ProcessInfo.processInfo.environment["MAILSEAL_BENCH_POSTGRES_URL"] != nil {
    databases.append("PostgreSQL")
  }
  for database in databases {
    let cases: [(CAKeyType, Bool)] = [
      (.p256, false), (.p384, false), (.rsa4096, false), (.p384, true), (.rsa4096, true),
    ]
    for (keyType, inToken) in cases {
      for submitted in [false, true] {
        let installation = Installation(
          keyType: keyType, database: database, inToken: inToken, submitted: submitted)
        issuanceBenchmark(
          "Issue \(batchSize) \(submitted ? "submitted requests" : "certificates"), \(keyType) CA\(inToken ? " in SoftHSM2" : ""), \(database)",
          installation,
          maxDuration: .seconds(keyType == .rsa4096 ? 40 : 15),
          maxIterations: keyType == .rsa4096 ? 6 : 25)
      }
    }
    // Steady state: the same pipeline over a batch of sixteen chunks.
    for keyType in [CAKeyType.p256, .p384] {
      issuanceBenchmark(
        "Issue \(longBatchSize) submitted requests, \(keyType) CA, \(database)",
        Installation(keyType: keyType, database: database, submitted: true, size: longBatchSize),
        maxDuration: .seconds(30), maxIterations: 10)
    }
    for keyType in [CAKeyType.p256, .p384] {
      let installation = WorkerInstallation(keyType: keyType, database: database)
      Benchmark(
        "Worker: \(batchSize) approved → issued, \(keyType) CA, \(database)",
        configuration: .init(
          metrics: [.wallClock, certificatesPerSecond], timeUnits: .milliseconds,
          warmupIterations: 1,
          maxDuration: .seconds(15), maxIterations: 15,
          setup: { try await installation.setUp() },
          teardown: { try await installation.tearDown() }
        )
      ) { benchmark in
        try await installation.run(benchmark)
      }
    }
    crlBenchmarks(database: database)
    if database == "SQLite" { upstreamBenchmarks() }
    if database == "SQLite" {
      directoryBenchmarks()
      backupBenchmarks()
    }
    if database == "SQLite" {
      // Step 3 alone (build from the validated subject, lint the exact
      // to-be-signed bytes), on one core: the CPU cost a certificate pays
      // before its signature.
      let installation = Installation(keyType: .p256, database: database, submitted: true)
      Benchmark(
        "Build and lint \(batchSize) certificates on one core, \(CAKeyType.p256) CA",
        configuration: .init(
          metrics: [.wallClock, .instructions, .mallocCountTotal], timeUnits: .microseconds,
          warmupIterations: 2,
          scalingFactor: .kilo,
          maxDuration: .seconds(10), maxIterations: 50,
          setup: { try await installation.setUp() },
          teardown: { try await installation.tearDown() }
        )
      ) { benchmark in
        try installation.buildAndLint(benchmark)
      }
    }
    let search = SearchInstallation(database: database)
    Benchmark(
      "Queue search, \(searchedRequests) requests, \(database)",
      configuration: .init(
        metrics: searchMetrics, timeUnits: .microseconds,
        warmupIterations: 3,
        maxDuration: .seconds(20), maxIterations: 300,
        setup: { try await search.setUp() },
        teardown: { try await search.tearDown() }
      )
    ) { benchmark in
      try await search.run(benchmark)
    }
  }
}
