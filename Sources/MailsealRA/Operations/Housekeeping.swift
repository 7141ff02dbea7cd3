public import FluentKit
import Foundation
public import Logging
import MailsealModel
import MailsealStore

/// The hourly housekeeping of a serving process: identity evidence past its
/// retention is purged, old rate-limit windows forgotten, renewal reminders
/// that are due are queued, expired certificates queued for removal from
/// the directory (when a publisher takes them), and the
/// delegated OCSP responder of every issuing CA is renewed 30 days before it
/// ends. Each step fails on its own; the next hour tries again.
public struct Housekeeping: Sendable {
  let database: any Database
  let configuration: MailsealConfiguration
  let logger: Logger
  /// Told when responder certificates may have changed (the OCSP
  /// responder reloads them).
  let respondersRenewed: @Sendable () -> Void
  let mailQueued: @Sendable () -> Void
  let interval: Duration

  public init(
    database: any Database, configuration: MailsealConfiguration, logger: Logger,
    respondersRenewed: @escaping @Sendable () -> Void, interval: Duration = .seconds(3600),
    mailQueued: @escaping @Sendable () -> Void
  ) {
    self.database = database
    self.configuration = configuration
    self.logger = logger
    self.respondersRenewed = respondersRenewed
    self.interval = interval
    self.mailQueued = mailQueued
  }

  /// One round of every step.
  public func runOnce(now: Date = Date()) async {
    do {
      try await EvidenceRetention.purge(on: database, logger: logger)
    } catch {
      logger.backgroundFailure("evidence purge failed", error)
    }
    do {
      // Rate-limit windows are at most an hour long.
      try await RateLimiter(database: database).purge(before: now.addingTimeInterval(-86_400))
    } catch {
      logger.backgroundFailure("rate-limit purge failed", error)
    }
    do {
      let reminders = RenewalReminders(
        database: database, configuration: configuration, logger: logger)
      if try await reminders.sendDue(now: now) > 0 { mailQueued() }
    } catch {
      logger.backgroundFailure("renewal reminders failed", error)
    }
    if configuration.publishes {
      do {
        try await PublicationQueue.enqueueExpired(on: database, now: now)
      } catch {
        logger.backgroundFailure("queueing expired certificates for removal failed", error)
      }
    }
    do {
      let installation = CAInstallation(database: database, configuration: configuration)
      for issuer in try await Store(database).issuers.all(in: .issuing)
      where issuer.keyReference != nil && issuer.notAfter > now {
        try await installation.ensureOCSPResponder(for: issuer)
      }
      respondersRenewed()
    } catch {
      logger.backgroundFailure("OCSP responder renewal failed", error)
    }
  }

  /// Rounds every ``interval`` until the task is cancelled.
  public func run() async {
    while !Task.isCancelled {
      await runOnce()
      try? await Task.sleep(for: interval)
    }
  }
}
