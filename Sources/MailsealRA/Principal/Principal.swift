import Foundation
public import MailsealModel

/// Who acts or reads: every call of the registration authority that acts
/// or reads on someone's behalf takes one. What a principal may do is
/// decided here, once (``permissions``), and handed to pages as the
/// actions allowed; no page and no template compares roles.
public enum Principal: Sendable, Hashable {
  /// Nobody signed in (the address form, a pickup link, OCSP).
  case anonymous
  /// A requester, signed in for one mailbox, validated as said.
  case requester(mailbox: String, validation: MailboxValidation)
  /// A member of staff: the account, with its role.
  case staff(StaffMember)
  /// The certificate authority and the portal's own workers.
  case ca
  /// Whoever runs `mailseal` on the command line (the administrator of
  /// the machine).
  case commandLine

  /// How the trail names it (``AuditEvent``): the one place that makes
  /// the actor strings.
  public var auditActor: String {
    switch self {
    case .anonymous: "anonymous"
    case .requester(let mailbox, _): AuditEvent.requester(mailbox)
    case .staff(let member): AuditEvent.staff(member.email)
    case .ca: AuditEvent.ca
    case .commandLine: AuditEvent.commandLine
    }
  }

  /// The staff member, if it is one.
  public var staffMember: StaffMember? {
    if case .staff(let member) = self { return member }
    return nil
  }

  /// What it may do.
  public var permissions: Permissions {
    switch self {
    case .anonymous, .ca: return Permissions()
    case .requester: return Permissions(ownRequests: true)
    case .commandLine: return .commandLine
    case .staff(let member): return Permissions.of(member.role)
    }
  }

  /// A staff principal for an account (its role as stored).
  public static func staff(_ account: StaffAccount) -> Principal {
    .staff(StaffMember(account))
  }
}

extension StaffMember {
  public init(_ account: StaffAccount) {
    self.init(id: account.id, email: account.email, name: account.name, role: account.role)
  }
}

/// What a principal may do, decided from its kind and role in one place.
/// Pages render these (the navigation, the buttons); the registration
/// authority checks them again when an action is taken.
public struct Permissions: Sendable, Hashable, Encodable {
  /// Their own mailbox's requests and certificates (requesters).
  public var ownRequests = false
  /// The queue, requests and certificates of everyone (read).
  public var seeDesk = false
  /// Record evidence, approve, reject, revoke with staff reasons.
  public var decide = false
  /// Revoke with every reason, including cACompromise.
  public var revokeWithEveryReason = false
  /// Ask for the recovery of someone else's escrowed key.
  public var askRecoveryForOthers = false
  /// Approve or decline recoveries and download their envelopes.
  public var recover = false
  /// See the recoveries.
  public var seeRecoveries = false
  /// The service notice, the issuance pause, settings.
  public var administer = false
  /// The audit trail.
  public var readAudit = false

  public init(ownRequests: Bool = false) {
    self.ownRequests = ownRequests
  }

  /// The command line: everything an administrator may, and every
  /// revocation reason.
  static var commandLine: Permissions {
    var permissions = Permissions.of(.admin)
    permissions.revokeWithEveryReason = true
    return permissions
  }

  /// A role's permissions: a list per permission, so that a new role may
  /// do nothing until it is named here.
  public static func of(_ role: StaffRole) -> Permissions {
    var permissions = Permissions()
    permissions.seeDesk = [.operator, .admin, .auditor].contains(role)
    permissions.decide = [.operator, .admin].contains(role)
    permissions.askRecoveryForOthers = role == .admin
    permissions.recover = role == .recoveryOfficer
    permissions.seeRecoveries = [.recoveryOfficer, .admin, .auditor].contains(role)
    permissions.administer = role == .admin
    permissions.readAudit = [.admin, .auditor].contains(role)
    return permissions
  }
}

extension MailboxSession {
  /// The requester this session signed in, as a principal.
  public var principal: Principal { .requester(mailbox: mailbox, validation: validation) }
}
