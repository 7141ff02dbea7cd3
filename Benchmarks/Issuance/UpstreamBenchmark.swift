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

// Issue 28's benchmark: 1,000 approved requests through an upstream CA that
// answers each order after 1 s — the HARICA test server (Tests/upstream,
// checked with tcs-garr) started with `--delay 1` — at the default
// concurrency (MAILSEAL_UPSTREAM_CONCURRENCY 8): the time until every
// certificate is stored, and the orders the upstream took (must be 1,000).

let upstreamRequests = 1_000
let secondsUntilStored = BenchmarkMetric.custom(
  "seconds until all stored", polarity: .prefersSmaller, useScalingFactor: false)
let ordersAtUpstream = BenchmarkMetric.custom(
  "orders at the upstream", polarity: .prefersSmaller, useScalingFactor: false)

final class UpstreamInstallation: @unchecked Sendable {
  var app: Application?
  var server: UpstreamTestServer?
  var folder: URL?
  var csrs: [Data] = []

  func setUp() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-bench-upstream-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    self.folder = folder
    let server = try UpstreamTestServer("harica_server.py", ["--delay", "1"])
    self.server = server
    func secret(_ name: String, _ value: String) throws -> String {
      let path = folder.appendingPathComponent(name).path
      try Data((value + "\n").utf8).write(to: URL(fileURLWithPath: path))
      try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
      return path
    }
    let configuration = try MailsealConfiguration.load(from: [
      "MAILSEAL_DATA_DIR": folder.appendingPathComponent("data").path,
      "DATABASE_URL": "sqlite://" + folder.appendingPathComponent("bench.sqlite").path,
      "MAILSEAL_CA_PASSPHRASE": "benchmark-passphrase-not-secret",
      "MAILSEAL_PUBLIC_URL": "http://pki.example.edu",
      "MAILSEAL_ORG_NAME": "Universität Beispielstadt",
      "MAILSEAL_ORG_ID": "NTRDE-DEB1101.HRB123456",
      "MAILSEAL_ORG_COUNTRY": "DE",
      "MAILSEAL_UPSTREAM": "harica",
      "MAILSEAL_UPSTREAM_URL": server.url.absoluteString,
      "MAILSEAL_UPSTREAM_CHAIN_FILE": server.chainFile.path,
      "MAILSEAL_HARICA_EMAIL": "svc-mailseal@example.edu",
      "MAILSEAL_HARICA_PASSWORD_FILE": try secret("password", "harica-test-password"),
      "MAILSEAL_HARICA_TOTP_SECRET_FILE": try secret("totp", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
      "MAILSEAL_HARICA_ORGANIZATION": "Example University",
    ])
    let app = try await Application.make(
      Environment(name: "production", arguments: ["mailseal", "benchmark"]))
    app.logger.logLevel = .warning
    self.app = app
    try await configure(app, with: configuration)
    // Requests from distinct P-256 keys, one mailbox each.
    csrs = try (0..<upstreamRequests).map { _ in
      let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
      let csr = try CertificateSigningRequest(
        version: .v1, subject: DistinguishedName { CommonName("ignored") }, privateKey: key,
        attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256)
      var serializer = DER.Serializer()
      try serializer.serialize(csr)
      return Data(serializer.serializedBytes)
    }
  }

  func tearDown() async throws {
    try await app?.asyncShutdown()
    server?.stop()
    if let folder { try? FileManager.default.removeItem(at: folder) }
  }

  /// Inserts the approved requests (not measured), then lets the worker
  /// issue them through the upstream until every one is stored (measured).
  func run(_ benchmark: Benchmark) async throws {
    guard let app, let server, let worker = app.issuanceWorker else {
      throw BenchmarkSetupError("set-up did not run")
    }
    let sql = try app.db.sql
    let now = Date()
    for (chunk, start) in stride(from: 0, to: csrs.count, by: 250).enumerated() {
      var insert = sql.insert(into: "certificate_requests").columns(
        "id", "number", "mailbox", "mailbox_type", "given_name", "surname", "key_type",
        "key_fingerprint", "csr_der", "state", "language", "mailbox_validated_at", "created_at",
        "updated_at", "approved_at")
      for index in start..<min(start + 250, csrs.count) {
        let checked = try CertificateRequestCheck.check(Array(csrs[index]))
        insert = insert.values(
          SQLBind(UUID()), SQLBind("U-\(chunk)-\(index)"), SQLBind("person\(index)@example.edu"),
          SQLBind("personal"), SQLBind("Given\(index)"), SQLBind("Surname"), SQLBind("p256"),
          SQLBind(checked.keyFingerprint.hexString), SQLBind(csrs[index]), SQLBind("approved"),
          SQLBind("en"), SQLBind(now), SQLBind(now), SQLBind(now), SQLBind(now))
      }
      try await insert.run()
    }
    benchmark.startMeasurement()
    let started = ContinuousClock.now
    var stored = 0
    while stored < upstreamRequests {
      stored += try await worker.issueDue()
    }
    let elapsed = ContinuousClock.now - started
    benchmark.stopMeasurement()
    let orders = try await server.orders()
    print(
      "upstream benchmark: \(stored) stored in \(seconds(elapsed)) s; \(orders) orders at the upstream"
    )
    benchmark.measurement(secondsUntilStored, Int(seconds(elapsed).rounded()))
    benchmark.measurement(ordersAtUpstream, orders)
  }
}

func upstreamBenchmarks() {
  let installation = UpstreamInstallation()
  Benchmark(
    "Upstream: \(upstreamRequests) approved → stored, 1 s per order, concurrency 8 (HARICA test server)",
    configuration: .init(
      metrics: [.wallClock, secondsUntilStored, ordersAtUpstream], timeUnits: .seconds,
      warmupIterations: 0, maxDuration: .seconds(600), maxIterations: 1,
      setup: { try await installation.setUp() },
      teardown: { try await installation.tearDown() })
  ) { benchmark in
    try await installation.run(benchmark)
  }
}
