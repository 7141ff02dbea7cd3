import MailsealCA
public import Vapor

/// The application's error type for the web layer: a stable code, an HTTP
/// status and a sentence for the person who sees it.
public struct MailsealError: Error, Sendable {
  public let code: String
  public let status: HTTPResponseStatus
  public let detail: String

  public static let notFound = MailsealError(
    code: "not-found", status: .notFound, detail: "There is nothing at this address.")
}

/// Turns every error into an RFC 9457 problem document, in one place.
/// Client errors say what is wrong; server errors say nothing internal and
/// are logged with a reference the person can quote.
struct ProblemMiddleware: AsyncMiddleware {
  let environment: Environment

  struct Problem: Content {
    let type: String
    let title: String
    let status: Int
    let detail: String
    let code: String
    let reference: String?
  }

  func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
    do {
      return try await next.respond(to: request)
    } catch {
      return try await problemResponse(for: error, request: request)
    }
  }

  func problemResponse(for error: any Error, request: Request) async throws -> Response {
    let (status, code, detail) = Self.describe(error)
    var reference: String?
    if status.code >= 500 {
      reference = UUID().uuidString.prefix(8).lowercased()
      request.logger.error(
        "request failed",
        metadata: ["reference": .string(reference!), "error": .string(String(reflecting: error))])
    }
    let problem = Problem(
      type: "https://mailseal.invalid/problems/\(code)",
      title: status.reasonPhrase,
      status: Int(status.code),
      detail: status.code >= 500
        ? "Something went wrong on our side. Please try again later, and quote reference \(reference!) if it persists."
        : detail,
      code: code,
      reference: reference
    )
    let response = Response(status: status, body: .init(data: try JSONEncoder().encode(problem)))
    response.headers.contentType = HTTPMediaType(type: "application", subType: "problem+json")
    response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return response
  }

  /// The one mapping from errors to HTTP.
  static func describe(_ error: any Error) -> (HTTPResponseStatus, String, String) {
    switch error {
    case let error as MailsealError:
      return (error.status, error.code, error.detail)
    case let error as CAError:
      switch error.code {
      case .csrMalformed, .csrTooLarge, .csrBadSignature, .csrKeyNotAllowed, .csrRSAKeyTooSmall,
        .csrWeakKey,
        .csrRSAModulusNotByteAligned, .csrRSAExponentNotAllowed, .csrCurveNotAllowed,
        .invalidMailbox, .invalidName:
        return (
          error.code == .csrTooLarge ? .payloadTooLarge : .unprocessableEntity, error.code.rawValue,
          error.message
        )
      case .keyAlreadyCertified, .keyCompromised:
        return (.conflict, error.code.rawValue, error.message)
      case .lintFailed, .invalidIssuerPolicy, .issuerNotValid, .keyCustody, .wrongPassphrase,
        .caMaterialInvalid, .signatureMismatch:
        return (.internalServerError, error.code.rawValue, error.message)
      }
    case let error as any AbortError:
      return (
        error.status, "http-\(error.status.code)", error.status.code >= 500 ? "" : error.reason
      )
    default:
      return (.internalServerError, "internal", "")
    }
  }
}
