import AsyncKit
import FluentKit
import Foundation
import MailsealCA
import MailsealModel
import NIOCore
import SQLKit
import StoreTestSupport
import Testing
import VaporTesting

@testable import MailsealRA
@testable import MailsealStatus
@testable import MailsealStore
@testable import MailsealWeb

@Suite("The database goes away: statements fail fast, answers say 503 or tryLater, pools recover")
struct StoreOutageTests {
  @Test(
    "a transaction whose connection the server closes fails at once, and every pool works after",
    .enabled(if: TestDatabase.kind == "postgres"), .timeLimit(.minutes(1)))
  func connectionClosedInTransaction() async throws {
    try await TestInstallation.withApp { app in
      let admin = try #require(ProcessInfo.processInfo.environment["MAILSEAL_TEST_POSTGRES_URL"])
      let started = ContinuousClock.now
      // The server ends the session between two statements of a
      // transaction (as a restart or fail-over does). PostgresNIO drops
      // the second statement unanswered; before the guard it waited forever
      // and kept its pool's only slot.
      await #expect(throws: StoreUnavailable.self) {
        try await app.db.transaction { database in
          let sql = try database.sql
          let pid = try #require(
            try await sql.raw("SELECT pg_backend_pid() AS pid").first()?.decode(
              column: "pid", as: Int.self))
          try TestDatabase.psql(admin, "SELECT pg_terminate_backend(\(pid))")
          _ = try await sql.raw("SELECT 1 AS one").all()
        }
      }
      #expect(ContinuousClock.now - started < .seconds(10))
      // Every event loop's pool answers again (one of them held the slot).
      for loop in app.eventLoopGroup.makeIterator() {
        let database = try #require(
          app.databases.database(.psql, logger: app.logger, on: loop) as? any SQLDatabase)
        let one = try await database.raw("SELECT 1 AS one").first()?.decode(
          column: "one", as: Int.self)
        #expect(one == 1)
      }
    }
  }

  @Test("an unavailable database is a 503 with Retry-After, for the API and for pages alike")
  func serviceUnavailable() async throws {
    try await TestInstallation.withApp { app in
      app.get("test-outage") { _ -> String in
        throw ConnectionPoolTimeoutError.connectionRequestTimeout
      }
      try await app.testing().test(.GET, "test-outage") { response in
        #expect(response.status == .serviceUnavailable)
        #expect(response.headers.first(name: "Retry-After") == "5")
        #expect(response.body.string.contains("\"code\":\"service-unavailable\""))
        #expect(!response.body.string.contains("reference"))
      }
      var page = HTTPHeaders()
      page.replaceOrAdd(name: .accept, value: "text/html")
      page.replaceOrAdd(name: .acceptLanguage, value: "de")
      try await app.testing().test(.GET, "test-outage", headers: page) { response in
        #expect(response.status == .serviceUnavailable)
        #expect(response.headers.first(name: "Retry-After") == "5")
        #expect(response.body.string.contains("kurz nicht erreichbar"))
      }
    }
  }

  @Test("the disk is full: 503, a message that says the service cannot store data")
  func diskFull() async throws {
    let full = StoreUnavailable(.diskFull, underlying: "SQLITE_FULL: database or disk is full")
    let described = ProblemMiddleware.describe(full)
    #expect(described.status == .serviceUnavailable)
    #expect(described.detail(.en).contains("cannot store data"))
    #expect(full.retryAfterSeconds == 60)
  }

  @Test("OCSP answers tryLater, not internalError, while the database is away")
  func ocspTryLater() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let (authority, _) = try await app.caInstallation.loadActiveAuthority()
      let request = try Run.ocspRequest(
        issuer: authority.certificate, serial: "0123456789ABCDEF")

      let service = OCSPService(
        database: try UnreachableDatabase(like: app.db), configuration: app.mailseal,
        logger: app.logger)
      let answer = await service.respond(to: request)
      #expect(answer.outcome == .tryLater)
      #expect(answer.der == [0x30, 0x03, 0x0A, 0x01, 0x03])

      let working = OCSPService(database: app.db, configuration: app.mailseal, logger: app.logger)
      #expect(await working.respond(to: request).outcome == .unknown)
    }
  }
}

/// A database that cannot be reached: every statement fails as the pool
/// does when no connection comes.
struct UnreachableDatabase: Database, SQLDatabase {
  let context: DatabaseContext
  let dialect: any SQLDialect
  var inTransaction: Bool { false }

  init(like database: any Database) throws {
    context = database.context
    dialect = try database.sql.dialect
  }

  private func fail<T>() -> EventLoopFuture<T> {
    context.eventLoop.makeFailedFuture(ConnectionPoolTimeoutError.connectionRequestTimeout)
  }

  func execute(query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void)
    -> EventLoopFuture<Void>
  { fail() }
  func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> { fail() }
  func execute(enum: DatabaseEnum) -> EventLoopFuture<Void> { fail() }
  func transaction<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>)
    -> EventLoopFuture<T>
  { fail() }
  func withConnection<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>)
    -> EventLoopFuture<T>
  { fail() }
  func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void)
    -> EventLoopFuture<Void>
  { fail() }
}
