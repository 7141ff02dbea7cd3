extension Optional {
  /// `flatMap` with an asynchronous transform.
  package func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
    guard let self else { return nil }
    return try await transform(self)
  }
}
