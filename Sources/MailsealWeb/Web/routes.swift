import MailsealCA
import MailsealRA
import MailsealStore
import Vapor

/// Every route, in groups.
func routes(_ app: Application) throws {
  // Operations.
  app.get("healthz", use: PublicCAController.health)
  app.get("metrics", use: PublicCAController.metrics)

  // The CA's publication point: what certificates name in AIA and CRL DP.
  app.get(
    .constant(PublicEndpoints.caCertificatePathPrefix), ":file",
    use: PublicCAController.caCertificate)

  app.get(.constant(PublicEndpoints.crlPathPrefix), ":file", use: PublicCAController.crl)
  // OCSP (RFC 6960 appendix A): POST with the DER request, or GET with it
  // in base64 in the path (which may hold "/").
  app.on(
    // Up to 64 KiB is read, so that an oversized request still gets an
    // OCSP answer (malformedRequest: the responder reads at most 8 KiB).
    .POST, .constant(PublicEndpoints.ocspPath), body: .collect(maxSize: "64kb"),
    use: PublicCAController.ocspPost)
  app.get(.constant(PublicEndpoints.ocspPath), "**", use: PublicCAController.ocspGet)
  // `/ocsp/` with nothing behind it: a malformed request, not a 404.
  app.get(.constant(PublicEndpoints.ocspPath), use: PublicCAController.ocspGet)

  // The requester's pages.
  app.get(use: RequesterController.start)
  app.on(.POST, "login", body: .collect(maxSize: "4kb"), use: RequesterController.requestLink)
  app.get("login", "sent", use: RequesterController.linkSent)
  // Sign-in through the organisation's OpenID provider.
  app.get("login", "provider", use: OIDCController.startRequester)
  app.get("oidc", "callback", use: OIDCController.callback)
  // The provider ends staff sessions (OpenID Connect Back-Channel Logout).
  app.on(
    .POST, "oidc", "backchannel-logout", body: .collect(maxSize: "32kb"),
    use: OIDCController.backchannelLogout)
  app.get("signed-in", use: OIDCController.signedIn)
  app.get("login", ":token", use: RequesterController.openLink)
  app.on(.POST, "logout", body: .collect(maxSize: "1kb"), use: RequesterController.signOut)
  app.get("requests", use: RequesterController.requests)
  app.get("requests", "new", use: RequesterController.newRequest)
  app.get("requests", ":number", use: RequesterController.show)
  app.on(
    .POST, "requests", ":number", "withdraw", body: .collect(maxSize: "1kb"),
    use: RequesterController.withdraw)

  // Pickup (steps 10–12): by the link from the mail, or signed in.
  app.get("pickup", ":token", use: PickupController.page)
  app.get("pickup", ":token", "bundle.json", use: PickupController.bundle)
  app.get("pickup", ":token", ":file", use: PickupController.file)
  app.get("requests", ":number", "pickup", use: PickupController.page)
  app.get("requests", ":number", "pickup", "bundle.json", use: PickupController.bundle)
  app.get("requests", ":number", "pickup", ":file", use: PickupController.file)
  app.get("certificates", ":serial", use: CertificateController.show)
  app.on(
    .POST, "certificates", ":serial", "revoke", body: .collect(maxSize: "1kb"),
    use: CertificateController.revoke)
  app.on(
    .POST, "certificates", ":serial", "recovery", body: .collect(maxSize: "8kb"),
    use: CertificateController.askRecovery)

  // The back office: staff sign-in and enrolment.
  let staff = app.grouped("operator")
  staff.get(use: OperatorController.home)
  staff.get("login", use: OperatorController.loginForm)
  staff.get("login", "provider", use: OIDCController.startStaff)
  staff.on(.POST, "login", body: .collect(maxSize: "4kb"), use: OperatorController.login)
  staff.get("code", use: OperatorController.codeForm)
  staff.on(.POST, "code", body: .collect(maxSize: "1kb"), use: OperatorController.code)
  staff.on(.POST, "logout", body: .collect(maxSize: "1kb"), use: OperatorController.logout)
  staff.get("enrol", ":token", use: OperatorController.enrolForm)
  staff.get("enrolled", use: OperatorController.enrolled)
  staff.on(.POST, "enrol", ":token", body: .collect(maxSize: "4kb"), use: OperatorController.enrol)
  staff.on(
    .POST, "enrol", ":token", "confirm", body: .collect(maxSize: "1kb"),
    use: OperatorController.confirm)
  staff.get("queue", use: BackOfficeController.queue)
  staff.on(
    .POST, "issuance", body: .collect(maxSize: "1kb"), use: BackOfficeController.switchIssuance)
  staff.get("requests", ":number", use: BackOfficeController.show)
  staff.on(
    .POST, "requests", ":number", "evidence", body: .collect(maxSize: "4kb"),
    use: BackOfficeController.recordEvidence)
  staff.on(
    .POST, "requests", ":number", "approve", body: .collect(maxSize: "1kb"),
    use: BackOfficeController.approve)
  staff.on(
    .POST, "requests", ":number", "reject", body: .collect(maxSize: "4kb"),
    use: BackOfficeController.reject)
  staff.get("certificates", ":serial", use: CertificateController.deskShow)
  staff.on(
    .POST, "certificates", ":serial", "revoke", body: .collect(maxSize: "1kb"),
    use: CertificateController.deskRevoke)
  staff.on(
    .POST, "certificates", ":serial", "recovery", body: .collect(maxSize: "8kb"),
    use: CertificateController.deskAskRecovery)
  // Key recovery: two recovery officers approve, then the envelope.
  staff.get("recoveries", use: RecoveryController.list)
  staff.get("recoveries", ":number", use: RecoveryController.show)
  staff.get("recoveries", ":number", "certificate.pem", use: RecoveryController.certificate)
  staff.on(
    .POST, "recoveries", ":number", "approve", body: .collect(maxSize: "1kb"),
    use: RecoveryController.approve)
  staff.on(
    .POST, "recoveries", ":number", "decline", body: .collect(maxSize: "8kb"),
    use: RecoveryController.decline)
  staff.on(
    .POST, "recoveries", ":number", "envelope", body: .collect(maxSize: "1kb"),
    use: RecoveryController.envelope)
  staff.get("admin", use: AdminController.page)
  staff.on(.POST, "notice", body: .collect(maxSize: "8kb"), use: AdminController.setNotice)
  staff.on(
    .POST, "notice", "clear", body: .collect(maxSize: "1kb"), use: AdminController.clearNotice)
  staff.get("audit", use: AdminController.audit)
  staff.get("audit", "export.jsonl", use: AdminController.export)

  // The JSON API of the browser's script. Its answers name a mailbox's
  // requests: never stored by a cache. A method the description does not
  // list is 405 with Allow.
  let api = app.grouped("api", "v1").grouped(NoStoreMiddleware())
  api.on(.POST, "requests", body: .collect(maxSize: "64kb"), use: RequestAPIController.create)
  api.get("requests", use: RequestAPIController.list)
  api.get("requests", ":number", use: RequestAPIController.show)
  api.on(
    .POST, "requests", ":number", "withdraw", body: .collect(maxSize: "1kb"),
    use: RequestAPIController.withdraw)
  app.get("api", "openapi.json", use: OpenAPIDocument.serve)
}

