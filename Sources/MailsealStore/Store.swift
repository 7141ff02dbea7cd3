public import FluentKit
import Foundation
import SQLKit

/// The database as the registration authority speaks to it: a store per
/// aggregate (login links, sessions, requests, …) whose methods are the
/// statements the RA needs, taking and returning values (MailsealModel),
/// never records. A guarded change (a claim, a decision, a count) is one
/// statement here, never a read, a decision and a write.
public struct Store: Sendable {
  /// The database underneath, for the statements that have not moved into
  /// a store of their own yet (docs/architecture.md, "The store").
  public let database: any Database

  public init(_ database: any Database) { self.database = database }

  /// Runs `body` in one transaction: what every store it uses writes
  /// commits together, or nothing does.
  public func transaction<T: Sendable>(_ body: @escaping @Sendable (Store) async throws -> T)
    async throws -> T
  {
    try await database.transaction { database in try await body(Store(database)) }
  }

  public var audit: AuditLog { AuditLog(database: database) }
  public var outbox: OutboxStore { OutboxStore(database: database) }
  public var recoveryCertificates: RecoveryCertificateStore {
    RecoveryCertificateStore(database: database)
  }
  public var recoveries: KeyRecoveries { KeyRecoveries(database: database) }
  public var issuance: IssuanceRecords { IssuanceRecords(database: database) }
  public var issuers: Issuers { Issuers(database: database) }
  /// Throws unless the database answers.
  public func ping() async throws {
    _ = try await database.sql.raw("SELECT 1").all()
  }

  public var loginLinks: LoginLinks { LoginLinks(database: database) }
  public var mailboxSessions: MailboxSessions { MailboxSessions(database: database) }
  public var staffSessions: StaffSessions { StaffSessions(database: database) }
  public var requests: CertificateRequests { CertificateRequests(database: database) }
  public var certificates: Certificates { Certificates(database: database) }
  public var crls: CRLs { CRLs(database: database) }
  public var evidence: IdentityEvidenceStore { IdentityEvidenceStore(database: database) }
  public var staff: StaffAccounts { StaffAccounts(database: database) }
  public var staffAddresses: StaffAddresses { StaffAddresses(database: database) }
  public var publications: Publications { Publications(database: database) }
  public var directory: DirectoryRecords { DirectoryRecords(database: database) }
  public var providerSignIns: ProviderSignIns { ProviderSignIns(database: database) }
  public var settings: SettingsStore { SettingsStore(database: database) }
  public var rateLimits: RateLimits { RateLimits(database: database) }
}
