import FluentPostgresDriver
import Foundation
public import Logging
public import NIOCore
import PostgresNIO
public import SQLKit

/// Revocations, numbered in commit order (`certificates.revocation_seq`),
/// and announced to every instance.
///
/// A revocation's transaction calls ``serialize(on:)`` before its UPDATE,
/// sets the column to ``nextNumber``, and calls ``announce(on:)``. On
/// PostgreSQL the first takes a transaction-scoped advisory lock, so that
/// numbers are given and committed one revocation after the other: a
/// reader that has seen number n has seen every number below it (a plain
/// sequence could commit 11 before 10, and a reader that saw 11 would
/// skip 10 for ever). SQLite has one writer at a time anyway. The
/// announcement is a `NOTIFY` on ``channel``, delivered when the
/// transaction commits; readers ``listen(url:on:logger:onNotification:)``
/// for it and still ask the store now and then, in case one is lost.
public enum RevocationSequence {
  /// The notification channel.
  public static let channel = "mailseal_revocations"
  /// The PostgreSQL application name of the listening connection, so that
  /// an administrator (or a test) can find it in `pg_stat_activity`.
  public static let listenerName = "mailseal-revocation-listener"
  /// The advisory lock's key ("MSRV").
  static let lockKey: Int64 = 0x4D53_5256

  /// The next revocation number, as an SQL expression for the UPDATE (the
  /// condition lets both databases read the partial index).
  public static let nextNumber: SQLQueryString =
    "(SELECT COALESCE(MAX(revocation_seq), 0) + 1 FROM certificates WHERE revocation_seq IS NOT NULL)"

  /// In a revocation's transaction, before the number is taken.
  public static func serialize(on sql: any SQLDatabase) async throws {
    guard sql.dialect.name == "postgresql" else { return }
    try await sql.raw("SELECT pg_advisory_xact_lock(\(literal: lockKey))").run()
  }

  /// In a revocation's transaction: other instances hear of it at commit.
  public static func announce(on sql: any SQLDatabase) async throws {
    guard sql.dialect.name == "postgresql" else { return }
    try await sql.raw("NOTIFY \(unsafeRaw: channel)").run()
  }

  /// Listens for revocations on a connection of its own until the task is
  /// cancelled; calls `onNotification` for each, and `onConnected` each
  /// time the connection (re)opens (something may have been missed while
  /// it was closed). A lost connection is opened again after a second.
  public static func listen(
    url: String, on eventLoop: any EventLoop, logger: Logger,
    onConnected: @escaping @Sendable () -> Void,
    onNotification: @escaping @Sendable () -> Void
  ) async {
    var configuration: PostgresConnection.Configuration
    do {
      configuration = try SQLPostgresConfiguration(url: url).coreConfiguration
    } catch {
      logger.error("revocation listener: the database URL is not usable: \(error)")
      return
    }
    configuration.options.additionalStartupParameters.append(("application_name", listenerName))
    var failures = 0
    while !Task.isCancelled {
      do {
        let connection = try await PostgresConnection.connect(
          on: eventLoop, configuration: configuration, id: 0, logger: logger
        ).get()
        do {
          try await withTaskCancellationHandler {
            try await connection.listen(on: channel) { notifications in
              if failures > 0 { logger.notice("revocation listener connected again") }
              failures = 0
              onConnected()
              for try await _ in notifications { onNotification() }
            }
          } onCancel: {
            let _: EventLoopFuture<Void> = connection.close()
          }
        } catch {
          // Closed (again, perhaps) before it goes: a connection must be
          // closed when it is released.
          try? await connection.close()
          throw error
        }
        try? await connection.close()
      } catch {
        if Task.isCancelled { return }
        failures += 1
        if failures == 1 {
          logger.warning(
            "revocation listener: no connection (\(String(reflecting: error))); revocations are still read from the store several times a second"
          )
        }
      }
      guard (try? await Task.sleep(for: .seconds(1))) != nil else { return }
    }
  }
}
