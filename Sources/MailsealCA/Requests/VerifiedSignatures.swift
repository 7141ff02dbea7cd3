import Crypto
import Synchronization

/// The requests whose proof of possession this process has verified, by
/// SHA-256 over their exact DER.
///
/// The portal checks a request twice: when it is submitted, and again when
/// the approved request is issued (the CA core trusts nothing it did not
/// check itself). The signature on a request is a pure function of its
/// bytes, so the second check finds the digest here and does not verify
/// the same signature again; everything else in the check (size, form,
/// key type, signature algorithm) runs every time. Only verifications that
/// succeeded are remembered, only by ``CertificateRequestCheck`` itself,
/// and nothing from outside the process (the store) can add to it: a
/// request changed by one byte has another digest and is verified in full.
/// A process that did not see the submission (a restart, another instance
/// on the same PostgreSQL) verifies in full.
///
/// Bounded: the oldest of ``capacity`` digests is forgotten first (about
/// 4 MiB when full), so a flood of submissions costs only re-verification.
public final class VerifiedSignatures: Sendable {
  /// The process's record, used by ``CertificateRequestCheck``.
  public static let shared = VerifiedSignatures(capacity: 65_536)

  /// How many digests are kept.
  public let capacity: Int

  private struct State {
    var members: Set<SHA256Digest> = []
    /// The digests in the order they came, as a ring.
    var order: [SHA256Digest] = []
    var next = 0
  }
  private let state = Mutex(State())

  init(capacity: Int) {
    precondition(capacity > 0)
    self.capacity = capacity
  }

  /// Whether a verification of these bytes succeeded in this process.
  func contains(_ digest: SHA256Digest) -> Bool {
    state.withLock { $0.members.contains(digest) }
  }

  /// Records a verification that succeeded.
  func insert(_ digest: SHA256Digest) {
    state.withLock { state in
      guard state.members.insert(digest).inserted else { return }
      if state.order.count < capacity {
        state.order.append(digest)
      } else {
        state.members.remove(state.order[state.next])
        state.order[state.next] = digest
        state.next = (state.next + 1) % capacity
      }
    }
  }

  /// Forgets every digest, so that the next check of any request verifies
  /// its signature (benchmarks measure the check in full with it).
  public func removeAll() {
    state.withLock { $0 = State() }
  }

  /// How many digests are kept now.
  public var count: Int { state.withLock { $0.members.count } }
}
