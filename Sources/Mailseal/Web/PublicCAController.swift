import Fluent
import MailsealCA
import SQLKit
import Vapor

/// What relying parties and monitors fetch without signing in.
enum PublicCAController {
  struct Health: Content {
    let status: String
    let database: String
    let issuer: String?
  }

  /// `GET /healthz`: the database answers and an issuing CA is active.
  @Sendable
  static func health(_ request: Request) async throws -> Response {
    do {
      _ = try await (request.db as! any SQLDatabase).raw("SELECT 1").all()
      let issuer = try await request.application.caInstallation.activeIssuer()
      let health = Health(
        status: issuer == nil ? "no-issuer" : "ok", database: "ok", issuer: issuer?.slug)
      let response = try await health.encodeResponse(
        status: issuer == nil ? .serviceUnavailable : .ok, for: request)
      response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
      return response
    } catch {
      request.logger.error("health check failed: \(error)")
      let response = try await Health(status: "unavailable", database: "unreachable", issuer: nil)
        .encodeResponse(status: .serviceUnavailable, for: request)
      response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
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
      let issuer = try await IssuerRecord.query(on: request.db).filter(\.$slug == slug).first()
    else { throw MailsealError.notFound }
    var headers = HTTPHeaders()
    headers.contentType = HTTPMediaType(type: "application", subType: "pkix-cert")
    headers.replaceOrAdd(name: .cacheControl, value: "public, max-age=86400")
    headers.replaceOrAdd(name: .contentDisposition, value: "attachment; filename=\"\(slug).cer\"")
    return Response(status: .ok, headers: headers, body: .init(data: issuer.certificateDER))
  }
}
