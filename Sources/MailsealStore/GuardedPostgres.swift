package import FluentKit
import FluentPostgresDriver
import Foundation
import Logging
import MailsealModel
package import NIOCore
import PostgresNIO
import SQLKit
import Synchronization

// Why this exists. PostgresNIO hands a query to its connection with
// `channel.write(task, promise: nil)`. When the server has closed the
// connection after it was taken from the pool — a restart, a fail-over,
// `pg_terminate_backend` while a transaction waits between two statements —
// the channel's handlers are already gone, the write is dropped, and the
// query's promise is never completed. The transaction then waits forever,
// holding its pool slot; with one connection per event loop that pool, and
// every background worker tied to it, never works again. (Found by
// restarting PostgreSQL under load; reproduced by
// `StoreOutageTests`, which terminates the backend of an open transaction.)
//
// The guard below wraps the PostgreSQL driver's databases: every statement
// run on a connection taken for a transaction races the connection's close,
// so a closed connection fails the statement at once, the transaction is
// rolled back (or abandoned with its dead connection) and the slot goes back
// to the pool, which replaces the connection. While connections fail, new
// statements are refused at once for a moment instead of queueing behind
// the pool's timeout, so that pages answer 503 quickly and the database,
// once back, is used again within about a second.

/// Whether the database answered lately: shared by every connection of one
/// installation.
final class StoreHealth: Sendable {
  /// How long statements are refused after a connection-level failure
  /// before one is let through to try again.
  static let holdOff: TimeInterval = 1
  private let failedAt = Mutex<(time: Date, failure: StoreUnavailable)?>(nil)

  /// The failure to answer with now, or nil when a statement may go ahead.
  func refusal(now: Date = Date()) -> StoreUnavailable? {
    failedAt.withLock { state in
      guard let state, now.timeIntervalSince(state.time) < Self.holdOff else { return nil }
      return state.failure
    }
  }

  /// Records what became of a statement; returns the error to pass on
  /// (connection-level failures as ``StoreUnavailable``). Only a failure to
  /// open a connection holds statements off: one connection closed by the
  /// server (an idle timeout, an administrator) says nothing of the others.
  func record(_ error: any Error) -> any Error {
    guard let unavailable = StoreUnavailable.classify(error) else { return error }
    if Self.isConnectFailure(error) {
      failedAt.withLock { $0 = (Date(), unavailable) }
    }
    return unavailable
  }

  /// A new connection could not be opened: refused, reset, or the server
  /// is starting, stopping or full.
  static func isConnectFailure(_ error: any Error) -> Bool {
    guard let error = error as? PSQLError else { return false }
    if error.code == .connectionError { return true }
    guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
    return state == "57P03" || state == "53300"
  }

  func recordSuccess() {
    failedAt.withLock { if $0 != nil { $0 = nil } }
  }
}

/// A PostgreSQL database configuration whose databases are guarded.
struct GuardedPostgresConfiguration: DatabaseConfiguration {
  var inner: any DatabaseConfiguration
  let health = StoreHealth()

  var middleware: [any AnyModelMiddleware] {
    get { inner.middleware }
    set { inner.middleware = newValue }
  }

  func makeDriver(for databases: Databases) -> any DatabaseDriver {
    GuardedPostgresDriver(inner: inner.makeDriver(for: databases), health: health)
  }
}

extension DatabaseConfigurationFactory {
  /// PostgreSQL at `url`, guarded against connections that die while in use
  /// (see `GuardedPostgres.swift`).
  package static func guardedPostgres(url: String, poolTimeout: TimeAmount) throws -> Self {
    let postgres = try DatabaseConfigurationFactory.postgres(
      url: url, maxConnectionsPerEventLoop: 1, connectionPoolTimeout: poolTimeout,
      sqlLogLevel: .trace)
    return .init { GuardedPostgresConfiguration(inner: postgres.make()) }
  }
}

struct GuardedPostgresDriver: DatabaseDriver {
  let inner: any DatabaseDriver
  let health: StoreHealth

  func makeDatabase(with context: DatabaseContext) -> any Database {
    let database = inner.makeDatabase(with: context)
    // The PostgreSQL driver's databases are SQL databases.
    guard let sql = database as? any SQLDatabase else { return database }
    return GuardedPostgresDatabase(
      inner: database, innerSQL: sql, health: health, connectionClosed: nil, inTransaction: false)
  }

  func shutdown() { inner.shutdown() }
  func shutdownAsync() async { await inner.shutdownAsync() }
}

/// A database whose statements fail, rather than hang, when the connection
/// they were given is closed.
struct GuardedPostgresDatabase: Database, SQLDatabase {
  let inner: any Database
  /// The same database as SQLKit sees it.
  let innerSQL: any SQLDatabase
  let health: StoreHealth
  /// Completes when the connection this database is scoped to closes; nil
  /// when every statement takes a connection of its own from the pool.
  let connectionClosed: EventLoopFuture<Void>?
  let inTransaction: Bool

