public import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
public import Logging
public import NIOCore
import NIOPosix
import SQLKit

/// Where an installation's database lives.
public enum StoreLocation: Sendable, Equatable {
  /// An SQLite file (the embedded default).
  case sqlite(path: String)
  /// A PostgreSQL server, by URL.
  case postgres(url: String)
}

/// Opens an installation's database on FluentKit's `Databases` — the
/// portal's (the web framework's databases are FluentKit's), the command
/// line's and the registration authority's tests' alike — with what every
/// connection needs, and runs the migrations. Nothing above the store
/// runs SQL to set a database up.
public enum StoreSetup {
  /// Registers the database with `databases` as the default.
  ///
  /// - Parameter waitSeconds: how long a statement waits for a free
  ///   connection of its pool (`MAILSEAL_DB_WAIT_SECONDS`).
  public static func use(_ location: StoreLocation, waitSeconds: Int, on databases: Databases)
    throws
  {
    switch location {
    case .sqlite(let path):
      databases.use(
        .sqlite(
          .file(path), connectionPoolTimeout: .seconds(Int64(waitSeconds)), sqlLogLevel: .trace),
        as: .sqlite, isDefault: true)
    case .postgres(let url):
      // While PostgreSQL is away, statements fail at once (503, OCSP
      // tryLater) rather than queue (GuardedPostgres).
      databases.use(
        try .guardedPostgres(url: url, poolTimeout: .seconds(Int64(waitSeconds))), as: .psql,
        isDefault: true)
    }
  }

  /// The settings each connection needs, made on each event loop's.
  ///
  /// SQLite: WAL lets readers run beside the writer; with synchronous=FULL
  /// every commit is on disk before it returns; each connection gets a
  /// 64 MiB page cache (the default 2 MiB makes issuance's key look-ups
  /// read the file); a writer that finds another's transaction open sleeps
  /// and tries again for at most 10 s, then fails (the driver's own handler
  /// would retry at once, forever, burning a core the commit it waits for
  /// needs); statement journals in memory; checkpoints every 40 MiB of WAL.
  public static func prepareConnections(
    _ location: StoreLocation, databases: Databases, group: any EventLoopGroup, logger: Logger,
    readOnly: Bool = false
  ) async throws {
    guard case .sqlite = location else { return }
    var first = true
    for loop in group.makeIterator() {
      guard let database = try databases.database(.sqlite, logger: logger, on: loop)?.sql else {
        continue
      }
      // The wait first: switching a new file to WAL takes its lock, which
      // another instance starting at the same moment may hold.
      try await database.raw("PRAGMA busy_timeout=10000").run()
      if first && !readOnly {
        try await database.raw("PRAGMA journal_mode=WAL").run()
      }
      first = false
      try await database.raw("PRAGMA synchronous=FULL").run()
      try await database.raw("PRAGMA cache_size=-65536").run()
      try await database.raw("PRAGMA temp_store=MEMORY").run()
      try await database.raw("PRAGMA wal_autocheckpoint=10000").run()
    }
  }

