import Crypto
import Foundation
import SwiftASN1
public import X509

/// Carries one CMP message to the CA and its answer back (RFC 6712 over
/// HTTP in the adapters; a test's own in tests). The CA core holds no
/// network code.
public protocol CMPTransport: Sendable {
  func exchange(_ request: [UInt8]) async throws -> [UInt8]
}

/// The client side of CMP as the lightweight profile (RFC 9483) has it,
/// with MAC-based protection by a shared secret and its reference:
/// `p10cr` with the browser's PKCS#10 as it is, `certConf`/`pkiConf`,
/// `pollReq` for a waiting answer, `rr` for a revocation.
///
/// Every answer must be protected with the shared secret, belong to the
/// transaction and answer our last nonce; anything else is a
/// ``CMPClient/Failure``. Where a transaction stands between two messages
/// is a value (``Transaction``) the caller keeps durably: a transaction
/// survives a restart of the process.
public struct CMPClient: Sendable {
  public let reference: [UInt8]
  let secret: [UInt8]
  public let recipient: DistinguishedName
  let transport: any CMPTransport

  public init(
    reference: [UInt8], secret: [UInt8], recipient: DistinguishedName,
    transport: any CMPTransport
  ) {
    self.reference = reference
    self.secret = secret
    self.recipient = recipient
    self.transport = transport
  }

  /// Where one transaction stands: its id, the CA's last nonce (which the
  /// next message answers) and the request id the CA gave. (That the
  /// certificate is confirmed once is the caller's: it records the
  /// certificate before it confirms.)
  public struct Transaction: Codable, Sendable, Hashable {
    public var id: [UInt8]
    public var recipientNonce: [UInt8]?
    public var certReqID: Int

    /// A new transaction: a random 128-bit id (RFC 9483 §3.1).
    public static func fresh() -> Transaction {
      Transaction(id: CMPClient.random(), recipientNonce: nil, certReqID: -1)
    }

    public init(id: [UInt8], recipientNonce: [UInt8]?, certReqID: Int) {
      self.id = id
      self.recipientNonce = recipientNonce
      self.certReqID = certReqID
    }
  }

  /// What the CA answered to an enrolment or a poll.
  public enum Answer: Sendable {
    /// The certificate, with the certificates the CA sent along.
    case certificate(Certificate, extra: [Certificate], Transaction)
    /// Not yet: ask again after `checkAfter` seconds.
    case waiting(checkAfter: Int, Transaction)
    /// Refused, with the CA's status.
    case rejected(CMPStatus)
  }

  /// The conversation failed: the CA could not be reached, answered
  /// something that is not CMP, or an answer that is not protected with
  /// the secret or not of this transaction. `error` holds the CA's error
  /// message, when it sent one.
  public struct Failure: Error, Sendable, CustomStringConvertible {
    public let description: String
    public let error: CMPStatus?

    init(_ description: String, error: CMPStatus? = nil) {
      self.description = description
      self.error = error
    }
  }

  /// Sends the request (`p10cr`) in `transaction`.
  public func enrol(_ csrDER: [UInt8], in transaction: Transaction) async throws -> Answer {
    let (answer, transaction) = try await send(.p10cr(csrDER), in: transaction)
    return try Self.answer(answer, in: transaction)
  }

  /// Asks again for a waiting request (`pollReq`).
  public func poll(_ transaction: Transaction) async throws -> Answer {
    let (answer, next) = try await send(.pollReq([transaction.certReqID]), in: transaction)
    if case .pollRep(let polls) = answer.body {
      return .waiting(checkAfter: max(0, polls.first?.checkAfter ?? 0), next)
    }
    return try Self.answer(answer, in: next)
  }

