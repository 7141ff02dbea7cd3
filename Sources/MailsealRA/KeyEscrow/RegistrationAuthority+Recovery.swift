public import Foundation
import MailsealCA
public import MailsealModel
import MailsealStore

/// The rules of key recovery in the portal, each used where it is
/// enforced (in one statement) and where pages offer the action.
public enum RecoveryRules {
  /// Different recovery officers who must approve.
  public static let approvalsNeeded = 2
  /// How long a recovery waits for its approvals.
  public static let approvalWindow: TimeInterval = 14 * 86_400
  /// How long an approved recovery's envelope may be downloaded.
  public static let downloadWindow: TimeInterval = 7 * 86_400
  public static let reasonLimit = 500

  /// Nobody asks for or decides about a recovery of their own mailbox
  /// (the person asks as a requester, by login link).
  static let ownMailbox = MailsealError(
    .ownMailbox, message: Message("problem_own_mailbox_recovery"))

  /// A reason as given: trimmed, 1–500 characters, no control characters
  /// but line breaks.
  static func reason(_ text: String) throws -> String {
    let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty, trimmed.count <= reasonLimit,
      !trimmed.unicodeScalars.contains(where: {
        $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\r"
      })
    else {
      throw MailsealError(
        .invalidReason,
        fields: ["reason": Message("field_recovery_reason", ["max": "\(reasonLimit)"])])
    }
    return trimmed
  }
}

/// What a person looking at a recovery may do with it now (checked again,
/// atomically, when it is done).
public struct RecoveryActions: Sendable, Equatable {
  public var approve = false
  public var decline = false
  public var download = false
  /// The viewer approved already.
  public var approvedByViewer = false
  /// The recovery is of the viewer's own mailbox: no decisions.
  public var ownMailbox = false
  /// The viewer asked for it: no decisions.
  public var ownRequest = false

  public init() {}
}

/// A recovery as the back office sees it.
public struct DeskRecovery: Sendable {
  public let record: KeyRecovery
  public let certificate: IssuedCertificate
  public let approvals: [KeyRecoveryApproval]
  /// The state at `now`: an open recovery past its time is expired.
  public let state: KeyRecovery.State
  public let actions: RecoveryActions
}

/// An approved recovery's envelope, as downloaded by an officer.
public struct RecoveryDownload: Sendable {
  public let number: String
  public let serial: String
  public let envelope: Data
  public let certificateDER: Data
}

enum RecoveryNumber {
  static func make() -> String { RequestNumber.make(prefix: "K") }
  static func normalize(_ text: String) -> String? { RequestNumber.normalize(text, prefix: "K") }
}

extension KeyRecoveryService {
  /// The request holding the envelope of an encryption certificate's key,
  /// or nil when its key was not escrowed.
  func escrowHolder(of certificate: IssuedCertificate) async throws -> CertificateRequest? {
    guard certificate.keyPurpose == KeyPurpose.encryption.rawValue,
      let record = try await store.requests.find(encryptionCertificate: certificate.id),
      record.escrowEnvelope != nil
    else { return nil }
    return record
  }

  /// Whether the key of `certificate` was escrowed (a recovery may be
  /// asked for).
  public func isEscrowed(_ certificate: IssuedCertificate) async throws -> Bool {
    try await escrowHolder(of: certificate) != nil
  }

  package func recovery(number: String) async throws -> KeyRecovery {
    guard let normalized = RecoveryNumber.normalize(number),
      let record = try await store.recoveries.find(number: normalized)
    else { throw MailsealError.notFound }
    return record
  }

