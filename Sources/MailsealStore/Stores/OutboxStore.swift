public import FluentKit
public import Foundation
import SQLKit

/// The outbox: mails queued in the transaction of the change they tell
/// of, delivered by the mail worker (claimed with a lease, so that two
/// instances never send one mail twice at once).
public struct OutboxStore: Sendable {
  let database: any Database

  /// A mail, rendered, to queue.
  public struct Rendered: Sendable {
    public let id: UUID
    public let recipient: String
    public let sender: String
    public let subject: String
    public let message: String

    public init(id: UUID, recipient: String, sender: String, subject: String, message: String) {
      self.id = id
      self.recipient = recipient
      self.sender = sender
      self.subject = subject
      self.message = message
    }
  }

  /// A mail claimed for delivery.
  public struct Claimed: Sendable {
    public let id: UUID
    public let recipient: String
    public let sender: String
    public let message: String
    /// Attempts before this one.
    public let attempts: Int
    public let createdAt: Date
  }

  /// Queues mails, due now (a few statements in plain SQL, one on
  /// PostgreSQL).
  public func enqueue(_ mails: [Rendered], now: Date) async throws {
    let count = mails.count
    try await BulkInsert(into: OutboxMessageRecord.schema)
      .column("id", .uuid(mails.map(\.id)))
      .column("recipient", .text(mails.map(\.recipient)))
      .column("sender", .text(mails.map(\.sender)))
      .column("subject", .text(mails.map(\.subject)))
      .column("message", .text(mails.map(\.message)))
      .column(
        "state", .text(Array(repeating: OutboxMessageRecord.State.queued.rawValue, count: count))
      )
      .column("attempts", .integer(Array(repeating: 0, count: count)))
      .column("next_attempt_at", .timestamp(Array(repeating: now, count: count)))
      .column("created_at", .timestamp(Array(repeating: now, count: count)))
      .run(on: try database.sql)
  }

  /// Claims up to `limit` due mails for `lease` seconds, in one statement
  /// (PostgreSQL skips rows another instance holds).
  public func claimDue(now: Date, lease: TimeInterval, limit: Int) async throws -> [Claimed] {
    let sql = try database.sql
    return try await sql.raw(
      """
      UPDATE outbox_messages SET leased_until = \(bind: now.addingTimeInterval(lease))
      WHERE id IN (
        SELECT id FROM outbox_messages
        WHERE state = \(OutboxMessageRecord.State.queued) AND next_attempt_at <= \(bind: now)
          AND (leased_until IS NULL OR leased_until < \(bind: now))
        ORDER BY next_attempt_at LIMIT \(literal: limit)\(unsafeRaw: sql.skipLocked))
      RETURNING id, recipient, sender, message, attempts, created_at
      """
    ).all().map { row in
      Claimed(
        id: try row.decode(column: "id", as: UUID.self),
        recipient: try row.decode(column: "recipient", as: String.self),
        sender: try row.decode(column: "sender", as: String.self),
        message: try row.decode(column: "message", as: String.self),
        attempts: try row.decode(column: "attempts", as: Int.self),
        createdAt: try row.decode(column: "created_at", as: Date.self))
    }
  }

  /// Gives claimed mails that are still queued back (their lease ends).
  public func release(_ ids: [UUID]) async throws {
    guard !ids.isEmpty else { return }
    try await database.sql.update("outbox_messages")
      .set(SQLColumn("leased_until"), to: SQLLiteral.null)
      .where("id", .in, ids).where("state", .equal, "queued").run()
  }

  /// A mail was delivered at `sentAt` after `attempts` attempts.
  public func markSent(_ id: UUID, attempts: Int, sentAt: Date) async throws {
    try await database.sql.update("outbox_messages")
      .set("state", to: OutboxMessageRecord.State.sent.rawValue).set("sent_at", to: sentAt)
      .set("attempts", to: attempts).set(SQLColumn("leased_until"), to: SQLLiteral.null)
      .set(SQLColumn("last_error"), to: SQLLiteral.null)
      .where("id", .equal, id).run()
  }

  /// A delivery failed: tried again at `next`, or given up for good.
  public func reschedule(
    _ id: UUID, givingUp: Bool, attempts: Int, next: Date, error: String
  ) async throws {
    try await database.sql.update("outbox_messages")
      .set("state", to: (givingUp ? OutboxMessageRecord.State.failed : .queued).rawValue)
      .set("attempts", to: attempts)
      .set("next_attempt_at", to: next)
      .set(SQLColumn("leased_until"), to: SQLLiteral.null)
      .set("last_error", to: String(error.prefix(500)))
      .where("id", .equal, id).run()
  }
}
