import ConsoleKit
import Foundation
import MailsealModel
import MailsealRA

/// `mailseal operator …`: staff accounts.
struct OperatorCommand: AsyncCommandGroup {
  var help: String { "Add operators (service desk), administrators and auditors." }
  var commands: [String: any AnyAsyncCommand] { ["add": OperatorAddCommand()] }
}

struct OperatorAddCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "email", help: "The operator's mail address (also the sign-in name).")
    var email: String?
    @Option(
      name: "name", help: "The operator's name as shown in the back office and the audit trail.")
    var name: String?
    @Option(
      name: "role",
      help:
        "operator (verify, approve, reject, revoke), admin (also operators, notices, settings), auditor (read only) or recovery-officer (approves key recoveries, downloads their envelopes)."
    )
    var role: String?
    init() {}
  }

  var help: String { "Add a staff account and print its one-time enrolment link (valid 48 hours)." }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let email = signature.email, let name = signature.name, let roleText = signature.role
    else {
      throw CommandFailure("--email, --name and --role are required.")
    }
    guard let role = StaffRole(rawValue: roleText) else {
      throw CommandFailure(
        "--role must be operator, admin, auditor or recovery-officer; “\(roleText)” is not.")
    }
    let app = try context.host
    let (record, link) = try await app.operatorDirectory.add(email: email, name: name, role: role)
    context.console.print("Added \(record.name) <\(record.email)> as \(role.rawValue).")
    context.console.print(
      "Enrolment link (valid 48 hours, works once; send it to \(record.email) only):")
    context.console.print(link)
  }
}
