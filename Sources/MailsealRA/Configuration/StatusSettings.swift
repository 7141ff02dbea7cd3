import Foundation

/// `MAILSEAL_OCSP_*`: how the OCSP responder signs and where it listens.
public struct OCSPSettings: Sendable, Equatable {
  /// `MAILSEAL_OCSP_SIGNER`: `responder` (default: the delegated responder
  /// certificate) or `ca` (the issuing CA key signs OCSP responses).
  public var signedByCA = false
  /// `MAILSEAL_OCSP_LISTEN` (`host:port`): a listener of its own for OCSP
  /// alone (`POST /ocsp`, `GET /ocsp/…`), beside the portal's; nil: OCSP
  /// is answered on the portal's port only.
  public var listen: ListenAddress?

  public init(signedByCA: Bool = false, listen: ListenAddress? = nil) {
    self.signedByCA = signedByCA
    self.listen = listen
  }

  /// Reads the part, naming every malformed value in `problems`.
  static func load(_ value: (String) -> String?, problems: inout [ConfigurationError.Problem])
    -> OCSPSettings
  {
    let signer = value("MAILSEAL_OCSP_SIGNER")?.lowercased() ?? "responder"
    if signer != "responder" && signer != "ca" {
      problems.append(
        .init(variable: "MAILSEAL_OCSP_SIGNER", message: "must be `responder` or `ca`."))
    }
    var ocspListen: ListenAddress?
    if let text = value("MAILSEAL_OCSP_LISTEN") {
      // host:port, the host an address or name (IPv6 in brackets).
      if let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
        (1...65_535).contains(port)
      {
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if !host.isEmpty, host.count <= 253,
          host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) })
        {
          ocspListen = ListenAddress(host: host, port: port)
        }
      }
      if ocspListen == nil {
        problems.append(
          .init(
            variable: "MAILSEAL_OCSP_LISTEN",
            message:
              "“\(text.prefix(100))” is not host:port (e.g. 127.0.0.1:8081 or [::1]:8081)."))
      }
    }
    return OCSPSettings(signedByCA: signer == "ca", listen: ocspListen)
  }
}

/// `MAILSEAL_METRICS_TOKEN`: who may read `GET /metrics`.
public struct MetricsSettings: Sendable, Equatable {
  /// `MAILSEAL_METRICS_TOKEN`: when set, `GET /metrics` needs
  /// `Authorization: Bearer <token>`.
  public var token: String?
  /// Whether the public URL names this machine (127.0.0.0/8, ::1,
  /// localhost): then `/metrics` may be open without a token.
  public var publicURLIsLoopback = true

  public init(token: String? = nil, publicURLIsLoopback: Bool = true) {
    self.token = token
    self.publicURLIsLoopback = publicURLIsLoopback
  }

  /// Who may read `GET /metrics`.
  public enum Access: Sendable, Equatable {
    /// Anyone who reaches it: only when the portal is reached on loopback.
    case open
    /// Whoever sends `Authorization: Bearer <token>`.
    case token(String)
    /// Nobody: the portal is public and no token is set.
    case off
  }

  public var access: Access {
    if let token { return .token(token) }
    return publicURLIsLoopback ? .open : .off
  }

  /// Reads the part, naming every malformed value in `problems`.
  static func load(
    _ value: (String) -> String?, publicURL: String, problems: inout [ConfigurationError.Problem]
  ) -> MetricsSettings {
    let metricsToken = value("MAILSEAL_METRICS_TOKEN")
    if let metricsToken, metricsToken.count < 16 || metricsToken.count > 256 {
      problems.append(
        .init(variable: "MAILSEAL_METRICS_TOKEN", message: "must be 16 to 256 characters long."))
    }
    let host = URL(string: publicURL)?.host ?? "localhost"
    return MetricsSettings(
      token: metricsToken,
      publicURLIsLoopback: MailsealConfiguration.isLoopback(host))
  }
}
