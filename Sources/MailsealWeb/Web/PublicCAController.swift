import MailsealCA
import MailsealModel
import MailsealRA
import MailsealStatus
import Synchronization
import Vapor

/// What relying parties and monitors fetch without signing in.
enum PublicCAController {
  struct Health: Content {
    let status: String
    let database: String
    let issuer: String?
    /// "ok", or why the CA key cannot sign (a token that is away).
    var custody: String? = nil
    /// Key escrow: "off", "ok", or "stopped: " and why (the recovery
    /// certificates do not match MAILSEAL_RECOVERY_FINGERPRINTS). It does
    /// not change the status: pages, issuance and OCSP go on.
    var escrow: String? = nil
    /// An upstream CA: which, when it last answered or signed in, and the
    /// last error since (never a secret). It does not change the status:
    /// approved requests wait while it cannot be reached.
    var upstream: Upstream? = nil

    struct Upstream: Content {
      var name: String
      var lastReached: Date?
      var signedIn: Date?
      var lastError: String?
      var lastErrorAt: Date?
    }
  }

  /// `GET /healthz`: the database answers, an issuing CA is active, and
  /// its key can sign (a key in a token is looked up in the token).
  @Sendable
  static func health(_ request: Request) async throws -> Response {
    do {
      try await request.registrationAuthority.service.checkStoreAnswers()
      let issuer = try await request.application.caInstallation.activeIssuer()
      var references = [issuer?.keyReference].compactMap { $0 }
      if let issuer,
        let responder = try await request.application.caInstallation.newestResponder(of: issuer),
        let reference = responder.keyReference
      {
        references.append(reference)
      }
      // PKCS#11 calls block: off the event loop.
      let fault = try await request.application.threadPool.runIfActive(
        eventLoop: request.eventLoop
      ) { [references] in
        PKCS11KeyCustody.currentFault(references: references.map(KeyReference.init(rawValue:)))
      }.get()
      let status = issuer == nil ? "no-issuer" : fault != nil ? "key-unavailable" : "ok"
      var escrow = "off"
      if request.application.mailseal.escrow.isOn {
        let check = try await request.registrationAuthority.enrollment.escrowCheck()
        escrow = check.problem.map { "stopped: \($0)" } ?? "ok"
      }
      var health = Health(
        status: status, database: "ok", issuer: issuer?.slug, custody: fault?.message ?? "ok",
        escrow: escrow)
      if let upstream = request.application.mailseal.upstream,
        let state = request.application.upstreamHealth
      {
        health.upstream = Health.Upstream(
          name: upstream.connector.name, lastReached: await state.lastReached,
          signedIn: await state.lastSignIn, lastError: await state.lastError,
          lastErrorAt: await state.lastErrorAt)
      }
      let response = try await health.encodeResponse(
        status: status == "ok" ? .ok : .serviceUnavailable, for: request)
      response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
      if fault != nil { response.headers.replaceOrAdd(name: "Retry-After", value: "5") }
      return response
    } catch {
      if let unavailable = StoreOutage.of(error) {
        StoreOutage.note(unavailable, logger: request.logger)
      } else {
        request.logger.error("health check failed: \(String(reflecting: error))")
      }
      let response = try await Health(status: "unavailable", database: "unreachable", issuer: nil)
        .encodeResponse(status: .serviceUnavailable, for: request)
      response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
      response.headers.replaceOrAdd(
        name: "Retry-After", value: "\(StoreOutage.of(error)?.retryAfterSeconds ?? 5)")
      return response
    }
  }

