public import FluentKit
import Foundation
public import Logging
import MailsealCA
import MailsealModel
import MailsealStore

/// What a backup file holds besides its parts: written last, read first.
struct BackupManifest: Codable, Sendable {
  static let name = "manifest.json"
  static let configurationName = "configuration.env"
  static let databaseSQLite = "database.sqlite"
  static let databasePostgres = "database.pgdump"
  static let keyFolder = "ca-keys/"
  static let formatName = "mailseal-backup"

  struct File: Codable, Sendable, Equatable {
    var name: String
    var size: Int64
    var sha256: String
  }

  var format = formatName
  var version = 1
  /// When the database copy began: it holds every commit before.
  var takenAt: Date
  /// `sqlite` or `postgresql`.
  var database: String
  /// The migrations the database had run.
  var migrations: [String]
  /// What the backup does not hold and the admin keeps elsewhere.
  var keptElsewhere: [String]
  var files: [File]

  /// Whether a backup may hold an entry of this name.
  static func allows(_ name: String) -> Bool {
    if [Self.name, configurationName, databaseSQLite, databasePostgres].contains(name) {
      return true
    }
    guard name.hasPrefix(keyFolder) else { return false }
    return isKeyFileName(String(name.dropFirst(keyFolder.count)))
  }

  /// A CA key file's name as the file custody writes it: letters, digits,
  /// `.`, `-`, `_`, not hidden, at most 90 bytes.
  static func isKeyFileName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 90 && !name.hasPrefix(".")
      && name.unicodeScalars.allSatisfy {
        $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0))
      }
  }
}

/// Backup and restore of an installation: the database (a consistent copy
/// while the portal runs), the CA key files (encrypted as they are), and
/// the configuration without its secrets, in one file; and the way back
/// into an empty data folder and database.
public struct InstallationBackup: Sendable {
  let configuration: MailsealConfiguration
  let logger: Logger

  public init(configuration: MailsealConfiguration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
  }

  /// What a backup wrote.
  public struct Written: Sendable {
    public let path: String
    public let bytes: Int64
    public let takenAt: Date
    public let keyFiles: Int
    /// What the admin must keep elsewhere (secrets, HSM keys).
    public let keptElsewhere: [String]
  }

