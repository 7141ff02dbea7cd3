import ConsoleKit
import Foundation
import MailsealModel
import MailsealRA

/// `mailseal issuance pause|resume`: approved requests wait while paused and
/// are issued in order on resume.
struct IssuanceCommand: AsyncCommandGroup {
  var help: String { "Pause or resume issuance." }
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
  var help: String { paused ? "Pause issuance: approved requests wait." : "Resume issuance." }

  func run(using context: CommandContext, signature: Signature) async throws {
    let app = try context.host
    try await app.registrationAuthority.service.setIssuancePaused(paused, by: .commandLine)
    context.console.print(
      paused ? "Issuance is paused; approved requests wait." : "Issuance is running.")
  }
}

struct IssuanceStatus: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}
  var help: String { "Say whether issuance is paused and how many requests wait." }

  func run(using context: CommandContext, signature: Signature) async throws {
    let app = try context.host
    let paused = try await app.registrationAuthority.service.isIssuancePaused()
    let waiting = try await app.registrationAuthority.service.approvedWaiting()
    context.console.print(
      "\(paused ? "paused" : "running"); \(waiting) approved request(s) waiting")
  }
}
