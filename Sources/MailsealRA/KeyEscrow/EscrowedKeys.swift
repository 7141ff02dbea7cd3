public import FluentKit
import Foundation
import MailsealModel
import MailsealStore

/// The escrowed encryption keys this portal holds — envelopes only, each
/// with the encryption certificate it belongs to — for the offline machine:
/// to open one (`mailseal recovery open`) or to check them all
/// (`mailseal recovery check`).
public struct EscrowedKeys: Sendable {
  let database: any Database

  public init(database: any Database) {
    self.database = database
  }

  /// One escrowed key: the envelope and its certificate.
  public struct Entry: Sendable {
    public let serial: String
    public let mailbox: String
    public let certificateDER: Data
    public let envelope: Data
  }

  /// The envelopes of issued requests, oldest first; with `serial`, only
  /// that encryption certificate's. Audited: who takes envelopes off the
  /// portal is in the trail.
  public func export(serial: String? = nil, actor: String, now: Date = Date()) async throws
    -> [Entry]
  {
    let entries = try await Store(database).requests.escrowedKeys(serial: serial).map {
      Entry(
        serial: $0.serial, mailbox: $0.mailbox, certificateDER: $0.certificateDER,
        envelope: $0.envelope)
    }
    try await AuditTrail.append(
      AuditEvent(
        actor: actor, action: .escrowExported, subject: serial ?? "all",
        details: [
          "count": "\(entries.count)",
          "serials": entries.map(\.serial).joined(separator: ","),
        ]),
      on: database, now: now)
    return entries
  }
}
