import Benchmark
import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
import MailsealStore
import MailsealWeb
import SQLKit

// CRL generation with 1,000 and 100,000 revoked certificates: the CA core
// alone (entries in memory → signed DER), and the publisher as the portal
// runs it (read the revoked certificates from the database, sign, store the
// CRL, write the audit record) — one CRL per iteration.

let crlSizes = [1_000, 100_000]

final class CRLInstallation: @unchecked Sendable {
  let base: Installation
  let entries: Int
  var revoked: [RevokedCertificate] = []
  var authority: CertificateAuthority?
  var issuer: CACertificate?

  init(entries: Int, database: String) {
    base = Installation(keyType: .p384, database: database)
    self.entries = entries
  }

  func setUp() async throws {
    try await base.setUp()
    guard let app = base.app else { return }
    let sql = try app.db.sql
    let issuer = try await app.caInstallation.activeIssuer()!
    self.issuer = issuer
    authority = try await app.caInstallation.authority(for: issuer)
    let now = Date()
    let reasons = RevocationReason.subscriberChoices
    // Revoked certificates as the store holds them (the DER is not read
    // for a CRL, so a placeholder stands in for it).
    for chunk in stride(from: 0, to: entries, by: 500) {
      var insert = sql.insert(into: "certificates").columns(
        "id", "issuer_id", "serial", "der", "mailbox", "profile", "common_name", "key_fingerprint",
        "key_type", "not_before", "not_after", "status", "revoked_at", "revocation_reason",
        "created_at")
      for n in chunk..<min(chunk + 500, entries) {
        let serial = String(format: "4%031x", n)
        insert = insert.values(
          SQLBind(UUID()), SQLBind(issuer.id), SQLBind(serial), SQLBind(Data([0x30, 0x00])),
          SQLBind("user\(n)@example.edu"), SQLBind("mailbox"), SQLBind("user\(n)@example.edu"),
          SQLBind("fp\(n)"), SQLBind("p256"), SQLBind(now.addingTimeInterval(-86_400)),
          SQLBind(now.addingTimeInterval(300 * 86_400)), SQLBind("revoked"),
          SQLBind(now.addingTimeInterval(-Double(n))), SQLBind(reasons[n % reasons.count].name),
          SQLBind(now))
        revoked.append(
          RevokedCertificate(
            serialNumber: [UInt8](hexString: serial)!,
            revocationDate: now.addingTimeInterval(-Double(n)),
            reason: reasons[n % reasons.count]))
      }
      try await insert.run()
    }
    if base.database == "PostgreSQL" { try await sql.raw("ANALYZE certificates").run() }
  }

  func tearDown() async throws { try await base.tearDown() }

  func signOnly(_ benchmark: Benchmark) throws {
    guard let authority else { throw BenchmarkSetupError("set-up did not run") }
    let now = Date()
    benchmark.startMeasurement()
    let der = try authority.signCRL(
      revoked: revoked, number: 1, thisUpdate: now, nextUpdate: now.addingTimeInterval(7 * 86_400))
    benchmark.stopMeasurement()
    precondition(der.count > entries * 20, "CRL too small")
  }

  func publish(_ benchmark: Benchmark) async throws {
    guard let app = base.app, let issuer, let publisher = app.crlPublisher else {
      throw BenchmarkSetupError("set-up did not run")
    }
    benchmark.startMeasurement()
    let published = try await publisher.publish(issuer)
    benchmark.stopMeasurement()
    precondition(published.entries == entries, "published \(published.entries) of \(entries)")
  }
}

func crlBenchmarks(database: String) {
  for entries in crlSizes {
    let installation = CRLInstallation(entries: entries, database: database)
    let configuration = Benchmark.Configuration(
      metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1,
      maxDuration: .seconds(15), maxIterations: entries > 10_000 ? 20 : 200,
      setup: { try await installation.setUp() },
      teardown: { try await installation.tearDown() })
    if database == "SQLite" {
      Benchmark("CRL: sign \(entries) entries (P-384 CA, core only)", configuration: configuration)
      { benchmark in
        try installation.signOnly(benchmark)
      }
    }
    let publishing = CRLInstallation(entries: entries, database: database)
    Benchmark(
      "CRL: publish \(entries) entries from the store, \(database)",
      configuration: .init(
        metrics: [.wallClock], timeUnits: .milliseconds, warmupIterations: 1,
        maxDuration: .seconds(15), maxIterations: entries > 10_000 ? 20 : 200,
        setup: { try await publishing.setUp() },
        teardown: { try await publishing.tearDown() })
    ) { benchmark in
      try await publishing.publish(benchmark)
    }
  }
}
