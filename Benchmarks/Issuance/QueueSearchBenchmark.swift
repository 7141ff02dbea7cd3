import Benchmark
import Foundation
import MailsealRA
import MailsealStore
import MailsealWeb
import SQLKit

// The back office's queue search with 100,000 requests in the database:
// each iteration runs every kind of search staff make, once, and records
// the latency of each (a page of 51 rows, as the queue page asks for).

let searchedRequests = 100_000

/// Latency metrics, one per kind of search, in microseconds.
let searchKinds:
  [(name: String, query: String, state: CertificateRequestRecord.State?, page: Int)] = [
    ("open requests, first page", "", nil, 0),
    ("open requests, page 20", "", nil, 20),
    ("request number", "", nil, 0),  // the query is a stored number
    ("surname prefix \"müll\"", "müll", nil, 0),
    ("surname as transliterated \"mueller\"", "mueller", nil, 0),
    ("surname without accents \"muller\"", "muller", nil, 0),
    ("whole name \"anna sch\"", "anna sch", nil, 0),
    ("address prefix \"jonas.\"", "jonas.", nil, 0),
    ("end of an address \"weber7@example.edu\"", "weber7@example.edu", nil, 0),
    ("a department's domain (10 %)", "cs.example.edu", nil, 0),
    ("the domain of every request", "example.edu", nil, 0),
    ("surname, issued only", "weber", .issued, 0),
    ("no match", "zzzz", nil, 0),
  ]
let searchMetrics = searchKinds.map {
  BenchmarkMetric.custom("\($0.name) (µs)", polarity: .prefersSmaller, useScalingFactor: false)
}

final class SearchInstallation: @unchecked Sendable {
  let base: Installation
  var knownNumber = ""

  init(database: String) {
    base = Installation(keyType: .p256, database: database)
  }

  /// 100,000 requests with varied names and states, like a few years of a
  /// large organisation: most issued, a few hundred open.
  func setUp() async throws {
    try await base.setUp()
    guard let app = base.app else { return }
    let sql = try app.db.sql
    let given = [
      "Anna", "Jonas", "Zoë", "Lukas", "Mia", "Leon", "Emma", "Finn", "Hannah", "Paul", "Lea",
      "Elias", "Sophie", "Noah", "Marie", "Ben", "Lena", "Felix", "Clara", "Jörg",
    ]
    let surnames = [
      "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
      "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
      "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt",
      "Werner", "Schmitz", "Krause", "Meier",
    ]
    let states =
      ["issued"] * 90 + ["expired"] * 5 + ["rejected"] * 2 + ["submitted", "verified"]
      + ["approved"]
    let csr = Data((0..<640).map { UInt8(truncatingIfNeeded: $0 * 7) })
    let start = Date().addingTimeInterval(-3 * 365 * 86_400)
    var generator = SystemRandomNumberGenerator()
    for chunk in stride(from: 0, to: searchedRequests, by: 500) {
      var insert = sql.insert(into: "certificate_requests").columns(
        "id", "number", "mailbox", "mailbox_type", "given_name", "surname", "key_type",
        "key_fingerprint", "csr_der", "state", "language", "mailbox_validated_at", "created_at",
        "updated_at")
      var terms = sql.insert(into: SearchTerms.table).columns("term", "request_id")
      for n in chunk..<min(chunk + 500, searchedRequests) {
        let first = given.randomElement(using: &generator)!
        let last = surnames.randomElement(using: &generator)!
        let created = start.addingTimeInterval(Double(n) * 900)
        let number = "R-\(String(format: "%04X", n / 65_536))-\(String(format: "%04X", n % 65_536))"
        if n == searchedRequests / 2 { knownNumber = number }
        // Addresses as most organisations write them: umlauts
        // transliterated; one in ten in a department's domain.
        let local = SearchTerms.spellings("\(first).\(last)").last! + "\(n % 500)"
        let mailbox = local + (n % 10 == 3 ? "@cs.example.edu" : "@example.edu")
        let id = UUID()
        for term in SearchTerms.terms(mailbox: mailbox, names: ["\(first) \(last)"]) {
          terms = terms.values(SQLBind(term), SQLBind(id))
        }
        insert = insert.values(
          SQLBind(id), SQLBind(number), SQLBind(mailbox), SQLBind("personal"),
          SQLBind(first), SQLBind(last), SQLBind("rsa3072"), SQLBind("fp\(n)"), SQLBind(csr),
          SQLBind(states.randomElement(using: &generator)!), SQLBind("de"), SQLBind(created),
          SQLBind(created), SQLBind(created))
      }
      try await insert.run()
      try await terms.run()
    }
    if base.database == "PostgreSQL" {
      try await sql.raw("ANALYZE certificate_requests").run()
      try await sql.raw("ANALYZE \(ident: SearchTerms.table)").run()
    }
  }

  func tearDown() async throws { try await base.tearDown() }

  func run(_ benchmark: Benchmark) async throws {
    guard let app = base.app else { throw BenchmarkSetupError("set-up did not run") }
    for (kind, metric) in zip(searchKinds, searchMetrics) {
      let query = kind.name == "request number" ? knownNumber : kind.query
      let start = ContinuousClock.now
      let rows = try await RegistrationAuthority(
        database: app.db, configuration: app.mailseal, logger: app.logger
      ).desk.searchRequests(
        query: query, state: kind.state, offset: kind.page * 50, limit: 51)
      let elapsed = ContinuousClock.now - start
      precondition(
        kind.query == "zzzz" ? rows.isEmpty : !rows.isEmpty, "\(kind.name) found nothing")
      benchmark.measurement(metric, Int(seconds(elapsed) * 1_000_000))
    }
  }
}

extension Array {
  static func * (element: Array, count: Int) -> Array {
    Array((0..<count).flatMap { _ in element })
  }
}
