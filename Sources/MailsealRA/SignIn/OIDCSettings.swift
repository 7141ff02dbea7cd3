public import Foundation
public import MailsealModel
import MailsealStore

/// Sign-in through the organisation's OpenID provider
/// (`MAILSEAL_OIDC_*`); nil in the configuration when no issuer is set.
public struct OIDCSettings: Sendable, Equatable {
  /// `MAILSEAL_OIDC_ISSUER`: https://…, or http:// on loopback (trials, tests).
  public var issuer: String
  /// `MAILSEAL_OIDC_CLIENT_ID`.
  public var clientID: String
  /// From `MAILSEAL_OIDC_CLIENT_SECRET_FILE` (never logged).
  var clientSecret: String
  /// `MAILSEAL_OIDC_CA_FILE`: PEM roots to trust for the provider, instead
  /// of the system's.
  public var caFile: String?
  /// `MAILSEAL_OIDC_SCOPES` (default `openid email profile`; `openid` is
  /// always asked for).
  public var scopes: [String]
  /// `MAILSEAL_OIDC_ROLE_CLAIM` (default `groups`): the claim whose values
  /// decide staff roles.
  public var roleClaim: String
  /// `MAILSEAL_OIDC_ROLES=operator:GROUP,admin:GROUP,auditor:GROUP`.
  public var roles: [StaffRole: Set<String>]
  /// `MAILSEAL_OIDC_STAFF_ACR`: the `acr` values (comma-separated) that
  /// count as multi-factor for staff; empty: not asked.
  public var staffACR: Set<String>
  /// `MAILSEAL_OIDC_REQUESTERS=true`: requesters may sign in through the
  /// provider too (only for the allowed mail domains, verified addresses).
  public var requesters: Bool
  /// `MAILSEAL_OIDC_SESSION_MINUTES` (default 60): how long a staff
  /// session made by the provider lasts; then a fresh sign-in there is
  /// needed, which sees a role taken away.
  public var sessionMinutes = 60
  /// `MAILSEAL_OIDC_ALLOW_FOREIGN_ENDPOINTS=true`: the discovery document
  /// may name endpoints on hosts other than the issuer's.
  public var allowForeignEndpoints = false

  /// The lifetime of a staff session made by the provider.
  public var sessionLifetime: TimeInterval { TimeInterval(sessionMinutes * 60) }

  /// The bounds of `MAILSEAL_OIDC_SESSION_MINUTES`.
  static let sessionMinutesRange = 5...1440

  /// The staff role a set of claim values gives: the strongest mapped one.
  public func role(for values: [String]) -> StaffRole? {
    let held = Set(values)
    for role in [StaffRole.admin, .operator, .recoveryOfficer, .auditor]
    where !(roles[role] ?? []).isDisjoint(with: held) {
      return role
    }
    return nil
  }