  /// Writes a backup of the installation to `path` (a new file, mode 0600)
  /// while it runs, and audits it.
  public func write(to path: String, database: any Database, now: @Sendable () -> Date = Date.init)
    async throws -> Written
  {
    var archive = try BackupArchiveWriter(path: path)
    let work = URL(fileURLWithPath: path + ".part-\(UUID().uuidString.prefix(8))")
    do {
      try FileManager.default.createDirectory(
        at: work, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
      defer { try? FileManager.default.removeItem(at: work) }
      // The database first: every key its CA rows name exists before the
      // row (a CA's key is made before it is stored), so the key files
      // copied after it are all there.
      let migrations = try await DatabaseSnapshot.migrations(on: database)
      let takenAt = now()
      let databaseName = DatabaseSnapshot.fileName(for: configuration.database)
      let copy = work.appendingPathComponent(databaseName).path
      try await DatabaseSnapshot.copy(configuration.database, database: database, to: copy)
      try archive.add(databaseName, contentsOf: copy)
      try? FileManager.default.removeItem(atPath: copy)
      let keyFiles = try keyFileNames(in: configuration.keyDirectory)
      for name in keyFiles {
        try archive.add(
          BackupManifest.keyFolder + name,
          contentsOf: configuration.keyDirectory.appendingPathComponent(name).path)
      }
      try archive.add(
        BackupManifest.configurationName,
        data: Data(Self.configurationText(ProcessInfo.processInfo.environment).utf8))
      let keptElsewhere = try await keptElsewhere(database: database, keyFiles: !keyFiles.isEmpty)
      let manifest = BackupManifest(
        takenAt: takenAt,
        database: configuration.database.kind, migrations: migrations,
        keptElsewhere: keptElsewhere, files: archive.files)
      try archive.add(BackupManifest.name, data: try Self.encoder.encode(manifest))
      try archive.finish()
      let bytes =
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
        ?? 0
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.commandLine, action: .backupTaken, subject: path,
          details: [
            "taken-at": Self.time(takenAt), "bytes": "\(bytes)",
            "ca-key-files": "\(keyFiles.count)",
            "database": configuration.database.kind,
          ]), on: database, now: now())
      logger.info(
        "backup written", metadata: ["path": "\(path)", "bytes": "\(bytes)"])
      return Written(
        path: path, bytes: bytes, takenAt: takenAt, keyFiles: keyFiles.count,
        keptElsewhere: keptElsewhere)
    } catch {
      // Nothing half written stays behind.
      try? FileManager.default.removeItem(atPath: path)
      throw error
    }
  }

  /// The key files of the folder, sorted; anything else there is named.
  func keyFileNames(in folder: URL) throws -> [String] {
    guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
    return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().filter {
      name in
      var isFolder: ObjCBool = false
      _ = FileManager.default.fileExists(
        atPath: folder.appendingPathComponent(name).path, isDirectory: &isFolder)
      guard !isFolder.boolValue, !name.hasPrefix(".") else { return false }
      guard BackupManifest.isKeyFileName(name) else {
        throw BackupFailure(
          "The CA key folder holds “\(name.prefix(100))”, which is not a key file Mailseal writes: move it away and run the backup again."
        )
      }
      return true
    }
  }

  /// The secrets and keys a backup does not hold, in words.
  func keptElsewhere(database: any Database, keyFiles: Bool) async throws -> [String] {
    var kept: [String] = []
    if keyFiles {
      switch configuration.passphraseSource {
      case .environment:
        kept.append("MAILSEAL_CA_PASSPHRASE: the passphrase of the CA key files")
      case .file(let path):
        kept.append("MAILSEAL_CA_PASSPHRASE_FILE=\(path): the passphrase of the CA key files")
      case .generated(let path):
        kept.append(
          "\(path): the generated passphrase of the CA key files (copy it: without it they cannot be opened)"
        )
      }
    }
    let issuers = try await Store(database).issuers.all()
    let tokens = Set(
      issuers.compactMap(\.keyReference).filter { $0.hasPrefix("pkcs11:") }
        .map { String($0.prefix(120)) })
    if !tokens.isEmpty {
      kept.append(
        "the CA keys in the hardware security module (\(tokens.count) keys): back them up with the HSM's own tools"
      )
    }
    let environment = ProcessInfo.processInfo.environment
    for name in environment.keys.sorted()
    where (name.hasPrefix("MAILSEAL_") || name == "DATABASE_URL") && name.hasSuffix("_FILE")
      && name != "MAILSEAL_CA_PASSPHRASE_FILE"
    {
      kept.append("\(name)=\(environment[name] ?? ""): a file the configuration names")
    }
    if case .postgres = configuration.database {
      kept.append("DATABASE_URL's password")
    }
    return kept
  }

  /// The configuration as `NAME=value` lines: every `MAILSEAL_*` variable
  /// and `DATABASE_URL`, a secret's value replaced (variables named for a
  /// passphrase, password, secret, token or PIN; a URL's password).
  static func configurationText(_ environment: [String: String]) -> String {
    var lines = [
      "# The configuration the backed-up installation ran with; secrets are not in it."
    ]
    for name in environment.keys.sorted()
    where name.hasPrefix("MAILSEAL_") || name == "DATABASE_URL" {
      let value = environment[name] ?? ""
      let secret = ["PASSPHRASE", "PASSWORD", "SECRET", "TOKEN", "_PIN"].contains {
        name.contains($0)
      }
      if secret && !name.hasSuffix("_FILE") {
        lines.append("\(name)=(secret: not in the backup)")
      } else {
        lines.append(
          "\(name)=\(MailsealConfiguration.redacted(value).replacingOccurrences(of: "\n", with: " "))"
        )
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  static let encoder: JSONEncoder = {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    return encoder
  }()

  static func time(_ date: Date) -> String {
    ISO8601DateFormatter().string(from: date)
  }
}

extension StoreLocation {
  /// `sqlite` or `postgresql`.
  var kind: String {
    switch self {
    case .sqlite: return "sqlite"
    case .postgres: return "postgresql"
    }
  }
}
