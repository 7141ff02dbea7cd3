import Foundation
import MailsealCA

// The configuration, a part at a time: each part reads its variables and
// names every one that is missing or malformed (all are named at start,
// exit 78); `MailsealConfiguration.load` puts the parts together.
extension MailsealConfiguration {
  /// What a value reader gives: the trimmed value of a variable, nil when
  /// unset or empty.
  typealias Value = (String) -> String?

  /// The database: `DATABASE_URL` (PostgreSQL or SQLite; the embedded
  /// default is the data folder's SQLite file) and
  /// `MAILSEAL_DB_WAIT_SECONDS`.
  static func loadDatabase(
    _ value: Value, dataDirectory: URL, problems: inout [ConfigurationError.Problem]
  ) -> (DatabaseLocation, Int?) {
    var database = DatabaseLocation.sqlite(
      path: dataDirectory.appendingPathComponent("mailseal.sqlite").path)
    if let url = value("DATABASE_URL") {
      if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
        if URL(string: url)?.host == nil {
          problems.append(
            .init(
              variable: "DATABASE_URL",
              message:
                "“\(Self.redacted(url))” is not a PostgreSQL URL of the form postgres://user:password@host:5432/database."
            ))
        }
        database = .postgres(url: url)
      } else if url.hasPrefix("sqlite://") {
        let path = String(url.dropFirst("sqlite://".count))
        if path.isEmpty {
          problems.append(
            .init(
              variable: "DATABASE_URL",
              message:
                "sqlite:// needs a file path, e.g. sqlite:///var/lib/mailseal/mailseal.sqlite."))
        }
        database = .sqlite(path: path)
      } else {
        problems.append(
          .init(
            variable: "DATABASE_URL",
            message: "“\(Self.redacted(url))” is neither postgres://… nor sqlite://…."))
      }
    }

