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
    @Option(name: "serial", help: say("command_ca_revoke_serial_help"))
    var serial: String?
    @Option(name: "reason", help: say("command_ca_revoke_reason_help"))
    var reason: String?
    init() {}
  }

  var help: String { say("command_ca_revoke_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let serial = signature.serial, let reasonText = signature.reason else {
      throw CommandFailure(say("command_ca_revoke_required"))
    }
    guard let reason = RevocationReason(name: reasonText) else {
      throw CommandFailure(
        say(
          "command_ca_revoke_reason_invalid",
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
          ? say("command_ca_revoke_not_found", ["serial": serial])
          : error.detail(CommandWords.current))
    }
    // A command ends before the publisher's debounce: publish the CRL now.
    try await app.publishCRL(issuerID: record.issuerID)
    context.console.print(
      say(
        "command_ca_revoke_done",
        ["serial": "\(record.serial)", "mailbox": "\(record.mailbox)", "reason": reason.name]))
  }
}
