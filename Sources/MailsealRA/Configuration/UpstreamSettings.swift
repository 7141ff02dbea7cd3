public import Foundation
public import MailsealCA
public import X509

/// `MAILSEAL_UPSTREAM*`: which certificate authority issues — the embedded
/// CA (default), or a publicly trusted one reached through its API, for
/// which Mailseal is the registration authority (HARICA through GÉANT
/// TCS, Sectigo Certificate Manager, any CA that speaks CMP).
public struct UpstreamSettings: Sendable {
  /// The connector and what it needs.
  public enum Connector: Sendable {
    /// `MAILSEAL_HARICA_*`: the CertManager session API.
    case harica(email: String, password: String, totpSecret: [UInt8]?, organization: String)
    /// `MAILSEAL_SECTIGO_*`: Sectigo Certificate Manager's REST API.
    case sectigo(
      customerURI: String, login: String, password: String, organizationID: Int,
      personalType: Int, roleType: Int, termDays: Int)
    /// `MAILSEAL_CMP_*`: CMP (RFC 4210/9480, the lightweight profile of
    /// RFC 9483) with a shared secret.
    case cmp(reference: String, secret: [UInt8], recipient: DistinguishedName)

    /// Its name in `MAILSEAL_UPSTREAM`, logs and `/healthz`.
    public var name: String {
      switch self {
      case .harica: "harica"
      case .sectigo: "sectigo"
      case .cmp: "cmp"
      }
    }
  }

  public var connector: Connector
  /// `MAILSEAL_UPSTREAM_URL`: the API's base URL (https; http only on a
  /// loopback host).
  public var url: URL
  /// `MAILSEAL_UPSTREAM_CA_FILE`: PEM roots to trust for the API's TLS
  /// instead of the system's.
  public var caFile: String?
  /// `MAILSEAL_UPSTREAM_CHAIN_FILE`: the upstream's issuing CA(s) and root;
  /// every certificate that comes back must chain to it.
  public var trust: UpstreamTrust
  /// `MAILSEAL_UPSTREAM_CONCURRENCY`: orders in flight (default 8).
  public var concurrency: Int

  /// Longest secret file read.
  static let maximumSecret = 4096