/// A method the API's description does not list for a path that exists is
/// 405 with Allow (RFC 9110 §15.5.6), not 404: the router's "not found" is
/// turned into it for the API's paths.
struct MethodNotAllowedMiddleware: AsyncMiddleware {
  /// The API's paths (`*` one segment) and their methods, as in
  /// `/api/openapi.json`.
  static let paths: [(pattern: [String], methods: [HTTPMethod])] = [
    (["api", "v1", "requests"], [.GET, .POST]),
    (["api", "v1", "requests", "*"], [.GET]),
    (["api", "v1", "requests", "*", "withdraw"], [.POST]),
  ]

  func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
    do {
      return try await next.respond(to: request)
    } catch let error as any AbortError where error.status == .notFound {
      let segments = request.url.path.split(separator: "/").map(String.init)
      guard
        let known = Self.paths.first(where: { path in
          path.pattern.count == segments.count
            && zip(path.pattern, segments).allSatisfy { $0 == "*" || $0 == $1 }
        }), !known.methods.contains(request.method)
      else { throw error }
      let allow = (known.methods + (known.methods.contains(.GET) ? [.HEAD] : [])).map(\.rawValue)
      throw Abort(.methodNotAllowed, headers: ["Allow": allow.joined(separator: ", ")])
    }
  }
}

/// `Cache-Control: no-store` on every answer of a group.
struct NoStoreMiddleware: AsyncMiddleware {
  func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
    let response = try await next.respond(to: request)
    response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return response
  }
}
