import MailsealModel
import MailsealRA
import Vapor

extension Language {
  /// The language of a request: `?lang=`, then the remembered choice
  /// (cookie), then Accept-Language, then German.
  static func of(_ request: Request) -> Language {
    if let query = request.query[String.self, at: "lang"], let language = Language(rawValue: query)
    {
      return language
    }
    if let cookie = request.cookies[Language.cookieName]?.string,
      let language = Language(rawValue: cookie)
    {
      return language
    }
    return fromAcceptLanguage(request.headers.first(name: .acceptLanguage) ?? "")
  }

  static let cookieName = "mailseal_lang"
}

extension Request {
  /// The zone times are shown in (`MAILSEAL_TIME_ZONE`).
  var timeZone: TimeZone { application.mailseal.portal.timeZone }
}
