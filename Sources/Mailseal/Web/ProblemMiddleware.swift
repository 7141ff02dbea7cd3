import Foundation
import MailsealCA
import Vapor

/// Turns every error into an answer, in one place: an RFC 9457 problem
/// document for the API and other machine clients, an error page for a
/// browser, both in the request's language. Client errors say what is wrong;
/// server errors say nothing internal and are logged with a reference the
/// person can quote.
struct ProblemMiddleware: AsyncMiddleware {
  struct Problem: Content {
    let type: String
    let title: String
    let status: Int
    let detail: String
    let code: String
    let errors: [String: String]?
    let reference: String?
  }

  func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
    do {
      return try await next.respond(to: request)
    } catch {
      return try await response(for: error, request: request)
    }
  }

  func response(for error: any Error, request: Request) async throws -> Response {
    var problem = Self.describe(error)
    var reference: String?
    var retryAfter: Int?
    if let unavailable = StoreUnavailable.classify(error) {
      // Not a fault of ours to hide behind a reference: the database is
      // away for a moment (restart, fail-over) or cannot store (disk full).
      StoreRefusalLog.shared.note(unavailable, logger: request.logger)
      retryAfter = unavailable.retryAfterSeconds
    } else if problem.status.code >= 500 {
      let id = UUID().uuidString.prefix(8).lowercased()
      reference = id
      request.logger.error(
        "request failed",
        metadata: ["reference": .string(id), "error": .string(String(reflecting: error))])
      problem = MailsealError(
        code: problem.code, status: problem.status,
        detail: LocalizedText(
          de:
            "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es später noch einmal und nennen Sie die Referenz \(id), falls es so bleibt.",
          en:
            "Something went wrong on our side. Please try again later, and quote reference \(id) if it persists."
        ))
    }
    let language = Language.of(request)
    if Self.wantsPage(request) {
      let response = try await Pages.error(problem, reference: reference, for: request)
      response.status = problem.status
      if let retryAfter {
        response.headers.replaceOrAdd(name: "Retry-After", value: "\(retryAfter)")
      }
      return response
    }
    let body = Problem(
      type: "https://mailseal.invalid/problems/\(problem.code)",
      title: problem.status.reasonPhrase,
      status: Int(problem.status.code),
      detail: problem.detail[language],
      code: problem.code,
      errors: problem.fields.isEmpty ? nil : problem.fields.mapValues { $0[language] },
      reference: reference
    )
    let response = Response(
      status: problem.status, body: .init(data: try JSONEncoder().encode(body)))
    response.headers.contentType = HTTPMediaType(type: "application", subType: "problem+json")
    response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    if problem.status == .tooManyRequests {
      response.headers.replaceOrAdd(name: "Retry-After", value: "3600")
    }
    if let retryAfter { response.headers.replaceOrAdd(name: "Retry-After", value: "\(retryAfter)") }
    return response
  }

  /// A browser navigating to a page gets a page; the API, scripts and the
  /// CA's publication points get a problem document.
  static func wantsPage(_ request: Request) -> Bool {
    let path = request.url.path
    guard !path.hasPrefix("/api/"), !path.hasPrefix("/ca/"), !path.hasPrefix("/crl/"),
      !path.hasPrefix("/ocsp"),
      path != "/healthz"
    else { return false }
    return request.headers.first(name: .accept)?.contains("text/html") ?? false
  }

  /// The one mapping from errors to HTTP.
  static func describe(_ error: any Error) -> MailsealError {
    switch error {
    case let error as MailsealError:
      return error
    case let error as CAError:
      switch error.code {
      case .csrMalformed, .csrTooLarge, .csrBadSignature, .csrKeyNotAllowed, .csrRSAKeyTooSmall,
        .csrWeakKey,
        .csrRSAModulusNotByteAligned, .csrRSAExponentNotAllowed, .csrCurveNotAllowed:
        return MailsealError(
          code: error.code.rawValue,
          status: error.code == .csrTooLarge ? .payloadTooLarge : .unprocessableEntity,
          detail: LocalizedText(
            de:
              "Die Zertifikatsanforderung Ihres Browsers wurde abgelehnt (\(error.code.rawValue)). Bitte laden Sie die Seite neu und erzeugen Sie einen neuen Schlüssel.",
            en: "Your browser's certificate request was refused: \(error.message)"),
          fields: ["csr": LocalizedText(de: "Ungültige Zertifikatsanforderung.", en: error.message)]
        )
      case .invalidMailbox, .invalidName:
        return MailsealError(
          code: error.code.rawValue, status: .unprocessableEntity,
          detail: LocalizedText(de: "Eine Angabe ist ungültig: \(error.message)", en: error.message)
        )
      case .keyAlreadyCertified, .keyCompromised:
        return MailsealError(
          code: error.code.rawValue, status: .conflict,
          detail: LocalizedText(
            de: error.code == .keyCompromised
              ? "Dieser Schlüssel wurde als kompromittiert gesperrt und kann nie wieder zertifiziert werden. Bitte erzeugen Sie einen neuen."
              : "Dieser Schlüssel ist bereits für ein anderes Postfach zertifiziert. Bitte erzeugen Sie einen neuen.",
            en: error.message))
      case .lintFailed, .invalidIssuerPolicy, .issuerNotValid, .keyCustody, .wrongPassphrase,
        .caMaterialInvalid,
        .signatureMismatch:
        return MailsealError(
          code: error.code.rawValue, status: .internalServerError,
          detail: LocalizedText(de: "", en: ""))
      }
    case let error as StoreUnavailable:
      return .storeUnavailable(error)
    case let error as any AbortError:
      return MailsealError(
        code: "http-\(error.status.code)", status: error.status,
        detail: LocalizedText(de: error.reason, en: error.reason))
    default:
      if let unavailable = StoreUnavailable.classify(error) {
        return .storeUnavailable(unavailable)
      }
      return MailsealError(
        code: "internal", status: .internalServerError, detail: LocalizedText(de: "", en: ""))
    }
  }
}
