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
  /// The certificate's issuing CA(s) and root (DER, issuing CA first),
  /// for the attributes that hold a chain; filled by the worker.
  public var chain: [[UInt8]] = []

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

/// Where a change of the publication queue stands.
public enum PublicationState: String, Sendable {
  case queued
  case done
  /// Trying again cannot help; shown to the administrators.
  case setAside = "set-aside"
}
