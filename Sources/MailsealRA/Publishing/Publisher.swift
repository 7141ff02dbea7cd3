import Foundation

/// Where issued certificates are made findable for those who encrypt to
/// their holders — the organisation's directory (LDAP, Active Directory)
/// or anything else that holds "the certificates of this address". A
/// publisher is fed from a durable queue (``PublicationQueue``), like the
/// outbox: a change is queued in the transaction that makes it necessary
/// (a certificate issued, revoked, expired; consent withdrawn), and the
/// ``PublicationWorker`` applies the changes of one address in the order
/// they were queued, retrying until they are done.
public protocol Publisher: Sendable {
  /// What it is, for logs, `/healthz` and the audit trail ("ldap", …).
  var name: String { get }

  /// Applies one change. Returns when it is done; throws to be tried again
  /// later (``PublicationFailure`` says whether trying again can help).
  /// Publishing what is there already, or removing what is gone, is done:
  /// a change may be applied more than once (a crash between applying it
  /// and recording that), never in another order for one address.
  func apply(_ change: PublicationChange) async throws
}

/// One change for the directory entry of an address.
public struct PublicationChange: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    /// Add the certificate to the entry.
    case publish
    /// Remove exactly this certificate (and nothing another CA put there).
    case unpublish
  }

  /// Its number in the queue: changes of one address are applied in it.
  public let sequence: Int64
  public let kind: Kind
  /// The address whose entry holds the certificate (a role mailbox's own).
  public let mailbox: String
  /// The certificate's serial (lowercase hex).
  public let serial: String
  /// The certificate, DER.
  public let certificate: [UInt8]
  /// Why it was queued: `issued`, `revoked`, `expired`, `consent-withdrawn`.
  public let reason: String

  public init(
    sequence: Int64, kind: Kind, mailbox: String, serial: String, certificate: [UInt8],
    reason: String
  ) {
    self.sequence = sequence
    self.kind = kind
    self.mailbox = mailbox
    self.serial = serial
    self.certificate = certificate
    self.reason = reason
  }
}

/// A change that trying again will not make work (no entry for the
/// address, several, an entry the publisher may not change): it is set
/// aside with the reason, for the administrators, and the address's later
/// changes go on.
public struct PublicationFailure: Error, Sendable, CustomStringConvertible {
  public let reason: String
  public let isPermanent: Bool

  public init(_ reason: String, permanent: Bool) {
    self.reason = reason
    self.isPermanent = permanent
  }

  public var description: String { reason }
}
