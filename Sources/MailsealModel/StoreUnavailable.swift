/// The database cannot be used right now — it is restarting, unreachable,
/// out of space or read-only — as opposed to a statement that is wrong.
/// Pages answer 503 with `Retry-After`, OCSP `tryLater`, workers wait and
/// try again; nothing is half written, because the transaction that met
/// it is rolled back (or never reached the database).
public struct StoreUnavailable: Error, CustomStringConvertible, Sendable {
  public enum Cause: String, Sendable {
    /// No connection: refused, reset, closed by the server (restart,
    /// fail-over, administrator), or none free in time.
    case unreachable
    /// The disk is full (SQLITE_FULL, PostgreSQL 53100).
    case diskFull = "disk-full"
    /// The data folder or database cannot be written.
    case readOnly = "read-only"
    /// The file or server answered with an input/output error.
    case ioError = "io-error"
  }

  public let cause: Cause
  /// What the driver said, for the log (never shown to a client).
  public let underlying: String

  public init(_ cause: Cause, underlying: String) {
    self.cause = cause
    self.underlying = underlying
  }

  public var description: String { "database unavailable (\(cause.rawValue)): \(underlying)" }

  /// How long a client should wait before trying again.
  public var retryAfterSeconds: Int { cause == .unreachable ? 5 : 60 }
}
