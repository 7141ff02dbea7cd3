public import Foundation
public import MailsealCA
import MailsealModel
public import MailsealStore

/// Every setting of an installation, read once from the environment at
/// start-up and validated as a whole: one error names every variable that is
/// missing or malformed.
public struct MailsealConfiguration: Sendable {
  /// Where the database lives.
  public typealias DatabaseLocation = StoreLocation

  /// Where the CA key passphrase comes from.
  public enum PassphraseSource: Sendable, Equatable {
    /// `MAILSEAL_CA_PASSPHRASE`.
    case environment
    /// `MAILSEAL_CA_PASSPHRASE_FILE`.
    case file(path: String)
    /// Neither was set: a generated file in the data folder (embedded default).
    case generated(path: String)
  }

  /// `MAILSEAL_DATA_DIR`: SQLite file, CA key files, outbox.
  public var dataDirectory: URL
  /// `DATABASE_URL`.
  public var database: DatabaseLocation
  /// `MAILSEAL_PUBLIC_URL`: where people reach the portal.
  public var publicURL: String
  /// `MAILSEAL_PKI_URL` (default: the public URL with http://): the base of
  /// the CRL, OCSP and CA certificate URLs written into certificates.
  public var endpoints: PublicEndpoints
  /// `MAILSEAL_ORG_NAME`, `MAILSEAL_ORG_ID`, `MAILSEAL_ORG_COUNTRY`.
  public var organization: OrganizationIdentity
  /// Whether the organisation is the built-in test default.
  public var organizationIsDefault: Bool
  /// `MAILSEAL_CERT_DAYS`.
  public var certificateDays: Int
  /// Where the CA key passphrase comes from.
  public var passphraseSource: PassphraseSource
  /// The passphrase itself (never logged).
  package var passphrase: [UInt8]
  /// How mail leaves the portal.
  public var mail: MailSettings
  /// The requester-facing settings.
  public var portal: PortalSettings
  /// `MAILSEAL_OCSP_*`: the OCSP responder's signer and listener.
  public var ocsp = OCSPSettings()
  /// `MAILSEAL_METRICS_TOKEN`: who may read `/metrics`.
  public var metrics = MetricsSettings()
  /// `MAILSEAL_UPSTREAM*`: the certificate authority that issues; nil: the
  /// embedded CA.
  public var upstream: UpstreamSettings?
  /// `MAILSEAL_PUBLISH`, `MAILSEAL_LDAP_*`: the look-up and the directory
  /// certificates are published to.
  public var directory = DirectorySettings()
  /// `MAILSEAL_PKCS11_MODULE`, `MAILSEAL_PKCS11_PIN_FILE`,
  /// `MAILSEAL_PKCS11_TOKEN`: CA keys in a hardware security module.
  public var pkcs11: PKCS11Settings?
  /// `MAILSEAL_OIDC_*`: sign-in through the organisation's OpenID provider.
  public var oidc: OIDCSettings?
  /// `MAILSEAL_LOCAL_STAFF_LOGIN` (default true): staff may sign in with
  /// password and TOTP (with OIDC: the break-glass way for admins).
  public var localStaffLogin = true
  /// Key escrow (`MAILSEAL_ESCROW`): off, optional or required.
  public var escrow: EscrowPolicy = .off
  /// `MAILSEAL_RECOVERY_FINGERPRINTS`: the recovery certificates in
  /// force, pinned outside the database.
  public var recoveryPins = RecoveryPins()
  /// Whether a ``Publisher`` takes the certificates (a directory is
  /// configured): then issuance, consent, revocation and expiry queue their
  /// changes for it (``PublicationQueue``).
  public var publishes = false
  /// `MAILSEAL_DB_WAIT_SECONDS`: how long a statement waits for a free
  /// connection of its pool before it fails (503); unset, the store's own
  /// default (``databaseWait``).
  public var databaseWaitSeconds: Int?

  /// The wait for a connection when `MAILSEAL_DB_WAIT_SECONDS` is unset:
  /// 5 s on PostgreSQL (while it is away, statements fail rather than
  /// queue), 10 s on SQLite (its writers take turns on one file).
  public var databaseWait: Int {
    if let databaseWaitSeconds { return databaseWaitSeconds }
    if case .sqlite = database { return 10 }
    return 5
  }
  /// PBKDF2 iterations for new CA key files; tests lower it to stay fast.
  var keyIterations = EncryptedPrivateKeyInfo.defaultIterations

