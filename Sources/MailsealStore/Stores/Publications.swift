public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// The publication queue (`publications`): changes for the directory,
/// numbered in the order they were queued (`publication_head`), applied
/// per address in that order.
public struct Publications: Sendable {
  let database: any Database

  /// A change to queue.
  public struct Item: Sendable {
    public let kind: PublicationChange.Kind
    public let mailbox: String
    public let serial: String
    public let certificate: [UInt8]
    public let reason: String

    public init(
      kind: PublicationChange.Kind, mailbox: String, serial: String, certificate: [UInt8],
      reason: String
    ) {
      self.kind = kind
      self.mailbox = mailbox
      self.serial = serial
      self.certificate = certificate
      self.reason = reason
    }
  }

  /// A change claimed for applying.
  public struct Claimed: Sendable {
    public let id: UUID
    /// Attempts with this one.
    public let attempts: Int
    public let change: PublicationChange
  }

  /// Queues changes in the caller's transaction, numbered after every
  /// change queued before (the head row's lock orders them).
  public func enqueue(_ items: [Item], now: Date) async throws {
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
      .column("state", .text(items.map { _ in PublicationState.queued.rawValue }))
      .column("attempts", .integer(items.map { _ in 0 }))
      .column("next_attempt_at", .timestamp(items.map { _ in now }))
      .column("created_at", .timestamp(items.map { _ in now }))
      .run(on: sql)
  }

  /// The certificate `serial` as it was queued for publication, if its
  /// latest change queued is its publication (not a removal).
  public func published(serial: String) async throws -> (mailbox: String, der: [UInt8])? {
    guard
      let row = try await database.sql.raw(
        """
        SELECT kind, mailbox, der FROM publications WHERE serial = \(bind: serial)
        ORDER BY sequence DESC LIMIT 1
        """
      ).first(),
      try row.decode(column: "kind", as: String.self) == PublicationChange.Kind.publish.rawValue
    else { return nil }
    return (
      try row.decode(column: "mailbox", as: String.self),
      Array(try row.decode(column: "der", as: Data.self))
    )
  }

  /// Published certificates that expired before `now` and whose removal
  /// is not queued yet (their latest change is the publication), oldest
  /// first, at most `limit`.
  public func expired(now: Date, limit: Int) async throws -> [(
    serial: String, mailbox: String, der: [UInt8]
  )] {
    try await database.sql.raw(
      """
      SELECT p.serial, p.mailbox, p.der FROM publications p
      JOIN certificates c ON c.serial = p.serial
      WHERE p.kind = \(bind: PublicationChange.Kind.publish.rawValue) AND c.not_after < \(bind: now)
        AND NOT EXISTS (SELECT 1 FROM publications r WHERE r.serial = p.serial
          AND r.sequence > p.sequence)
      ORDER BY p.sequence LIMIT \(literal: limit)
      """
    ).all().map { row in
      (
        try row.decode(column: "serial", as: String.self),
        try row.decode(column: "mailbox", as: String.self),
        Array(try row.decode(column: "der", as: Data.self))
      )
    }
  }

  /// How many changes are in each state.
  public func counts() async throws -> [PublicationState: Int] {
    var counts: [PublicationState: Int] = [:]
    for (key, count) in try await database.counts(
      "SELECT state AS key, COUNT(*) AS n FROM publications GROUP BY state")
    {
      if let state = PublicationState(rawValue: key) { counts[state] = count }
    }
    return counts
  }

  /// Claims, in one statement, the first waiting change of each address
  /// whose earlier changes are all applied or set aside, for `lease`
  /// seconds (PostgreSQL skips rows another instance holds).
  public func claimDue(now: Date, lease: TimeInterval, limit: Int) async throws -> [Claimed] {
    let sql = try database.sql
    let queued = PublicationState.queued.rawValue
    return try await sql.raw(
      """
      UPDATE publications SET lease_until = \(bind: now.addingTimeInterval(lease)),
        attempts = attempts + 1
      WHERE id IN (
        SELECT p.id FROM publications p
        WHERE p.state = \(bind: queued) AND p.next_attempt_at <= \(bind: now)
          AND (p.lease_until IS NULL OR p.lease_until < \(bind: now))
          AND NOT EXISTS (SELECT 1 FROM publications e WHERE e.mailbox = p.mailbox
            AND e.sequence < p.sequence AND e.state = \(bind: queued))
        ORDER BY p.sequence LIMIT \(literal: limit)\(unsafeRaw: sql.skipLocked))
      RETURNING id, sequence, kind, mailbox, serial, der, reason, attempts
      """
    ).all().map { row in
      Claimed(
        id: try row.decode(column: "id", as: UUID.self),
        attempts: try row.decode(column: "attempts", as: Int.self),
        change: PublicationChange(
          sequence: try row.decode(column: "sequence", as: Int64.self),
          kind: PublicationChange.Kind(rawValue: try row.decode(column: "kind", as: String.self))
            ?? .publish,
          mailbox: try row.decode(column: "mailbox", as: String.self),
          serial: try row.decode(column: "serial", as: String.self),
          certificate: Array(try row.decode(column: "der", as: Data.self)),
          reason: try row.decode(column: "reason", as: String.self)))
    }
  }

  /// Applied.
  public func markDone(_ id: UUID, now: Date) async throws {
    try await database.sql.raw(
      """
      UPDATE publications SET state = \(bind: PublicationState.done.rawValue),
        done_at = \(bind: now), lease_until = NULL, last_error = NULL WHERE id = \(bind: id)
      """
    ).run()
  }

  /// Set aside for good, with the reason.
  public func setAside(_ id: UUID, reason: String) async throws {
    try await database.sql.raw(
      """
      UPDATE publications SET state = \(bind: PublicationState.setAside.rawValue),
        lease_until = NULL, last_error = \(bind: reason) WHERE id = \(bind: id)
      """
    ).run()
  }

  /// Tried again at `next`.
  public func retry(_ id: UUID, reason: String, next: Date) async throws {
    try await database.sql.raw(
      """
      UPDATE publications SET lease_until = NULL, last_error = \(bind: reason),
        next_attempt_at = \(bind: next)
      WHERE id = \(bind: id)
      """
    ).run()
  }
}

struct PublicationHeadMissing: Error, CustomStringConvertible {
  var description: String { "the publication queue's counter row is missing" }
}