  /// Whether `url` is an http:// URL on a loopback address.
  static func isLoopbackHTTP(_ url: String) -> Bool {
    guard let parsed = URL(string: url), parsed.scheme == "http", let host = parsed.host else {
      return false
    }
    return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]"
  }

  /// Reads the settings; every problem is named. Nil without an issuer.
  static func load(
    _ value: (String) -> String?, problems: inout [ConfigurationError.Problem]
  ) -> OIDCSettings? {
    let names = [
      "MAILSEAL_OIDC_CLIENT_ID", "MAILSEAL_OIDC_CLIENT_SECRET_FILE", "MAILSEAL_OIDC_CA_FILE",
      "MAILSEAL_OIDC_SCOPES", "MAILSEAL_OIDC_ROLE_CLAIM", "MAILSEAL_OIDC_ROLES",
      "MAILSEAL_OIDC_STAFF_ACR", "MAILSEAL_OIDC_REQUESTERS", "MAILSEAL_OIDC_SESSION_MINUTES",
      "MAILSEAL_OIDC_ALLOW_FOREIGN_ENDPOINTS",
    ]
    guard let issuer = value("MAILSEAL_OIDC_ISSUER") else {
      for name in names where value(name) != nil {
        problems.append(.init(variable: name, message: "it needs MAILSEAL_OIDC_ISSUER."))
      }
      return nil
    }
    // Kept exactly as given: `iss` must equal it, trailing "/" and all.
    if !(issuer.hasPrefix("https://") && URL(string: issuer)?.host != nil)
      && !isLoopbackHTTP(issuer)
    {
      problems.append(
        .init(
          variable: "MAILSEAL_OIDC_ISSUER",
          message:
            "“\(issuer.prefix(200))” is not an https:// URL (http:// only on 127.0.0.1 or localhost, for trials)."
        ))
    }
    let clientID = value("MAILSEAL_OIDC_CLIENT_ID") ?? ""
    if clientID.isEmpty || clientID.count > 255 {
      problems.append(
        .init(
          variable: "MAILSEAL_OIDC_CLIENT_ID",
          message: "the client ID registered at the provider is required (at most 255 characters)."
        ))
    }
    var secret = ""
    if let file = value("MAILSEAL_OIDC_CLIENT_SECRET_FILE") {
      if let data = FileManager.default.contents(atPath: file), data.count <= 4096 {
        secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
      }
      if secret.isEmpty {
        problems.append(
          .init(
            variable: "MAILSEAL_OIDC_CLIENT_SECRET_FILE",
            message: "the file \(file) cannot be read, is empty or longer than 4096 bytes."))
      }
    } else {
      problems.append(
        .init(
          variable: "MAILSEAL_OIDC_CLIENT_SECRET_FILE",
          message: "a file with the client secret registered at the provider is required."))
    }
    let caFile = value("MAILSEAL_OIDC_CA_FILE")
    if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
      problems.append(
        .init(variable: "MAILSEAL_OIDC_CA_FILE", message: "the file \(caFile) cannot be read."))
    }
    var scopes = (value("MAILSEAL_OIDC_SCOPES") ?? "openid email profile")
      .split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
    if !scopes.contains("openid") { scopes.insert("openid", at: 0) }
    if scopes.contains(where: {
      !$0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:/".contains($0)) }
    }) {
      problems.append(
        .init(
          variable: "MAILSEAL_OIDC_SCOPES",
          message: "scopes are words of letters, digits and -_.:/, separated by spaces."))
    }
    let roleClaim = value("MAILSEAL_OIDC_ROLE_CLAIM") ?? "groups"
    var roles: [StaffRole: Set<String>] = [:]
    for entry in (value("MAILSEAL_OIDC_ROLES") ?? "").split(separator: ",") {
      let pair = entry.split(separator: ":", maxSplits: 1)
      guard pair.count == 2,
        let role = StaffRole(rawValue: pair[0].trimmingCharacters(in: .whitespaces)),
        !pair[1].trimmingCharacters(in: .whitespaces).isEmpty
      else {
        problems.append(
          .init(
            variable: "MAILSEAL_OIDC_ROLES",
            message:
              "“\(entry.prefix(100))” is not ROLE:GROUP (roles: operator, admin, auditor, recovery-officer; e.g. operator:servicedesk,admin:pki-admins)."
          ))
        continue
      }
      roles[role, default: []].insert(pair[1].trimmingCharacters(in: .whitespaces))
    }
    let staffACR = Set(
      (value("MAILSEAL_OIDC_STAFF_ACR") ?? "").split(separator: ",").map {
        $0.trimmingCharacters(in: .whitespaces)
      }.filter { !$0.isEmpty })
    func flag(_ name: String) -> Bool {
      guard let text = value(name) else { return false }
      switch text.lowercased() {
      case "true", "yes", "1": return true
      case "false", "no", "0": return false
      default:
        problems.append(
          .init(variable: name, message: "“\(text.prefix(20))” is not true or false."))
        return false
      }
    }
    let requesters = flag("MAILSEAL_OIDC_REQUESTERS")
    var settings = OIDCSettings(
      issuer: issuer, clientID: clientID, clientSecret: secret, caFile: caFile, scopes: scopes,
      roleClaim: roleClaim, roles: roles, staffACR: staffACR, requesters: requesters)
    settings.allowForeignEndpoints = flag("MAILSEAL_OIDC_ALLOW_FOREIGN_ENDPOINTS")
    if let text = value("MAILSEAL_OIDC_SESSION_MINUTES") {
      if let minutes = Int(text), sessionMinutesRange.contains(minutes) {
        settings.sessionMinutes = minutes
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_OIDC_SESSION_MINUTES",
            message:
              "“\(text.prefix(20))” is not a number of minutes from \(sessionMinutesRange.lowerBound) to \(sessionMinutesRange.upperBound)."
          ))
      }
    }
    return settings
  }
}
