public import Foundation
public import MailsealModel
import MailsealStore

extension ServiceControl {
  /// The notice and whether issuance is paused, as requester pages show
  /// them.
  public func serviceState() async throws -> Settings.ServiceState {
    try await Settings(database: database).serviceState()
  }

  /// Whether issuance is paused: approved requests then wait.
  public func isIssuancePaused() async throws -> Bool {
    try await Settings(database: database).isIssuancePaused()
  }

  /// Sets the service notice (both languages, plain text, at most
  /// ``Settings/maximumNoticeLength`` characters each). Administrators only.
  public func setNotice(
    german: String, english: String, by administrator: Principal, now: Date = Date()
  ) async throws {
    try Self.refuseUnlessAdministrator(administrator)
    try await Settings(database: database).setNotice(
      german: german, english: english, by: administrator.auditActor, now: now)
  }

  /// Removes the service notice. Administrators only.
  public func clearNotice(by administrator: Principal, now: Date = Date()) async throws {
    try Self.refuseUnlessAdministrator(administrator)
    try await Settings(database: database).clearNotice(by: administrator.auditActor, now: now)
  }

  /// Pauses or resumes issuance. Administrators only; on resume the
  /// issuance worker is woken.
  public func setIssuancePaused(
    _ paused: Bool, by administrator: Principal, now: Date = Date()
  ) async throws {
    try Self.refuseUnlessAdministrator(administrator)
    try await Settings(database: database).setIssuancePaused(
      paused, by: administrator.auditActor, now: now)
    logger.notice(
      paused ? "issuance paused" : "issuance resumed",
      metadata: ["by": "\(administrator.auditActor)"])
    if !paused { issuanceResumed() }
  }

  static func refuseUnlessAdministrator(_ administrator: Principal) throws {
    guard administrator.permissions.administer else { throw MailsealError.forbiddenForRole }
  }
}

extension ServiceControl {
  /// Staff accounts whose address changed, newest change first (for the
  /// administrators' page).
  public func staffAddressChanges() async throws -> [AddressChange] {
    try await store.staffAddresses.changed()
  }

  /// How many approved requests wait for the issuance worker.
  public func approvedWaiting() async throws -> Int {
    try await store.requests.count(in: .approved)
  }

  // MARK: - The audit trail

  /// Checks the whole audit chain.
  public func verifyAuditTrail() async throws -> AuditVerification {
    try await store.audit.verify()
  }

  /// Audit records matching the filters (each an exact match), newest
  /// first, before record `before`.
  public func auditRecords(
    actor: String?, action: String?, subject: String?, before: Int64?, limit: Int
  ) async throws -> [AuditRecord] {
    try await store.audit.search(
      actor: actor, action: action, subject: subject, before: before, limit: limit)
  }

  /// Records that `principal` exports the audit trail.
  public func recordAuditExport(by principal: Principal, now: Date = Date()) async throws {
    try await AuditTrail.append(
      AuditEvent(actor: principal.auditActor, action: .auditExported, subject: "audit trail"),
      on: database, now: now)
  }

  /// The whole audit trail, oldest first, as JSON lines, a page at a time.
  public func exportAuditTrail(write: (String) async throws -> Void) async throws {
    try await store.audit.exportJSONLines(write: write)
  }

  /// Throws unless the database answers.
  public func checkStoreAnswers() async throws {
    try await store.ping()
  }
}
