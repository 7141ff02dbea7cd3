import ConsoleKit
import Foundation
import MailsealModel
import MailsealRA

/// `mailseal issuance pause|resume`: approved requests wait while paused and
/// are issued in order on resume.
struct IssuanceCommand: AsyncCommandGroup {
  var help: String { say("command_issuance_help") }
  var commands: [String: any AnyAsyncCommand] {
    [
      "pause": IssuanceSwitch(paused: true), "resume": IssuanceSwitch(paused: false),
      "status": IssuanceStatus(),
    ]
  }
}

struct IssuanceSwitch: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {}
  let paused: Bool
  var help: String {
    say(paused ? "command_issuance_pause_help" : "command_issuance_resume_help")
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    let app = try context.host
    try await app.registrationAuthority.service.setIssuancePaused(paused, by: .commandLine)
    context.console.print(say(paused ? "command_issuance_paused" : "command_issuance_running"))
  }
}

struct IssuanceStatus: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}
  var help: String { say("command_issuance_status_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    let app = try context.host
    let paused = try await app.registrationAuthority.service.isIssuancePaused()
    let waiting = try await app.registrationAuthority.service.approvedWaiting()
    context.console.print(
      say(
        paused ? "command_issuance_status_paused" : "command_issuance_status_running",
        ["count": "\(waiting)"]))
  }
}
