import MailsealModel
import MailsealRA
import Vapor

/// Headers every answer carries: a strict Content-Security-Policy (scripts
/// and styles only from the portal itself, no inline code), no referrer (the
/// login link is in the URL), no framing, no MIME sniffing.
struct SecurityHeadersMiddleware: AsyncMiddleware {
  static let contentSecurityPolicy = [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'",
  ].joined(separator: "; ")

  func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
    let response = try await next.respond(to: request)
    // OCSP responses, CRLs and CA certificates are data for relying
    // parties, fetched by mail programs far more often than pages: only
    // nosniff, to keep each answer small.
    if SiteURL.area(of: request.url.path) == .publication {
      response.headers.replaceOrAdd(name: "X-Content-Type-Options", value: "nosniff")
      return response
    }
    let headers = [
      ("Content-Security-Policy", Self.contentSecurityPolicy),
      ("Referrer-Policy", "no-referrer"),
      ("X-Content-Type-Options", "nosniff"),
      ("X-Frame-Options", "DENY"),
      ("Cross-Origin-Opener-Policy", "same-origin"),
      ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    for (name, value) in headers where !response.headers.contains(name: name) {
      response.headers.replaceOrAdd(name: name, value: value)
    }
    return response
  }
}

/// The browser's scripts and styles, from the package's Public folder —
/// only for the requester's area and only for paths a file system can name
/// (segments of at most 255 bytes, 1 KiB in all): anything else goes to the
/// router (404, or the OCSP responder for `/ocsp/…`), never to a file
/// lookup that fails with "name too long".
struct PublicFilesMiddleware: AsyncMiddleware {
  let files: FileMiddleware

  func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
    let path = request.url.path
    guard SiteURL.area(of: path) == .requester, path.utf8.count <= 1024,
      !path.split(separator: "/").contains(where: { $0.utf8.count > 255 })
    else { return try await next.respond(to: request) }
    return try await files.respond(to: request, chainingTo: next)
  }
}