    var databaseWait: Int?
    if let text = value("MAILSEAL_DB_WAIT_SECONDS") {
      if let parsed = Int(text), (1...120).contains(parsed) {
        databaseWait = parsed
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_DB_WAIT_SECONDS",
            message: "“\(text.prefix(20))” is not a number of seconds from 1 to 120."))
      }
    }

    return (database, databaseWait)
  }

  /// The site: the public URL, the PKI URL of CRLs and OCSP, the
  /// organisation the certificates name, their validity.
  static func loadSite(_ value: Value, problems: inout [ConfigurationError.Problem]) -> Site {
    func check<T>(_ name: String, _ body: () throws(CAError) -> T) -> T? {
      do {
        return try body()
      } catch {
        problems.append(.init(variable: name, message: error.message))
        return nil
      }
    }
    var publicURL = value("MAILSEAL_PUBLIC_URL") ?? Defaults.publicURL
    while publicURL.hasSuffix("/") { publicURL.removeLast() }
    if !(publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://"))
      || URL(string: publicURL)?.host == nil
    {
      problems.append(
        .init(
          variable: "MAILSEAL_PUBLIC_URL",
          message: "“\(publicURL.prefix(100))” is not an http:// or https:// URL."))
    }
    let pkiName = value("MAILSEAL_PKI_URL") == nil ? "MAILSEAL_PUBLIC_URL" : "MAILSEAL_PKI_URL"
    let pkiBase =
      value("MAILSEAL_PKI_URL")
      ?? (publicURL.hasPrefix("https://")
        ? "http://" + publicURL.dropFirst("https://".count) : publicURL)
    let endpoints = check(pkiName) { () throws(CAError) in try PublicEndpoints(baseURL: pkiBase) }

    let orgName = value("MAILSEAL_ORG_NAME")
    let orgID = value("MAILSEAL_ORG_ID")
    let orgCountry = value("MAILSEAL_ORG_COUNTRY")
    let organizationIsDefault = orgName == nil && orgID == nil && orgCountry == nil
    let name = check("MAILSEAL_ORG_NAME") { () throws(CAError) in
      try SubjectName(
        orgName ?? Defaults.organizationName, field: "organisation name",
        maximumLength: SubjectNameBounds.organizationName)
    }
    let identifier = check("MAILSEAL_ORG_ID") { () throws(CAError) in
      try OrganizationIdentifier(orgID ?? Defaults.organizationIdentifier)
    }
    let country = check("MAILSEAL_ORG_COUNTRY") { () throws(CAError) in
      try CountryCode(orgCountry ?? Defaults.organizationCountry)
    }

    var days = IssuerPolicy.defaultValidityDays
    if let text = value("MAILSEAL_CERT_DAYS") {
      if let parsed = Int(text), (1...IssuerPolicy.maximumValidityDays).contains(parsed) {
        days = parsed
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_CERT_DAYS",
            message:
              "“\(text.prefix(20))” is not a number of days from 1 to \(IssuerPolicy.maximumValidityDays) (S/MIME BR §6.3.2)."
          ))
      }
    }

    let organization = name.flatMap { name in
      identifier.flatMap { identifier in
        country.map { OrganizationIdentity(name: name, identifier: identifier, country: $0) }
      }
    }
    return Site(
      publicURL: publicURL, endpoints: endpoints, organization: organization,
      organizationIsDefault: organizationIsDefault, certificateDays: days)
  }

  /// What ``loadSite(_:problems:)`` read (nil: named as a problem).
  struct Site {
    let publicURL: String
    let endpoints: PublicEndpoints?
    let organization: OrganizationIdentity?
    let organizationIsDefault: Bool
    let certificateDays: Int
  }

  /// The passphrase of the CA key files: `MAILSEAL_CA_PASSPHRASE`, or
  /// `MAILSEAL_CA_PASSPHRASE_FILE`, or one generated in the data folder.
  /// `needsNone`: reading (or an unusable folder, named elsewhere) needs
  /// no key.
  static func loadPassphrase(
    _ environment: [String: String], _ value: Value, dataDirectory: URL, needsNone: Bool,
    problems: inout [ConfigurationError.Problem]
  ) -> (PassphraseSource, [UInt8]) {
    var source = PassphraseSource.environment
    var passphrase: [UInt8] = []
    if let inline = environment["MAILSEAL_CA_PASSPHRASE"], !inline.isEmpty {
      if value("MAILSEAL_CA_PASSPHRASE_FILE") != nil {
        problems.append(
          .init(
            variable: "MAILSEAL_CA_PASSPHRASE_FILE",
            message: "set either MAILSEAL_CA_PASSPHRASE or MAILSEAL_CA_PASSPHRASE_FILE, not both."))
      }
      passphrase = Array(inline.utf8)
    } else if let path = value("MAILSEAL_CA_PASSPHRASE_FILE") {
      source = .file(path: path)
      if let data = FileManager.default.contents(atPath: path) {
        passphrase = Array(
          String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines).utf8)
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_CA_PASSPHRASE_FILE", message: "the file \(path) cannot be read."))
      }
    } else if needsNone {
      // Reading needs no CA key (and an unusable folder is named above).
      source = .generated(path: dataDirectory.appendingPathComponent("ca-passphrase").path)
    } else {
      let path = dataDirectory.appendingPathComponent("ca-passphrase").path
      source = .generated(path: path)
      do {
        passphrase = try Self.generatedPassphrase(at: path)
      } catch {
        problems.append(
          .init(
            variable: "MAILSEAL_DATA_DIR",
            message: "the generated passphrase file \(path) cannot be read or made: \(error)"))
      }
    }
    if !passphrase.isEmpty, passphrase.count < FileKeyCustody.minimumPassphraseLength {
      let name = source == .environment ? "MAILSEAL_CA_PASSPHRASE" : "MAILSEAL_CA_PASSPHRASE_FILE"
      problems.append(
        .init(
          variable: name,
          message:
            "the CA key passphrase must be at least \(FileKeyCustody.minimumPassphraseLength) characters long."
        ))
    }

    return (source, passphrase)
  }

  /// Staff sign-in: the identity provider (``OIDCSettings``) and
  /// `MAILSEAL_LOCAL_STAFF_LOGIN`.
  static func loadSignIn(_ value: Value, problems: inout [ConfigurationError.Problem])
    -> (OIDCSettings?, Bool)
  {
    let oidc = OIDCSettings.load(value, problems: &problems)
    var localStaffLogin = true
    if let text = value("MAILSEAL_LOCAL_STAFF_LOGIN") {
      switch text.lowercased() {
      case "true", "yes", "1": localStaffLogin = true
      case "false", "no", "0": localStaffLogin = false
      default:
        problems.append(
          .init(
            variable: "MAILSEAL_LOCAL_STAFF_LOGIN",
            message: "“\(text.prefix(20))” is not true or false."))
      }
      if !localStaffLogin && oidc == nil {
        problems.append(
          .init(
            variable: "MAILSEAL_LOCAL_STAFF_LOGIN",
            message:
              "staff could not sign in at all: switching the password sign-in off needs MAILSEAL_OIDC_ISSUER."
          ))
      }
    }

    return (oidc, localStaffLogin)
  }

  /// Key escrow: `MAILSEAL_ESCROW` and the recovery certificates' pins
  /// (`MAILSEAL_RECOVERY_FINGERPRINTS`).
  static func loadEscrow(_ value: Value, problems: inout [ConfigurationError.Problem])
    -> (EscrowPolicy, RecoveryPins)
  {
    var escrow = EscrowPolicy.off
    if let text = value("MAILSEAL_ESCROW") {
      if let policy = EscrowPolicy(rawValue: text.lowercased()) {
        escrow = policy
      } else {
        problems.append(
          .init(
            variable: "MAILSEAL_ESCROW",
            message: "“\(text.prefix(20))” is not off, optional or required."
          ))
      }
    }

    var recoveryPins = RecoveryPins()
    if let text = value("MAILSEAL_RECOVERY_FINGERPRINTS") {
      switch RecoveryPins.parse(text) {
      case .success(let pins): recoveryPins = pins
      case .failure(let problem):
        problems.append(.init(variable: "MAILSEAL_RECOVERY_FINGERPRINTS", message: problem.message))
      }
    }

    return (escrow, recoveryPins)
  }
}
