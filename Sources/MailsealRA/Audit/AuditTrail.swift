public import FluentKit
import Foundation
public import MailsealModel
import MailsealStore

/// Every kind of audited event. The stored action is the raw value,
/// dotted and stable: auditors filter by it, exports carry it.
public enum AuditAction: String, Sendable, CaseIterable, Codable {
  case loginLinkSent = "login-link.sent"
  case loginLinkUsed = "login-link.used"
  case requestSubmitted = "request.submitted"
  case requestWithdrawn = "request.withdrawn"
  case evidenceRecorded = "evidence.recorded"
  case requestApproved = "request.approved"
  case requestRejected = "request.rejected"
  case issuanceHeld = "issuance.held"
  case issuanceRefused = "issuance.refused"
  /// An upstream CA's order needs an admin (the request is held).
  case upstreamHeld = "upstream.held"
  /// An admin asked the upstream to revoke a certificate held back.
  case upstreamHeldRevocationRequested = "upstream.held-revocation-requested"
  /// The upstream confirmed it.
  case upstreamHeldRevoked = "upstream.held-revoked"
  /// An admin released a held request: it is ordered again.
  case upstreamHoldReleased = "upstream.hold-released"
  case certificateIssued = "certificate.issued"
  case certificateRevoked = "certificate.revoked"
  /// An upstream CA's certificate: its revocation asked of the upstream.
  case revocationRequested = "certificate.revocation-requested"
  case crlPublished = "crl.published"
  case ocspResponderIssued = "ocsp-responder.issued"
  case caCreated = "ca.created"
  case caImported = "ca.imported"
  case renewalReminded = "renewal.reminded"
  case noticeSet = "notice.set"
  case noticeCleared = "notice.cleared"
  case issuancePaused = "issuance.paused"
  case issuanceResumed = "issuance.resumed"
  case operatorAdded = "operator.added"
  case operatorEnrolled = "operator.enrolled"
  case operatorSignedIn = "operator.signed-in"
  case operatorSignInFailed = "operator.sign-in-failed"
  case operatorLocked = "operator.locked"
  case operatorRoleChanged = "operator.role-changed"
  case operatorAddressChanged = "operator.address-changed"
  case identityProviderSignedIn = "identity-provider.signed-in"
  case identityProviderRefused = "identity-provider.refused"
  case identityProviderLoggedOut = "identity-provider.logged-out"
  case auditExported = "audit.exported"
  case recoveryCertificateInstalled = "recovery-certificate.installed"
  case recoveryCertificateRemoved = "recovery-certificate.removed"
  case escrowExported = "escrow.exported"
  case escrowStopped = "escrow.stopped"
  case escrowResumed = "escrow.resumed"
  case publicationSetAside = "publication.set-aside"
  case publicationConsentGiven = "publication.consent-given"
  case publicationConsentWithdrawn = "publication.consent-withdrawn"
  case directorySynced = "directory.synced"
  case backupTaken = "backup.taken"
  case backupRestored = "backup.restored"
  case recoveryRequested = "key-recovery.requested"
  case recoveryApproved = "key-recovery.approved"
  case recoveryDeclined = "key-recovery.declined"
  case recoveryEnvelopeDownloaded = "key-recovery.envelope-downloaded"
}

extension AuditEvent {
  public init(
    actor: String, action: AuditAction, subject: String, details: [String: String] = [:]
  ) {
    self.init(actor: actor, actionName: action.rawValue, subject: subject, details: details)
  }
}

/// The audit trail as the registration authority writes and reads it (the
/// records and their chain are the store's ``AuditLog``).
public enum AuditTrail {
  /// The "previous hash" of the first record.
  public static let genesisHash = AuditLog.genesisHash

  public typealias Verification = AuditVerification

  /// Takes the chain head's row lock for the rest of the caller's
  /// transaction (every audited change takes it), so that what the
  /// transaction checks next sees every change committed before it.
  static func holdHead(on database: any Database) async throws {
    try await Store(database).audit.holdHead()
  }

  /// Appends events (in order) in the caller's transaction, or in one of
  /// its own.
  public static func append(
    _ events: [AuditEvent], on database: any Database, now: Date = Date()
  ) async throws {
    try await Store(database).audit.append(events, now: now)
  }

  /// Appends one event.
  public static func append(_ event: AuditEvent, on database: any Database, now: Date = Date())
    async throws
  {
    try await append([event], on: database, now: now)
  }

  /// Details as a JSON object with sorted keys, values cut to 1,000
  /// characters.
  static func json(_ details: [String: String]) -> String { AuditLog.json(details) }

  /// Checks the whole chain (``AuditLog/verify()``).
  public static func verify(on database: any Database) async throws -> Verification {
    try await Store(database).audit.verify()
  }

  /// Records matching the filters, newest first.
  public static func search(
    actor: String?, action: String?, subject: String?, before: Int64?, limit: Int,
    on database: any Database
  ) async throws -> [AuditRecord] {
    try await Store(database).audit.search(
      actor: actor, action: action, subject: subject, before: before, limit: limit)
  }

  /// Every record in order, as JSON lines, a page at a time.
  public static func exportJSONLines(
    on database: any Database, write: (String) async throws -> Void
  ) async throws {
    try await Store(database).audit.exportJSONLines(write: write)
  }
}
