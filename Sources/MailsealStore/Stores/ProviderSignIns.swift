public import FluentKit
import Foundation
import SQLKit

/// Sign-ins begun at the identity provider and not yet finished
/// (`oidc_logins`: only hashes of their state and browser token).
public struct ProviderSignIns: Sendable {
  let database: any Database

  /// Records a sign-in begun for `purpose`, after forgetting the expired.
  public func begin(
    stateHash: String, browserHash: String, purpose: String, now: Date, expiresAt: Date
  ) async throws {
    try await database.sql.raw("DELETE FROM oidc_logins WHERE expires_at < \(bind: now)").run()
    try await database.sql.insert(into: "oidc_logins")
      .columns("id", "state_hash", "browser_hash", "purpose", "created_at", "expires_at")
      .values(
        SQLBind(UUID()), SQLBind(stateHash), SQLBind(browserHash), SQLBind(purpose),
        SQLBind(now), SQLBind(expiresAt)
      ).run()
  }

  /// Takes the sign-in with this state, in one statement: once, only by
  /// its browser, before it expires. Its purpose, or nil.
  public func take(stateHash: String, browserHash: String, now: Date) async throws -> String? {
    let row = try await database.sql.raw(
      """
      DELETE FROM oidc_logins WHERE state_hash = \(bind: stateHash)
        AND browser_hash = \(bind: browserHash) AND expires_at > \(bind: now)
      RETURNING purpose
      """
    ).first()
    return try row?.decode(column: "purpose", as: String.self)
  }
}
