public import FluentKit
public import Foundation
public import Logging
import MailsealCA
import MailsealStore
import SQLKit
import Synchronization
import X509

/// The OCSP responder (RFC 6960): answers for every issuing CA of this
/// installation, signed by the CA's delegated responder certificate (or
/// the CA key itself, `MAILSEAL_OCSP_SIGNER=ca`).
///
/// The status is read from the store on every request, so a revocation is
/// answered at once by every instance; the signed response is cached per
/// CertID and status, so a burst of queries costs no signature each. A
/// request with a nonce is signed for itself, as the nonce is in the signed
/// data.
public final class OCSPService: Sendable {
  let database: any Database
  let configuration: MailsealConfiguration
  let logger: Logger

  /// Responses say they are good for this long (S/MIME BR §4.9.10: at least
  /// 8 hours, at most 10 days) …
  public static let validity: TimeInterval = 4 * 86_400
  /// … and are signed afresh when this old (the BR: at the latest 4 days
  /// after thisUpdate).
  public static let refreshAge: TimeInterval = 12 * 3_600
  /// At most this many signed responses are kept in memory.
  public static let cacheLimit = 200_000
  /// Responders are reloaded this often (new CA, renewed responder).
  static let responderReload: TimeInterval = 300

  struct Responder: Sendable {
    let issuerID: UUID
    let responder: OCSPResponder
  }

  struct Cached: Sendable {
    let status: OCSPCertStatus
    let der: [UInt8]
    let thisUpdate: Date
  }

  /// What an answer was, for metrics and HTTP caching.
  public enum Outcome: String, Sendable, CaseIterable {
    case good, revoked, unknown, malformedRequest, unauthorized, tryLater, internalError
  }

  public struct Answer: Sendable {
    public let der: [UInt8]
    public let outcome: Outcome
    /// For GET responses without a nonce (RFC 5019 §6.2).
    public let thisUpdate: Date?
    public let nextUpdate: Date?

    /// An unsuccessful answer: just the status (RFC 6960 §4.2.1).
    static func error(_ status: OCSPResponseStatus, _ outcome: Outcome) -> Answer {
      Answer(der: status.responseDER, outcome: outcome, thisUpdate: nil, nextUpdate: nil)
    }
  }

  private let responders = Mutex<(loaded: Date, list: [Responder])?>(nil)
  private let cache = Mutex<[[UInt8]: Cached]>([:])

  public init(database: any Database, configuration: MailsealConfiguration, logger: Logger) {
    self.database = database
    self.configuration = configuration
    self.logger = logger
  }

  /// Answers one DER request; never throws: every failure is an OCSP
  /// error response.
  public func respond(to body: [UInt8], now: Date = Date()) async -> Answer {
    let request: OCSPRequest
    do {
      request = try OCSPRequest(derEncoded: body)
    } catch {
      return .error(.malformedRequest, .malformedRequest)
    }
    do {
      return try await answer(request, now: now)
    } catch {
      // While the database is away a relying party should ask again
      // (RFC 6960 §4.2.1), not conclude that something is wrong.
      if let unavailable = StoreUnavailable.classify(error) {
        StoreRefusalLog.shared.note(unavailable, logger: logger)
        return .error(.tryLater, .tryLater)
      }
      // The responder's key is in a token that is away: ask again later.
      if let error = error as? CAError, error.code == .keyUnavailable {
        CustodyFaultLog.shared.note(error, logger: logger)
        return .error(.tryLater, .tryLater)
      }
      logger.error("OCSP response failed: \(String(reflecting: error))")
      return .error(.internalError, .internalError)
    }
  }

