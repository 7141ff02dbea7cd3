public import Foundation
public import MailsealCA
public import MailsealModel
import SwiftASN1
public import X509

/// One upstream certificate authority's API (CMP, Sectigo, HARICA): how an
/// order is sent, asked after and revoked. What is validated, what is
/// recorded and when, and what is delivered is ``UpstreamIssuer``'s — the
/// same for every upstream.
public protocol UpstreamConnector: Sendable {
  /// `cmp`, `sectigo`, `harica`: recorded with each order.
  var name: String { get }

  /// Whether ``ensureReady()`` signs in (a session API) rather than
  /// checking nothing (CMP, whose first order shows whether the CA answers).
  var signsIn: Bool { get }

  /// Signs in (where the API has sessions) and checks the upstream
  /// answers; throws ``UpstreamUnavailable`` otherwise.
  func ensureReady() async throws

  /// What to record with a new order before it is sent (a CMP
  /// transaction's id, HARICA's friendly name): the reference and the
  /// connector's own progress.
  func prepare(_ order: UpstreamOrderRequest) -> (reference: String?, progress: Data?)

  /// Sends a new order (recorded already, with what ``prepare(_:)`` gave).
  func place(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress

  /// Asks after an order recorded before: one the upstream took
  /// (`pending`), or one whose answer was lost (`ordering`), which it must
  /// look up — never order again.
  func resume(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress

  /// Tells the upstream what became of the certificate it sent, where its
  /// protocol asks that (CMP's `certConf`): `refusal` nil means accepted.
  /// Called once per certificate, after the certificate is recorded.
  func settle(_ order: UpstreamOrderRequest, certificate: Certificate, refusal: String?)
    async throws

  /// Asks the upstream to revoke a certificate it issued (`reference`: the
  /// order's, if known).
  func revoke(_ certificate: Certificate, reference: String?, reason: RevocationReason)
    async throws
}

extension UpstreamConnector {
  public var signsIn: Bool { false }

  public func settle(_ order: UpstreamOrderRequest, certificate: Certificate, refusal: String?)
    async throws
  {}
}

/// An order as a connector sees it: the record (its reference and
/// progress) and what to order.
public struct UpstreamOrderRequest: Sendable {
  public let record: UpstreamOrder
  /// The request's number (`R-XXXX-XXXX`), for the upstream's own records.
  public let number: String
  /// The browser's PKCS#10, DER.
  public let csrDER: [UInt8]
  /// What the RA validated.
  public let subject: ValidatedSubject
  public let purpose: KeyPurpose

  /// Of the certificates an upstream sent (a certificate and its chain,
  /// in any order), the one for the request's key — or, when none is, the
  /// first that is no CA, for the RA's check to say what is wrong with it.
  public func leaf(of certificates: [Certificate]) throws -> [UInt8] {
    let key = (try? CertificateRequestCheck.check(csrDER))?.publicKey
    let isCA = { (certificate: Certificate) -> Bool in
      if case .isCertificateAuthority = try? certificate.extensions.basicConstraints { return true }
      return false
    }
    guard
      let chosen = certificates.first(where: { $0.publicKey == key })
        ?? certificates.first(where: { !isCA($0) })
    else { throw UpstreamProtocolError("the upstream sent no certificate for a subscriber") }
    var serializer = DER.Serializer()
    try serializer.serialize(chosen)
    return serializer.serializedBytes
  }

  /// The PKCS#10 as PEM, as the REST APIs take it.
  public var csrPEM: String {
    PEMDocument(type: "CERTIFICATE REQUEST", derBytes: csrDER).pemString
  }
}

/// What an upstream answered about an order.
public enum UpstreamProgress: Sendable {
  /// The certificate (DER), with the reference and progress to record.
  case certificate([UInt8], reference: String?, progress: Data?)
  /// Taken, not finished: ask again after `retryAfter` seconds.
  case pending(reference: String?, progress: Data?, retryAfter: TimeInterval)
  /// The upstream refused the order: the request is rejected with this.
  case refused(String)
  /// No look-up can tell what became of the order: an admin decides
  /// (never ordered twice automatically).
  case unknown(String)
  /// The look-up shows the upstream has no such order (its answer was
  /// lost before it took it): the order is sent.
  case absent
}

/// The upstream cannot be asked now (unreachable, 5xx, 429, a slow
/// answer, a connection closed): ask again later (after `retryAfter`
/// seconds when it said so). `nothingTaken`: the upstream certainly took
/// nothing (no connection was made; it answered 429 or 503), so a new
/// order may simply be sent again; otherwise it is looked up first.
public struct UpstreamUnavailable: Error, Sendable, CustomStringConvertible {
  public let description: String
  public let retryAfter: TimeInterval?
  public let nothingTaken: Bool

  public init(_ description: String, retryAfter: TimeInterval? = nil, nothingTaken: Bool = false) {
    self.description = description
    self.retryAfter = retryAfter
    self.nothingTaken = nothingTaken
  }
}

/// The upstream answered something this connector does not understand
/// (not its API, a malformed answer): the order's fate is unknown.
public struct UpstreamProtocolError: Error, Sendable, CustomStringConvertible {
  public let description: String

  public init(_ description: String) {
    self.description = description
  }
}
