import Foundation
import MailsealModel
import MailsealRA
import SwiftASN1
import Vapor
import X509

/// The look-up of a colleague's certificate (`/directory`, `GET
/// /api/v1/directory`), its downloads, the holder's consent on the
/// certificate page, and the administrators' list of what the directory
/// did not take.
enum DirectoryController {
  struct Found: Encodable, Content {
    let serial: String
    let subject: String
    let notBefore: Date
    let notAfter: Date
    let sha256: String
    let pem: String
    let validFrom: String
    let validUntil: String
  }

  struct LookUpPage: Encodable {
    let mailbox: String
    let searched: Bool
    let certificates: [Found]
    let error: String?
  }

  struct LookUpAnswer: Content {
    let mailbox: String
    let certificates: [APICertificate]
  }

  struct APICertificate: Content {
    let serial: String
    let subject: String
    let notBefore: Date
    let notAfter: Date
    let sha256: String
    let pem: String
  }

  static func found(
    _ certificate: IssuedCertificate, language: Language, zone: TimeZone
  ) -> Found {
    Found(
      serial: certificate.serial,
      subject: (try? Certificate(derEncoded: Array(certificate.der)))?.subject.description
        ?? certificate.commonName,
      notBefore: certificate.notBefore, notAfter: certificate.notAfter,
      sha256: DirectoryService.fingerprint(certificate),
      pem: PEMDocument(type: "CERTIFICATE", derBytes: Array(certificate.der)).pemString,
      validFrom: BackOfficeController.format(certificate.notBefore, language, zone),
      validUntil: BackOfficeController.format(certificate.notAfter, language, zone))
  }

  static func lookUp(_ request: Request, mailbox: String) async throws -> [IssuedCertificate] {
    try await request.registrationAuthority.directory.lookUp(
      address: mailbox,
      clientAddress: RequesterSession.clientAddress(
        request, settings: request.application.mailseal.portal))
  }

  /// `GET /directory[?mailbox=…]`.
  @Sendable
  static func page(_ request: Request) async throws -> Response {
    guard request.registrationAuthority.directory.isOn else { throw MailsealError.notFound }
    let language = Language.of(request)
    let mailbox =
      (try? request.query.get(String.self, at: "mailbox"))?
      .trimmingCharacters(in: .whitespaces) ?? ""
    guard !mailbox.isEmpty else {
      return try await Pages.render(
        "directory", LookUpPage(mailbox: "", searched: false, certificates: [], error: nil),
        for: request)
    }
    do {
      let certificates = try await lookUp(request, mailbox: mailbox)
      return try await Pages.render(
        "directory",
        LookUpPage(
          mailbox: mailbox, searched: true,
          certificates: certificates.map {
            found($0, language: language, zone: request.timeZone)
          }, error: nil), for: request)
    } catch let error as MailsealError where error.isShownOnPage {
      return try await Pages.render(
        "directory",
        LookUpPage(
          mailbox: String(mailbox.prefix(320)), searched: false, certificates: [],
          error: error.detail(language)), for: request, status: error.status)
    }
  }

  /// `GET /api/v1/directory?mailbox=…`.
  @Sendable
  static func api(_ request: Request) async throws -> LookUpAnswer {
    guard request.registrationAuthority.directory.isOn else { throw MailsealError.notFound }
    let mailbox = (try? request.query.get(String.self, at: "mailbox")) ?? ""
    let certificates = try await lookUp(request, mailbox: mailbox)
    return LookUpAnswer(
      mailbox: mailbox.lowercased(),
      certificates: certificates.map {
        let shown = found($0, language: .en, zone: .gmt)
        return APICertificate(
          serial: shown.serial, subject: shown.subject, notBefore: shown.notBefore,
          notAfter: shown.notAfter, sha256: shown.sha256, pem: shown.pem)
      })
  }

  /// `GET /directory/:serial/:file`: `certificate.pem`, `certificate.cer`
  /// (DER), `certificate.p7c` (with its chain) of a published certificate.
  @Sendable
  static func download(_ request: Request) async throws -> Response {
    let directory = request.registrationAuthority.directory
    let certificate = try await directory.publishedCertificate(
      serial: request.parameters.get("serial") ?? "")
    let name = certificate.serial
    switch request.parameters.get("file") {
    case "certificate.pem":
      let pem = PEMDocument(type: "CERTIFICATE", derBytes: Array(certificate.der)).pemString + "\n"
      return PickupController.download(
        Data(pem.utf8), type: "application/x-pem-file", name: "\(name).pem")
    case "certificate.cer":
      return PickupController.download(
        certificate.der, type: "application/pkix-cert", name: "\(name).cer")
    case "certificate.p7c":
      return PickupController.download(
        Data(try await directory.pkcs7(certificate)), type: "application/pkcs7-mime",
        name: "\(name).p7c")
    default:
      throw MailsealError.notFound
    }
  }

  struct ConsentPost: Content {
    var csrf: String
    var publish: String?
  }

  /// `POST /certificates/:serial/publish`: the holder agrees (`publish=yes`)
  /// or withdraws (`publish=no`).
  @Sendable
  static func consent(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    let form = try? request.content.decode(ConsentPost.self)
    try RequesterSession.verifyCSRF(request, session: session, formToken: form?.csrf)
    guard let answer = form?.publish, answer == "yes" || answer == "no" else {
      throw MailsealError(.invalidForm)
    }
    let serial = request.parameters.get("serial") ?? ""
    try await request.registrationAuthority.directory.setConsent(
      serial: serial, consent: answer == "yes", mailbox: session.mailbox)
    return request.redirect(
      to: SiteURL.certificate(serial: serial, staff: false).path + "?published=\(answer)")
  }

  struct NotPublishedPage: Encodable {
    let count: Int
    let rows: [Row]
    let directory: String?

    struct Row: Encodable {
      let serial: String
      let mailbox: String
      let kind: String
      let reason: String
      let queuedAt: String
    }
  }

  /// `GET /operator/directory`: what the directory did not take.
  @Sendable
  static func notPublished(_ request: Request) async throws -> Response {
    let current = try await AdminController.requireAdmin(request)
    let language = Language.of(request)
    let (count, changes) = try await request.registrationAuthority.directory.notPublished(
      for: current.principal)
    let ldap = request.application.mailseal.directory.ldap
    return try await Pages.render(
      "directory-admin",
      NotPublishedPage(
        count: count,
        rows: changes.map {
          NotPublishedPage.Row(
            serial: $0.serial, mailbox: $0.mailbox,
            kind: Catalogue.text("directory_change_\($0.kind.rawValue)", language),
            reason: $0.reason,
            queuedAt: BackOfficeController.format($0.queuedAt, language, request.timeZone))
        }, directory: ldap.map { "\($0.host):\($0.port) \($0.baseDN)" }), for: request)
  }
}
