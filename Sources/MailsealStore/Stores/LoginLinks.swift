public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// The login links sent to mailboxes (only their tokens' SHA-256).
public struct LoginLinks: Sendable {
  let database: any Database

  /// Records a link that was sent.
  public func add(
    tokenHash: String, mailbox: String, language: String, clientAddress: String, now: Date,
    expiresAt: Date
  ) async throws {
    let link = LoginLinkRecord()
    link.tokenHash = tokenHash
    link.mailbox = mailbox
    link.language = language
    link.clientAddress = clientAddress
    link.createdAt = now
    link.expiresAt = expiresAt
    try await link.create(on: database)
  }

  /// The link with this token hash, used or not.
  public func find(tokenHash: String) async throws -> LoginLink? {
    guard
      let record = try await LoginLinkRecord.query(on: database)
        .filter(\.$tokenHash == tokenHash).first(), let id = record.id
    else { return nil }
    return LoginLink(
      id: id, mailbox: record.mailbox, createdAt: record.createdAt, expiresAt: record.expiresAt,
      usedAt: record.usedAt)
  }

  /// Marks the link used, in one statement: true for the one opening that
  /// wins when several arrive at once.
  public func claim(_ id: UUID, now: Date) async throws -> Bool {
    !(try await database.sql.raw(
      "UPDATE login_links SET used_at = \(bind: now) WHERE id = \(bind: id) AND used_at IS NULL RETURNING id"
    ).all()).isEmpty
  }
}
