public import Foundation

/// The rule book: each rule a request must meet is one small validator
/// here, run at the transition it guards (a decision at the desk) and again
/// where the issuance worker takes the request — so a rule that held at
/// approval but no longer holds at issuance (a long pause) is still kept.
public enum RequestRules {
  /// S/MIME BR §3.2.2: a completed mailbox validation may be relied on for
  /// at most 30 days before issuance.
  public static let mailboxValidationLifetime: TimeInterval = 30 * 86_400
  /// S/MIME BR §4.2.1: identity evidence may be reused for at most 825 days.
  public static let evidenceReuseLifetime: TimeInterval = 825 * 86_400
  /// Photo IDs are issued for at most ten years (German identity cards
  /// and passports; most others less): an expiry further ahead than this
  /// is a typing or date-picker slip, not a document.
  public static let documentValidityYears = 20
  public static let documentValidityLimit = TimeInterval(documentValidityYears) * 365.25 * 86_400

  /// Nobody checks, approves or rejects a request for their own mailbox:
  /// `addresses` are every address the deciding account has ever had
  /// (``StaffAddresses`` in the store), not only the one it has now.
  public static func notOwnMailbox(request mailbox: String, decidedBy addresses: Set<String>)
    throws
  {
    if addresses.contains(mailbox) { throw MailsealError(.ownMailbox) }
  }

  /// With the four-eyes rule, the approver is not who checked the ID.
  public static func fourEyes(enabled: Bool, verifiedBy: UUID?, approvedBy: UUID?) throws {
    if enabled, let verifiedBy, verifiedBy == approvedBy { throw MailsealError(.fourEyes) }
  }

  /// The mailbox validation is at most 30 days old at `now`.
  public static func mailboxValidationFresh(_ validatedAt: Date, now: Date) throws {
    guard now.timeIntervalSince(validatedAt) <= mailboxValidationLifetime else {
      throw MailsealError(.mailboxValidationStale)
    }
  }

  /// Evidence checked at `checkedAt` may still be relied on at `now`.
  public static func evidenceReusable(checkedAt: Date, now: Date) -> Bool {
    now.timeIntervalSince(checkedAt) <= evidenceReuseLifetime
  }

  /// Identity evidence is at most 825 days old at `now`.
  public static func evidenceFresh(checkedAt: Date, now: Date) throws {
    guard evidenceReusable(checkedAt: checkedAt, now: now) else {
      throw MailsealError(.evidenceTooOld)
    }
  }
}