  /// Asks for the recovery of the escrowed key of certificate `serial`:
  /// the person for their own mailbox, or an administrator for someone
  /// else's. At most one recovery per certificate is open (the store's
  /// unique index decides); the person is mailed, the trail written.
  @discardableResult
  public func askRecovery(
    serial: String, reason text: String, by asker: Principal, language: Language,
    now: Date = Date()
  ) async throws -> KeyRecovery {
    let certificate = try await authority.certificates.certificate(serial: serial)
    let operatorID: UUID?
    switch asker {
    case .requester(let mailbox, _):
      guard certificate.mailbox == mailbox else { throw MailsealError.notFound }
      operatorID = nil
    case .staff(let member):
      guard asker.permissions.askRecoveryForOthers else { throw MailsealError.forbiddenForRole }
      guard !(try await store.staffAddresses.of(member)).contains(certificate.mailbox)
      else { throw RecoveryRules.ownMailbox }
      operatorID = member.id
    case .anonymous, .ca, .commandLine:
      throw MailsealError.forbiddenForRole
    }
    let reason = try RecoveryRules.reason(text)
    guard let holder = try await escrowHolder(of: certificate) else {
      throw MailsealError(.recoveryNotEscrowed)
    }
    // The person's mails are in the language of their request when an
    // administrator asks.
    let mailLanguage: Language =
      if case .staff = asker { Language(rawValue: holder.language) ?? language } else { language }
    for attempt in 1...3 {
      let record = KeyRecovery(
        id: UUID(), number: RecoveryNumber.make(), certificateID: certificate.id,
        requestID: holder.id, mailbox: certificate.mailbox, state: .requested, reason: reason,
        askedBy: asker.auditActor, askedByOperatorID: operatorID, language: mailLanguage.rawValue,
        approvals: 0, createdAt: now,
        expiresAt: now.addingTimeInterval(RecoveryRules.approvalWindow),
        downloads: 0)
      do {
        try await store.transaction { store in
          try await store.recoveries.open(record, now: now)
          try await Outbox.enqueue(
            MailTemplates.recoveryRequested(
              record, serial: certificate.serial, byAdministrator: operatorID != nil,
              portalURL: configuration.publicURL, from: configuration.mail.from,
              language: mailLanguage),
            on: store.database, messageDomain: configuration.mail.domain, now: now)
          try await AuditTrail.append(
            AuditEvent(
              actor: asker.auditActor, action: .recoveryRequested, subject: record.number,
              details: [
                "serial": certificate.serial, "mailbox": certificate.mailbox, "reason": reason,
              ]), on: store.database, now: now)
        }
      } catch is DuplicateEntry {
        // The one open place is taken — or, once in 10¹², the number.
        let open = try await store.recoveries.open(certificate: certificate.id)
        if open != nil || attempt == 3 { throw MailsealError(.recoveryOpen) }
        continue
      }
      mailQueued()
      logger.notice(
        "key recovery requested",
        metadata: ["number": "\(record.number)", "serial": "\(certificate.serial)"])
      return record
    }
    throw MailsealError(.recoveryOpen)
  }

