public import Foundation
public import MailsealCA
import MailsealModel
import SwiftASN1
public import X509

/// An enterprise CA (EJBCA and others) through CMP (RFC 4210/9480, the
/// lightweight profile RFC 9483): the browser's PKCS#10 in a `p10cr`, MAC
/// protection with the shared secret and its reference, `pollReq` for a
/// waiting answer, `certConf` once, `rr` for a revocation.
///
/// An order's reference is its transaction id (hex); its progress is the
/// transaction (``CMPClient/Transaction``), recorded before the `p10cr` is
/// sent and after every answer.
public struct CMPConnector: UpstreamConnector {
  let client: CMPClient

  public init(client: CMPClient) {
    self.client = client
  }

  public var name: String { "cmp" }

  /// CMP has no session: whether the CA answers shows with the first order.
  public func ensureReady() async throws {}

  public func prepare(_ order: UpstreamOrderRequest) -> (reference: String?, progress: Data?) {
    let transaction = CMPClient.Transaction.fresh()
    return (transaction.id.hexString, Self.encode(transaction))
  }

  public func place(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    let transaction = try Self.transaction(of: order)
    return try await Self.progress { try await client.enrol(order.csrDER, in: transaction) }
  }

  /// A waiting order is polled. One whose answer was lost before any
  /// answer came is polled too, in its transaction: a CA that kept it
  /// answers with the certificate; one that cannot tell makes it a case
  /// for an admin (never a second `p10cr`).
  public func resume(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    let transaction = try Self.transaction(of: order)
    do {
      return try await Self.progress { try await client.poll(transaction) }
    } catch let failure as CMPClient.Failure where failure.error != nil {
      return .unknown(
        "the CA cannot tell what became of transaction \(transaction.id.hexString): \(failure)")
    }
  }

  public func settle(_ order: UpstreamOrderRequest, certificate: Certificate, refusal: String?)
    async throws
  {
    let transaction = try Self.transaction(of: order)
    try await client.confirm(
      certificate, in: transaction,
      refusal: refusal.map {
        CMPStatus(
          status: CMPStatus.rejection, texts: [String($0.prefix(200))],
          failures: [CMPStatus.incorrectData])
      })
  }

  public func revoke(_ certificate: Certificate, reference: String?, reason: RevocationReason)
    async throws
  {
    let status = try await client.revoke(
      CMPRevocation(
        issuer: certificate.issuer, serialNumber: certificate.serialNumber,
        reason: reason.rawValue))
    guard status.isGranted else {
      throw UpstreamProtocolError("the CA refused the revocation: \(status.summary)")
    }
  }

  /// What the CA answered, as the issuer records it. The CA's own error
  /// message refuses the order, unless it says the CA is unavailable or
  /// failing (failInfo systemUnavail, systemFailure): then it is asked
  /// again later.
  static func progress(_ exchange: () async throws -> CMPClient.Answer) async throws
    -> UpstreamProgress
  {
    let answer: CMPClient.Answer
    do {
      answer = try await exchange()
    } catch let failure as CMPClient.Failure {
      if let status = failure.error {
        if !status.failures.isDisjoint(with: [24, 25]) {
          throw UpstreamUnavailable("the CA is unavailable: \(status.summary)")
        }
        return .refused("the CA sent an error: \(status.summary)")
      }
      throw UpstreamProtocolError(failure.description)
    }
    switch answer {
    case .certificate(let certificate, _, let transaction):
      var serializer = DER.Serializer()
      try serializer.serialize(certificate)
      return .certificate(
        serializer.serializedBytes, reference: transaction.id.hexString,
        progress: encode(transaction))
    case .waiting(let checkAfter, let transaction):
      return .pending(
        reference: transaction.id.hexString, progress: encode(transaction),
        retryAfter: TimeInterval(max(1, checkAfter)))
    case .rejected(let status):
      return .refused("the CA rejected the request: \(status.summary)")
    }
  }

  static func encode(_ transaction: CMPClient.Transaction) -> Data? {
    try? JSONEncoder().encode(transaction)
  }

  static func transaction(of order: UpstreamOrderRequest) throws -> CMPClient.Transaction {
    guard let progress = order.record.progress,
      let transaction = try? JSONDecoder().decode(CMPClient.Transaction.self, from: progress)
    else { throw UpstreamProtocolError("the order's CMP transaction is not recorded") }
    return transaction
  }
}
