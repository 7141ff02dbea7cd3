public import Foundation
import MailsealCA
import MailsealModel
import MailsealStore

extension InstallationBackup {
  /// What a restore put back, and what the admin must know.
  public struct Restored: Sendable {
    /// When the backup's database copy began: nothing after it is here.
    public let takenAt: Date
    public let database: String
    public let keyFiles: Int
    /// What the restored database holds.
    public let certificates: Int
    public let lastAuditSeq: Int64
    /// Requests approved and not issued: `serve` issues them.
    public let waitingForIssuance: Int
    /// CAs whose key is held here: their CRLs are made again.
    public let issuers: Int
    /// When the restore ran: the span the installation lacks is from
    /// `takenAt` until the old installation stopped (at most until now).
    public let restoredAt: Date
    /// Whether an upstream CA issues (its own records list what was
    /// ordered since).
    public let upstream: Bool
    public let keptElsewhere: [String]
  }

  /// Restores the backup at `path` into this installation's data folder
  /// and database, which must both be empty; then migrates forward, marks
  /// every CRL for re-issue and audits the restore. Nothing is left half
  /// written: a failure before the database is in place removes what was
  /// put there.
  public func restore(from path: String, now: Date = Date()) async throws -> Restored {
    let data = configuration.dataDirectory
    try FileManager.default.createDirectory(
      at: data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    // Only into an empty installation.
    let keys = configuration.keyDirectory
    if let present = try? FileManager.default.contentsOfDirectory(atPath: keys.path),
      !present.isEmpty
    {
      throw BackupFailure(
        "The data folder holds CA key files already (\(keys.path)): a restore goes into an empty installation only. Move the data folder away first.",
        configuration: true)
    }
    if let present = try await DatabaseSnapshot.contents(of: configuration.database, logger: logger)
    {
      throw BackupFailure(
        "\(present): a restore goes into an empty database only. Make a new database (or move the SQLite file away) first.",
        configuration: true)
    }

    let staging = data.appendingPathComponent(".restore-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(
      at: staging, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    defer { try? FileManager.default.removeItem(at: staging) }
    let extracted = try BackupArchiveReader.extract(path, into: staging)
    let manifest = try Self.manifest(in: staging, extracted: extracted)

    // The backup must be of this kind of database and of a schema this
    // Mailseal knows (a newer one's migrations it cannot undo).
    guard manifest.database == configuration.database.kind else {
      throw BackupFailure(
        "The backup is of a \(manifest.database) database, but this installation's is \(configuration.database.kind) (DATABASE_URL): restore into the same kind.",
        configuration: true)
    }
    let known = Set(MailsealMigrations.all.map(\.name))
    if let unknown = manifest.migrations.first(where: { !known.contains($0) }) {
      throw BackupFailure(
        "The backup was made by a newer Mailseal (its database ran the migration \(unknown.prefix(100)), which this one does not have): restore it with that version or a later one.",
        configuration: true)
    }

    // The CA key files must open with this installation's passphrase
    // before anything is put in place.
    let keyNames = manifest.files.map(\.name).filter { $0.hasPrefix(BackupManifest.keyFolder) }
      .map { String($0.dropFirst(BackupManifest.keyFolder.count)) }
    if !keyNames.isEmpty {
      try checkKeys(keyNames, in: staging.appendingPathComponent("ca-keys", isDirectory: true))
    }

    // Into place: the key files, then the database.
    try FileManager.default.createDirectory(
      at: keys, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    var placed: [URL] = []
    do {
      for name in keyNames {
        let target = keys.appendingPathComponent(name)
        try FileManager.default.moveItem(
          at: staging.appendingPathComponent(BackupManifest.keyFolder + name), to: target)
        placed.append(target)
      }
      try await DatabaseSnapshot.restore(
        configuration.database,
        from: staging.appendingPathComponent(DatabaseSnapshot.fileName(for: configuration.database))
          .path)
    } catch {
      for url in placed { try? FileManager.default.removeItem(at: url) }
      throw error
    }

    // Migrated forward (a backup of an older release), every CRL made
    // again with a number above every earlier one, and the restore
    // audited with the span it lacks.
    let connection = try await StoreConnection.open(
      configuration.database, waitSeconds: configuration.databaseWait, logger: logger)
    do {
      let facts = try await DatabaseSnapshot.facts(on: connection.database)
      try await connection.database.transaction { database in
        try await DatabaseSnapshot.markCRLsStale(on: database, now: now)
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.commandLine, action: .backupRestored, subject: path,
            details: [
              "taken-at": Self.time(manifest.takenAt), "ca-key-files": "\(keyNames.count)",
              "database": manifest.database, "last-audit-seq": "\(facts.lastAuditSeq)",
              "certificates": "\(facts.certificates)",
              "waiting-for-issuance": "\(facts.waitingForIssuance)",
            ]), on: database, now: now)
      }
      await connection.close()
      logger.notice(
        "backup restored",
        metadata: ["path": "\(path)", "taken-at": "\(Self.time(manifest.takenAt))"])
      return Restored(
        takenAt: manifest.takenAt, database: manifest.database, keyFiles: keyNames.count,
        certificates: facts.certificates, lastAuditSeq: facts.lastAuditSeq,
        waitingForIssuance: facts.waitingForIssuance, issuers: facts.issuers, restoredAt: now,
        upstream: configuration.upstream != nil,
        keptElsewhere: manifest.keptElsewhere)
    } catch {
      await connection.close()
      throw error
    }
  }

  /// The manifest, checked against what was read: the format, and every
  /// file listed there with its size and SHA-256, nothing more.
  static func manifest(in folder: URL, extracted: [String: BackupManifest.File]) throws
    -> BackupManifest
  {
    guard extracted[BackupManifest.name] != nil,
      let data = FileManager.default.contents(
        atPath: folder.appendingPathComponent(BackupManifest.name).path)
    else {
      throw BackupFailure(
        "This file is not a Mailseal backup (it has no manifest.json), or it is cut short.")
    }
    let decoder = JSONDecoder()
    decoder.dateDecodingStrategy = .iso8601
    guard let manifest = try? decoder.decode(BackupManifest.self, from: data),
      manifest.format == BackupManifest.formatName
    else { throw BackupFailure("The backup's manifest.json is not one Mailseal writes.") }
    guard manifest.version == 1 else {
      throw BackupFailure(
        "The backup is of format version \(manifest.version); this Mailseal reads version 1.")
    }
    var unlisted = Set(extracted.keys).subtracting([BackupManifest.name])
    for file in manifest.files {
      guard let read = extracted[file.name] else {
        throw BackupFailure("The backup lacks \(file.name.prefix(100)), which its manifest lists.")
      }
      guard read == file else {
        throw BackupFailure(
          "The backup's \(file.name.prefix(100)) is not what its manifest says (size or SHA-256 differ): the file is damaged."
        )
      }
      unlisted.remove(file.name)
    }
    if let extra = unlisted.first {
      throw BackupFailure(
        "The backup holds \(extra.prefix(100)), which its manifest does not list.")
    }
    let databases = manifest.files.filter {
      [BackupManifest.databaseSQLite, BackupManifest.databasePostgres].contains($0.name)
    }
    guard databases.count == 1 else {
      throw BackupFailure("The backup holds no database copy.")
    }
    return manifest
  }

  /// Opens every key file with this installation's passphrase.
  func checkKeys(_ names: [String], in folder: URL) throws {
    var passphrase = configuration.passphrase
    if passphrase.isEmpty, case .generated(let path) = configuration.passphraseSource {
      guard let text = FileManager.default.contents(atPath: path) else {
        throw BackupFailure(
          "The backup's CA key files are encrypted with the old installation's passphrase: put its passphrase file at \(path) (mode 0600), or name it with MAILSEAL_CA_PASSPHRASE_FILE, and run the restore again.",
          configuration: true)
      }
      passphrase = Array(
        String(decoding: text, as: UTF8.self).trimmingCharacters(in: .newlines).utf8)
    }
    let custody: FileKeyCustody
    do {
      custody = try FileKeyCustody(directory: folder, passphrase: passphrase)
    } catch {
      throw BackupFailure("\(error.message)", configuration: true)
    }
    for name in names {
      do {
        _ = try custody.loadKey(KeyReference(rawValue: "file:\(name)"))
      } catch {
        throw BackupFailure(
          "The CA key file \(name) of the backup does not open with this installation's passphrase (\(error)): configure the old installation's passphrase and run the restore again.",
          configuration: true)
      }
    }
  }
}
