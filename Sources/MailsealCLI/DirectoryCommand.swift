import ConsoleKit
import Foundation
import MailsealModel
import MailsealRA

/// `mailseal directory sync [--dry-run]`: the organisation's directory
/// compared with what Mailseal published, and repaired.
struct DirectoryCommand: AsyncCommandGroup {
  var help: String { say("command_directory_help") }
  var commands: [String: any AnyAsyncCommand] { ["sync": DirectorySyncCommand()] }
}

struct DirectorySyncCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Flag(name: "dry-run", help: say("command_directory_dry_run_help"))
    var dryRun: Bool
    init() {}
  }
  var help: String { say("command_directory_sync_help") }

  /// Differences printed one per line, at most this many.
  static let printed = 1_000

  func run(using context: CommandContext, signature: Signature) async throws {
    let host = try context.host
    guard let publisher = host.publisher, let worker = host.publicationWorker else {
      throw CommandFailure(say("command_directory_not_configured"))
    }
    let started = Date()
    let report = try await host.registrationAuthority.directory.sync(
      with: publisher, dryRun: signature.dryRun, actor: "cli")
    for difference in report.differences.prefix(Self.printed) {
      context.console.print(
        "\(difference.kind == .publish ? "+" : "-") \(difference.mailbox) \(difference.serial)")
    }
    if report.differences.count > Self.printed {
      context.console.print(
        say("command_directory_more", ["count": "\(report.differences.count - Self.printed)"]))
    }
    for (mailbox, reason) in report.unreadable.prefix(Self.printed) {
      context.console.print("! \(mailbox): \(reason)")
    }
    let added = report.differences.filter { $0.kind == .publish }.count
    let summary: [String: String] = [
      "addresses": "\(report.addresses)", "added": "\(added)",
      "removed": "\(report.differences.count - added)",
      "unreadable": "\(report.unreadable.count)",
    ]
    if signature.dryRun {
      context.console.print(say("command_directory_dry_run", summary))
      return
    }
    // The repairs were queued after every change queued before; they are
    // applied now, in order per address (a running portal's worker may
    // take some of them: the lease keeps each with one of the two).
    var applied = 0
    while true {
      let round = try await worker.applyDue()
      applied += round
      if round == 0 { break }
    }
    let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
    context.console.print(
      say(
        "command_directory_synced",
        summary.merging(["applied": "\(applied)", "seconds": seconds]) { $1 }))
  }
}
