import ConsoleKit
import Foundation
import MailsealModel
import MailsealRA

/// `mailseal audit verify|export`: the audit trail for auditors.
struct AuditCommand: AsyncCommandGroup {
  var help: String { say("command.audit.help") }
  var commands: [String: any AnyAsyncCommand] {
    ["verify": AuditVerifyCommand(), "export": AuditExportCommand()]
  }
}

struct AuditVerifyCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}
  var help: String { say("command.audit.verify.help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    let result = try await context.host.registrationAuthority.service.verifyAuditTrail()
    if let broken = result.firstBroken {
      throw CommandFailure(
        say(
          "command.audit.broken",
          ["seq": "\(broken.seq)", "reason": broken.reason, "records": "\(result.records)"]))
    }
    context.console.print(say("command.audit.intact", ["records": "\(result.records)"]))
  }
}

struct AuditExportCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {
    @Option(name: "out", help: say("command.audit.export.out.help"))
    var out: String?
    init() {}
  }
  var help: String { say("command.audit.export.help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    let authority = try context.host.registrationAuthority
    guard let out = signature.out else {
      try await authority.service.exportAuditTrail { page in
        FileHandle.standardOutput.write(Data(page.utf8))
      }
      return
    }
    guard
      FileManager.default.createFile(
        atPath: out, contents: nil, attributes: [.posixPermissions: 0o600]),
      let handle = FileHandle(forWritingAtPath: out)
    else { throw CommandFailure(say("command.failure.cannot-write", ["path": out])) }
    defer { try? handle.close() }
    try await authority.service.exportAuditTrail { page in
      try handle.write(contentsOf: Data(page.utf8))
    }
    try handle.synchronize()
    context.console.print(say("command.audit.export.written", ["path": out]))
  }
}

/// `mailseal notice set|clear|show`: the service notice on every requester
/// page.
struct NoticeCommand: AsyncCommandGroup {
  var help: String { say("command.notice.help") }
  var commands: [String: any AnyAsyncCommand] {
    ["set": NoticeSetCommand(), "clear": NoticeClearCommand(), "show": NoticeShowCommand()]
  }
}

struct NoticeSetCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "de", help: say("command.notice.set.de.help"))
    var de: String?
    @Option(name: "en", help: say("command.notice.set.en.help"))
    var en: String?
    init() {}
  }
  var help: String { say("command.notice.set.help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let german = signature.de, let english = signature.en else {
      throw CommandFailure(say("command.notice.set.both-required"))
    }
    do {
      try await context.host.registrationAuthority.service.setNotice(
        german: german, english: english, by: .commandLine)
    } catch let error as MailsealError {
      throw CommandFailure(error.sentence(CommandWords.current))
    }
    context.console.print(say("command.notice.set.done"))
  }
}

struct NoticeClearCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {}
  var help: String { say("command.notice.clear.help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    try await context.host.registrationAuthority.service.clearNotice(by: .commandLine)
    context.console.print(say("command.notice.clear.done"))
  }
}

struct NoticeShowCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}
  var help: String { say("command.notice.show.help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    let state = try await context.host.registrationAuthority.service.serviceState()
    if let notice = state.notice {
      context.console.print("de: \(notice.de)")
      context.console.print("en: \(notice.en)")
    } else {
      context.console.print(say("command.notice.show.none"))
    }
    context.console.print(
      say(
        state.issuancePaused
          ? "command.notice.show.issuance-paused" : "command.notice.show.issuance-running"))
  }
}