  /// A recovery officer approves. One statement decides: the approval is
  /// written only while the recovery waits, is not past its time, is not of
  /// the officer's mailbox nor asked by the officer — and once per officer
  /// (unique index). The second approval opens the download window.
  @discardableResult
  public func approveRecovery(number: String, by principal: Principal, now: Date = Date())
    async throws -> KeyRecovery
  {
    let officer = try Self.recoveryOfficer(principal)
    let record = try await recovery(number: number)
    let officerID = officer.id
    try await refuseOwn(record, officer)
    let approvals = try await store.transaction { store in
      guard try await store.recoveries.addApproval(of: record.id, by: officer, now: now) else {
        try await refuseOwn(record, officer, in: store)
        throw try await refusal(of: record.id, approvalBy: officerID, now: now, in: store)
      }
      // Approved by two others a moment ago: nil.
      guard
        let approvals = try await store.recoveries.countApproval(
          of: record.id, needed: RecoveryRules.approvalsNeeded,
          downloadWindow: RecoveryRules.downloadWindow, now: now)
      else { throw MailsealError(.wrongState) }
      try await Outbox.enqueue(
        MailTemplates.recoveryApproved(
          record, officer: officer.name, approvals: approvals,
          portalURL: configuration.publicURL, from: configuration.mail.from,
          language: Language(rawValue: record.language) ?? .de),
        on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(officer.email), action: .recoveryApproved,
          subject: record.number,
          details: [
            "mailbox": record.mailbox, "approvals": "\(approvals)",
            "needed": "\(RecoveryRules.approvalsNeeded)",
          ]), on: store.database, now: now)
      return approvals
    }
    mailQueued()
    logger.notice(
      "key recovery approved",
      metadata: [
        "number": "\(record.number)", "by": "\(officer.email)", "approvals": "\(approvals)",
      ])
    return try await recovery(number: record.number)
  }

  /// A recovery officer declines a recovery that is still open, with a
  /// reason the person is mailed.
  @discardableResult
  public func declineRecovery(
    number: String, reason text: String, by principal: Principal, now: Date = Date()
  ) async throws -> KeyRecovery {
    let officer = try Self.recoveryOfficer(principal)
    let record = try await recovery(number: number)
    try await refuseOwn(record, officer)
    let reason = try RecoveryRules.reason(text)
    try await store.transaction { store in
      guard try await store.recoveries.decline(record.id, reason: reason, by: officer, now: now)
      else { throw MailsealError(.wrongState) }
      try await Outbox.enqueue(
        MailTemplates.recoveryDeclined(
          record, reason: reason, from: configuration.mail.from,
          language: Language(rawValue: record.language) ?? .de),
        on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(officer.email), action: .recoveryDeclined,
          subject: record.number, details: ["mailbox": record.mailbox, "reason": reason]),
        on: store.database, now: now)
    }
    mailQueued()
    return try await recovery(number: record.number)
  }

  /// The envelope of an approved recovery, for a recovery officer: one
  /// statement lets it out only with two approvals, within the download
  /// window, not to the person's own mailbox — and counts the download.
  /// The person is mailed, the trail written.
  public func downloadRecoveryEnvelope(
    number: String, by principal: Principal, now: Date = Date()
  ) async throws -> RecoveryDownload {
    let officer = try Self.recoveryOfficer(principal)
    let record = try await recovery(number: number)
    try await refuseOwn(record, officer)
    guard let certificate = try await store.certificates.find(record.certificateID) else {
      throw MailsealError.notFound
    }
    let envelope = try await store.transaction { store in
      guard
        let requestID = try await store.recoveries.claimDownload(
          of: record.id, by: officer, needed: RecoveryRules.approvalsNeeded, now: now)
      else {
        switch try await store.recoveries.find(record.id)?.state(at: now) {
        case .requested: throw MailsealError(.recoveryNotApproved)
        case .expired: throw MailsealError(.recoveryExpired)
        default: throw MailsealError(.wrongState)
        }
      }
      guard let stored = try await store.requests.find(requestID)?.escrowEnvelope else {
        throw MailsealError(.recoveryNotEscrowed)
      }
      try await Outbox.enqueue(
        MailTemplates.recoveryDownloaded(
          record, officer: officer.name, from: configuration.mail.from,
          language: Language(rawValue: record.language) ?? .de),
        on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(officer.email), action: .recoveryEnvelopeDownloaded,
          subject: record.number,
          details: ["mailbox": record.mailbox, "serial": certificate.serial]),
        on: store.database, now: now)
      return stored
    }
    mailQueued()
    logger.notice(
      "escrowed key downloaded for recovery",
      metadata: ["number": "\(record.number)", "by": "\(officer.email)"])
    return RecoveryDownload(
      number: record.number, serial: certificate.serial, envelope: envelope,
      certificateDER: certificate.der)
  }

  /// The recovery officer acting: a principal that may recover, or refused.
  static func recoveryOfficer(_ principal: Principal) throws -> StaffMember {
    guard let officer = principal.staffMember, principal.permissions.recover else {
      throw MailsealError.forbiddenForRole
    }
    return officer
  }

  /// Nobody decides about their own mailbox or a recovery they asked for.
  func refuseOwn(_ record: KeyRecovery, _ officer: StaffMember, in store: Store? = nil)
    async throws
  {
    guard !(try await (store ?? self.store).staffAddresses.of(officer)).contains(record.mailbox)
    else {
      throw RecoveryRules.ownMailbox
    }
    if let asker = record.askedByOperatorID, asker == officer.id {
      throw MailsealError(.recoveryOwnRequest)
    }
  }

  /// Why an approval was not written (read after the statement decided,
  /// for the words only).
  private func refusal(
    of recoveryID: UUID, approvalBy officerID: UUID, now: Date, in store: Store
  ) async throws -> MailsealError {
    if try await store.recoveries.hasApproval(of: recoveryID, by: officerID) {
      return MailsealError(.recoveryAlreadyApproved)
    }
    let current = try await store.recoveries.find(recoveryID)
    return current?.state(at: now) == .expired
      ? MailsealError(.recoveryExpired) : MailsealError(.wrongState)
  }

  /// What `viewer` may do with `record` at `now`.
  public func actions(
    on record: KeyRecovery, approvals: [KeyRecoveryApproval],
    for principal: Principal, addresses: Set<String>,
    now: Date = Date()
  ) -> RecoveryActions {
    var actions = RecoveryActions()
    actions.ownMailbox = addresses.contains(record.mailbox)
    let viewerID = principal.staffMember?.id
    actions.ownRequest = record.askedByOperatorID != nil && record.askedByOperatorID == viewerID
    actions.approvedByViewer = approvals.contains { $0.operatorID == viewerID }
    let officer = principal.permissions.recover && !actions.ownMailbox && !actions.ownRequest
    let state = record.state(at: now)
    actions.approve = officer && state == .requested && !actions.approvedByViewer
    actions.decline = officer && (state == .requested || state == .approved)
    actions.download = officer && state == .approved
    return actions
  }

  /// Recovery `number` with its certificate, approvals and the viewer's
  /// actions.
  public func deskRecovery(number: String, for principal: Principal, now: Date = Date())
    async throws -> DeskRecovery
  {
    guard let viewer = principal.staffMember, principal.permissions.seeRecoveries else {
      throw MailsealError.forbiddenForRole
    }
    let record = try await recovery(number: number)
    guard let certificate = try await store.certificates.find(record.certificateID) else {
      throw MailsealError.notFound
    }
    let approvals = try await store.recoveries.approvals(of: record.id)
    return DeskRecovery(
      record: record, certificate: certificate, approvals: approvals, state: record.state(at: now),
      actions: actions(
        on: record, approvals: approvals, for: principal,
        addresses: try await store.staffAddresses.of(viewer), now: now))
  }

  /// Recoveries for the back office, each with its certificate's serial:
  /// those waiting or approved first (oldest first), then the most recent
  /// others.
  public func recoveries(limit: Int = 200) async throws -> [(
    record: KeyRecovery, serial: String
  )] {
    try await store.recoveries.list(limit: limit).map { ($0.recovery, $0.serial) }
  }

  /// The recoveries of one certificate, newest first.
  public func recoveries(of certificate: IssuedCertificate) async throws -> [KeyRecovery] {
    try await store.recoveries.of(certificate: certificate.id)
  }
}
