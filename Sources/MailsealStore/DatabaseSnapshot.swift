public import FluentKit
import Foundation
public import Logging
import MailsealModel
import SQLKit

/// A consistent copy of an installation's database while it runs, and the
/// way back: SQLite through `VACUUM INTO` (one read transaction: writers
/// go on, the copy holds every commit before it began and none after);
/// PostgreSQL through the server's own `pg_dump` (one repeatable-read
/// snapshot) and `pg_restore`.
public enum DatabaseSnapshot {
  /// What the copy is, by the file it is in.
  public static func fileName(for location: StoreLocation) -> String {
    switch location {
    case .sqlite: return "database.sqlite"
    case .postgres: return "database.pgdump"
    }
  }

  /// Writes a copy of the database at `location` to `path` (which must not
  /// exist).
  public static func copy(
    _ location: StoreLocation, database: any Database, to path: String
  ) async throws {
    switch location {
    case .sqlite:
      try await database.sql.raw("VACUUM INTO \(bind: path)").run()
    case .postgres(let url):
      let connection = try PostgresCommandLine(url: url)
      try await connection.run(
        "pg_dump",
        ["--format=custom", "--no-owner", "--no-privileges", "--file=\(path)"])
    }
  }

  /// The names of the migrations the database has run, in order.
  public static func migrations(on database: any Database) async throws -> [String] {
    try await database.sql.raw("SELECT name FROM _fluent_migrations ORDER BY batch, name").all()
      .map { try $0.decode(column: "name", as: String.self) }
  }

  /// What is in the database at `location` already: nil when it is empty
  /// (no file, or no table), otherwise words naming what is there.
  public static func contents(of location: StoreLocation, logger: Logger) async throws -> String? {
    if case .sqlite(let path) = location {
      guard FileManager.default.fileExists(atPath: path) else { return nil }
    }
    let connection = try await StoreConnection.open(location, logger: logger, readOnly: true)
    let count: Int
    do {
      let sql = try connection.database.sql
      let query: SQLQueryString =
        switch location {
        case .sqlite: "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'"
        case .postgres:
          "SELECT count(*)::bigint AS n FROM information_schema.tables WHERE table_schema = current_schema()"
        }
      count = try await sql.raw(query).first()?.decode(column: "n", as: Int.self) ?? 0
      await connection.close()
    } catch {
      await connection.close()
      throw error
    }
    guard count > 0 else { return nil }
    switch location {
    case .sqlite(let path): return "the database \(path) holds \(count) tables"
    case .postgres(let url):
      return "the database \(PostgresCommandLine.redacted(url)) holds \(count) tables"
    }
  }

  /// Puts the copy at `path` in place as the database at `location`, which
  /// must be empty (``contents(of:logger:)``).
  public static func restore(_ location: StoreLocation, from path: String) async throws {
    switch location {
    case .sqlite(let target):
      // An empty file (or one left by an earlier look) and its journals go;
      // the copy is moved in whole (the same file system: the data folder).
      for suffix in ["", "-wal", "-shm", "-journal"] {
        try? FileManager.default.removeItem(atPath: target + suffix)
      }
      try FileManager.default.moveItem(atPath: path, toPath: target)
      _ = chmod(target, 0o600)
    case .postgres(let url):
      let connection = try PostgresCommandLine(url: url)
      // One transaction: a failure leaves the database as empty as before.
      try await connection.run(
        "pg_restore",
        ["--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", path])
    }
  }
}

/// What a restored database holds: what the admin is told after a
/// restore.
public struct SnapshotFacts: Sendable {
  public let certificates: Int
  public let newestCertificateAt: Date?
  public let lastAuditSeq: Int64
  public let lastAuditAt: Date?
  /// Requests approved and not issued yet: issued when `serve` starts.
  public let waitingForIssuance: Int
  /// Issuers whose key this installation holds (their CRLs are made again).
  public let issuers: Int
}