  /// Confirms (or, with a status, refuses) the certificate received
  /// (`certConf`), and reads the CA's `pkiConf`.
  public func confirm(
    _ certificate: Certificate, in transaction: Transaction, refusal: CMPStatus? = nil
  ) async throws {
    var serializer = DER.Serializer()
    try serializer.serialize(certificate)
    // RFC 4210 §5.3.18: the hash of the certificate's signature algorithm.
    let hash: [UInt8]
    switch certificate.signatureAlgorithm {
    case .ecdsaWithSHA384, .sha384WithRSAEncryption:
      hash = Array(SHA384.hash(data: serializer.serializedBytes))
    case .ecdsaWithSHA512, .sha512WithRSAEncryption:
      hash = Array(SHA512.hash(data: serializer.serializedBytes))
    default:
      hash = Array(SHA256.hash(data: serializer.serializedBytes))
    }
    let (answer, _) = try await send(
      .certConf([
        CMPCertStatus(
          certHash: hash, certReqID: transaction.certReqID,
          status: refusal ?? CMPStatus(status: CMPStatus.accepted))
      ]), in: transaction)
    guard answer.body == .pkiConf else {
      throw Failure("the CA answered the confirmation with \(answer.body.name), not pkiConf")
    }
  }

  /// Asks the CA to revoke a certificate (`rr`); returns its status.
  public func revoke(_ revocation: CMPRevocation) async throws -> CMPStatus {
    let (answer, _) = try await send(.rr([revocation]), in: .fresh())
    guard case .rp(let statuses) = answer.body, let status = statuses.first else {
      throw Failure("the CA answered the revocation with \(answer.body.name), not rp")
    }
    return status
  }

  /// One message and its checked answer; the transaction with the CA's
  /// new nonce.
  func send(_ body: CMPBody, in transaction: Transaction) async throws -> (
    CMPMessage, Transaction
  ) {
    let nonce = Self.random()
    let message = try CMPProtection.fresh().protect(
      CMPMessage(
        header: CMPHeader(
          sender: .directoryName(DistinguishedName()), recipient: .directoryName(recipient),
          messageTime: Date(), senderKID: reference, transactionID: transaction.id,
          senderNonce: nonce, recipNonce: transaction.recipientNonce),
        body: body), secret: secret)
    let bytes: [UInt8]
    do {
      bytes = try await transport.exchange(try message.serialized())
    } catch let failure as Failure {
      throw failure
    } catch {
      throw Failure("the CA could not be reached: \(error)")
    }
    let answer: CMPMessage
    do {
      answer = try CMPMessage(derEncoded: bytes)
    } catch {
      throw Failure("the CA's answer is not a CMP message: \(error)")
    }
    do {
      try CMPProtection.verify(answer, secret: secret)
    } catch {
      throw Failure("the CA's answer is refused: \(error)")
    }
    guard answer.header.transactionID == transaction.id else {
      throw Failure("the CA's answer belongs to another transaction")
    }
    guard answer.header.recipNonce == nonce else {
      throw Failure("the CA's answer does not answer our nonce")
    }
    if case .error(let status, let code, let details) = answer.body {
      throw Failure(
        "the CA sent an error: \(status.summary)"
          + (code.map { " (code \($0))" } ?? "")
          + (details.isEmpty ? "" : " — " + details.joined(separator: "; ")), error: status)
    }
    var next = transaction
    next.recipientNonce = answer.header.senderNonce
    return (answer, next)
  }

  /// Reads an ip/cp.
  static func answer(_ message: CMPMessage, in transaction: Transaction) throws -> Answer {
    guard case .certResponse(_, _, let responses) = message.body else {
      throw Failure("the CA answered with \(message.body.name), not a certificate response")
    }
    guard responses.count == 1, let response = responses.first else {
      throw Failure("the CA answered with \(responses.count) certificate responses, not one")
    }
    var transaction = transaction
    transaction.certReqID = response.certReqID
    if response.status.status == CMPStatus.waiting {
      return .waiting(checkAfter: 0, transaction)
    }
    guard response.status.isGranted else { return .rejected(response.status) }
    guard let certificate = response.certificate else {
      throw Failure("the CA granted the request but sent no certificate")
    }
    return .certificate(certificate, extra: message.extraCertificates, transaction)
  }

  static func random() -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
  }
}
