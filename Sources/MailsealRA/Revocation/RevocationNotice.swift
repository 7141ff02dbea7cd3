public import Foundation
public import MailsealCA

/// A revocation this process committed, as the OCSP responder needs it
/// (handed to it at once by the callback of the registration authority).
public struct RevocationNotice: Sendable {
  public let serial: String
  public let issuerID: UUID
  public let revokedAt: Date
  public let reason: RevocationReason
  public let notAfter: Date
}

/// What an OCSP answer was, for metrics and HTTP caching.
public enum OCSPOutcome: String, Sendable, CaseIterable {
  case good, revoked, unknown, malformedRequest, unauthorized, tryLater, internalError
}