  /// Whether `host` names this machine (localhost, ::1, 127.0.0.0/8):
  /// where plain http and an open `/metrics` are allowed.
  static func isLoopback(_ host: String) -> Bool {
    if ["localhost", "::1", "[::1]"].contains(host.lowercased()) { return true }
    // An IPv4 literal in 127/8 (not a name such as 127.corp.example).
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127"
      && parts.allSatisfy { part in UInt8(part).map { String($0) == part } ?? false }
  }

  /// The folder holding the encrypted CA key files.
  public var keyDirectory: URL {
    dataDirectory.appendingPathComponent("ca-keys", isDirectory: true)
  }

  /// The issuer policy every certificate is issued under.
  public func issuerPolicy() throws(CAError) -> IssuerPolicy {
    try IssuerPolicy(
      organization: organization, validityDays: certificateDays, endpoints: endpoints)
  }

  /// The file custody of the CA keys.
  public func fileKeyCustody() throws(CAError) -> FileKeyCustody {
    try FileKeyCustody(directory: keyDirectory, passphrase: passphrase, iterations: keyIterations)
  }

  /// The PKCS#11 custody; new keys go into `token` (default
  /// `MAILSEAL_PKCS11_TOKEN`).
  public func pkcs11KeyCustody(token: String? = nil) throws(CAError) -> PKCS11KeyCustody {
    guard let pkcs11 else {
      throw CAError(
        .keyCustody,
        "The CA key is in a PKCS#11 token, but MAILSEAL_PKCS11_MODULE is not set: name the HSM's module (for SoftHSM2 /usr/lib/softhsm/libsofthsm2.so)."
      )
    }
    return try PKCS11KeyCustody(
      modulePath: pkcs11.modulePath, pinFile: pkcs11.pinFile, token: token ?? pkcs11.token)
  }

  /// Where new CA keys go.
  public enum Custody: Sendable, Equatable {
    /// Encrypted files in the data folder.
    case file
    /// A token of the PKCS#11 module; nil: `MAILSEAL_PKCS11_TOKEN`.
    case pkcs11(token: String?)
  }

  /// Where new CA keys go unless the command says otherwise: the token
  /// when a module and a token are configured, otherwise files.
  public var defaultCustody: Custody {
    pkcs11?.token != nil ? .pkcs11(token: nil) : .file
  }

  /// The custody new keys of `custody` are made in.
  public func keyCustody(_ custody: Custody) throws(CAError) -> any KeyCustody {
    switch custody {
    case .file: return try fileKeyCustody()
    case .pkcs11(let token): return try pkcs11KeyCustody(token: token)
    }
  }

  /// The custody backends of this installation, by the scheme of their
  /// key references.
  public var custodies: KeyCustodyRegistry {
    var registry = KeyCustodyRegistry()
    registry.register("file") { () throws(CAError) in try self.fileKeyCustody() }
    registry.register("pkcs11") { () throws(CAError) in try self.pkcs11KeyCustody() }
    return registry
  }

  /// The custody that holds the key of `reference`, chosen by its scheme.
  public func keyCustody(for reference: KeyReference) throws(CAError) -> any KeyCustody {
    try custodies.custody(for: reference)
  }

  /// The custody that makes new keys where the key of `reference` is
  /// (an OCSP responder's key beside its CA's): the same token, or files.
  public func keyCustody(besides reference: KeyReference?) throws(CAError) -> any KeyCustody {
    guard let reference, reference.scheme == "pkcs11" else { return try fileKeyCustody() }
    return try pkcs11KeyCustody().sibling(of: reference)
  }

  /// Loads the key of `reference` from its custody.
  public func loadKey(_ reference: KeyReference) throws -> any CASigningKey {
    try keyCustody(for: reference).loadKey(reference)
  }

  /// Takes over the key of `reference`, already in its custody, for an
  /// imported CA: its custody's checks for a key it did not make (a key in
  /// a token must be sensitive and unextractable), then loaded.
  public func adoptKey(_ reference: KeyReference) throws -> any CASigningKey {
    try keyCustody(for: reference).adoptKey(reference)
  }

  /// Defaults of the embedded test installation.
  public enum Defaults {
    public static let dataDirectory = "./data"
    public static let publicURL = "http://127.0.0.1:8080"
    public static let organizationName = "Mailseal Test Organisation"
    public static let organizationIdentifier = "VATDE-000000000"
    public static let organizationCountry = "DE"
  }

