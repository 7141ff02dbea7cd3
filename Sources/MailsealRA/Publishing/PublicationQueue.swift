public import FluentKit
import Foundation
public import MailsealModel
import MailsealStore

/// The durable queue of changes for the ``Publisher``: a change is queued
/// in the transaction that makes it necessary, so it is never lost and
/// never made for something that was undone; each is numbered in the order
/// it was queued (every enqueuing transaction takes the one counter row,
/// so numbers follow commit order).
public enum PublicationQueue {
  /// A change to queue.
  typealias Item = Publications.Item

  /// Queues changes in the caller's transaction, numbered after every
  /// change queued before.
  static func enqueue(_ items: [Item], on database: any Database, now: Date) async throws {
    try await Store(database).publications.enqueue(items, now: now)
  }

  /// Queues the removal of certificate `serial` if it was queued for
  /// publication and its removal is not queued yet (in the caller's
  /// transaction). Whether it queued one.
  @discardableResult
  static func enqueueRemoval(
    serial: String, reason: String, on database: any Database, now: Date
  ) async throws -> Bool {
    let store = Store(database)
    guard let published = try await store.publications.published(serial: serial) else {
      return false
    }
    try await store.publications.enqueue(
      [
        Item(
          kind: .unpublish, mailbox: published.mailbox, serial: serial,
          certificate: published.der, reason: reason)
      ], now: now)
    return true
  }

  /// Queues the removal of published certificates that expired (at most
  /// 1,000 a round); how many.
  @discardableResult
  public static func enqueueExpired(on database: any Database, now: Date = Date()) async throws
    -> Int
  {
    try await Store(database).transaction { store in
      let expired = try await store.publications.expired(now: now, limit: 1_000)
      try await store.publications.enqueue(
        expired.map {
          Item(
            kind: .unpublish, mailbox: $0.mailbox, serial: $0.serial, certificate: $0.der,
            reason: "expired")
        }, now: now)
      return expired.count
    }
  }

  public typealias State = PublicationState

  /// How many changes are in each state (for the administrators' page).
  public static func counts(on database: any Database) async throws -> [State: Int] {
    try await Store(database).publications.counts()
  }
}
