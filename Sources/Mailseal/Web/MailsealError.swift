public import Vapor

/// The application's one error type: a stable code, an HTTP status, a
/// sentence in both languages for the person who sees it, and, for forms,
/// the field each problem belongs to. `ProblemMiddleware` turns it into an
/// RFC 9457 problem document or a page, in one place.
public struct MailsealError: Error, Sendable, Equatable {
  public let code: String
  public let status: HTTPResponseStatus
  public let detail: LocalizedText
  /// Problems of single form fields, by field name.
  public var fields: [String: LocalizedText] = [:]

  public init(
    code: String, status: HTTPResponseStatus, detail: LocalizedText,
    fields: [String: LocalizedText] = [:]
  ) {
    self.code = code
    self.status = status
    self.detail = detail
    self.fields = fields
  }

  /// What a page says: the detail, then each field's problem (by field
  /// name, so always in the same order).
  func sentence(_ language: Language) -> String {
    ([detail[language]] + fields.sorted { $0.key < $1.key }.map { $0.value[language] })
      .joined(separator: " ")
  }

  public static let notFound = MailsealError(
    code: "not-found", status: .notFound,
    detail: LocalizedText(
      de: "Unter dieser Adresse gibt es nichts.", en: "There is nothing at this address."))

  public static let signInRequired = MailsealError(
    code: "sign-in-required", status: .unauthorized,
    detail: LocalizedText(
      de: "Bitte melden Sie sich zuerst über einen Anmeldelink an.",
      en: "Please sign in with a login link first."))

  public static let loginLinkUsed = MailsealError(
    code: "login-link-used", status: .gone,
    detail: LocalizedText(
      de:
        "Dieser Anmeldelink wurde schon benutzt; jeder Link gilt nur einmal. Bitte fordern Sie einen neuen an.",
      en: "This login link has already been used; each link works once. Please request a new one."))

  public static let csrf = MailsealError(
    code: "csrf-token-invalid", status: .forbidden,
    detail: LocalizedText(
      de:
        "Das Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
      en:
        "The form has expired or was not sent from this page. Please reload the page and try again."
    ))

  /// The database cannot be used for a moment (restart, fail-over) or
  /// cannot store anything (disk full, read-only): 503 with Retry-After.
  public static func storeUnavailable(_ unavailable: StoreUnavailable) -> MailsealError {
    MailsealError(
      code: "service-unavailable", status: .serviceUnavailable,
      detail: unavailable.cause == .unreachable
        ? LocalizedText(
          de:
            "Der Dienst ist gerade kurz nicht erreichbar. Bitte versuchen Sie es in einigen Sekunden noch einmal; es ist nichts verloren gegangen.",
          en:
            "The service is briefly unavailable. Please try again in a few seconds; nothing has been lost."
        )
        : LocalizedText(
          de:
            "Der Dienst kann gerade keine Daten speichern. Bitte versuchen Sie es später noch einmal; es ist nichts verloren gegangen.",
          en:
            "The service cannot store data right now. Please try again later; nothing has been lost."
        ))
  }
}