  /// Reads and validates the configuration. On the embedded default (no
  /// passphrase configured) this creates the data folder and a generated
  /// passphrase file — unless `readOnly` (a command that only reads: it
  /// touches nothing, and needs an installation that is there).
  public static func load(
    from environment: [String: String] = ProcessInfo.processInfo.environment,
    readOnly: Bool = false
  ) throws(ConfigurationError) -> MailsealConfiguration {
    var problems: [ConfigurationError.Problem] = []
    func value(_ name: String) -> String? {
      guard let raw = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines),
        !raw.isEmpty
      else { return nil }
      return raw
    }
    let dataPath = value("MAILSEAL_DATA_DIR") ?? Defaults.dataDirectory
    let dataDirectory = URL(fileURLWithPath: dataPath, isDirectory: true).standardizedFileURL
    let folderProblem = Self.dataFolderProblem(dataDirectory, readOnly: readOnly)
    if let folderProblem {
      problems.append(.init(variable: "MAILSEAL_DATA_DIR", message: folderProblem))
    }

    let (database, databaseWait) = loadDatabase(
      value, dataDirectory: dataDirectory, problems: &problems)
    let site = loadSite(value, problems: &problems)
    let (source, passphrase) = loadPassphrase(
      environment, value, dataDirectory: dataDirectory,
      needsNone: readOnly || folderProblem != nil, problems: &problems)
    let pkcs11 = loadPKCS11(value, problems: &problems)
    let (oidc, localStaffLogin) = loadSignIn(value, problems: &problems)
    let (escrow, recoveryPins) = loadEscrow(value, problems: &problems)
    let (mail, portal) = loadPortal(
      value, dataDirectory: dataDirectory, publicURL: site.publicURL, problems: &problems)
    let ocsp = OCSPSettings.load(value, problems: &problems)
    let metrics = MetricsSettings.load(value, publicURL: site.publicURL, problems: &problems)
    let upstream = UpstreamSettings.load(value, problems: &problems)
    let directory = DirectorySettings.load(value, problems: &problems)

