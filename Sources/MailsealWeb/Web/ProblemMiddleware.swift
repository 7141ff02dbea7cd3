import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
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

  /// What an error means for a client: a stable code, the status, the
  /// sentence and the fields' problems (catalogue messages).
  struct Description: Sendable {
    var code: String
    var status: HTTPResponseStatus
    var message: Message
    var fields: [String: Message] = [:]

    func detail(_ language: Language) -> String { Catalogue.text(message, language) }
  }

  func response(for error: any Error, request: Request) async throws -> Response {
    var problem = Self.describe(error)
    var reference: String?
    var retryAfter: Int?
    if let unavailable = StoreOutage.of(error) {
      // Not a fault of ours to hide behind a reference: the database is
      // away for a moment (restart, fail-over) or cannot store (disk full).
      StoreOutage.note(unavailable, logger: request.logger)
      retryAfter = unavailable.retryAfterSeconds
    } else if let error = error as? CAError, error.code == .keyUnavailable {
      // The HSM is away for now: named in the log, not a fault to hide
      // behind a reference.
      request.logger.error(
        "the CA key is unavailable", metadata: ["reason": .string(error.message)])
      retryAfter = 5
    } else if problem.status.code >= 500 {
      let id = UUID().uuidString.prefix(8).lowercased()
      reference = id
      request.logger.error(
        "request failed",
        metadata: ["reference": .string(id), "error": .string(String(reflecting: error))])
      problem.message = Message("problem_internal", ["reference": id])
      problem.fields = [:]
    } else if problem.status == .tooManyRequests {
      retryAfter = Self.retryAfter(problem.code)
    }
    let language = Language.of(request)
    let response: Response
    if Self.wantsPage(request) {
      response = try await Pages.error(problem, reference: reference, for: request)
      response.status = problem.status
    } else {
      let body = Problem(
        type: "https://mailseal.invalid/problems/\(problem.code)",
        title: problem.status.reasonPhrase,
        status: Int(problem.status.code),
        detail: problem.detail(language),
        code: problem.code,
        errors: problem.fields.isEmpty
          ? nil : problem.fields.mapValues { Catalogue.text($0, language) },
        reference: reference
      )
      response = Response(
        status: problem.status, body: .init(data: try JSONEncoder().encode(body)))
      response.headers.contentType = HTTPMediaType(type: "application", subType: "problem+json")
      response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    }
    if let retryAfter { response.headers.replaceOrAdd(name: "Retry-After", value: "\(retryAfter)") }
    // What an HTTP error says beside its status (Allow for a 405).
    if let abort = error as? any AbortError {
      for (name, value) in abort.headers where name.lowercased() == "allow" {
        response.headers.replaceOrAdd(name: name, value: value)
      }
    }
    return response
  }

  /// A browser navigating to a page gets a page; the API, scripts and the
  /// CA's publication points get a problem document.
  static func wantsPage(_ request: Request) -> Bool {
    switch SiteURL.area(of: request.url.path) {
    case .api, .publication, .operations: return false
    case .staff, .requester: break
    }
    return request.headers.first(name: .accept)?.contains("text/html") ?? false
  }

  /// The one mapping from errors to HTTP.
  static func describe(_ error: any Error) -> Description {
    switch error {
    case let error as MailsealError:
      return Description(
        code: error.code.rawValue, status: status(of: error.code), message: error.message,
        fields: error.fields)
    case let error as CAError:
      switch error.code {
      case .csrMalformed, .csrTooLarge, .csrBadSignature, .csrKeyNotAllowed, .csrRSAKeyTooSmall,
        .csrWeakKey,
        .csrRSAModulusNotByteAligned, .csrRSAExponentNotAllowed, .csrCurveNotAllowed:
        let arguments = ["code": error.code.rawValue, "reason": error.message]
        return Description(
          code: error.code.rawValue,
          status: error.code == .csrTooLarge ? .payloadTooLarge : .unprocessableEntity,
          message: Message("problem_csr_refused", arguments),
          fields: ["csr": Message("field_csr_refused", arguments)])
      case .invalidMailbox, .invalidName:
        return Description(
          code: error.code.rawValue, status: .unprocessableEntity,
          message: Message("problem_invalid_value", ["reason": error.message]))
      case .keyAlreadyCertified, .keyCompromised:
        return Description(
          code: error.code.rawValue, status: .conflict,
          message: Message(
            "problem_\(Catalogue.idPart(error.code.rawValue))", ["reason": error.message]))
      case .upstreamRefused:
        return Description(
          code: error.code.rawValue, status: .badGateway,
          message: Message("problem_upstream_refused", ["reason": error.message]))
      case .keyUnavailable:
        return Description(
          code: MailsealError.Code.serviceUnavailable.rawValue, status: .serviceUnavailable,
          message: Message("problem_service_unavailable"))
      case .envelopeMalformed, .envelopeTooLarge, .envelopeRecipientsWrong:
        return Description(
          code: error.code.rawValue,
          status: error.code == .envelopeTooLarge ? .payloadTooLarge : .unprocessableEntity,
          message: Message("problem_envelope_refused", ["reason": error.message]))
      case .lintFailed, .invalidIssuerPolicy, .issuerNotValid, .keyCustody, .wrongPassphrase,
        .caMaterialInvalid, .signatureMismatch, .recoveryMaterialInvalid, .recoveryKeyMismatch,
        .recoveredKeyMismatch:
        return Description(
          code: error.code.rawValue, status: .internalServerError,
          message: Message("problem_internal"))
      }
    case let error as any AbortError:
      return Description(
        code: "http-\(error.status.code)", status: error.status,
        message: Message("problem_http", ["reason": error.reason]))
    default:
      if let unavailable = StoreOutage.of(error) {
        return Description(
          code: MailsealError.Code.serviceUnavailable.rawValue, status: .serviceUnavailable,
          message: Message(
            unavailable.cause == .unreachable
              ? "problem_service_unavailable" : "problem_service_unavailable_cannot_store"))
      }
      return Description(
        code: MailsealError.Code.internal.rawValue, status: .internalServerError,
        message: Message("problem_internal"))
    }
  }

  /// How long to wait after a 429: a login link's hour, a staff attempt's
  /// quarter of an hour, a moment when the hashing queue is full.
  static func retryAfter(_ code: String) -> Int {
    switch MailsealError.Code(rawValue: code) {
    case .tooManyAttempts: return 900
    case .busy: return 5
    default: return 3600
    }
  }

  /// The status of each of the application's error codes.
  static func status(of code: MailsealError.Code) -> HTTPResponseStatus {
    switch code {
    case .invalidAddress, .domainNotAllowed, .invalidForm, .keyTypeMismatch, .invalidEvidence,
      .invalidReason, .reasonMissing, .noticeInvalid, .passwordMismatch, .passwordTooShort,
      .totpInvalid, .renewalNamesChanged, .renewalNeedsNewKey, .nameMismatch, .reasonNotAllowed:
      return .unprocessableEntity
    case .signInRequired, .operatorSignInRequired, .operatorSignInFailed, .metricsToken:
      return .unauthorized
    case .forbiddenForRole, .ownMailbox, .fourEyes, .csrfTokenInvalid, .identityProviderRefused,
      .localSignInOff, .recoveryOwnRequest:
      return .forbidden
    case .roleMailboxNeedsLoginLink: return .unprocessableEntity
    case .identityProviderUnavailable: return .badGateway
    case .operatorLocked: return .locked
    case .loginLinkInvalid, .pickupLinkInvalid, .operatorEnrolmentInvalid, .notFound:
      return .notFound
    case .loginLinkExpired, .loginLinkUsed: return .gone
    case .wrongState, .cannotWithdraw, .mailboxValidationStale, .evidenceTooOld, .operatorExists,
      .alreadyRevoked, .certificateExpired, .recoveryNotEscrowed, .recoveryOpen,
      .recoveryAlreadyApproved, .recoveryNotApproved, .recoveryExpired, .escrowStopped:
      return .conflict
    case .rateLimited, .tooManyAttempts, .busy: return .tooManyRequests
    case .serviceUnavailable: return .serviceUnavailable
    case .internal: return .internalServerError
    }
  }
}

extension MailsealError {
  /// The HTTP status of this error (``ProblemMiddleware/status(of:)``).
  var status: HTTPResponseStatus { ProblemMiddleware.status(of: code) }

  /// A refusal a form's page shows again with its reason; "not found" and
  /// faults of ours go to the error page instead.
  var isShownOnPage: Bool { status.code < 500 && code != .notFound }
}
