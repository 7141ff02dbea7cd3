public import Foundation

/// An order at an upstream certificate authority for one approved request
/// and one key purpose: recorded before it is sent, so that an answer lost
/// on the way (a crash, a timeout, a connection closed after the upstream
/// issued) is looked up rather than ordered again.
public struct UpstreamOrder: Sendable, Hashable {
  public enum State: String, Codable, Sendable, CaseIterable {
    /// Recorded, and perhaps sent: whether the upstream has it is known
    /// only by looking it up.
    case ordering
    /// Recorded, and the upstream answered that it took nothing (no
    /// connection, 429, 503): sent again, not looked up.
    case notTaken = "not-taken"
    /// Taken by the upstream, to be collected or polled.
    case pending
    /// The certificate came back, passed the RA's check and is stored.
    case issued
    /// The upstream refused it; the request was rejected.
    case refused
    /// An admin must look at it (the reason is on the request).
    case held
    /// Held, and an admin asked the upstream to revoke the certificate it
    /// sent: sent until the upstream confirms.
    case revoking
    /// Held, and the certificate it sent revoked at the upstream.
    case revoked
  }

  public var id: UUID
  /// The request it is for; nil for an order of `mailseal ca issue`.
  public var requestID: UUID?
  /// The key's purpose (`KeyPurpose`'s raw value).
  public var purpose: String
  /// Which upstream took it (`cmp`, `sectigo`, `harica`).
  public var upstream: String
  public var state: State
  /// The upstream's name for the order (Sectigo's backendCertId, HARICA's
  /// friendly name, the CMP transaction id in hex).
  public var reference: String?
  /// What the connector keeps between two steps (a CMP transaction's
  /// nonces), its own format.
  public var progress: Data?
  public var attempts: Int
  public var nextAttemptAt: Date
  public var lastError: String?
  /// A certificate that came back and failed the RA's check (held).
  public var certificateDER: Data?
  /// When it was recorded — or sent again after an outage that took
  /// nothing: the limit for an unfinished order runs from it.
  public var createdAt: Date
  public var updatedAt: Date

  public init(
    id: UUID = UUID(), requestID: UUID?, purpose: String, upstream: String, state: State,
    reference: String? = nil, progress: Data? = nil, attempts: Int = 0, nextAttemptAt: Date,
    lastError: String? = nil, certificateDER: Data? = nil, createdAt: Date, updatedAt: Date
  ) {
    self.id = id
    self.requestID = requestID
    self.purpose = purpose
    self.upstream = upstream
    self.state = state
    self.reference = reference
    self.progress = progress
    self.attempts = attempts
    self.nextAttemptAt = nextAttemptAt
    self.lastError = lastError
    self.certificateDER = certificateDER
    self.createdAt = createdAt
    self.updatedAt = updatedAt
  }
}
