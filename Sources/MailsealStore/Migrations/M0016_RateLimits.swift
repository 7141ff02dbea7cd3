import FluentKit

/// Counters for rate limits (login links per address and per client, staff
/// sign-in per client and per account), one row per key and window, so that
/// counting and admitting is one atomic statement.
struct M0016_RateLimits: AsyncMigration {
  var name: String { "M0016_RateLimits" }

  func prepare(on database: any Database) async throws {
    try await database.schema("rate_limits")
      .field("key", .string, .identifier(auto: false))
      .field("window_start", .datetime, .required)
      .field("count", .int64, .required)
      .create()
  }

  func revert(on database: any Database) async throws {
    try await database.schema("rate_limits").delete()
  }
}
