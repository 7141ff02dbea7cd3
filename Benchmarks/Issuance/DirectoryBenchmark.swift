import Benchmark
import Crypto
import Foundation
import MailsealCA
import MailsealRA
import MailsealWeb
import SQLKit
import SwiftASN1
import UpstreamTestSupport
import Vapor
import X509

// Issue 29's figures, against Debian's slapd on 127.0.0.1 (StartTLS):
// - the time from issuance (the certificate stored) to its value in the
//   directory (the publication applied), one request at a time as people
//   are issued, with the portal's publication worker running as `serve`
//   runs it: p50 and p99 over 200;
// - `directory sync` over 10,000 published certificates of which 100
//   values were deleted by hand: the comparison and the repairs.

let directoryIssuances = 200
let directorySyncCertificates = 10_000
let directoryDeleted = 100
let p50Milliseconds = BenchmarkMetric.custom(
  "p50 issuance → directory (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let p99Milliseconds = BenchmarkMetric.custom(
  "p99 issuance → directory (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let syncMilliseconds = BenchmarkMetric.custom(
  "sync (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let syncRepaired = BenchmarkMetric.custom(
  "values repaired", polarity: .prefersLarger, useScalingFactor: false)

final class DirectoryInstallation: @unchecked Sendable {
  let count: Int
  var app: Application?
  var slapd: Slapd?
  var folder: URL?
  var worker: Task<Void, Never>?

  init(count: Int) { self.count = count }

  func setUp() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-bench-directory-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    self.folder = folder
    let slapd = try Slapd(
      extraLDIF: (0..<count).map { Slapd.person("p\($0)", mailbox: "p\($0)@example.edu") }
        .joined())
    self.slapd = slapd
    let secret = folder.appendingPathComponent("ldap.secret")
    try Data(Slapd.publisherPassword.utf8).write(to: secret)
    try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: secret.path)
    let configuration = try MailsealConfiguration.load(from: [
      "MAILSEAL_DATA_DIR": folder.appendingPathComponent("data").path,
      "DATABASE_URL": "sqlite://" + folder.appendingPathComponent("bench.sqlite").path,
      "MAILSEAL_CA_PASSPHRASE": "benchmark-passphrase-not-secret",
      "MAILSEAL_PUBLIC_URL": "http://pki.example.edu",
      "MAILSEAL_ORG_NAME": "Universität Beispielstadt",
      "MAILSEAL_ORG_ID": "NTRDE-DEB1101.HRB123456",
      "MAILSEAL_ORG_COUNTRY": "DE",
      "MAILSEAL_PUBLISH": "always",
      "MAILSEAL_LDAP_URL": slapd.url,
      "MAILSEAL_LDAP_CA_FILE": slapd.caFile,
      "MAILSEAL_LDAP_BIND_DN": Slapd.publisherDN,
      "MAILSEAL_LDAP_PASSWORD_FILE": secret.path,
      "MAILSEAL_LDAP_BASE_DN": Slapd.suffix,
    ])
    let app = try await Application.make(
      Environment(name: "production", arguments: ["mailseal", "benchmark"]))
    app.logger.logLevel = .warning
    self.app = app
    try await configure(app, with: configuration)
    try await app.caInstallation.initialize(keyType: .p384, test: true)
  }

  func tearDown() async throws {
    worker?.cancel()
    await worker?.value
    try await app?.asyncShutdown()
    slapd?.remove()
    if let folder { try? FileManager.default.removeItem(at: folder) }
  }

  /// Approved requests for `p<first>…` (distinct P-256 keys).
  func approve(_ range: Range<Int>) async throws {
    guard let app else { throw BenchmarkSetupError("set-up did not run") }
    try await insertApprovedRequests(app, range)
  }

  func done(on sql: any SQLDatabase) async throws -> Int {
    try await sql.raw("SELECT COUNT(*) AS n FROM publications WHERE state = 'done'").first()?
      .decode(column: "n", as: Int.self) ?? 0
  }

  /// One request at a time: issued by the issuance worker, published by the
  /// publication worker running beside it (as `serve` runs them).
  func latencies(_ benchmark: Benchmark) async throws {
    guard let app, let issuance = app.issuanceWorker, let publication = app.publicationWorker
    else { throw BenchmarkSetupError("set-up did not run") }
    worker = Task { await publication.run() }
    let sql = try app.db.sql
    benchmark.startMeasurement()
    for index in 0..<directoryIssuances {
      try await approve(index..<(index + 1))
      guard try await issuance.issueDue() == 1 else {
        throw BenchmarkSetupError("request \(index) was not issued")
      }
      // Polled, not slept on: the publication worker was nudged by the
      // issuance (the benchmark only reads when it is done).
      while try await done(on: sql) < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
    }
    benchmark.stopMeasurement()
    let rows = try await sql.raw(
      """
      SELECT c.created_at AS issued, p.done_at AS published FROM publications p
      JOIN certificates c ON c.serial = p.serial
      """
    ).all()
    let milliseconds = try rows.map { row in
      (try row.decode(column: "published", as: Date.self).timeIntervalSince(
        try row.decode(column: "issued", as: Date.self))) * 1000
    }.sorted()
    let p50 = milliseconds[milliseconds.count / 2]
    let p99 = milliseconds[min(milliseconds.count - 1, milliseconds.count * 99 / 100)]
    print(
      "directory: \(milliseconds.count) issued → published, p50 \(String(format: "%.1f", p50)) ms, p99 \(String(format: "%.1f", p99)) ms, max \(String(format: "%.1f", milliseconds.last ?? 0)) ms"
    )
    benchmark.measurement(p50Milliseconds, Int(p50.rounded()))
    benchmark.measurement(p99Milliseconds, Int(p99.rounded()))
  }

  /// 10,000 issued and published (not measured), 100 values deleted by
  /// hand; then `directory sync` (measured): the comparison, the repairs
  /// queued and applied.
  func sync(_ benchmark: Benchmark) async throws {
    guard let app, let slapd, let issuance = app.issuanceWorker,
      let publication = app.publicationWorker, let publisher = app.publisher
    else { throw BenchmarkSetupError("set-up did not run") }
    try await approve(0..<count)
    var issued = 0
    while issued < count { issued += try await issuance.issueDue() }
    var published = 0
    while published < count { published += try await publication.applyDue(limit: 1_000) }
    let sql = try app.db.sql
    var deletions = ""
    for row in try await sql.raw(
      "SELECT mailbox, der FROM certificates ORDER BY mailbox LIMIT \(literal: directoryDeleted)"
    ).all() {
      let mailbox = try row.decode(column: "mailbox", as: String.self)
      let der = try row.decode(column: "der", as: Data.self)
      deletions += """
        dn: uid=\(mailbox.split(separator: "@")[0]),ou=people,\(Slapd.suffix)
        changetype: modify
        delete: userCertificate;binary
        userCertificate;binary:: \(der.base64EncodedString())


        """
    }
    try slapd.modify(deletions)
    benchmark.startMeasurement()
    let started = ContinuousClock.now
    let report = try await app.registrationAuthority.directory.sync(
      with: publisher, dryRun: false, actor: "benchmark")
    var repaired = 0
    while true {
      let round = try await publication.applyDue(limit: 1_000)
      repaired += round
      if round == 0 { break }
    }
    let elapsed = ContinuousClock.now - started
    benchmark.stopMeasurement()
    print(
      "directory sync: \(report.addresses) addresses compared, \(report.differences.count) differences, \(repaired) repaired in \(seconds(elapsed)) s"
    )
    benchmark.measurement(syncMilliseconds, Int(seconds(elapsed) * 1000))
    benchmark.measurement(syncRepaired, repaired)
  }
}