    // The provider vouches for addresses only in the organisation's own
    // domains (S/MIME BR §3.2.2.1): they must be named.
    if oidc?.requesters == true, portal.allowedDomains.isEmpty {
      problems.append(
        .init(
          variable: "MAILSEAL_OIDC_REQUESTERS",
          message:
            "requesters may sign in through the provider only for the organisation's own mail domains: set MAILSEAL_ALLOWED_DOMAINS."
        ))
    }
    guard problems.isEmpty, let endpoints = site.endpoints, let organization = site.organization
    else {
      throw ConfigurationError(problems: problems)
    }
    var configuration = MailsealConfiguration(
      dataDirectory: dataDirectory,
      database: database,
      publicURL: site.publicURL,
      endpoints: endpoints,
      organization: organization,
      organizationIsDefault: site.organizationIsDefault,
      certificateDays: site.certificateDays,
      passphraseSource: source,
      passphrase: passphrase,
      mail: mail,
      portal: portal,
      ocsp: ocsp,
      metrics: metrics,
      upstream: upstream,
      directory: directory,
      pkcs11: pkcs11,
      oidc: oidc,
      localStaffLogin: localStaffLogin,
      escrow: escrow,
      recoveryPins: recoveryPins,
      databaseWaitSeconds: databaseWait
    )
    configuration.publishes = directory.ldap != nil
    return configuration
  }

  /// The PKCS#11 settings: the module must be a file, the PIN file
  /// readable by this user only; a PIN file or token without a module is
  /// named as a problem.
  static func loadPKCS11(
    _ value: (String) -> String?, problems: inout [ConfigurationError.Problem]
  ) -> PKCS11Settings? {
    let module = value("MAILSEAL_PKCS11_MODULE")
    let pinFile = value("MAILSEAL_PKCS11_PIN_FILE")
    let token = value("MAILSEAL_PKCS11_TOKEN")
    guard let module else {
      for (name, given) in [
        ("MAILSEAL_PKCS11_PIN_FILE", pinFile), ("MAILSEAL_PKCS11_TOKEN", token),
      ]
      where given != nil {
        problems.append(
          .init(variable: name, message: "it needs MAILSEAL_PKCS11_MODULE (the HSM's module)."))
      }
      return nil
    }
    var isFolder: ObjCBool = false
    if !module.hasPrefix("/") {
      problems.append(
        .init(
          variable: "MAILSEAL_PKCS11_MODULE",
          message: "“\(module.prefix(200))” is not an absolute path to a PKCS#11 module (.so)."))
    } else if !FileManager.default.fileExists(atPath: module, isDirectory: &isFolder)
      || isFolder.boolValue
    {
      problems.append(
        .init(
          variable: "MAILSEAL_PKCS11_MODULE",
          message:
            "the module \(module.prefix(200)) does not exist (for SoftHSM2: apt install softhsm2, /usr/lib/softhsm/libsofthsm2.so)."
        ))
    }
    if let pinFile {
      do {
        try PKCS11KeyCustody.checkPINFile(pinFile)
      } catch {
        problems.append(.init(variable: "MAILSEAL_PKCS11_PIN_FILE", message: error.message))
      }
    }
    if let token, token.utf8.count > 32 {
      problems.append(
        .init(
          variable: "MAILSEAL_PKCS11_TOKEN",
          message: "a token label has at most 32 bytes; “\(token.prefix(40))” has more."))
    }
    return PKCS11Settings(modulePath: module, pinFile: pinFile, token: token)
  }

  /// What keeps the data folder from being used, in words that name the
  /// folder and the missing permission; nil when it can be used.
  static func dataFolderProblem(_ folder: URL, readOnly: Bool) -> String? {
    let path = folder.path
    var isFolder: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isFolder)
    if exists && !isFolder.boolValue { return "\(path) is a file, not a folder." }
    if readOnly {
      return exists
        ? nil : "there is no Mailseal installation in \(path) (the folder does not exist)."
    }
    if exists {
      guard FileManager.default.isWritableFile(atPath: path),
        FileManager.default.isExecutableFile(atPath: path)
      else {
        return
          "the folder \(path) cannot be written by this user (it needs write and search permission): Mailseal keeps its database, CA keys and outbox there."
      }
      let database = folder.appendingPathComponent("mailseal.sqlite").path
      if FileManager.default.fileExists(atPath: database),
        !FileManager.default.isWritableFile(atPath: database)
      {
        return "the database file \(database) cannot be written by this user."
      }
      return nil
    }
    // It will be made: its parent must allow that.
    let parent = folder.deletingLastPathComponent().path
    guard FileManager.default.isWritableFile(atPath: parent) else {
      return
        "the folder \(path) does not exist and cannot be made in \(parent) (no write permission)."
    }
    return nil
  }

  /// Reads the generated passphrase file, making it (and the data folder)
  /// first if needed: 32 random bytes, base64url, mode 0600.
  static func generatedPassphrase(at path: String) throws -> [UInt8] {
    if let data = FileManager.default.contents(atPath: path) {
      return Array(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines).utf8)
    }
    let folder = (path as NSString).deletingLastPathComponent
    try FileManager.default.createDirectory(
      atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let text = Data(bytes).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
    guard
      FileManager.default.createFile(
        atPath: path, contents: Data((text + "\n").utf8), attributes: [.posixPermissions: 0o600])
    else {
      throw ConfigurationError(problems: [
        .init(variable: "MAILSEAL_DATA_DIR", message: "cannot write \(path)")
      ])
    }
    return Array(text.utf8)
  }

  /// A database URL with its password replaced, for messages and logs.
  public static func redacted(_ url: String) -> String {
    guard var components = URLComponents(string: url), components.password != nil else {
      return url
    }
    components.password = "***"
    return components.string ?? "(unreadable URL)"
  }
}

/// CA keys in a hardware security module.
public struct PKCS11Settings: Sendable, Equatable {
  /// `MAILSEAL_PKCS11_MODULE`: the module's path, loaded with dlopen.
  public var modulePath: String
  /// `MAILSEAL_PKCS11_PIN_FILE`: the user PIN, in a file of mode 0600.
  public var pinFile: String?
  /// `MAILSEAL_PKCS11_TOKEN`: the label of the token new keys go into.
  public var token: String?
}

/// Everything wrong with the environment, each variable named once.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
  /// One variable and what is wrong with it.
  public struct Problem: Sendable, Equatable {
    public let variable: String
    public let message: String
  }

  /// The problems, in the order the variables are read.
  public let problems: [Problem]

  public var description: String {
    "Mailseal cannot start; fix these settings:\n"
      + problems.map { "  \($0.variable): \($0.message)" }.joined(separator: "\n")
  }
}
