import Foundation
import SQLKit
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
        try await app.registrationAuthority.searchRequests(
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
}
