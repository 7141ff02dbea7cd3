import ConsoleKit
import Foundation
import MailsealModel
import MailsealRA

/// `mailseal audit verify|export`: the audit trail for auditors.
struct AuditCommand: AsyncCommandGroup {
  var help: String { say("command_audit_help") }
  var commands: [String: any AnyAsyncCommand] {
    ["verify": AuditVerifyCommand(), "export": AuditExportCommand()]
  }
}

struct AuditVerifyCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}
  var help: String { say("command_audit_verify_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    let result = try await context.host.registrationAuthority.service.verifyAuditTrail()
    if let broken = result.firstBroken {
      throw CommandFailure(
        say(
          "command_audit_broken",
          ["seq": "\(broken.seq)", "reason": broken.reason, "records": "\(result.records)"]))
    }
    context.console.print(say("command_audit_intact", ["records": "\(result.records)"]))
  }
}

struct AuditExportCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {
    @Option(name: "out", help: say("command_audit_export_out_help"))
    var out: String?
    init() {}
  }
  var help: String { say("command_audit_export_help") }

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
    else { throw CommandFailure(say("command_failure_cannot_write", ["path": out])) }
    defer { try? handle.close() }
    try await authority.service.exportAuditTrail { page in
      try handle.write(contentsOf: Data(page.utf8))
    }
    try handle.synchronize()
    context.console.print(say("command_audit_export_written", ["path": out]))
  }
}

/// `mailseal notice set|clear|show`: the service notice on every requester
/// page.
struct NoticeCommand: AsyncCommandGroup {
  var help: String { say("command_notice_help") }
  var commands: [String: any AnyAsyncCommand] {
    ["set": NoticeSetCommand(), "clear": NoticeClearCommand(), "show": NoticeShowCommand()]
  }
}

struct NoticeSetCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "de", help: say("command_notice_set_de_help"))
    var de: String?
    @Option(name: "en", help: say("command_notice_set_en_help"))
    var en: String?
    init() {}
  }
  var help: String { say("command_notice_set_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let german = signature.de, let english = signature.en else {
      throw CommandFailure(say("command_notice_set_both_required"))
    }
    do {
      try await context.host.registrationAuthority.service.setNotice(
        german: german, english: english, by: .commandLine)
    } catch let error as MailsealError {
      throw CommandFailure(error.sentence(CommandWords.current))
    }
    context.console.print(say("command_notice_set_done"))
  }
}

struct NoticeClearCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {}
  var help: String { say("command_notice_clear_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    try await context.host.registrationAuthority.service.clearNotice(by: .commandLine)
    context.console.print(say("command_notice_clear_done"))
  }
}

struct NoticeShowCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}
  var help: String { say("command_notice_show_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    let state = try await context.host.registrationAuthority.service.serviceState()
    if let notice = state.notice {
      context.console.print("de: \(notice.de)")
      context.console.print("en: \(notice.en)")
    } else {
      context.console.print(say("command_notice_show_none"))
    }
    context.console.print(
      say(
        state.issuancePaused
          ? "command_notice_show_issuance_paused" : "command_notice_show_issuance_running"))
  }
}
