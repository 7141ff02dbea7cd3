public import FluentKit
import Foundation
import MailsealStore
import SQLKit

/// The durable queue of changes for the ``Publisher``: a change is queued
/// in the transaction that makes it necessary, so it is never lost and
/// never made for something that was undone; each is numbered in the order
/// it was queued (every enqueuing transaction takes the one counter row,
/// so numbers follow commit order).
public enum PublicationQueue {
  /// One change to queue.
  struct Item: Sendable {
    let kind: PublicationChange.Kind
    let mailbox: String
    let serial: String
    let certificate: [UInt8]
    let reason: String
  }

  /// Queues `items` in the caller's transaction (nothing: nothing done).
  static func enqueue(_ items: [Item], on database: any Database, now: Date) async throws {
    guard !items.isEmpty else { return }
    let sql = try database.sql
    guard
      let head = try await sql.raw(
        """
        UPDATE publication_head SET sequence = sequence + \(bind: Int64(items.count)) WHERE id = 1
        RETURNING sequence
        """
      ).first()
    else { throw PublicationHeadMissing() }
    let last = try head.decode(column: "sequence", as: Int64.self)
    let first = last - Int64(items.count) + 1
    try await BulkInsert(into: "publications")
      .column("id", .uuid(items.map { _ in UUID() }))
      .column("sequence", .integer(Array(first...last)))
      .column("kind", .text(items.map(\.kind.rawValue)))
      .column("mailbox", .text(items.map(\.mailbox)))
      .column("serial", .text(items.map(\.serial)))
      .column("der", .bytes(items.map { Data($0.certificate) }))
      .column("reason", .text(items.map(\.reason)))
      .column("state", .text(items.map { _ in State.queued.rawValue }))
      .column("attempts", .integer(items.map { _ in 0 }))
      .column("next_attempt_at", .timestamp(items.map { _ in now }))
      .column("created_at", .timestamp(items.map { _ in now }))
      .run(on: sql)
  }

  /// Queues the removal of a certificate that was queued for publishing
  /// and not yet for removal (in the caller's transaction: a revocation,
  /// a withdrawn consent). Returns whether one was queued.
  @discardableResult
  static func enqueueRemoval(
    serial: String, reason: String, on database: any Database, now: Date
  ) async throws -> Bool {
    let sql = try database.sql
    guard
      let published = try await sql.raw(
        """
        SELECT mailbox, der FROM publications p WHERE serial = \(bind: serial)
          AND kind = \(bind: PublicationChange.Kind.publish.rawValue)
          AND NOT EXISTS (SELECT 1 FROM publications r WHERE r.serial = p.serial
            AND r.kind = \(bind: PublicationChange.Kind.unpublish.rawValue))
        """
      ).first()
    else { return false }
    try await enqueue(
      [
        Item(
          kind: .unpublish, mailbox: try published.decode(column: "mailbox", as: String.self),
          serial: serial,
          certificate: Array(try published.decode(column: "der", as: Data.self)), reason: reason)
      ], on: database, now: now)
    return true
  }

  /// Queues the removal of every published certificate that has expired
  /// (housekeeping); returns how many.
  @discardableResult
  public static func enqueueExpired(on database: any Database, now: Date = Date()) async throws
    -> Int
  {
    try await database.transaction { database in
      let sql = try database.sql
      let expired = try await sql.raw(
        """
        SELECT p.serial, p.mailbox, p.der FROM publications p
        JOIN certificates c ON c.serial = p.serial
        WHERE p.kind = \(bind: PublicationChange.Kind.publish.rawValue) AND c.not_after < \(bind: now)
          AND NOT EXISTS (SELECT 1 FROM publications r WHERE r.serial = p.serial
            AND r.kind = \(bind: PublicationChange.Kind.unpublish.rawValue))
        ORDER BY p.sequence LIMIT 1000
        """
      ).all()
      try await enqueue(
        try expired.map { row in
          Item(
            kind: .unpublish, mailbox: try row.decode(column: "mailbox", as: String.self),
            serial: try row.decode(column: "serial", as: String.self),
            certificate: Array(try row.decode(column: "der", as: Data.self)), reason: "expired")
        }, on: database, now: now)
      return expired.count
    }
  }

  /// Where a change is.
  public enum State: String, Sendable {
    /// Waiting (or being applied, under a lease).
    case queued
    /// Applied.
    case done
    /// The publisher said trying again cannot help: kept for the
    /// administrators, and the address's later changes go on.
    case setAside = "set-aside"
  }

  /// What the queue holds, by state (for `/healthz`, metrics and tests).
  public static func counts(on database: any Database) async throws -> [State: Int] {
    var counts: [State: Int] = [:]
    for row in try await database.sql.raw(
      "SELECT state, COUNT(*) AS n FROM publications GROUP BY state"
    ).all() {
      if let state = State(rawValue: try row.decode(column: "state", as: String.self)) {
        counts[state] = try row.decode(column: "n", as: Int.self)
      }
    }
    return counts
  }
}

struct PublicationHeadMissing: Error, CustomStringConvertible {
  var description: String { "the publication queue's counter row is missing" }
}
