import ConsoleKit
import Foundation
import MailsealModel
import MailsealRA

/// `mailseal audit verify|export`: the audit trail for auditors.
struct AuditCommand: AsyncCommandGroup {
  var help: String { "Check the audit trail's hash chain or export it." }
  var commands: [String: any AnyAsyncCommand] {
    ["verify": AuditVerifyCommand(), "export": AuditExportCommand()]
  }
}

struct AuditVerifyCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}
  var help: String {
    "Check every record's hash and link; name the first broken record (exit status 1)."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    let result = try await context.host.registrationAuthority.service.verifyAuditTrail()
    if let broken = result.firstBroken {
      throw CommandFailure(
        "audit trail broken at record \(broken.seq): \(broken.reason) (\(result.records) records before it hold)"
      )
    }
    context.console.print("audit trail intact: \(result.records) records, every link holds")
  }
}

struct AuditExportCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {
    @Option(
      name: "out", help: "Write to this file (made new, mode 0600) instead of standard output.")
    var out: String?
    init() {}
  }
  var help: String { "Export the whole audit trail as JSON lines, oldest first." }

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
    else { throw CommandFailure("\(out) cannot be written.") }
    defer { try? handle.close() }
    try await authority.service.exportAuditTrail { page in
      try handle.write(contentsOf: Data(page.utf8))
    }
    try handle.synchronize()
    context.console.print("audit trail written to \(out)")
  }
}

/// `mailseal notice set|clear|show`: the service notice on every requester
/// page.
struct NoticeCommand: AsyncCommandGroup {
  var help: String { "Set, clear or show the service notice shown on every requester page." }
  var commands: [String: any AnyAsyncCommand] {
    ["set": NoticeSetCommand(), "clear": NoticeClearCommand(), "show": NoticeShowCommand()]
  }
}

struct NoticeSetCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "de", help: "The notice in German.")
    var de: String?
    @Option(name: "en", help: "The notice in English.")
    var en: String?
    init() {}
  }
  var help: String { "Set the notice in German and English (both required, 500 characters each)." }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let german = signature.de, let english = signature.en else {
      throw CommandFailure("--de TEXT and --en TEXT are both required.")
    }
    do {
      try await context.host.registrationAuthority.service.setNotice(
        german: german, english: english, by: .commandLine)
    } catch let error as MailsealError {
      throw CommandFailure(error.sentence(.en))
    }
    context.console.print("The notice is shown on every requester page.")
  }
}

struct NoticeClearCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {}
  var help: String { "Remove the notice." }

  func run(using context: CommandContext, signature: Signature) async throws {
    try await context.host.registrationAuthority.service.clearNotice(by: .commandLine)
    context.console.print("The notice is removed.")
  }
}

struct NoticeShowCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}
  var help: String { "Show the notice and whether issuance is paused." }

  func run(using context: CommandContext, signature: Signature) async throws {
    let state = try await context.host.registrationAuthority.service.serviceState()
    if let notice = state.notice {
      context.console.print("de: \(notice.de)")
      context.console.print("en: \(notice.en)")
    } else {
      context.console.print("no notice")
    }
    context.console.print("issuance \(state.issuancePaused ? "paused" : "running")")
  }
}
