import NIOPosix
import Synchronization

/// Where staff passwords are hashed and checked: scrypt costs 32 MiB and
/// about 0.1 s a time, so it never runs on an event loop or the cooperative
/// thread pool — it has one thread of its own — and at most ``queueLimit``
/// hashes wait for it. A flood of sign-ins (anyone may send them) is refused
/// with 429 beyond that, while OCSP, CRLs and the pages go on.
package final class PasswordHashing: Sendable {
  package static let shared = PasswordHashing(threads: 1, queueLimit: 8)

  private let pool: NIOThreadPool
  private let waiting = Mutex(0)
  let queueLimit: Int

  init(threads: Int, queueLimit: Int) {
    pool = NIOThreadPool(numberOfThreads: threads)
    pool.start()
    self.queueLimit = queueLimit
  }

  /// Refuses at once when the queue is full — before any other work is
  /// spent on a sign-in that could not be checked anyway. (``run(_:)``
  /// keeps the bound; this only saves the work.)
  package func refuseWhenFull() throws {
    if waiting.withLock({ $0 >= queueLimit }) { throw MailsealError(.busy) }
  }

  /// Runs `work` on the hashing thread, or refuses at once when too many
  /// hashes wait already.
  package func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    let admitted = waiting.withLock { count -> Bool in
      guard count < queueLimit else { return false }
      count += 1
      return true
    }
    guard admitted else { throw MailsealError(.busy) }
    defer { waiting.withLock { $0 -= 1 } }
    return try await pool.runIfActive(work)
  }
}
