import ConsoleKit
import Foundation
import MailsealCA
import MailsealModel
import MailsealRA

/// `mailseal ca revoke --serial HEX --reason REASON`: an administrator's
/// revocation, with every reason of RFC 5280 the S/MIME BR allow.
struct CARevokeCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "serial", help: say("command.ca.revoke.serial.help"))
    var serial: String?
    @Option(name: "reason", help: say("command.ca.revoke.reason.help"))
    var reason: String?
    init() {}
  }

  var help: String { say("command.ca.revoke.help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let serial = signature.serial, let reasonText = signature.reason else {
      throw CommandFailure(say("command.ca.revoke.required"))
    }
    guard let reason = RevocationReason(name: reasonText) else {
      throw CommandFailure(
        say(
          "command.ca.revoke.reason-invalid",
          [
            "choices": RevocationReason.allCases.map(\.name).joined(separator: ", "),
            "value": reasonText,
          ]))
    }
    let app = try context.host
    let record: IssuedCertificate
    do {
      record = try await app.registrationAuthority.certificates.revoke(
        serial: serial, reason: reason, by: .commandLine)
    } catch let error as MailsealError {
      throw CommandFailure(
        error == .notFound
          ? say("command.ca.revoke.not-found", ["serial": serial])
          : error.detail(CommandWords.current))
    }
    // A command ends before the publisher's debounce: publish the CRL now.
    try await app.publishCRL(issuerID: record.issuerID)
    context.console.print(
      say(
        "command.ca.revoke.done",
        ["serial": "\(record.serial)", "mailbox": "\(record.mailbox)", "reason": reason.name]))
  }
}
