import FluentKit
import Foundation
import MailsealModel
import SQLKit
import StoreTestSupport
import Testing

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("The store is durable")
struct StoreTests {
  @Test("SQLite runs in WAL mode with synchronous=FULL, so a commit is on disk when it returns")
  func sqliteDurability() async throws {
    guard TestDatabase.kind == "sqlite" else { return }
    try await TestInstallation.withApp { app in
      let sql = try app.db.sql
      let mode = try await sql.raw("PRAGMA journal_mode").first()!.decode(
        column: "journal_mode", as: String.self)
      #expect(mode == "wal")
      let synchronous = try await sql.raw("PRAGMA synchronous").first()!.decode(
        column: "synchronous", as: Int.self)
      #expect(synchronous == 2)
    }
  }

  @Test("migration M0017 gives the requests already stored their search terms")
  func searchTermsMigration() async throws {
    try await TestInstallation.withApp { app in
      let zoe = try await BackOfficeTests.request(app, mailbox: "zoe.mueller@example.edu")
      let desk = try await BackOfficeTests.request(
        app, mailbox: "pool@example.edu", pseudonym: "Fahrzeugpool", responsible: false)
      let migration = M0017_RequestSearchTerms()
      try await migration.revert(on: app.db)
      try await migration.prepare(on: app.db)
      func find(_ query: String) async throws -> [String] {
        try await app.registrationAuthority.desk.searchRequests(
          query: query, state: nil, offset: 0, limit: 10
        ).map(\.number)
      }
      #expect(try await find("mueller") == [zoe.number])
      #expect(try await find("Müller") == [zoe.number])
      #expect(try await find("mueller@example.edu") == [zoe.number])
      #expect(try await find("fahrzeug") == [desk.number])
    }
  }

  @Test("the migrations make every table the issuance needs")
  func tables() async throws {
    try await TestInstallation.withApp { app in
      let sql = try app.db.sql
      for table in ["issuers", "certificates", "issuance_intents", "blocked_keys"] {
        let row = try await sql.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table)").first()
        #expect(try row?.decode(column: "n", as: Int.self) == 0)
      }
    }
  }
  @Test(
    "a bulk insert stores every row as given (nulls, bytes, text beyond ASCII, times to the microsecond), in several statements on SQLite and one array per column on PostgreSQL"
  )
  func bulkInsert() async throws {
    try await TestInstallation.withApp { app in
      try await app.db.schema("bulk_rows")
        .field("n", .int64, .identifier(auto: false))
        .field("t", .string, .required).field("ot", .string)
        .field("u", .uuid, .required).field("ou", .uuid)
        .field("at", .datetime, .required).field("b", .data, .required)
        .create()
      // More rows than one SQLite statement takes.
      let count = BulkInsert.rowsPerStatement * 2 + 3
      let numbers = (0..<count).map { Int64($0) * 7 - 9 }
      let texts = (0..<count).map { "Zoë \($0) ’quoted‘ 'x' \\ ,{}" }
      let optionalTexts = (0..<count).map { $0 % 3 == 0 ? nil : "name \($0)" }
      let uuids = (0..<count).map { _ in UUID() }
      let optionalUUIDs = (0..<count).map { $0 % 2 == 0 ? UUID() : nil }
      let base = Date(timeIntervalSince1970: 1_790_000_000.123456)
      let times = (0..<count).map { base.addingTimeInterval(Double($0) * 0.000_001 * 17) }
      let bytes = (0..<count).map {
        Data((0..<($0 % 40)).map { UInt8(truncatingIfNeeded: $0 * 31) })
      }
      try await BulkInsert(into: "bulk_rows")
        .column("n", .integer(numbers)).column("t", .text(texts))
        .column("ot", .optionalText(optionalTexts)).column("u", .uuid(uuids))
        .column("ou", .optionalUUID(optionalUUIDs)).column("at", .timestamp(times))
        .column("b", .bytes(bytes))
        .run(on: try app.db.sql)
      let rows = try await app.db.sql.raw(
        "SELECT n, t, ot, u, ou, at, b FROM bulk_rows ORDER BY n"
      ).all()
      #expect(rows.count == count)
      for (index, row) in rows.enumerated() {
        #expect(try row.decode(column: "n", as: Int64.self) == numbers[index])
        #expect(try row.decode(column: "t", as: String.self) == texts[index])
        #expect(try row.decode(column: "ot", as: String?.self) == optionalTexts[index])
        #expect(try row.decode(column: "u", as: UUID.self) == uuids[index])
        #expect(try row.decode(column: "ou", as: UUID?.self) == optionalUUIDs[index])
        let at = try row.decode(column: "at", as: Date.self)
        #expect(abs(at.timeIntervalSince(times[index])) < 0.000_001)
        #expect(try row.decode(column: "b", as: Data.self) == bytes[index])
      }
      // No rows: nothing is sent (an empty INSERT would be an error).
      try await BulkInsert(into: "bulk_rows").column("n", .integer([])).run(on: try app.db.sql)
    }
  }
}