  var context: DatabaseContext { inner.context }

  /// Runs `work` unless the database failed a moment ago; fails it when the
  /// connection closes first.
  private func guarded<T>(_ work: () -> EventLoopFuture<T>) -> EventLoopFuture<T> {
    if let refusal = health.refusal() { return inner.eventLoop.makeFailedFuture(refusal) }
    let health = self.health
    // Fluent's protocols pass results of any type; they are handed from
    // one callback to the next, never shared.
    let future = work().map { Carried(value: $0) }
    let outcome: EventLoopFuture<Carried<T>>
    if let connectionClosed {
      // The first to complete the promise wins; NIO ignores the second.
      let promise = future.eventLoop.makePromise(of: Carried<T>.self)
      future.cascade(to: promise)
      connectionClosed.flatMapThrowing { _ -> Carried<T> in
        throw StoreUnavailable(
          .unreachable, underlying: "the connection closed while a statement was running")
      }.cascadeFailure(to: promise)
      outcome = promise.futureResult
    } else {
      outcome = future
    }
    return outcome.flatMapErrorThrowing { error in throw health.record(error) }
      .map { carried in
        health.recordSuccess()
        return carried.value
      }
  }

  private func scoped(to database: any Database, inTransaction: Bool) -> GuardedPostgresDatabase {
    let sql = (database as? any SQLDatabase) ?? innerSQL
    let closed: EventLoopFuture<Void>? =
      (database as? any PostgresDatabase)?.withConnection { connection in
        connection.eventLoop.makeSucceededFuture(connection.closeFuture)
      }.flatMap { $0 }
    return GuardedPostgresDatabase(
      inner: database, innerSQL: sql, health: health, connectionClosed: closed,
      inTransaction: inTransaction)
  }

  // MARK: Database

  func execute(
    query: DatabaseQuery, onOutput: @escaping @Sendable (any DatabaseOutput) -> Void
  ) -> EventLoopFuture<Void> {
    guarded { inner.execute(query: query, onOutput: onOutput) }
  }

  func execute(schema: DatabaseSchema) -> EventLoopFuture<Void> {
    guarded { inner.execute(schema: schema) }
  }

  func execute(enum: DatabaseEnum) -> EventLoopFuture<Void> {
    guarded { inner.execute(enum: `enum`) }
  }

  func withConnection<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>)
    -> EventLoopFuture<T>
  {
    guard connectionClosed == nil else { return closure(self) }
    if let refusal = health.refusal() { return inner.eventLoop.makeFailedFuture(refusal) }
    let inTransaction = self.inTransaction
    return inner.withConnection { database in
      closure(self.scoped(to: database, inTransaction: inTransaction))
    }.flatMapErrorThrowing { [health] error in throw health.record(error) }
  }

  func transaction<T>(_ closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>)
    -> EventLoopFuture<T>
  {
    guard !inTransaction else { return closure(self) }
    if connectionClosed != nil {
      return run(transaction: closure, on: self)
    }
    if let refusal = health.refusal() { return inner.eventLoop.makeFailedFuture(refusal) }
    return inner.withConnection { database in
      run(transaction: closure, on: self.scoped(to: database, inTransaction: true))
    }.flatMapErrorThrowing { [health] error in throw health.record(error) }
  }

  /// BEGIN, the closure, COMMIT — or ROLLBACK and the closure's error —
  /// each statement guarded by the connection's close.
  private func run<T>(
    transaction closure: @escaping @Sendable (any Database) -> EventLoopFuture<T>,
    on database: GuardedPostgresDatabase
  ) -> EventLoopFuture<T> {
    let inTransaction = GuardedPostgresDatabase(
      inner: database.inner, innerSQL: database.innerSQL, health: database.health,
      connectionClosed: database.connectionClosed, inTransaction: true)
    return inTransaction.raw("BEGIN").run().flatMap {
      closure(inTransaction).map { Carried(value: $0) }.flatMap { result in
        inTransaction.raw("COMMIT").run().map { result }
      }.flatMapError { error in
        inTransaction.raw("ROLLBACK").run().flatMapThrowing { throw error }
          .flatMapErrorThrowing { _ in throw error }
      }
    }.map { $0.value }
  }

  // MARK: SQLDatabase

  var logger: Logger { inner.logger }
  var eventLoop: any EventLoop { inner.eventLoop }
  var version: (any SQLDatabaseReportedVersion)? { innerSQL.version }
  var dialect: any SQLDialect { innerSQL.dialect }
  var queryLogLevel: Logger.Level? { innerSQL.queryLogLevel }

  func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> Void)
    -> EventLoopFuture<Void>
  {
    guarded { innerSQL.execute(sql: query, onRow) }
  }
}

/// A value handed along a chain of futures (see `guarded`).
private struct Carried<T>: @unchecked Sendable {
  let value: T
}
