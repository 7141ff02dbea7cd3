import Foundation
public import MailsealCA

/// `MAILSEAL_PUBLISH` and `MAILSEAL_LDAP_*`: whether issued certificates
/// are made findable (the portal's look-up, `/directory`), with whose
/// consent, and the organisation's directory they are written to.
public struct DirectorySettings: Sendable {
  /// `MAILSEAL_PUBLISH`.
  public enum Mode: String, Sendable, CaseIterable {
    /// Nothing is published; the request form asks nothing.
    case off
    /// Published when the holder agreed on the request form (and as long
    /// as they do: the certificate page withdraws it).
    case consent
    /// Every certificate for encryption is published (the organisation's
    /// policy); the form says so.
    case always
  }

  public var mode: Mode
  /// The directory written to; none publishes to the portal's look-up only.
  public var ldap: LDAPSettings?

  public init(mode: Mode = .off, ldap: LDAPSettings? = nil) {
    self.mode = mode
    self.ldap = ldap
  }

  /// Whether a certificate whose holder answered `consent` is published.
  public func publishes(consent: Bool?) -> Bool {
    switch mode {
    case .off: false
    case .consent: consent == true
    case .always: true
    }
  }

  /// The variables of the directory (named when set without publishing).
  static let ldapVariables = [
    "MAILSEAL_LDAP_URL", "MAILSEAL_LDAP_CA_FILE", "MAILSEAL_LDAP_BIND_DN",
    "MAILSEAL_LDAP_PASSWORD_FILE", "MAILSEAL_LDAP_BASE_DN", "MAILSEAL_LDAP_FILTER",
    "MAILSEAL_LDAP_ATTRIBUTES",
  ]

  /// Reads the part; every missing or malformed value named in `problems`.
  static func load(_ value: (String) -> String?, problems: inout [ConfigurationError.Problem])
    -> DirectorySettings
  {
    let text = value("MAILSEAL_PUBLISH")?.lowercased() ?? "off"
    guard let mode = Mode(rawValue: text) else {
      problems.append(
        .init(variable: "MAILSEAL_PUBLISH", message: "must be `off`, `consent` or `always`."))
      return DirectorySettings()
    }
    guard mode != .off else {
      for name in ldapVariables where value(name) != nil {
        problems.append(
          .init(
            variable: name,
            message: "is set, but MAILSEAL_PUBLISH is `off`: set it to `consent` or `always`."))
      }
      return DirectorySettings()
    }
    guard value("MAILSEAL_LDAP_URL") != nil else {
      for name in ldapVariables where value(name) != nil {
        problems.append(
          .init(variable: name, message: "it needs MAILSEAL_LDAP_URL (the directory's address)."))
      }
      return DirectorySettings(mode: mode)
    }
    return DirectorySettings(mode: mode, ldap: LDAPSettings.load(value, problems: &problems))
  }
}

/// The organisation's LDAP directory (OpenLDAP, Active Directory) that
/// holds the certificates of its people.
public struct LDAPSettings: Sendable {
  /// How the connection is protected.
  public enum Security: Sendable, Equatable {
    /// `ldaps://`: TLS from the first byte.
    case tls
    /// `ldap://`: StartTLS before the bind.
    case startTLS
    /// `ldap://` to a loopback host whose server offers no StartTLS: the
    /// bind in clear, only there.
    case startTLSIfOffered
  }

  public var host: String
  public var port: Int
  public var security: Security
  /// `MAILSEAL_LDAP_CA_FILE`: PEM roots to trust for the server's TLS
  /// instead of the system's.
  public var caFile: String?
  public var bindDN: String
  public var password: [UInt8]
  public var baseDN: String
  public var filter: LDAPFilterTemplate
  /// The attributes written, as configured (`userCertificate;binary`:
  /// one certificate per value; `userSMIMECertificate`: one PKCS#7 per
  /// value).
  public var attributes: [DirectoryAttribute]

  public init(
    host: String, port: Int, security: Security, caFile: String? = nil, bindDN: String,
    password: [UInt8], baseDN: String, filter: LDAPFilterTemplate,
    attributes: [DirectoryAttribute] = DirectoryAttribute.defaults
  ) {
    self.host = host
    self.port = port
    self.security = security
    self.caFile = caFile
    self.bindDN = bindDN
    self.password = password
    self.baseDN = baseDN
    self.filter = filter
    self.attributes = attributes
  }

  /// Longest DN read.
  static let maximumDN = 1024

