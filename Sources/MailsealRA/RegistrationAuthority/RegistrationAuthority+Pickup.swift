import FluentKit
public import Foundation
public import MailsealModel
import MailsealStore

/// What the pickup page needs: the issued request, its certificate and the
/// chain up to the root.
public struct Pickup: Sendable {
  public let request: CertificateRequest
  public let certificate: IssuedCertificate
  public let chain: [CACertificate]
  /// Key escrow: the encryption-only certificate beside the signing-only
  /// one above (same issuer, same chain).
  public var encryptionCertificate: IssuedCertificate? = nil
}

extension PickupService {
  /// The pickup a link from the mail opens: the token must be one of ours
  /// and not expired (signed in, the certificate is reachable without it).
  public func pickup(token: String, now: Date = Date()) async throws -> Pickup {
    guard SecretToken.isWellFormed(token),
      let record = try await store.requests.find(pickupTokenHash: SecretToken.hash(token)),
      let expires = record.pickupExpiresAt, expires > now
    else { throw MailsealError(.pickupLinkInvalid) }
    return try await pickup(of: record)
  }

  /// The pickup of a request of the session's mailbox.
  public func pickup(number: String, session: MailboxSession) async throws -> Pickup {
    try await pickup(of: authority.enrollment.request(number: number, session: session))
  }

  func pickup(of record: CertificateRequest) async throws -> Pickup {
    guard record.state == .issued, let certificateID = record.certificateID,
      let certificate = try await store.certificates.find(certificateID)
    else { throw MailsealError.notFound }
    var chain: [CACertificate] = []
    if let issuer = try await store.issuers.find(certificate.issuerID) {
      chain = try await CAInstallation(database: database, configuration: configuration)
        .chain(of: issuer)
    }
    var encryption: IssuedCertificate?
    if let id = record.encryptionCertificateID {
      guard let found = try await store.certificates.find(id) else {
        throw MailsealError.notFound
      }
      encryption = found
    }
    return Pickup(
      request: record, certificate: certificate, chain: chain, encryptionCertificate: encryption)
  }
}
