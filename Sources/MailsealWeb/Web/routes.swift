import MailsealCA
import MailsealModel
import MailsealRA
import Vapor

/// Every route, in groups, each at its ``PortalPath`` (a test fails for a
/// route that `PortalPath.all` does not name).
func routes(_ app: Application) throws {
  // Operations.
  app.get(PortalPath.health.route, use: PublicCAController.health)
  app.get(PortalPath.metrics.route, use: PublicCAController.metrics)

  // The CA's publication point: what certificates name in AIA and CRL DP.
  app.get(PortalPath.caCertificate.route, use: PublicCAController.caCertificate)
  app.get(PortalPath.crl.route, use: PublicCAController.crl)
  // OCSP (RFC 6960 appendix A): POST with the DER request, or GET with it
  // in base64 in the path (which may hold "/").
  app.on(
    // Up to 64 KiB less one byte is read (Vapor refuses a body of exactly
    // maxSize), so that an oversized request still gets an OCSP answer
    // (malformedRequest: the responder reads at most 8 KiB).
    .POST, PortalPath.ocsp.route, body: .collect(maxSize: "64kb"),
    use: PublicCAController.ocspPost)
  app.get(PortalPath.ocspGet.route, use: PublicCAController.ocspGet)
  // `/ocsp/` with nothing behind it: a malformed request, not a 404.
  app.get(PortalPath.ocsp.route, use: PublicCAController.ocspGet)

  // The requester's pages.
  app.get(PortalPath.start.route, use: RequesterController.start)
  app.on(
    .POST, PortalPath.login.route, body: .collect(maxSize: "4kb"),
    use: RequesterController.requestLink)
  app.get(PortalPath.loginLinkSent.route, use: RequesterController.linkSent)
  // Sign-in through the organisation's OpenID provider.
  app.get(PortalPath.loginWithProvider.route, use: OIDCController.startRequester)
  app.get(PortalPath.oidcCallback.route, use: OIDCController.callback)
  // The provider ends staff sessions (OpenID Connect Back-Channel Logout).
  app.on(
    .POST, PortalPath.oidcBackchannelLogout.route, body: .collect(maxSize: "32kb"),
    use: OIDCController.backchannelLogout)
  app.get(PortalPath.signedIn.route, use: OIDCController.signedIn)
  app.get(PortalPath.loginLink.route, use: RequesterController.openLink)
  app.on(
    .POST, PortalPath.logout.route, body: .collect(maxSize: "1kb"),
    use: RequesterController.signOut)
  app.get(PortalPath.requests.route, use: RequesterController.requests)
  app.get(PortalPath.newRequest.route, use: RequesterController.newRequest)
  app.get(PortalPath.request.route, use: RequesterController.show)
  app.on(
    .POST, PortalPath.withdraw.route, body: .collect(maxSize: "1kb"),
    use: RequesterController.withdraw)

  // Pickup (steps 10–12): by the link from the mail, or signed in.
  app.get(PortalPath.pickup.route, use: PickupController.page)
  app.get(PortalPath.pickupBundle.route, use: PickupController.bundle)
  app.get(PortalPath.pickupFile.route, use: PickupController.file)
  app.get(PortalPath.requestPickup.route, use: PickupController.page)
  app.get(PortalPath.requestPickupBundle.route, use: PickupController.bundle)
  app.get(PortalPath.requestPickupFile.route, use: PickupController.file)
  app.get(PortalPath.certificate.route, use: CertificateController.show)
  app.on(
    .POST, PortalPath.publishConsent.route, body: .collect(maxSize: "1kb"),
    use: DirectoryController.consent)
  app.get(PortalPath.directory.route, use: DirectoryController.page)
  app.get(PortalPath.directoryFile.route, use: DirectoryController.download)
  app.on(
    .POST, PortalPath.revoke.route, body: .collect(maxSize: "1kb"),
    use: CertificateController.revoke)
  app.on(
    .POST, PortalPath.askRecovery.route, body: .collect(maxSize: "8kb"),
    use: CertificateController.askRecovery)

  // The back office: staff sign-in and enrolment.
  app.get(PortalPath.staffHome.route, use: OperatorController.home)
  app.get(PortalPath.staffLogin.route, use: OperatorController.loginForm)
  app.get(PortalPath.staffLoginWithProvider.route, use: OIDCController.startStaff)
  app.on(
    .POST, PortalPath.staffLogin.route, body: .collect(maxSize: "4kb"),
    use: OperatorController.login)
  app.get(PortalPath.staffCode.route, use: OperatorController.codeForm)
  app.on(
    .POST, PortalPath.staffCode.route, body: .collect(maxSize: "1kb"),
    use: OperatorController.code)
  app.on(
    .POST, PortalPath.staffLogout.route, body: .collect(maxSize: "1kb"),
    use: OperatorController.logout)
  app.get(PortalPath.staffEnrol.route, use: OperatorController.enrolForm)
  app.get(PortalPath.staffEnrolled.route, use: OperatorController.enrolled)
  app.on(
    .POST, PortalPath.staffEnrol.route, body: .collect(maxSize: "4kb"),
    use: OperatorController.enrol)
  app.on(
    .POST, PortalPath.staffEnrolConfirm.route, body: .collect(maxSize: "1kb"),
    use: OperatorController.confirm)
  app.get(PortalPath.queue.route, use: BackOfficeController.queue)
  app.on(
    .POST, PortalPath.issuanceSwitch.route, body: .collect(maxSize: "1kb"),
    use: BackOfficeController.switchIssuance)
  app.get(PortalPath.deskRequest.route, use: BackOfficeController.show)
  app.on(
    .POST, PortalPath.deskEvidence.route, body: .collect(maxSize: "4kb"),
    use: BackOfficeController.recordEvidence)
  app.on(
    .POST, PortalPath.deskApprove.route, body: .collect(maxSize: "1kb"),
    use: BackOfficeController.approve)
  app.on(
    .POST, PortalPath.deskReject.route, body: .collect(maxSize: "4kb"),
    use: BackOfficeController.reject)
  app.get(PortalPath.deskCertificate.route, use: CertificateController.deskShow)
  app.on(
    .POST, PortalPath.deskRevoke.route, body: .collect(maxSize: "1kb"),
    use: CertificateController.deskRevoke)
  app.on(
    .POST, PortalPath.deskAskRecovery.route, body: .collect(maxSize: "8kb"),
    use: CertificateController.deskAskRecovery)
  // Key recovery: two recovery officers approve, then the envelope.
  app.get(PortalPath.recoveries.route, use: RecoveryController.list)
  app.get(PortalPath.recovery.route, use: RecoveryController.show)
  app.get(PortalPath.recoveryCertificate.route, use: RecoveryController.certificate)
  app.on(
    .POST, PortalPath.recoveryApprove.route, body: .collect(maxSize: "1kb"),
    use: RecoveryController.approve)
  app.on(
    .POST, PortalPath.recoveryDecline.route, body: .collect(maxSize: "8kb"),
    use: RecoveryController.decline)
  app.on(
    .POST, PortalPath.recoveryEnvelope.route, body: .collect(maxSize: "1kb"),
    use: RecoveryController.envelope)
  app.get(PortalPath.admin.route, use: AdminController.page)
  app.on(
    .POST, PortalPath.notice.route, body: .collect(maxSize: "8kb"),
    use: AdminController.setNotice)
  app.on(
    .POST, PortalPath.noticeClear.route, body: .collect(maxSize: "1kb"),
    use: AdminController.clearNotice)
  app.on(
    .POST, PortalPath.heldRevoke.route, body: .collect(maxSize: "1kb"),
    use: AdminController.revokeHeld)
  app.on(
    .POST, PortalPath.heldRelease.route, body: .collect(maxSize: "1kb"),
    use: AdminController.releaseHeld)
  app.on(
    .POST, PortalPath.heldReject.route, body: .collect(maxSize: "8kb"),
    use: AdminController.rejectHeld)
  app.get(PortalPath.adminDirectory.route, use: DirectoryController.notPublished)
  app.get(PortalPath.audit.route, use: AdminController.audit)
  app.get(PortalPath.auditExport.route, use: AdminController.export)

  // The JSON API of the browser's script. Its answers name a mailbox's
  // requests: never stored by a cache. A method the description does not
  // list is 405 with Allow.
  let api = app.grouped(NoStoreMiddleware())
  api.on(
    .POST, PortalPath.apiRequests.route, body: .collect(maxSize: "64kb"),
    use: RequestAPIController.create)
  api.get(PortalPath.apiRequests.route, use: RequestAPIController.list)
  api.get(PortalPath.apiRequest.route, use: RequestAPIController.show)
  api.on(
    .POST, PortalPath.apiWithdraw.route, body: .collect(maxSize: "1kb"),
    use: RequestAPIController.withdraw)
  api.get(PortalPath.apiDirectory.route, use: DirectoryController.api)
  app.get(PortalPath.openAPI.route, use: OpenAPIDocument.serve)
}

extension PortalPath {
  /// The path as the router's components.
  var route: [PathComponent] {
    segments.map { segment in
      switch segment {
      case .constant(let text): .constant(text)
      case .parameter(let name): .parameter(name)
      case .catchall: .catchall
      }
    }
  }
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
    (["api", "v1", "directory"], [.GET]),
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