func directoryBenchmarks() {
  let latency = DirectoryInstallation(count: directoryIssuances)
  Benchmark(
    "Directory: \(directoryIssuances) issued one at a time → in slapd (StartTLS), p50/p99",
    configuration: .init(
      metrics: [.wallClock, p50Milliseconds, p99Milliseconds], timeUnits: .seconds,
      warmupIterations: 0, maxDuration: .seconds(600), maxIterations: 1,
      setup: { try await latency.setUp() },
      teardown: { try await latency.tearDown() })
  ) { benchmark in
    try await latency.latencies(benchmark)
  }
  let sync = DirectoryInstallation(count: directorySyncCertificates)
  Benchmark(
    "Directory: sync over \(directorySyncCertificates) published certificates, \(directoryDeleted) values deleted by hand",
    configuration: .init(
      metrics: [.wallClock, syncMilliseconds, syncRepaired], timeUnits: .seconds,
      warmupIterations: 0, maxDuration: .seconds(1200), maxIterations: 1,
      setup: { try await sync.setUp() },
      teardown: { try await sync.tearDown() })
  ) { benchmark in
    try await sync.sync(benchmark)
  }
}

/// Approved requests for `p<first>…` (distinct P-256 keys).
func insertApprovedRequests(_ app: Application, _ range: Range<Int>) async throws {
  let sql = try app.db.sql
  let now = Date()
  for start in stride(from: range.lowerBound, to: range.upperBound, by: 250) {
    var insert = sql.insert(into: "certificate_requests").columns(
      "id", "number", "mailbox", "mailbox_type", "given_name", "surname", "key_type",
      "key_fingerprint", "csr_der", "state", "language", "mailbox_validated_at", "created_at",
      "updated_at", "approved_at")
    for index in start..<min(start + 250, range.upperBound) {
      let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
      let csr = try CertificateSigningRequest(
        version: .v1, subject: DistinguishedName { CommonName("ignored") }, privateKey: key,
        attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256)
      var serializer = DER.Serializer()
      try serializer.serialize(csr)
      let checked = try CertificateRequestCheck.check(serializer.serializedBytes)
      insert = insert.values(
        SQLBind(UUID()), SQLBind("D-\(index)"), SQLBind("p\(index)@example.edu"),
        SQLBind("personal"), SQLBind("Given\(index)"), SQLBind("Surname"), SQLBind("p256"),
        SQLBind(checked.keyFingerprint.hexString), SQLBind(Data(serializer.serializedBytes)),
        SQLBind("approved"), SQLBind("en"), SQLBind(now), SQLBind(now), SQLBind(now),
        SQLBind(now))
    }
    try await insert.run()
  }
}
