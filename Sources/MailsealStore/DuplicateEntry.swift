import FluentKit

/// A row the store was asked to add is there already: a unique index
/// refused it (a number drawn twice, a second open recovery, an address
/// taken). What the caller does about it is policy, not the store's.
public struct DuplicateEntry: Error, Sendable {
  public init() {}

  /// Runs `body`, turning a constraint failure into ``DuplicateEntry``.
  static func mapping<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch let error as any DatabaseError where error.isConstraintFailure {
      throw DuplicateEntry()
    }
  }
}
