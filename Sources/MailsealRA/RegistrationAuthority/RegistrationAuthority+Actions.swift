public import Foundation
public import MailsealStore

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
  public let record: CertificateRequestRecord
  public let evidence: IdentityEvidenceRecord?
  public let evidenceCheckedBy: String?
  public let certificateSerial: String?
  public let renewalOf: String?
  public let evidenceFrom: String?
  public let actions: RequestActions
}

extension RegistrationAuthority {
  /// The actions `viewer` may take on `record` at `now`, from the same rules
  /// the transitions enforce (``RequestRules``); for staff, `addresses` are
  /// every address the account has ever had.
  public func actions(
    on record: CertificateRequestRecord, for viewer: Principal, addresses: Set<String> = [],
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
      try await OperatorRecord.find($0.checkedBy, on: database)?.name
    }
    return DeskRequest(
      record: record, evidence: evidence, evidenceCheckedBy: checker,
      certificateSerial: try await record.certificateID.asyncFlatMap {
        try await CertificateRecord.find($0, on: database)?.serial
      },
      renewalOf: try await record.renewalOf.asyncFlatMap {
        try await CertificateRecord.find($0, on: database)?.serial
      },
      evidenceFrom: try await record.evidenceRequestID.asyncFlatMap {
        try await CertificateRequestRecord.find($0, on: database)?.number
      },
      actions: actions(
        on: record, for: viewer, addresses: try await OperatorAddresses.of(staff, on: database),
        now: now))
  }
}