  func answer(_ request: OCSPRequest, now: Date) async throws -> Answer {
    let all = try await loadResponders(now: now)
    guard let signer = all.first(where: { $0.responder.isForIssuer(request.certIDs[0]) }),
      request.certIDs.allSatisfy({ signer.responder.isForIssuer($0) })
    else {
      return .error(.unauthorized, .unauthorized)
    }
    let statuses = try await status(of: request.certIDs.map(\.serialHex), issuerID: signer.issuerID)
    let thisUpdate = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
    let outcome = Self.outcome(statuses[request.certIDs[0].serialHex] ?? .unknown)
    if request.certIDs.count == 1, request.nonce == nil {
      let certID = request.certIDs[0]
      let status = statuses[certID.serialHex] ?? .unknown
      if let cached = cache.withLock({ $0[certID.encoded] }), cached.status == status,
        now.timeIntervalSince(cached.thisUpdate) < Self.refreshAge
      {
        return Answer(
          der: cached.der, outcome: outcome, thisUpdate: cached.thisUpdate,
          nextUpdate: cached.thisUpdate.addingTimeInterval(Self.validity))
      }
      let der = try signer.responder.sign(
        [
          OCSPSingleResponse(
            certID: certID, status: status, thisUpdate: thisUpdate,
            nextUpdate: thisUpdate.addingTimeInterval(Self.validity))
        ], producedAt: thisUpdate)
      cache.withLock { cache in
        if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[certID.encoded] = Cached(status: status, der: der, thisUpdate: thisUpdate)
      }
      return Answer(
        der: der, outcome: outcome, thisUpdate: thisUpdate,
        nextUpdate: thisUpdate.addingTimeInterval(Self.validity))
    }
    let der = try signer.responder.sign(
      request.certIDs.map {
        OCSPSingleResponse(
          certID: $0, status: statuses[$0.serialHex] ?? .unknown, thisUpdate: thisUpdate,
          nextUpdate: thisUpdate.addingTimeInterval(Self.validity))
      }, producedAt: thisUpdate, nonce: request.nonce)
    return Answer(der: der, outcome: outcome, thisUpdate: nil, nextUpdate: nil)
  }

  static func outcome(_ status: OCSPCertStatus) -> Outcome {
    switch status {
    case .good: return .good
    case .revoked: return .revoked
    case .unknown: return .unknown
    }
  }

  /// The stored status of serials of one issuer; absent serials are not
  /// in the result (unknown: never issued by it).
  func status(of serials: [String], issuerID: UUID) async throws -> [String: OCSPCertStatus] {
    let sql = try database.sql
    var result: [String: OCSPCertStatus] = [:]
    for row in try await sql.select()
      .columns("serial", "status", "revoked_at", "revocation_reason")
      .from("certificates").where("serial", .in, serials).where("issuer_id", .equal, issuerID)
      .all()
    {
      let serial = try row.decode(column: "serial", as: String.self)
      if try row.decode(column: "status", as: String.self) == "revoked" {
        result[serial] = .revoked(
          at: try row.decode(column: "revoked_at", as: Date.self),
          reason: RevocationReason(
            name: try row.decode(column: "revocation_reason", as: String?.self) ?? "")
            ?? .unspecified)
      } else {
        result[serial] = .good
      }
    }
    return result
  }

  /// Every issuing CA with its signer, reloaded every few minutes.
  func loadResponders(now: Date) async throws -> [Responder] {
    if let loaded = responders.withLock({ $0 }),
      now.timeIntervalSince(loaded.loaded) < Self.responderReload
    {
      return loaded.list
    }
    let installation = CAInstallation(database: database, configuration: configuration)
    var list: [Responder] = []
    for issuer in try await IssuerRecord.query(on: database).filter(\.$role == .issuing).all()
    where issuer.keyReference != nil {
      do {
        list.append(
          Responder(
            issuerID: issuer.id!,
            responder: try await installation.ocspResponder(for: issuer, now: now)))
      } catch let error as CAError where error.code == .keyUnavailable {
        // Not remembered as "no responder": the next request tries again.
        throw error
      } catch {
        logger.backgroundFailure("no OCSP responder for \(issuer.slug)", error)
      }
    }
    responders.withLock { $0 = (now, list) }
    return list
  }

  /// Forgets the responders (after a new CA or responder certificate).
  public func reloadResponders() {
    responders.withLock { $0 = nil }
  }
}
