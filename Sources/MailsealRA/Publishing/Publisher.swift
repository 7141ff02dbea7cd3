import Foundation
public import MailsealModel

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

  /// The certificates (DER) the entry of `mailbox` holds, in each of the
  /// publisher's attributes — whoever put them there (`directory sync`
  /// compares them with what should be there). Throws
  /// ``PublicationFailure`` for no entry or several.
  func holdings(of mailbox: String) async throws -> [[[UInt8]]]
}

extension Publisher {
  public func holdings(of mailbox: String) async throws -> [[[UInt8]]] {
    throw PublicationFailure("the \(name) publisher cannot read what it holds", permanent: true)
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
