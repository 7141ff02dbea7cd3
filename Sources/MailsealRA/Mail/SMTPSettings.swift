import Foundation

/// Where and how to deliver by SMTP, from `MAILSEAL_SMTP_URL`:
/// `smtp://[user:password@]host[:587]` (STARTTLS when the server offers it,
/// required when credentials are given) or `smtps://…[:465]` (implicit TLS).
public struct SMTPSettings: Sendable, Equatable {
  public var host: String
  public var port: Int
  public var implicitTLS: Bool
  public var username: String?
  public var password: String?
  /// `MAILSEAL_SMTP_CA_FILE`: PEM certificates to trust for the server
  /// instead of the system's (an internal relay's own CA).
  public var trustedCertificatesFile: String?

  /// Parses the URL; nil when it is not an smtp:// or smtps:// URL.
  public init?(url text: String) {
    guard let components = URLComponents(string: text),
      let scheme = components.scheme?.lowercased(),
      scheme == "smtp" || scheme == "smtps", let host = components.host, !host.isEmpty
    else { return nil }
    self.host = host
    self.implicitTLS = scheme == "smtps"
    self.port = components.port ?? (implicitTLS ? 465 : 587)
    self.username = components.user?.removingPercentEncoding
    self.password = components.password?.removingPercentEncoding
    guard (1...65535).contains(port), path(components).isEmpty else { return nil }
  }

  private func path(_ components: URLComponents) -> String { components.path }
}