  /// `GET /ca/<slug>.cer`: a CA certificate in DER (RFC 5280 §4.2.2.1),
  /// the caIssuers URL of the certificates it issued.
  @Sendable
  static func caCertificate(_ request: Request) async throws -> Response {
    let file = request.parameters.get("file") ?? ""
    guard file.hasSuffix(".cer") else { throw MailsealError.notFound }
    let slug = String(file.dropLast(4))
    guard slug.count == 16, slug.allSatisfy(\.isHexDigit),
      let issuer = try await request.application.caInstallation.issuer(slug: slug)
    else { throw MailsealError.notFound }
    var headers = HTTPHeaders()
    headers.contentType = HTTPMediaType(type: "application", subType: "pkix-cert")
    headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=86400")
    headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(slug).cer\"")
    return Response(status: .ok, headers: headers, body: .init(data: issuer.certificateDER))
  }

  /// `GET /crl/<slug>.crl`: the CA's current CRL in DER (RFC 5280 §5),
  /// the URL its certificates name as CRL distribution point.
  @Sendable
  static func crl(_ request: Request) async throws -> Response {
    let file = request.parameters.get("file") ?? ""
    guard file.hasSuffix(".crl") else { throw MailsealError.notFound }
    let slug = String(file.dropLast(4))
    guard slug.count == 16, slug.allSatisfy(\.isHexDigit),
      let publisher = request.application.crlPublisher,
      let crl = try await publisher.current(slug: slug)
    else { throw MailsealError.notFound }
    var headers = HTTPHeaders()
    headers.contentType = HTTPMediaType(type: "application", subType: "pkix-crl")
    // Relying parties may keep it a few minutes; a revocation is in the
    // next CRL within seconds.
    headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=300")
    headers.replaceOrAdd(name: .lastModified, value: HTTPHeaders.httpDate(crl.thisUpdate))
    headers.replaceOrAdd(name: .eTag, value: "\"\(slug)-\(crl.number)\"")
    return Response(status: .ok, headers: headers, body: .init(data: Data(crl.der)))
  }

  /// `GET /metrics`: Prometheus' text format; with `MAILSEAL_METRICS_TOKEN`
  /// set, only for `Authorization: Bearer <token>`.
  @Sendable
  static func metrics(_ request: Request) async throws -> Response {
    switch request.application.mailseal.metrics.access {
    case .open: break
    case .token(let token):
      let given = request.headers.bearerAuthorization?.token ?? ""
      guard SecretToken.constantTimeEquals(given, token) else {
        throw MailsealError(.metricsToken)
      }
    case .off: throw MailsealError.notFound
    }
    let body = try await request.application.scrapeMetrics()
    var headers = HTTPHeaders()
    headers.replaceOrAdd(name: .contentType, value: "text/plain; version=0.0.4; charset=utf-8")
    headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return Response(status: .ok, headers: headers, body: .init(data: Data(body)))
  }

  /// `POST /ocsp` with `application/ocsp-request`.
  @Sendable
  static func ocspPost(_ request: Request) async throws -> Response {
    let body = request.body.data.map { Array($0.readableBytesView) } ?? []
    let answer = await request.application.ocspService.respond(
      to: body, client: ocspClient(request))
    request.application.metrics.ocspResponses[answer.outcome]?.increment()
    return ocspResponse(answer, cacheable: false)
  }

  /// `GET /ocsp/<base64 of the DER request>` (RFC 6960 appendix A.1, RFC
  /// 5019 §5): cacheable by proxies until the response's nextUpdate.
  @Sendable
  static func ocspGet(_ request: Request) async throws -> Response {
    let bytes = ocspGetRequest(path: request.url.path)
    let answer = await request.application.ocspService.respond(
      to: bytes, client: ocspClient(request))
    request.application.metrics.ocspResponses[answer.outcome]?.increment()
    return ocspResponse(answer, cacheable: true)
  }

  /// `/ocsp/`, the start of every GET request's path.
  static let getPrefixBytes = Array("/\(PublicEndpoints.ocspPath)/".utf8)
  /// `/ocsp`, the path of POST.
  static let postPathBytes = Array("/\(PublicEndpoints.ocspPath)".utf8)

  /// Who asks, for the OCSP signing gate (its per-client limit).
  static func ocspClient(_ request: Request) -> String {
    RequesterSession.clientAddress(request, settings: request.application.mailseal.portal)
  }

  /// The DER request in a GET path. Anything that is not base64 of a
  /// request reaches the responder as no bytes at all, which it answers
  /// malformedRequest.
  static func ocspGetRequest(path: String) -> [UInt8] {
    ocspGetRequest(pathBytes: path.utf8)
  }

  /// ``ocspGetRequest(path:)`` on the path's bytes (the OCSP listener reads
  /// them straight from the request line).
  static func ocspGetRequest<Path: Collection<UInt8>>(pathBytes path: Path) -> [UInt8] {
    let prefix = getPrefixBytes
    guard path.count <= 12_000, path.starts(with: prefix) else { return [] }
    // Percent-decoded (clients escape +, / and =, or not) …
    var text: [UInt8] = []
    text.reserveCapacity(path.count)
    var bytes = path.dropFirst(prefix.count).makeIterator()
    while let byte = bytes.next() {
      guard byte == UInt8(ascii: "%") else {
        text.append(byte)
        continue
      }
      guard let high = bytes.next()?.hexDigitValue, let low = bytes.next()?.hexDigitValue
      else { return [] }
      text.append(high << 4 | low)
    }
    // … then base64 (RFC 4648 §4, padded).
    return base64Decoded(text) ?? []
  }

  /// Base64 with the standard alphabet and padding; nil for anything else.
  static func base64Decoded(_ text: [UInt8]) -> [UInt8]? {
    guard text.count % 4 == 0 else { return nil }
    func value(_ character: UInt8) -> UInt32? {
      switch character {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(character - UInt8(ascii: "A"))
      case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(character - UInt8(ascii: "a") + 26)
      case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(character - UInt8(ascii: "0") + 52)
      case UInt8(ascii: "+"): return 62
      case UInt8(ascii: "/"): return 63
      default: return nil
      }
    }
    var decoded: [UInt8] = []
    decoded.reserveCapacity(text.count / 4 * 3)
    var index = 0
    while index < text.count {
      let last = index + 4 == text.count
      let padding =
        last && text[index + 3] == UInt8(ascii: "=")
        ? (text[index + 2] == UInt8(ascii: "=") ? 2 : 1) : 0
      var group: UInt32 = 0
      for offset in 0..<(4 - padding) {
        guard let sextet = value(text[index + offset]) else { return nil }
        group = group << 6 | sextet
      }
      group <<= UInt32(6 * padding)
      decoded.append(UInt8(truncatingIfNeeded: group >> 16))
      if padding < 2 { decoded.append(UInt8(truncatingIfNeeded: group >> 8)) }
      if padding < 1 { decoded.append(UInt8(truncatingIfNeeded: group)) }
      index += 4
    }
    return decoded
  }

  static func ocspResponse(_ answer: OCSPService.Answer, cacheable: Bool) -> Response {
    let headers = ocspHeaders(answer, cacheable: cacheable)
    var body = ByteBufferAllocator().buffer(capacity: answer.der.count)
    body.writeBytes(answer.der)
    return Response(status: .ok, headers: headers, body: .init(buffer: body))
  }

  /// The headers of an OCSP answer, on the portal's port and on the OCSP
  /// listener's alike.
  static func ocspHeaders(_ answer: OCSPService.Answer, cacheable: Bool) -> HTTPHeaders {
    var headers = HTTPHeaders()
    headers.reserveCapacity(5)
    headers.add(name: .contentType, value: "application/ocsp-response")
    // What SecurityHeadersMiddleware gives every publication; set here too
    // for answers that take the short path (OCSPFrontResponder).
    headers.add(name: "X-Content-Type-Options", value: "nosniff")
    if cacheable, let thisUpdate = answer.thisUpdate, let nextUpdate = answer.nextUpdate {
      // RFC 5019 §6.2: max-age no later than nextUpdate; an hour at most
      // here, so that a revocation reaches caches soon.
      let maxAge = max(0, min(3600, Int(nextUpdate.timeIntervalSinceNow)))
      headers.add(
        name: .cacheControl, value: "public, max-age=\(maxAge), no-transform, must-revalidate")
      headers.add(name: .lastModified, value: HTTPHeaders.httpDate(thisUpdate))
      headers.add(name: .expires, value: HTTPHeaders.httpDate(nextUpdate))
    } else {
      headers.add(name: .cacheControl, value: "no-store")
    }
    return headers
  }
}

extension HTTPHeaders {
  /// An HTTP date (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
  static func httpDate(_ date: Date) -> String {
    let second = Int64(date.timeIntervalSince1970.rounded(.down))
    if let text = httpDates.withLock({ $0[second] }) { return text }
    let text = MIME.dateText(date, zone: "GMT")
    httpDates.withLock { dates in
      if dates.count >= 4_096 { dates.removeAll(keepingCapacity: true) }
      dates[second] = text
    }
    return text
  }

  /// Dates written lately: cached OCSP responses share a few thisUpdate
  /// and nextUpdate seconds, so a GET formats no date.
  private static let httpDates = Mutex<[Int64: String]>([:])
}
