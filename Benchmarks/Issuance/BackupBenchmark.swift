import Benchmark
import Foundation
import MailsealCA
import MailsealRA
import MailsealWeb
import SQLKit
import Vapor

// Issue 30's figures: `mailseal backup` of an installation with 100,000
// issued certificates (SQLite; the requests, intents, certificates and
// audit records issuance writes), its size, and `mailseal restore` of it
// into an empty installation.

let backupCertificates = 100_000
let backupMilliseconds = BenchmarkMetric.custom(
  "backup (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let backupMegabytes = BenchmarkMetric.custom(
  "backup size (MB)", polarity: .prefersSmaller, useScalingFactor: false)
let restoreMilliseconds = BenchmarkMetric.custom(
  "restore (ms)", polarity: .prefersSmaller, useScalingFactor: false)

final class BackupInstallation: @unchecked Sendable {
  var app: Application?
  var folder: URL?

  static func environment(_ folder: URL, _ name: String) -> [String: String] {
    [
      "MAILSEAL_DATA_DIR": folder.appendingPathComponent("\(name)-data").path,
      "DATABASE_URL": "sqlite://" + folder.appendingPathComponent("\(name).sqlite").path,
      "MAILSEAL_CA_PASSPHRASE": "benchmark-passphrase-not-secret",
      "MAILSEAL_PUBLIC_URL": "http://pki.example.edu",
      "MAILSEAL_ORG_NAME": "Universität Beispielstadt",
      "MAILSEAL_ORG_ID": "NTRDE-DEB1101.HRB123456",
      "MAILSEAL_ORG_COUNTRY": "DE",
    ]
  }

  /// An installation with 100,000 certificates issued by the issuance
  /// worker (not measured).
  func setUp() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-bench-backup-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    self.folder = folder
    let configuration = try MailsealConfiguration.load(from: Self.environment(folder, "old"))
    let app = try await Application.make(
      Environment(name: "production", arguments: ["mailseal", "benchmark"]))
    app.logger.logLevel = .warning
    self.app = app
    try await configure(app, with: configuration)
    try await app.caInstallation.initialize(keyType: .p256, test: true)
    guard let issuance = app.issuanceWorker else { throw BenchmarkSetupError("no issuance") }
    for start in stride(from: 0, to: backupCertificates, by: 10_000) {
      try await insertApprovedRequests(app, start..<min(start + 10_000, backupCertificates))
      var issued = 0
      while issued < min(10_000, backupCertificates - start) {
        issued += try await issuance.issueDue()
      }
    }
  }

  func tearDown() async throws {
    try await app?.asyncShutdown()
    if let folder { try? FileManager.default.removeItem(at: folder) }
  }

  func run(_ benchmark: Benchmark) async throws {
    guard let app, let folder else { throw BenchmarkSetupError("set-up did not run") }
    let count =
      try await app.db.sql.raw("SELECT COUNT(*) AS n FROM certificates").first()?
      .decode(column: "n", as: Int.self) ?? 0
    let file = folder.appendingPathComponent("backup.tar").path
    let clock = ContinuousClock()
    let started = clock.now
    let written = try await InstallationBackup(configuration: app.mailseal, logger: app.logger)
      .write(to: file, database: app.db)
    let backupTime = clock.now - started
    let configuration = try MailsealConfiguration.load(
      from: Self.environment(folder, "new"), readOnly: false)
    let restoreStarted = clock.now
    let restored = try await InstallationBackup(configuration: configuration, logger: app.logger)
      .restore(from: file)
    let restoreTime = clock.now - restoreStarted
    guard restored.certificates == count else {
      throw BenchmarkSetupError("restored \(restored.certificates) of \(count) certificates")
    }
    print(
      "backup of \(count) certificates: \(String(format: "%.2f", seconds(backupTime))) s, \(written.bytes) bytes (\(written.bytes / 1_000_000) MB); restore \(String(format: "%.2f", seconds(restoreTime))) s"
    )
    benchmark.measurement(backupMilliseconds, Int(seconds(backupTime) * 1000))
    benchmark.measurement(backupMegabytes, Int(written.bytes / 1_000_000))
    benchmark.measurement(restoreMilliseconds, Int(seconds(restoreTime) * 1000))
  }
}

func backupBenchmarks() {
  let installation = BackupInstallation()
  Benchmark(
    "Backup: \(backupCertificates) certificates (SQLite) backed up and restored",
    configuration: .init(
      metrics: [.wallClock, backupMilliseconds, backupMegabytes, restoreMilliseconds],
      timeUnits: .seconds, warmupIterations: 0, maxDuration: .seconds(1800), maxIterations: 1,
      setup: { try await installation.setUp() },
      teardown: { try await installation.tearDown() })
  ) { benchmark in
    try await installation.run(benchmark)
  }
}
