public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// The orders at an upstream certificate authority (`upstream_orders`),
/// and the requests held for an admin on their account.
public struct UpstreamOrders: Sendable {
  let database: any Database

  static let columns = [
    "id", "request_id", "purpose", "upstream", "state", "reference", "progress", "attempts",
    "next_attempt_at", "last_error", "certificate_der", "created_at", "updated_at",
  ]

  /// The orders of some requests.
  public func orders(of requestIDs: [UUID]) async throws -> [UpstreamOrder] {
    guard !requestIDs.isEmpty else { return [] }
    var orders: [UpstreamOrder] = []
    for chunk in requestIDs.chunked(into: BulkInsert.rowsPerStatement) {
      orders += try await database.sql.select().columns(Self.columns).from("upstream_orders")
        .where(SQLAmong("request_id", Array(chunk))).all().map(Self.order)
    }
    return orders
  }

  /// Records a new order; `false` if the request has one for this purpose
  /// already (another worker recorded it first: look that one up).
  public func record(_ order: UpstreamOrder) async throws -> Bool {
    do {
      try await DuplicateEntry.mapping {
        try await database.sql.insert(into: "upstream_orders").columns(Self.columns)
          .values(
            SQLBind(order.id), SQLBind(order.requestID), SQLBind(order.purpose),
            SQLBind(order.upstream), SQLBind(order.state.rawValue), SQLBind(order.reference),
            SQLBind(order.progress), SQLBind(order.attempts), SQLBind(order.nextAttemptAt),
            SQLBind(order.lastError), SQLBind(order.certificateDER), SQLBind(order.createdAt),
            SQLBind(order.updatedAt)
          ).run()
      }
      return true
    } catch is DuplicateEntry {
      return false
    }
  }

  /// Writes where an order stands now.
  public func update(_ order: UpstreamOrder) async throws {
    try await database.sql.update("upstream_orders")
      .set("state", to: order.state.rawValue)
      .set("reference", to: order.reference)
      .set("progress", to: order.progress)
      .set("attempts", to: order.attempts)
      .set("next_attempt_at", to: order.nextAttemptAt)
      .set("last_error", to: order.lastError)
      .set("certificate_der", to: order.certificateDER)
      .set("updated_at", to: order.updatedAt)
      .where("id", .equal, order.id)
      .run()
  }

  /// Holds an approved request for an admin, in one statement (once: a
  /// request held already is not held again); its recipient if it was
  /// held now.
  public func hold(_ requestID: UUID, reason: String, now: Date) async throws
    -> RequestRecipient?
  {
    try await database.sql.raw(
      """
      UPDATE certificate_requests SET upstream_held_at = \(bind: now),
        upstream_held_reason = \(bind: String(reason.prefix(2_000))), issuing_lease_until = NULL,
        updated_at = \(bind: now)
      WHERE id = \(bind: requestID) AND state = \(CertificateRequest.State.approved)
        AND upstream_held_at IS NULL
      RETURNING id, number, mailbox, language
      """
    ).first().map(IssuanceRecords.recipient)
  }

  /// Keeps the claim of requests whose orders the upstream finishes later
  /// until `until` (when they are asked after again) — only where this
  /// claim (`leaseUntil`) still holds.
  public func extendClaims(_ ids: [UUID], leaseUntil: Date, until: Date) async throws {
    for chunk in ids.chunked(into: BulkInsert.rowsPerStatement) {
      try await database.sql.raw(
        """
        UPDATE certificate_requests SET issuing_lease_until = \(bind: until)
        WHERE id IN (\(binds: Array(chunk))) AND state = \(CertificateRequest.State.approved)
          AND issuing_lease_until = \(bind: leaseUntil)
        """
      ).run()
    }
  }

  /// The requests held for an admin, with their orders: oldest first.
  public func held(limit: Int = 200) async throws -> [(CertificateRequest, [UpstreamOrder])] {
    let records = try await CertificateRequestRecord.query(on: database)
      .filter(\.$state == .approved).filter(\.$upstreamHeldAt != nil)
      .sort(\.$upstreamHeldAt, .ascending).limit(limit).all()
    let requests = try records.map { try $0.value }
    let orders = Dictionary(grouping: try await orders(of: requests.map(\.id)), by: \.requestID)
    return requests.map { ($0, orders[$0.id] ?? []) }
  }

  static func order(_ row: any SQLRow) throws -> UpstreamOrder {
    UpstreamOrder(
      id: try row.decode(column: "id", as: UUID.self),
      requestID: try row.decode(column: "request_id", as: UUID.self),
      purpose: try row.decode(column: "purpose", as: String.self),
      upstream: try row.decode(column: "upstream", as: String.self),
      state: UpstreamOrder.State(rawValue: try row.decode(column: "state", as: String.self))
        ?? .held,
      reference: try row.decode(column: "reference", as: String?.self),
      progress: try row.decode(column: "progress", as: Data?.self),
      attempts: try row.decode(column: "attempts", as: Int.self),
      nextAttemptAt: try row.decode(column: "next_attempt_at", as: Date.self),
      lastError: try row.decode(column: "last_error", as: String?.self),
      certificateDER: try row.decode(column: "certificate_der", as: Data?.self),
      createdAt: try row.decode(column: "created_at", as: Date.self),
      updatedAt: try row.decode(column: "updated_at", as: Date.self))
  }
}

extension Store {
  public var upstreamOrders: UpstreamOrders { UpstreamOrders(database: database) }
}
