import Crypto
import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
import SwiftASN1
import Vapor
import X509

/// Step 10–12: the pickup page, the certificate and chain for the browser's
/// PKCS#12, and plain downloads. Reached by the pickup link from the mail
/// or, signed in for the mailbox, from the requests page.
enum PickupController {
  /// A pickup and the path prefix that reached it (for the page's links).
  struct Reached {
    let request: CertificateRequest
    let certificate: IssuedCertificate
    let chain: [CACertificate]
    let base: String
    var encryptionCertificate: IssuedCertificate? = nil
  }

  /// Resolves `/pickup/:token…` or `/requests/:number/pickup…`.
  static func resolve(_ request: Request) async throws -> Reached {
    let authority = request.registrationAuthority
    let pickup: Pickup
    let base: String
    if let token = request.parameters.get("token") {
      pickup = try await authority.pickups.pickup(token: token)
      base = "/pickup/\(token)"
    } else {
      let session = try await RequesterSession.require(request)
      pickup = try await authority.pickups.pickup(
        number: request.parameters.get("number") ?? "", session: session)
      base = "/requests/\(pickup.request.number)/pickup"
    }
    return Reached(
      request: pickup.request, certificate: pickup.certificate, chain: pickup.chain, base: base,
      encryptionCertificate: pickup.encryptionCertificate)
  }

  struct Page: Encodable {
    let number: String
    let name: String
    let mailbox: String
    let serial: String
    let notBefore: String
    let notAfter: String
    let fingerprint: String
    let base: String
    let keyFileName: String
    /// The issuing CA in words (its common name and organisation), and its
    /// whole distinguished name for those who want it.
    let issuerName: String
    let issuerOrganization: String?
    let issuer: String
    /// Key escrow: the encryption certificate's serial and fingerprint (the
    /// one above is then the signing certificate).
    var encryptionSerial: String? = nil
    var encryptionFingerprint: String? = nil
  }

  /// The common name and organisation of a CA certificate's subject.
  static func issuerWords(_ issuer: CACertificate?) -> (name: String, organization: String?) {
    guard let issuer,
      let certificate = try? Certificate(derEncoded: Array(issuer.certificateDER))
    else { return (issuer?.subject ?? "", nil) }
    func first(_ type: ASN1ObjectIdentifier) -> String? {
      certificate.subject.lazy.flatMap { $0 }.first { $0.type == type }.flatMap {
        String($0.value)
      }
    }
    return (
      first(.RDNAttributeType.commonName) ?? issuer.subject,
      first(.RDNAttributeType.organizationName)
    )
  }

  /// The pickup page.
  @Sendable
  static func page(_ request: Request) async throws -> Response {
    let pickup = try await resolve(request)
    let language = Language.of(request)
    let zone = request.timeZone
    let certificate = pickup.certificate
    let issuer = issuerWords(pickup.chain.first)
    let response = try await Pages.render(
      "pickup",
      Page(
        number: pickup.request.number, name: certificate.commonName, mailbox: certificate.mailbox,
        serial: certificate.serial,
        notBefore: BackOfficeController.format(certificate.notBefore, language, zone),
        notAfter: BackOfficeController.format(certificate.notAfter, language, zone),
        fingerprint: Array(SHA256.hash(data: certificate.der)).hexString, base: pickup.base,
        keyFileName: "mailseal-\(pickup.request.number).key.pem",
        issuerName: issuer.name, issuerOrganization: issuer.organization,
        issuer: pickup.chain.first?.subject ?? "",
        encryptionSerial: pickup.encryptionCertificate?.serial,
        encryptionFingerprint: pickup.encryptionCertificate.map {
          Array(SHA256.hash(data: $0.der)).hexString
        }),
      for: request)
    return response
  }

  struct Bundle: Content {
    let number: String
    let certificate: String
    let chain: [String]
    let friendlyName: String
    /// Key escrow: the encryption certificate (the one above signs only).
    let encryptionCertificate: String?
  }

  /// What the browser needs to build the PKCS#12: certificate and chain, DER in base64.
  @Sendable
  static func bundle(_ request: Request) async throws -> Response {
    let pickup = try await resolve(request)
    let bundle = Bundle(
      number: pickup.request.number, certificate: pickup.certificate.der.base64EncodedString(),
      chain: pickup.chain.map { $0.certificateDER.base64EncodedString() },
      friendlyName: "\(pickup.certificate.commonName) <\(pickup.certificate.mailbox)>",
      encryptionCertificate: pickup.encryptionCertificate?.der.base64EncodedString())
    let response = try await bundle.encodeResponse(for: request)
    response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return response
  }

  static func download(_ data: Data, type: String, name: String) -> Response {
    var headers = HTTPHeaders()
    headers.replaceOrAdd(name: .contentType, value: type)
    headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(name)\"")
    headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return Response(status: .ok, headers: headers, body: .init(data: data))
  }

  /// `…/certificate.pem`, `…/certificate.der`, `…/chain.pem`.
  @Sendable
  static func file(_ request: Request) async throws -> Response {
    let pickup = try await resolve(request)
    let number = pickup.request.number
    switch request.parameters.get("file") {
    case "certificate.der":
      return download(pickup.certificate.der, type: "application/pkix-cert", name: "\(number).cer")
    case "certificate.pem":
      let pem =
        PEMDocument(type: "CERTIFICATE", derBytes: Array(pickup.certificate.der)).pemString + "\n"
      return download(Data(pem.utf8), type: "application/x-pem-file", name: "\(number).pem")
    case "encryption-certificate.der":
      guard let encryption = pickup.encryptionCertificate else { throw MailsealError.notFound }
      return download(
        encryption.der, type: "application/pkix-cert", name: "\(number)-encryption.cer")
    case "encryption-certificate.pem":
      guard let encryption = pickup.encryptionCertificate else { throw MailsealError.notFound }
      let pem = PEMDocument(type: "CERTIFICATE", derBytes: Array(encryption.der)).pemString + "\n"
      return download(
        Data(pem.utf8), type: "application/x-pem-file", name: "\(number)-encryption.pem")
    case "chain.pem":
      let pems =
        ([Array(pickup.certificate.der)] + pickup.chain.map { Array($0.certificateDER) })
        .map { PEMDocument(type: "CERTIFICATE", derBytes: $0).pemString }.joined(separator: "\n")
        + "\n"
      return download(Data(pems.utf8), type: "application/x-pem-file", name: "\(number)-chain.pem")
    default:
      throw MailsealError.notFound
    }
  }
}
