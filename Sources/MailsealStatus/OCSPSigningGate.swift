public import Foundation
import Synchronization

/// Who may have an OCSP response signed for their request alone — a
/// response with their nonce, for several certificates at once, or for a
/// serial the responder does not know — and when.
///
/// Such a signature cannot be made ahead, so each costs the responder's
/// key a signature: a client that sends nonces as fast as it can must not
/// be able to keep the cores (or a token that signs a few hundred times a
/// second) busy, nor evict anything that other clients are answered from.
/// So at most ``limit`` such signatures are in flight at once, and each
/// client address may have ``ratePerClient`` a second (bursts up to
/// ``burstPerClient``). Beyond that, the responder answers a nonce request
/// from the response signed ahead, without the nonce (RFC 5019 §4 and RFC
/// 6960 §4.4.1 let a responder do so), and other requests with tryLater.
///
/// Admission is one step under one lock: two requests never both take
/// the last permit.
public final class OCSPSigningGate: Sendable {
  /// Signatures for single requests in flight at once.
  public let limit: Int
  /// Per client address: signatures a second, and the most at once.
  public let ratePerClient: Double
  public let burstPerClient: Double
  /// The most client addresses remembered; when full, those whose bucket
  /// is full again are forgotten, and a new client waits for room.
  static let maximumClients = 65_536

  struct Bucket {
    var tokens: Double
    var updated: Date
  }

  struct State {
    var inFlight = 0
    var clients: [String: Bucket] = [:]
  }

  private let state = Mutex(State())

  public init(limit: Int, ratePerClient: Double = 20, burstPerClient: Double = 40) {
    self.limit = max(1, limit)
    self.ratePerClient = ratePerClient
    self.burstPerClient = burstPerClient
  }

  /// A gate for this machine: half its cores (at least one) sign for
  /// single requests, the rest stay for answers signed ahead, pages and
  /// the issuance.
  public static func forThisMachine() -> OCSPSigningGate {
    OCSPSigningGate(limit: max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
  }

  /// Takes a permit for `client` when both the gate and the client's
  /// bucket allow it; ``release()`` gives it back.
  public func admit(_ client: String, now: Date = Date()) -> Bool {
    state.withLock { state in
      guard state.inFlight < limit else { return false }
      var bucket = refilled(state.clients[client], now: now)
      guard bucket.tokens >= 1 else {
        state.clients[client] = bucket
        return false
      }
      if state.clients[client] == nil, state.clients.count >= Self.maximumClients {
        state.clients = state.clients.filter {
          refilled($0.value, now: now).tokens < burstPerClient
        }
        guard state.clients.count < Self.maximumClients else { return false }
      }
      bucket.tokens -= 1
      state.clients[client] = bucket
      state.inFlight += 1
      return true
    }
  }

  /// Whether ``admit(_:now:)`` would refuse now (without taking a
  /// permit): lets the event loop answer from memory at once.
  public func isClosed(to client: String, now: Date = Date()) -> Bool {
    state.withLock { state in
      state.inFlight >= limit || refilled(state.clients[client], now: now).tokens < 1
    }
  }

  /// Gives a permit back.
  public func release() {
    state.withLock { $0.inFlight = max(0, $0.inFlight - 1) }
  }

  /// Signatures in flight now.
  public var inFlight: Int { state.withLock { $0.inFlight } }

  private func refilled(_ bucket: Bucket?, now: Date) -> Bucket {
    guard var bucket else { return Bucket(tokens: burstPerClient, updated: now) }
    let elapsed = max(0, now.timeIntervalSince(bucket.updated))
    bucket.tokens = min(burstPerClient, bucket.tokens + elapsed * ratePerClient)
    bucket.updated = now
    return bucket
  }
}