extension DatabaseSnapshot {
  /// The facts of the database, read in one transaction.
  public static func facts(on database: any Database) async throws -> SnapshotFacts {
    try await database.transaction { database in
      let sql = try database.sql
      let certificates = try await sql.raw(
        "SELECT count(*) AS n, max(created_at) AS newest FROM certificates"
      ).first()
      let audit = try await sql.raw(
        "SELECT seq, at_ms FROM audit_events ORDER BY seq DESC LIMIT 1"
      ).first()
      let waiting = try await sql.raw(
        "SELECT count(*) AS n FROM certificate_requests WHERE state = \(CertificateRequest.State.approved)"
      ).first()
      let issuers = try await sql.raw(
        "SELECT count(*) AS n FROM issuers WHERE key_reference IS NOT NULL"
      ).first()
      return SnapshotFacts(
        certificates: try certificates?.decode(column: "n", as: Int.self) ?? 0,
        newestCertificateAt: try certificates?.decode(column: "newest", as: Date?.self),
        lastAuditSeq: try audit?.decode(column: "seq", as: Int64.self) ?? 0,
        lastAuditAt: try audit.map {
          Date(timeIntervalSince1970: Double(try $0.decode(column: "at_ms", as: Int64.self)) / 1000)
        },
        waitingForIssuance: try waiting?.decode(column: "n", as: Int.self) ?? 0,
        issuers: try issuers?.decode(column: "n", as: Int.self) ?? 0)
    }
  }

  /// Marks every stored CRL stale, so that each CA's next one is made at
  /// once (after a restore: numbered from the clock, above every number
  /// published before).
  public static func markCRLsStale(on database: any Database, now: Date) async throws {
    try await database.sql.raw("UPDATE crls SET stale_since = \(bind: now)").run()
  }
}

/// PostgreSQL's own tools on the database of a `postgres://` URL: the
/// password goes in the environment (`PGPASSWORD`), never on the command
/// line where `ps` shows it.
struct PostgresCommandLine {
  var arguments: [String]
  var environment: [String: String]

  init(url: String) throws {
    guard let components = URLComponents(string: url), let host = components.host else {
      throw SnapshotFailure("“\(Self.redacted(url))” is not a PostgreSQL URL.")
    }
    var arguments = ["--host=\(host)"]
    if let port = components.port { arguments.append("--port=\(port)") }
    if let user = components.user { arguments.append("--username=\(user)") }
    let name = String(components.path.drop { $0 == "/" })
    arguments.append("--dbname=\(name.isEmpty ? (components.user ?? "postgres") : name)")
    arguments.append("--no-password")
    var environment = ProcessInfo.processInfo.environment
    environment["PGPASSWORD"] = components.password
    for item in components.queryItems ?? []
    where ["sslmode", "tlsmode"].contains(item.name.lowercased()) {
      environment["PGSSLMODE"] = item.value
    }
    self.arguments = arguments
    self.environment = environment
  }

  static func redacted(_ url: String) -> String {
    guard var components = URLComponents(string: url), components.password != nil else {
      return url
    }
    components.password = "***"
    return components.string ?? "(unreadable URL)"
  }

  /// Runs `tool` (found on the PATH) with the connection's arguments and
  /// `extra`; its error output is the failure's text.
  func run(_ tool: String, _ extra: [String]) async throws {
    guard let executable = Self.find(tool) else {
      throw SnapshotFailure(
        "\(tool) is not installed: install PostgreSQL's client tools of the server's version (Debian: postgresql-client), or back the database up with pg_dump or point-in-time recovery yourself (docs/operations.md)."
      )
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments + extra
    process.environment = environment
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    let finished = AsyncStream<Int32> { continuation in
      process.terminationHandler = { process in
        continuation.yield(process.terminationStatus)
        continuation.finish()
      }
    }
    try process.run()
    // Read the error output while it runs (a full pipe would stop it).
    let text = errors.fileHandleForReading.readDataToEndOfFile()
    var status: Int32 = -1
    for await code in finished { status = code }
    guard status == 0 else {
      let message = String(decoding: text.prefix(2_000), as: UTF8.self)
        .trimmingCharacters(in: .whitespacesAndNewlines)
      throw SnapshotFailure("\(tool) failed (exit status \(status)): \(message)")
    }
  }

  static func find(_ tool: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    var folders = path.split(separator: ":").map(String.init)
    // Debian keeps each server version's tools here too.
    if let versions = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
      folders += versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map {
        "/usr/lib/postgresql/\($0)/bin"
      }
    }
    return folders.map { "\($0)/\(tool)" }.first {
      FileManager.default.isExecutableFile(atPath: $0)
    }
  }
}

/// Why a copy of the database could not be made or put back.
public struct SnapshotFailure: Error, CustomStringConvertible, Sendable {
  public let description: String
  init(_ description: String) { self.description = description }
}
