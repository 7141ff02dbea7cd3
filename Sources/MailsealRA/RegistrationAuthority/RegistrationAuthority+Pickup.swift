import FluentKit
public import Foundation
public import MailsealStore

/// What the pickup page needs: the issued request, its certificate and the
/// chain up to the root.
public struct Pickup: Sendable {
  public let request: CertificateRequestRecord
  public let certificate: CertificateRecord
  public let chain: [IssuerRecord]
  /// Key escrow: the encryption-only certificate beside the signing-only
  /// one above (same issuer, same chain).
  public var encryptionCertificate: CertificateRecord? = nil
}

extension RegistrationAuthority {
  /// The pickup a link from the mail opens: the token must be one of ours
  /// and not expired (signed in, the certificate is reachable without it).
  public func pickup(token: String, now: Date = Date()) async throws -> Pickup {
    guard SecretToken.isWellFormed(token),
      let record = try await CertificateRequestRecord.query(on: database).filter(
        \.$pickupTokenHash == SecretToken.hash(token)
      ).first(),
      let expires = record.pickupExpiresAt, expires > now
    else { throw MailsealError(.pickupLinkInvalid) }
    return try await pickup(of: record)
  }

  /// The pickup of a request of the session's mailbox.
  public func pickup(number: String, session: SessionRecord) async throws -> Pickup {
    try await pickup(of: request(number: number, session: session))
  }

  func pickup(of record: CertificateRequestRecord) async throws -> Pickup {
    guard record.state == .issued, let certificateID = record.certificateID,
      let certificate = try await CertificateRecord.find(certificateID, on: database)
    else { throw MailsealError.notFound }
    var chain: [IssuerRecord] = []
    if let issuer = try await IssuerRecord.find(certificate.$issuer.id, on: database) {
      chain = try await CAInstallation(database: database, configuration: configuration)
        .chain(of: issuer)
    }
    var encryption: CertificateRecord?
    if let id = record.encryptionCertificateID {
      guard let found = try await CertificateRecord.find(id, on: database) else {
        throw MailsealError.notFound
      }
      encryption = found
    }
    return Pickup(
      request: record, certificate: certificate, chain: chain, encryptionCertificate: encryption)
  }
}
