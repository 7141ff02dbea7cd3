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

  /// Orders by their own ids (those of `mailseal ca issue`).
  public func orders(ids: [UUID]) async throws -> [UpstreamOrder] {
    guard !ids.isEmpty else { return [] }
    return try await database.sql.select().columns(Self.columns).from("upstream_orders")
      .where(SQLAmong("id", ids)).all().map(Self.order)
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
      .set("created_at", to: order.createdAt)
      .set("updated_at", to: order.updatedAt)
      .where("id", .equal, order.id)
      .run()
  }

  /// An admin asks the upstream to revoke the certificate a held order
  /// brought back; false unless the order is held with a certificate.
  public func requestRevocation(_ id: UUID, now: Date) async throws -> Bool {
    !(try await database.sql.raw(
      """
      UPDATE upstream_orders SET state = \(bind: UpstreamOrder.State.revoking.rawValue),
        next_attempt_at = \(bind: now), attempts = 0, updated_at = \(bind: now)
      WHERE id = \(bind: id) AND state = \(bind: UpstreamOrder.State.held.rawValue)
        AND certificate_der IS NOT NULL
      RETURNING id
      """
    ).all()).isEmpty
  }

  /// Releases a held request (an admin's decision): its orders that came
  /// to nothing are forgotten, the hold cleared; false while an order is
  /// still open or being revoked.
  public func release(_ requestID: UUID, now: Date) async throws -> Bool {
    let sql = try database.sql
    // One statement decides: held, approved, and no order still open.
    let released = try await sql.raw(
      """
      UPDATE certificate_requests SET upstream_held_at = NULL, upstream_held_reason = NULL,
        issuing_lease_until = NULL, updated_at = \(bind: now)
      WHERE id = \(bind: requestID) AND state = \(CertificateRequest.State.approved)
        AND upstream_held_at IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM upstream_orders WHERE request_id = \(bind: requestID)
          AND state NOT IN ('held', 'refused', 'revoked'))
      RETURNING id
      """
    ).all()
    guard !released.isEmpty else { return false }
    try await sql.raw("DELETE FROM upstream_orders WHERE request_id = \(bind: requestID)").run()
    return true
  }

  /// Claims the held certificates to revoke that are due, until `until`.
  public func claimRevoking(now: Date, until: Date, limit: Int = 50) async throws
    -> [UpstreamOrder]
  {
    let sql = try database.sql
    return try await sql.raw(
      """
      UPDATE upstream_orders SET next_attempt_at = \(bind: until)
      WHERE id IN (
        SELECT id FROM upstream_orders WHERE state = \(bind: UpstreamOrder.State.revoking.rawValue)
          AND next_attempt_at <= \(bind: now)
        ORDER BY updated_at LIMIT \(literal: limit)\(unsafeRaw: sql.skipLocked))
      RETURNING \(unsafeRaw: Self.columns.joined(separator: ", "))
      """
    ).all().map(Self.order)
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
      requestID: try row.decode(column: "request_id", as: UUID?.self),
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

/// Revocations asked of an upstream certificate authority
/// (`upstream_revocations`): one per certificate, sent until the upstream
/// confirms; the certificate is revoked here then.
public struct UpstreamRevocations: Sendable {
  let database: any Database

  /// A revocation due to be sent.
  public struct Due: Sendable {
    public let id: UUID
    public let certificateID: UUID
    public let reason: String
    public let requestedBy: String
    public let attempts: Int
  }

  /// Records the request, in the caller's transaction; false if the
  /// certificate's revocation was asked before.
  public func request(
    certificateID: UUID, reason: String, by actor: String, now: Date
  ) async throws -> Bool {
    let sql = try database.sql
    do {
      try await DuplicateEntry.mapping {
        try await sql.insert(into: "upstream_revocations")
          .columns(
            "id", "certificate_id", "reason", "requested_by", "state", "attempts",
            "next_attempt_at", "created_at"
          )
          .values(
            SQLBind(UUID()), SQLBind(certificateID), SQLBind(reason), SQLBind(actor),
            SQLBind("pending"), SQLBind(0), SQLBind(now), SQLBind(now)
          ).run()
      }
    } catch is DuplicateEntry {
      return false
    }
    try await sql.update("certificates").set("revocation_requested_at", to: now)
      .where("id", .equal, certificateID).run()
    return true
  }

  /// Claims the revocations due, until `until` (one statement: two workers
  /// never send one twice at once).
  public func claimDue(now: Date, until: Date, limit: Int = 50) async throws -> [Due] {
    let sql = try database.sql
    return try await sql.raw(
      """
      UPDATE upstream_revocations SET next_attempt_at = \(bind: until)
      WHERE id IN (
        SELECT id FROM upstream_revocations WHERE state = 'pending' AND next_attempt_at <= \(bind: now)
        ORDER BY created_at LIMIT \(literal: limit)\(unsafeRaw: sql.skipLocked))
      RETURNING id, certificate_id, reason, requested_by, attempts
      """
    ).all().map { row in
      Due(
        id: try row.decode(column: "id", as: UUID.self),
        certificateID: try row.decode(column: "certificate_id", as: UUID.self),
        reason: try row.decode(column: "reason", as: String.self),
        requestedBy: try row.decode(column: "requested_by", as: String.self),
        attempts: try row.decode(column: "attempts", as: Int.self))
    }
  }

  /// The upstream confirmed it.
  public func done(_ id: UUID, now: Date) async throws {
    try await database.sql.update("upstream_revocations").set("state", to: "done")
      .set("done_at", to: now).where("id", .equal, id).run()
  }

  /// Not confirmed: asked again at `next`.
  public func failed(_ id: UUID, attempts: Int, next: Date, error: String) async throws {
    try await database.sql.update("upstream_revocations").set("attempts", to: attempts)
      .set("next_attempt_at", to: next).set("last_error", to: String(error.prefix(1_000)))
      .where("id", .equal, id).run()
  }
}

extension Store {
  public var upstreamRevocations: UpstreamRevocations { UpstreamRevocations(database: database) }
}