  static func load(_ value: (String) -> String?, problems: inout [ConfigurationError.Problem])
    -> LDAPSettings?
  {
    let before = problems.count
    func required(_ name: String, _ what: String) -> String? {
      guard let text = value(name) else {
        problems.append(.init(variable: name, message: "\(what) is required."))
        return nil
      }
      guard text.utf8.count <= maximumDN else {
        problems.append(.init(variable: name, message: "is longer than \(maximumDN) bytes."))
        return nil
      }
      guard text.contains("=") else {
        problems.append(
          .init(
            variable: name, message: "“\(text.prefix(100))” is not a DN (like dc=example,dc=org)."))
        return nil
      }
      return text
    }

    var endpoint: (host: String, port: Int, security: Security)?
    if let text = value("MAILSEAL_LDAP_URL") {
      endpoint = parseURL(text)
      if endpoint == nil {
        problems.append(
          .init(
            variable: "MAILSEAL_LDAP_URL",
            message:
              "“\(text.prefix(100))” is not an ldaps://host[:port] or ldap://host[:port] URL (ldap:// uses StartTLS; without it only on 127.0.0.1, ::1 or localhost)."
          ))
      }
    }
    let caFile = value("MAILSEAL_LDAP_CA_FILE")
    if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
      problems.append(
        .init(variable: "MAILSEAL_LDAP_CA_FILE", message: "the file \(caFile) cannot be read."))
    }
    let bindDN = required("MAILSEAL_LDAP_BIND_DN", "the DN the publisher binds as")
    var password: [UInt8]?
    if let path = value("MAILSEAL_LDAP_PASSWORD_FILE") {
      switch UpstreamSettings.readSecret(path, what: "the directory password") {
      case .success(let bytes): password = bytes
      case .failure(let problem):
        problems.append(.init(variable: "MAILSEAL_LDAP_PASSWORD_FILE", message: problem.message))
      }
    } else {
      problems.append(
        .init(
          variable: "MAILSEAL_LDAP_PASSWORD_FILE",
          message:
            "a file with the bind DN's password is required (an empty one would bind anonymously).")
      )
    }
    let baseDN = required("MAILSEAL_LDAP_BASE_DN", "the DN searched below")
    var filter: LDAPFilterTemplate?
    let filterText = value("MAILSEAL_LDAP_FILTER") ?? "(mail={mailbox})"
    do {
      filter = try LDAPFilterTemplate(filterText)
    } catch {
      problems.append(
        .init(
          variable: "MAILSEAL_LDAP_FILTER",
          message: "“\(filterText.prefix(100))” \(error.description)."))
    }
    var attributes: [DirectoryAttribute]?
    if let text = value("MAILSEAL_LDAP_ATTRIBUTES") {
      do {
        attributes = try DirectoryAttribute.parse(text)
      } catch {
        problems.append(.init(variable: "MAILSEAL_LDAP_ATTRIBUTES", message: error.description))
      }
    } else {
      attributes = DirectoryAttribute.defaults
    }
    guard problems.count == before, let endpoint, let bindDN, let password, let baseDN,
      let filter, let attributes
    else { return nil }
    return LDAPSettings(
      host: endpoint.host, port: endpoint.port, security: endpoint.security, caFile: caFile,
      bindDN: bindDN, password: password, baseDN: baseDN, filter: filter, attributes: attributes)
  }

  /// `ldaps://host[:port][/]` or `ldap://host[:port][/]`.
  static func parseURL(_ text: String) -> (host: String, port: Int, security: Security)? {
    guard text.utf8.count <= 1024, let url = URL(string: text),
      let scheme = url.scheme?.lowercased(), scheme == "ldap" || scheme == "ldaps",
      let host = url.host, !host.isEmpty, url.user == nil, url.password == nil,
      url.query == nil, url.fragment == nil, url.path.isEmpty || url.path == "/"
    else { return nil }
    let port = url.port ?? (scheme == "ldaps" ? 636 : 389)
    guard (1...65_535).contains(port) else { return nil }
    let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
    let security: Security =
      scheme == "ldaps"
      ? .tls : (MailsealConfiguration.isLoopback(bare) ? .startTLSIfOffered : .startTLS)
    return (bare, port, security)
  }
}

/// An attribute the publisher writes, and how its values hold a
/// certificate.
public struct DirectoryAttribute: Sendable, Hashable, CustomStringConvertible {
  public enum Form: Sendable, Hashable {
    /// One certificate (DER) per value; added and removed value by value.
    case certificate
    /// One degenerate PKCS#7 SignedData (the certificate and its chain)
    /// per value (`userSMIMECertificate`, RFC 2798 §2.8); rewritten as a
    /// whole set (OpenLDAP has no equality rule for it), keeping every
    /// value that is not ours.
    case pkcs7
  }

  /// The attribute description as written (`userCertificate;binary`).
  public let name: String
  public let form: Form

  public init(_ name: String, form: Form) {
    self.name = name
    self.form = form
  }

  public var description: String { name }

  public static let defaults = [
    DirectoryAttribute("userCertificate;binary", form: .certificate),
    DirectoryAttribute("userSMIMECertificate", form: .pkcs7),
  ]

  /// The attribute's type without options, lowercased.
  public var type: String {
    String(name.split(separator: ";", maxSplits: 1).first ?? "").lowercased()
  }

  /// Whether an attribute a server returned is this one (by type,
  /// ignoring case and options: `userCertificate;binary` and
  /// `usercertificate`).
  public func matches(_ returned: String) -> Bool {
    String(returned.split(separator: ";", maxSplits: 1).first ?? "").lowercased() == type
  }

  struct Malformed: Error, CustomStringConvertible {
    let description: String
  }

  /// A comma-separated list: `userCertificate;binary`,
  /// `userSMIMECertificate`, or another certificate attribute
  /// (`userCertificate`, `cACertificate`…: one DER per value).
  static func parse(_ text: String) throws(Malformed) -> [DirectoryAttribute] {
    let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    guard !names.isEmpty, names.count <= 4 else {
      throw Malformed(description: "names one to four attributes, separated by commas.")
    }
    var attributes: [DirectoryAttribute] = []
    for name in names {
      guard LDAPFilterTemplate.isAttributeDescription(name) else {
        throw Malformed(description: "“\(name.prefix(64))” is not an attribute description.")
      }
      let attribute = DirectoryAttribute(
        name,
        form: name.lowercased().hasPrefix("usersmimecertificate") ? .pkcs7 : .certificate)
      guard !attributes.contains(where: { $0.type == attribute.type }) else {
        throw Malformed(description: "names “\(attribute.type)” twice.")
      }
      attributes.append(attribute)
    }
    return attributes
  }
}
