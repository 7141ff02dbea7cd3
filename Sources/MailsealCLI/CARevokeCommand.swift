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
    @Option(name: "serial", help: "The certificate's serial number in hex (colons allowed).")
    var serial: String?
    @Option(
      name: "reason",
      help:
        "keyCompromise, superseded, affiliationChanged, cessationOfOperation, privilegeWithdrawn, cACompromise or unspecified."
    )
    var reason: String?
    init() {}
  }

  var help: String {
    "Revoke a certificate: at once in OCSP, in the next CRL (within seconds), the holder told by mail."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let serial = signature.serial, let reasonText = signature.reason else {
      throw CommandFailure("--serial HEX and --reason REASON are required.")
    }
    guard let reason = RevocationReason(name: reasonText) else {
      throw CommandFailure(
        "--reason must be one of \(RevocationReason.allCases.map(\.name).joined(separator: ", ")); “\(reasonText)” is not."
      )
    }
    let app = try context.host
    let record: IssuedCertificate
    do {
      record = try await app.registrationAuthority.certificates.revoke(
        serial: serial, reason: reason, by: .commandLine)
    } catch let error as MailsealError {
      throw CommandFailure(
        error == .notFound
          ? "No certificate of this installation has serial \(serial)." : error.detail(.en))
    }
    // A command ends before the publisher's debounce: publish the CRL now.
    try await app.publishCRL(issuerID: record.issuerID)
    context.console.print(
      "Revoked \(record.serial) (\(record.mailbox)) for \(reason.name); the CRL is published.")
  }
}
