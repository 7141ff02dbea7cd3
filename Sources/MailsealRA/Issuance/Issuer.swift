public import FluentKit
import Foundation
public import MailsealCA
public import MailsealStore

/// A certificate authority that issues for this registration authority:
/// "a certificate for these validated facts and this request". The
/// embedded CA is one (``EmbeddedIssuer``); an upstream CA reached through
/// its API is another. The RA decides what is validated; the issuer only
/// issues, stores and tells what became of each order.
///
/// An issuer may finish an order later (an upstream that collects or polls):
/// it answers ``IssuanceOutcome/pending(reference:)``, and the worker asks
/// again for the same request once the claim runs out. An issuer must
/// therefore never order twice for one request: before it orders, it looks
/// up what it ordered for that request before (the embedded CA's intents
/// and its refusal to certify a key twice; an upstream's order reference).
public protocol Issuer: Sendable {
  /// What it is, for logs and `/healthz` ("embedded", …).
  var name: String { get }

  /// Throws while orders cannot be taken (the CA key's token is away, the
  /// upstream cannot be reached): approved requests then simply wait, and
  /// nothing is recorded for them.
  func ensureReady() async throws

  /// Issues `orders`; the outcomes are in their order. A certificate is
  /// stored in one transaction with what follows from it (`afterStoring`:
  /// the request marked issued, the pickup mail queued), or not at all.
  /// A failure of the store or of the issuer as a whole throws; what was
  /// stored before stays stored.
  func issue(_ orders: [IssuanceOrder], now: Date, afterStoring: @escaping AfterStoring)
    async throws -> [IssuanceOutcome]
}

/// Runs inside the transaction that stores certificates.
public typealias AfterStoring = @Sendable (any Database, [StoredCertificate]) async throws -> Void

/// What became of one order.
public enum IssuanceOutcome: Sendable {
  /// Issued and stored.
  case issued(SignedCertificate)
  /// Taken by the issuer, to be finished later; `reference` names the
  /// order at the issuer; asked after again at `retryAt` (nil: when the
  /// claim runs out).
  case pending(reference: String, retryAt: Date? = nil)
  /// Not issued, and not to be tried again by itself: held for an admin
  /// with the reason (an upstream's certificate that failed the RA's
  /// check, an order no look-up can settle).
  case held(String)
  /// Not issued: the RA rejects the request with the reason.
  case refused(CAError)
}

/// The embedded CA as an ``Issuer``: Boulder's order in
/// ``IssuanceService`` — check, build, lint, record the intents, sign
/// once, store — with its crash safety (an intent is recorded before each
/// signature). It never answers `pending`.
public struct EmbeddedIssuer: Issuer {
  public let service: IssuanceService

  public init(service: IssuanceService) {
    self.service = service
  }

  public var name: String { "embedded" }

  public func ensureReady() async throws {
    try service.authority.signingKey.ensureAvailable()
  }

  public func issue(_ orders: [IssuanceOrder], now: Date, afterStoring: @escaping AfterStoring)
    async throws -> [IssuanceOutcome]
  {
    var service = self.service
    service.afterStoring = afterStoring
    return try await service.issue(orders, now: now).map { result in
      switch result {
      case .success(let certificate): return .issued(certificate)
      case .failure(let error): return .refused(error)
      }
    }
  }
}