  /// Runs every migration not yet run (``MailsealMigrations``), forward
  /// only, all of them in one transaction (both databases change their
  /// schema transactionally: a failure leaves the schema as it was) that
  /// first takes a lock — PostgreSQL: a transaction-scoped advisory lock;
  /// SQLite: the write lock — so that instances starting together run
  /// them once: the second waits, then finds them done. The log is
  /// FluentKit's (`_fluent_migrations`), so `mailseal migrate` agrees.
  public static func migrate(databases: Databases, logger: Logger, on loop: any EventLoop)
    async throws
  {
    guard let database = databases.database(logger: logger, on: loop) else {
      throw MigrationFailure("no database is configured")
    }
    let postgres = try database.sql.dialect.name == "postgresql"
    if postgres {
      try await database.transaction { database in
        // The lock, then the log table (two CREATE TABLE IF NOT EXISTS at
        // once could both pass the check).
        try await database.sql.raw(
          "SELECT pg_advisory_xact_lock(\(literal: migrationLockKey))"
        ).run()
        try await MigrationLog.migration.prepare(on: database).get()
        try await runPending(on: database, logger: logger)
      }
      return
    }
    // SQLite, on one connection that waits as long as another instance's
    // whole batch may take (not the 10 s a statement waits in service):
    // the log table first, on its own, then the transaction, whose first
    // statement is a write (it holds the write lock from there).
    try await database.withConnection { connection in
      let sql = try connection.sql
      try await sql.raw("PRAGMA busy_timeout=\(literal: migrationWaitMilliseconds)").run()
      do {
        try await MigrationLog.migration.prepare(on: connection).get()
        try await connection.transaction { database in
          try await database.sql.raw("UPDATE _fluent_migrations SET batch = batch WHERE 0 = 1")
            .run()
          try await runPending(on: database, logger: logger)
        }
      } catch {
        try? await sql.raw("PRAGMA busy_timeout=10000").run()
        throw error
      }
      try await sql.raw("PRAGMA busy_timeout=10000").run()
    }
  }

  /// Runs the migrations the log does not name, in order, as one batch.
  static func runPending(on database: any Database, logger: Logger) async throws {
    let done = try await MigrationLog.query(on: database).all()
    let names = Set(done.map(\.name))
    let batch = (done.map(\.batch).max() ?? 0) + 1
    for migration in MailsealMigrations.all where !names.contains(migration.name) {
      logger.info("[ Migrator ] Starting prepare", metadata: ["migration": "\(migration.name)"])
      try await migration.prepare(on: database).get()
      try await MigrationLog(name: migration.name, batch: batch).create(on: database)
    }
  }

  /// How long an SQLite instance waits for another's migrations: 5 minutes.
  static let migrationWaitMilliseconds = 300_000

  /// The advisory lock's key for migrations ("MSMG").
  static let migrationLockKey: Int64 = 0x4D53_4D47
}

/// The store opened without the web framework: the registration
/// authority's tests and the command line use it; the portal uses the web
/// framework's databases, set up the same way (``StoreSetup``).
public final class StoreConnection: Sendable {
  public let databases: Databases
  public let logger: Logger
  let threadPool: NIOThreadPool
  let group: any EventLoopGroup

  init(databases: Databases, logger: Logger, threadPool: NIOThreadPool, group: any EventLoopGroup) {
    self.databases = databases
    self.logger = logger
    self.threadPool = threadPool
    self.group = group
  }

  /// The database, on one of the group's event loops.
  public var database: any Database {
    databases.database(logger: logger, on: group.any())!
  }

  /// Opens the database at `location` (and migrates it unless
  /// `readOnly`).
  public static func open(
    _ location: StoreLocation, waitSeconds: Int = 10, logger: Logger, readOnly: Bool = false
  ) async throws -> StoreConnection {
    let group = MultiThreadedEventLoopGroup.singleton
    let loops = group.makeIterator().reduce(0) { count, _ in count + 1 }
    let threadPool = NIOThreadPool(numberOfThreads: 2 * loops + 2)
    threadPool.start()
    let databases = Databases(threadPool: threadPool, on: group)
    let connection = StoreConnection(
      databases: databases, logger: logger, threadPool: threadPool, group: group)
    do {
      try StoreSetup.use(location, waitSeconds: waitSeconds, on: databases)
      try await StoreSetup.prepareConnections(
        location, databases: databases, group: group, logger: logger, readOnly: readOnly)
      if !readOnly {
        try await StoreSetup.migrate(databases: databases, logger: logger, on: group.any())
      }
    } catch {
      await connection.close()
      throw error
    }
    return connection
  }

  /// Closes the connections and stops the thread pool.
  public func close() async {
    await databases.shutdownAsync()
    try? await threadPool.shutdownGracefully()
  }
}

/// Why the migrations could not run.
struct MigrationFailure: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
