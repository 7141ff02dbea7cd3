import ConsoleKit
import Foundation
import MailsealModel
import MailsealRA

/// `mailseal operator …`: staff accounts.
struct OperatorCommand: AsyncCommandGroup {
  var help: String { say("command_operator_help") }
  var commands: [String: any AnyAsyncCommand] { ["add": OperatorAddCommand()] }
}

struct OperatorAddCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "email", help: say("command_operator_add_email_help"))
    var email: String?
    @Option(name: "name", help: say("command_operator_add_name_help"))
    var name: String?
    @Option(name: "role", help: say("command_operator_add_role_help"))
    var role: String?
    init() {}
  }

  var help: String { say("command_operator_add_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let email = signature.email, let name = signature.name, let roleText = signature.role
    else {
      throw CommandFailure(say("command_operator_add_required"))
    }
    guard let role = StaffRole(rawValue: roleText) else {
      throw CommandFailure(say("command_operator_add_role_invalid", ["value": roleText]))
    }
    let app = try context.host
    let (record, link) = try await app.operatorDirectory.add(email: email, name: name, role: role)
    context.console.print(
      say(
        "command_operator_add_added",
        ["name": "\(record.name)", "email": "\(record.email)", "role": role.rawValue]))
    context.console.print(say("command_operator_add_link", ["email": "\(record.email)"]))
    context.console.print(link)
  }
}
