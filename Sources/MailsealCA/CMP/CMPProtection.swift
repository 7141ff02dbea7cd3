import Crypto
import Foundation
public import SwiftASN1

/// MAC-based protection with a shared secret: PasswordBasedMac (RFC 4210
/// §5.1.3.1, RFC 4211 §4.4):
///
/// ```
/// id-PasswordBasedMac OBJECT IDENTIFIER ::= { 1 2 840 113533 7 66 13 }
/// PBMParameter ::= SEQUENCE { salt OCTET STRING,
///   owf AlgorithmIdentifier, iterationCount INTEGER, mac AlgorithmIdentifier }
/// ```
///
/// The key is owf(secret ‖ salt) hashed `iterationCount` times in all; the
/// protection is mac(key, DER(ProtectedPart)). We send SHA-256 and
/// HMAC-SHA-256 (RFC 9481's advice); we accept what a server answers with
/// among SHA-1/-256/-384/-512 and their HMACs (OpenSSL 3.0's server answers
/// with SHA-256 and HMAC-SHA-1), with at most ``maximumIterations``.
public struct CMPProtection: Sendable, Hashable {
  public enum Hash: Sendable, Hashable, CaseIterable {
    case sha1, sha256, sha384, sha512

    var oid: ASN1ObjectIdentifier {
      switch self {
      case .sha1: [1, 3, 14, 3, 2, 26]
      case .sha256: [2, 16, 840, 1, 101, 3, 4, 2, 1]
      case .sha384: [2, 16, 840, 1, 101, 3, 4, 2, 2]
      case .sha512: [2, 16, 840, 1, 101, 3, 4, 2, 3]
      }
    }

    /// The HMAC's identifier (hmac-sha1 of RFC 3370, hmacWithSHA* of RFC 8018).
    var hmacOID: ASN1ObjectIdentifier {
      switch self {
      case .sha1: [1, 3, 6, 1, 5, 5, 8, 1, 2]
      case .sha256: [1, 2, 840, 113549, 2, 9]
      case .sha384: [1, 2, 840, 113549, 2, 10]
      case .sha512: [1, 2, 840, 113549, 2, 11]
      }
    }

    func digest(_ bytes: [UInt8]) -> [UInt8] {
      switch self {
      case .sha1: Array(Insecure.SHA1.hash(data: bytes))
      case .sha256: Array(SHA256.hash(data: bytes))
      case .sha384: Array(SHA384.hash(data: bytes))
      case .sha512: Array(SHA512.hash(data: bytes))
      }
    }

    func hmac(key: [UInt8], _ bytes: [UInt8]) -> [UInt8] {
      let key = SymmetricKey(data: key)
      switch self {
      case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: bytes, using: key))
      case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: bytes, using: key))
      case .sha384: return Array(HMAC<SHA384>.authenticationCode(for: bytes, using: key))
      case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: bytes, using: key))
      }
    }
  }

  public static let passwordBasedMacOID: ASN1ObjectIdentifier = [1, 2, 840, 113533, 7, 66, 13]
  /// The most iterations a server's parameters may ask for (OpenSSL uses
  /// 500; a million would make every answer cost seconds of CPU).
  public static let maximumIterations = 100_000

  public var salt: [UInt8]
  public var oneWayFunction: Hash
  public var iterations: Int
  public var mac: Hash

  public init(salt: [UInt8], oneWayFunction: Hash, iterations: Int, mac: Hash) {
    self.salt = salt
    self.oneWayFunction = oneWayFunction
    self.iterations = iterations
    self.mac = mac
  }

  /// What we send: a fresh 16-byte salt, SHA-256, 10,000 iterations,
  /// HMAC-SHA-256.
  public static func fresh() -> CMPProtection {
    var generator = SystemRandomNumberGenerator()
    let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    return CMPProtection(salt: salt, oneWayFunction: .sha256, iterations: 10_000, mac: .sha256)
  }

  /// The MAC over `protectedPart` with `secret`.
  public func mac(secret: [UInt8], _ protectedPart: [UInt8]) -> [UInt8] {
    var key = oneWayFunction.digest(secret + salt)
    for _ in 1..<max(iterations, 1) { key = oneWayFunction.digest(key) }
    return mac.hmac(key: key, protectedPart)
  }

  /// `message` with its header naming this protection and its protection
  /// computed.
  public func protect(_ message: CMPMessage, secret: [UInt8]) throws -> CMPMessage {
    var message = message.reencoded()
    message.header.protectionAlgorithm = self
    message.protection = mac(secret: secret, try message.protectedPart())
    return message
  }

  /// Why a message's protection does not hold.
  public struct Refused: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
  }

  /// Checks that `message` is protected by PasswordBasedMac with `secret`
  /// (an unprotected message, or one protected otherwise, is refused).
  public static func verify(_ message: CMPMessage, secret: [UInt8]) throws(Refused) {
    guard let protection = message.protection else {
      throw Refused(description: "the answer is not protected")
    }
    guard let algorithm = message.header.protectionAlgorithm else {
      throw Refused(description: "the answer names no protection algorithm")
    }
    let part: [UInt8]
    do {
      part = try message.protectedPart()
    } catch {
      throw Refused(description: "the answer cannot be encoded again")
    }
    let expected = algorithm.mac(secret: secret, part)
    // Compared in constant time.
    guard expected.count == protection.count,
      zip(expected, protection).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
    else {
      throw Refused(description: "the answer's MAC does not verify with the shared secret")
    }
  }

  func serializeAlgorithm(into coder: inout DER.Serializer) throws {
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(Self.passwordBasedMacOID)
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(salt)))
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(oneWayFunction.oid)
        }
        try coder.serialize(iterations)
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.serialize(mac.hmacOID)
        }
      }
    }
  }

  /// Reads `protectionAlg` (an AlgorithmIdentifier); only PasswordBasedMac.
  init(algorithm node: ASN1Node) throws {
    var fields = try ASN1Fields(node, .sequence)
    let oid = try ASN1ObjectIdentifier(derEncoded: try fields.required("algorithm"))
    guard oid == Self.passwordBasedMacOID else {
      throw CMPMessage.Malformed("protected by \(oid), not by PasswordBasedMac")
    }
    var parameters = try ASN1Fields(try fields.required("parameters"), .sequence)
    try fields.end()
    let salt = try ASN1OctetString(derEncoded: try parameters.required("salt"))
    guard (1...128).contains(salt.bytes.count) else {
      throw CMPMessage.Malformed("a salt of \(salt.bytes.count) bytes")
    }
    self.salt = Array(salt.bytes)
    func algorithm(_ node: ASN1Node, _ choose: (Hash) -> ASN1ObjectIdentifier) throws -> Hash {
      var parts = try ASN1Fields(node, .sequence)
      let oid = try ASN1ObjectIdentifier(derEncoded: try parts.required("algorithm"))
      _ = parts.next(identifier: .null)
      try parts.end()
      guard let hash = Hash.allCases.first(where: { choose($0) == oid }) else {
        throw CMPMessage.Malformed("the algorithm \(oid) is not accepted")
      }
      return hash
    }
    oneWayFunction = try algorithm(try parameters.required("owf"), \.oid)
    iterations = try Int(derEncoded: try parameters.required("iterationCount"))
    guard (1...Self.maximumIterations).contains(iterations) else {
      throw CMPMessage.Malformed("\(iterations) iterations (at most \(Self.maximumIterations))")
    }
    mac = try algorithm(try parameters.required("mac"), \.hmacOID)
    try parameters.end()
  }
}
