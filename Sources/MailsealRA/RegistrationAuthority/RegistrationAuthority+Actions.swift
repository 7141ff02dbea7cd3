public import Foundation
public import MailsealModel
import MailsealStore

/// What a person looking at a request may do with it now. Pages render
/// these and never decide policy themselves; every action is checked again
/// by the registration authority when it is taken.
public struct RequestActions: Sendable, Equatable {
  public var recordEvidence = false
  public var approve = false
  public var reject = false
  public var withdraw = false
  /// The request is for the viewer's own mailbox (staff): no decisions.
  public var ownMailbox = false
  /// The mailbox validation is older than 30 days: approval would be
  /// refused until the requester opens a fresh login link.
  public var mailboxValidationStale = false

  /// Nothing may be done.
  public init() {}
}

/// A request as the desk sees it: the record, its evidence and who checked
/// it, the records it points to, and the actions of the viewer.
public struct DeskRequest: Sendable {
  public let record: CertificateRequest
  public let evidence: IdentityEvidence?
  public let evidenceCheckedBy: String?
  public let certificateSerial: String?
  public let renewalOf: String?
  public let evidenceFrom: String?
  public let actions: RequestActions
}

extension Desk {
  /// The actions `viewer` may take on `record` at `now`, from the same rules
  /// the transitions enforce (``RequestRules``); for staff, `addresses` are
  /// every address the account has ever had.
  public func actions(
    on record: CertificateRequest, for viewer: Principal, addresses: Set<String> = [],
    now: Date = Date()
  ) -> RequestActions {
    var actions = RequestActions()
    let open = record.state == .submitted || record.state == .verified
    actions.mailboxValidationStale =
      (try? RequestRules.mailboxValidationFresh(record.mailboxValidatedAt, now: now)) == nil
    switch viewer {
    case .requester(let mailbox, _):
      actions.withdraw = record.mailbox == mailbox && open
    case .staff(let member):
      actions.ownMailbox =
        (try? RequestRules.notOwnMailbox(
          request: record.mailbox, decidedBy: addresses.union([member.email]))) == nil
      let decider = viewer.permissions.decide && !actions.ownMailbox
      actions.recordEvidence = decider && record.state == .submitted
      actions.approve =
        decider && record.state == .verified
        && (try? RequestRules.fourEyes(
          enabled: portal.fourEyes, verifiedBy: record.verifiedBy, approvedBy: member.id)) != nil
      actions.reject = decider && open
    case .anonymous, .ca, .commandLine:
      break
    }
    return actions
  }

  /// Request `number` for the desk, with what `staff` may do with it.
  public func deskRequest(number: String, for viewer: Principal, now: Date = Date())
    async throws -> DeskRequest
  {
    guard let staff = viewer.staffMember, viewer.permissions.seeDesk else {
      throw MailsealError.forbiddenForRole
    }
    let record = try await request(number: number)
    let evidence = try await self.evidence(for: record)
    let checker = try await evidence.asyncFlatMap {
      try await store.staff.find($0.checkedBy)?.name
    }
    return DeskRequest(
      record: record, evidence: evidence, evidenceCheckedBy: checker,
      certificateSerial: try await record.certificateID.asyncFlatMap {
        try await store.certificates.find($0)?.serial
      },
      renewalOf: try await record.renewalOf.asyncFlatMap {
        try await store.certificates.find($0)?.serial
      },
      evidenceFrom: try await record.evidenceRequestID.asyncFlatMap {
        try await store.requests.find($0)?.number
      },
      actions: actions(
        on: record, for: viewer, addresses: try await store.staffAddresses.of(staff), now: now))
  }
}