  /// Reads the part: nil for the embedded CA; every missing or malformed
  /// value named in `problems`.
  static func load(_ value: (String) -> String?, problems: inout [ConfigurationError.Problem])
    -> UpstreamSettings?
  {
    let kind = value("MAILSEAL_UPSTREAM")?.lowercased() ?? "embedded"
    guard kind != "embedded" else {
      for name in Self.variables where value(name) != nil {
        problems.append(
          .init(
            variable: name,
            message: "is set, but MAILSEAL_UPSTREAM is `embedded`: set MAILSEAL_UPSTREAM too."))
      }
      return nil
    }
    guard ["harica", "sectigo", "cmp"].contains(kind) else {
      problems.append(
        .init(
          variable: "MAILSEAL_UPSTREAM",
          message: "must be `embedded`, `harica`, `sectigo` or `cmp`."
        ))
      return nil
    }
    let before = problems.count
    func required(_ name: String, _ what: String) -> String? {
      guard let text = value(name) else {
        problems.append(.init(variable: name, message: "\(what) is required."))
        return nil
      }
      guard text.utf8.count <= 1024 else {
        problems.append(.init(variable: name, message: "is longer than 1024 bytes."))
        return nil
      }
      return text
    }
    func secret(_ name: String, _ what: String, required: Bool = true) -> [UInt8]? {
      guard let path = value(name) else {
        if required {
          problems.append(.init(variable: name, message: "a file with \(what) is required."))
        }
        return nil
      }
      switch Self.readSecret(path, what: what) {
      case .success(let bytes): return bytes
      case .failure(let problem):
        problems.append(.init(variable: name, message: problem.message))
        return nil
      }
    }
    func number(_ name: String, _ what: String, range: ClosedRange<Int>, default fallback: Int?)
      -> Int?
    {
      guard let text = value(name) else {
        if fallback == nil {
          problems.append(.init(variable: name, message: "\(what) is required."))
        }
        return fallback
      }
      guard let number = Int(text), range.contains(number) else {
        problems.append(
          .init(
            variable: name,
            message:
              "“\(text.prefix(40))” is not \(what) (\(range.lowerBound)…\(range.upperBound))."))
        return nil
      }
      return number
    }

    // The API.
    var url: URL?
    if let text = required("MAILSEAL_UPSTREAM_URL", "the upstream API's base URL") {
      if let parsed = URL(string: text), let scheme = parsed.scheme?.lowercased(),
        let host = parsed.host, !host.isEmpty, parsed.user == nil, parsed.query == nil,
        scheme == "https" || (scheme == "http" && MailsealConfiguration.isLoopback(host))
      {
        url = parsed
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_UPSTREAM_URL",
            message:
              "“\(text.prefix(100))” is not an https:// URL (http:// only on 127.0.0.1, ::1 or localhost) without user or query."
          ))
      }
    }
    let caFile = value("MAILSEAL_UPSTREAM_CA_FILE")
    if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
      problems.append(
        .init(variable: "MAILSEAL_UPSTREAM_CA_FILE", message: "the file \(caFile) cannot be read."))
    }
    var trust: UpstreamTrust?
    if let path = required(
      "MAILSEAL_UPSTREAM_CHAIN_FILE", "a PEM file with the upstream's issuing CA(s) and root")
    {
      if let data = FileManager.default.contents(atPath: path) {
        do {
          trust = try UpstreamTrust(pem: String(decoding: data, as: UTF8.self))
        } catch {
          problems.append(.init(variable: "MAILSEAL_UPSTREAM_CHAIN_FILE", message: error.message))
        }
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_UPSTREAM_CHAIN_FILE", message: "the file \(path) cannot be read."))
      }
    }
    let concurrency = number(
      "MAILSEAL_UPSTREAM_CONCURRENCY", "a number of orders", range: 1...64, default: 8)

    // The connector.
    var connector: Connector?
    switch kind {
    case "harica":
      let email = required("MAILSEAL_HARICA_EMAIL", "the service account's address")
      if let email, (try? Mailbox(email)) == nil {
        problems.append(
          .init(
            variable: "MAILSEAL_HARICA_EMAIL", message: "“\(email.prefix(100))” is not an address.")
        )
      }
      let password = secret("MAILSEAL_HARICA_PASSWORD_FILE", "the service account's password")
      var totp: [UInt8]?
      if let encoded = secret(
        "MAILSEAL_HARICA_TOTP_SECRET_FILE", "the account's TOTP secret (base32)", required: false)
      {
        totp = OneTimePassword.base32(decoding: String(decoding: encoded, as: UTF8.self))
        if totp.map({ $0.count < 10 }) ?? true {
          problems.append(
            .init(
              variable: "MAILSEAL_HARICA_TOTP_SECRET_FILE",
              message: "the file does not hold a base32 secret of at least 80 bits."))
        }
      }
      let organization = required(
        "MAILSEAL_HARICA_ORGANIZATION", "the organisation's name or id at HARICA")
      if let email, let password, let organization, problems.count == before {
        connector = .harica(
          email: email, password: String(decoding: password, as: UTF8.self), totpSecret: totp,
          organization: organization)
      }
    case "sectigo":
      let customer = required("MAILSEAL_SECTIGO_CUSTOMER_URI", "the customer URI")
      let login = required("MAILSEAL_SECTIGO_LOGIN", "the API account's login")
      let password = secret("MAILSEAL_SECTIGO_PASSWORD_FILE", "the API account's password")
      let organization = number(
        "MAILSEAL_SECTIGO_ORG_ID", "an organisation id", range: 1...Int(Int32.max), default: nil)
      let personal = number(
        "MAILSEAL_SECTIGO_CERT_TYPE", "a certificate type id", range: 1...Int(Int32.max),
        default: nil)
      let role = number(
        "MAILSEAL_SECTIGO_ROLE_CERT_TYPE", "a certificate type id", range: 1...Int(Int32.max),
        default: nil)
      let term = number("MAILSEAL_SECTIGO_TERM", "a term in days", range: 1...825, default: 365)
      if let customer, let login, let password, let organization, let personal, let role,
        let term, problems.count == before
      {
        connector = .sectigo(
          customerURI: customer, login: login, password: String(decoding: password, as: UTF8.self),
          organizationID: organization, personalType: personal, roleType: role, termDays: term)
      }
    default:
      let reference = required("MAILSEAL_CMP_REFERENCE", "the reference of the shared secret")
      let secret = secret("MAILSEAL_CMP_SECRET_FILE", "the shared secret")
      var recipient: DistinguishedName?
      if let text = required(
        "MAILSEAL_CMP_RECIPIENT", "the CA's name in RFC 4514 form (CN=Issuing CA,O=Example)")
      {
        recipient = DistinguishedName(rfc4514: text)
        if recipient == nil {
          problems.append(
            .init(
              variable: "MAILSEAL_CMP_RECIPIENT",
              message:
                "“\(text.prefix(100))” is not a name in RFC 4514 form (CN=Issuing CA,O=Example)."
            ))
        }
      }
      if let reference, let secret, let recipient, problems.count == before {
        connector = .cmp(reference: reference, secret: secret, recipient: recipient)
      }
    }
    guard let connector, let url, let trust, let concurrency, problems.count == before else {
      return nil
    }
    return UpstreamSettings(
      connector: connector, url: url, caFile: caFile, trust: trust, concurrency: concurrency)
  }

  /// Every variable of the part, named when set without an upstream.
  static let variables = [
    "MAILSEAL_UPSTREAM_URL", "MAILSEAL_UPSTREAM_CA_FILE", "MAILSEAL_UPSTREAM_CHAIN_FILE",
    "MAILSEAL_UPSTREAM_CONCURRENCY", "MAILSEAL_HARICA_EMAIL", "MAILSEAL_HARICA_PASSWORD_FILE",
    "MAILSEAL_HARICA_TOTP_SECRET_FILE", "MAILSEAL_HARICA_ORGANIZATION",
    "MAILSEAL_SECTIGO_CUSTOMER_URI", "MAILSEAL_SECTIGO_LOGIN", "MAILSEAL_SECTIGO_PASSWORD_FILE",
    "MAILSEAL_SECTIGO_ORG_ID", "MAILSEAL_SECTIGO_CERT_TYPE", "MAILSEAL_SECTIGO_ROLE_CERT_TYPE",
    "MAILSEAL_SECTIGO_TERM", "MAILSEAL_CMP_REFERENCE", "MAILSEAL_CMP_SECRET_FILE",
    "MAILSEAL_CMP_RECIPIENT",
  ]

  /// Why a secret file cannot be used.
  struct SecretProblem: Error {
    let message: String
  }

  /// A secret file as the other secret files: a real file of this user
  /// that nobody else may read (0600), not empty, at most 4 KiB; a
  /// trailing line end is not part of the secret.
  static func readSecret(_ path: String, what: String) -> Result<[UInt8], SecretProblem> {
    do {
      try FileKeyCustody.requirePrivate(path, what: "file with \(what)", mode: 0o600)
    } catch {
      return .failure(SecretProblem(message: error.message))
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      return .failure(SecretProblem(message: "the file \(path) cannot be read."))
    }
    guard data.count <= maximumSecret else {
      return .failure(
        SecretProblem(message: "the file \(path) is longer than \(maximumSecret) bytes."))
    }
    var bytes = Array(data)
    if bytes.last == 0x0a { bytes.removeLast() }
    if bytes.last == 0x0d { bytes.removeLast() }
    guard !bytes.isEmpty else {
      return .failure(SecretProblem(message: "the file \(path) is empty."))
    }
    return .success(bytes)
  }
}
