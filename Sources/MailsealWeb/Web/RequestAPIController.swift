import Foundation
import MailsealModel
import MailsealRA
import Vapor

/// The JSON API the browser's script calls (described in /api/openapi.json).
/// Every call needs the session cookie; state-changing calls need the CSRF
/// token in `X-CSRF-Token`.
enum RequestAPIController {
  struct RequestView: Content {
    let number: String
    let state: String
    let mailbox: String
    let mailboxType: String
    let givenName: String?
    let surname: String?
    let commonName: String?
    let keyType: String
    let keyFingerprint: String
    let created: Date
    let keyFileName: String
    /// Key escrow: the encryption key's fingerprint (the one above is then
    /// the signing key's); absent without escrow.
    let encryptionKeyFingerprint: String?

    init(_ record: CertificateRequest) {
      number = record.number
      state = record.state.rawValue
      mailbox = record.mailbox
      mailboxType = record.mailboxType.rawValue
      givenName = record.givenName
      surname = record.surname
      commonName = record.pseudonym
      keyType = record.keyType
      keyFingerprint = record.keyFingerprint
      created = record.createdAt
      keyFileName = "mailseal-\(record.number).key.pem"
      encryptionKeyFingerprint = record.encryptionKeyFingerprint
    }
  }

  /// `POST /api/v1/requests`.
  @Sendable
  static func create(_ request: Request) async throws -> Response {
    let session = try await RequesterSession.require(request)
    try RequesterSession.verifyCSRF(request, session: session, formToken: nil)
    let form = try request.content.decode(RequestForm.self)
    let record = try await request.registrationAuthority.enrollment.submit(
      form, session: session, language: Language.of(request))
    // A renewal approved by itself is issued now.
    if record.state == .approved { request.application.issuanceWorker?.nudge() }
    let response = try await RequestView(record).encodeResponse(status: .created, for: request)
    response.headers.replaceOrAdd(name: .location, value: "/api/v1/requests/\(record.number)")
    response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return response
  }

  /// `GET /api/v1/requests`.
  @Sendable
  static func list(_ request: Request) async throws -> [RequestView] {
    let session = try await RequesterSession.require(request)
    return try await request.registrationAuthority.enrollment.requests(of: session.mailbox).map(
      RequestView.init)
  }

  /// `GET /api/v1/requests/:number`.
  @Sendable
  static func show(_ request: Request) async throws -> RequestView {
    let session = try await RequesterSession.require(request)
    return RequestView(
      try await request.registrationAuthority.enrollment.request(
        number: request.parameters.get("number") ?? "", session: session))
  }

  /// `POST /api/v1/requests/:number/withdraw`.
  @Sendable
  static func withdraw(_ request: Request) async throws -> RequestView {
    let session = try await RequesterSession.require(request)
    try RequesterSession.verifyCSRF(request, session: session, formToken: nil)
    return RequestView(
      try await request.registrationAuthority.enrollment.withdraw(
        number: request.parameters.get("number") ?? "", session: session))
  }
}
