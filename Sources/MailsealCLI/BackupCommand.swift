import ConsoleKit
import Foundation
import Logging
import MailsealModel
import MailsealRA

/// `mailseal backup --out FILE`: a consistent backup of the running
/// installation (docs/operations.md).
struct BackupCommand: AsyncCommand, DeclaresAccess {
  // It reads the database (and audits the backup); it migrates nothing,
  // so the old release can back up before an upgrade.
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {
    @Option(name: "out", help: say("command_backup_out_help"))
    var out: String?
    init() {}
  }
  var help: String { say("command_backup_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let out = signature.out, !out.isEmpty else {
      throw CommandFailure(say("command_backup_needs_out"))
    }
    let started = Date()
    let written = try await context.host.backup(to: out)
    context.console.print(
      say(
        "command_backup_written",
        [
          "path": written.path, "bytes": "\(written.bytes)",
          "taken": ISO8601DateFormatter().string(from: written.takenAt),
          "keys": "\(written.keyFiles)",
          "seconds": String(format: "%.1f", Date().timeIntervalSince(started)),
        ]))
    if !written.keptElsewhere.isEmpty {
      context.console.print(say("command_backup_kept_elsewhere"))
      for line in written.keptElsewhere { context.console.print("  - \(line)") }
    }
  }
}

/// `mailseal restore --from FILE`: a backup into an empty data folder and
/// database; then `serve` carries on.
struct RestoreCommand: AsyncCommand, DeclaresAccess {
  // No installation is started for it: it makes one.
  var access: CommandAccess { .offline }
  struct Signature: CommandSignature {
    @Option(name: "from", help: say("command_restore_from_help"))
    var from: String?
    init() {}
  }
  var help: String { say("command_restore_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let from = signature.from, !from.isEmpty else {
      throw CommandFailure(say("command_restore_needs_from"))
    }
    // The settings as `serve` reads them, but nothing made yet (no
    // generated passphrase: the old installation's is needed).
    let environment = ProcessInfo.processInfo.environment
    let folder =
      environment["MAILSEAL_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 }
      ?? MailsealConfiguration.Defaults.dataDirectory
    try? FileManager.default.createDirectory(
      atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    let configuration = try MailsealConfiguration.load(from: environment, readOnly: true)
    let started = Date()
    let restored = try await InstallationBackup(
      configuration: configuration, logger: Logger(label: "mailseal.restore")
    ).restore(from: from)
    let facts = restored
    context.console.print(
      say(
        "command_restore_done",
        [
          "taken": ISO8601DateFormatter().string(from: restored.takenAt),
          "database": restored.database,
          "keys": "\(restored.keyFiles)", "certificates": "\(facts.certificates)",
          "seq": "\(facts.lastAuditSeq)",
          "seconds": String(format: "%.1f", Date().timeIntervalSince(started)),
        ]))
    context.console.print(
      say("command_restore_span", ["taken": ISO8601DateFormatter().string(from: restored.takenAt)]))
    context.console.print("  - " + say("command_restore_span_issued"))
    if restored.upstream {
      context.console.print("  - " + say("command_restore_span_upstream"))
    }
    context.console.print("  - " + say("command_restore_span_revoked"))
    if facts.waitingForIssuance > 0 {
      context.console.print(
        "  - "
          + say("command_restore_span_waiting", ["count": "\(facts.waitingForIssuance)"]))
    }
    context.console.print(say("command_restore_crls", ["issuers": "\(facts.issuers)"]))
    if !restored.keptElsewhere.isEmpty {
      context.console.print(say("command_restore_kept_elsewhere"))
      for line in restored.keptElsewhere { context.console.print("  - \(line)") }
    }
  }
}
