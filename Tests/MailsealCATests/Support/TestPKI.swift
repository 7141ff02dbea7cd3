import Crypto
import Foundation
import SoftHSMSupport
import SwiftASN1
import X509
import _CryptoExtras

@testable import MailsealCA

/// Subscriber keys of every type the matrix covers.
enum TestSubscriberKey: String, CaseIterable, Sendable, CustomStringConvertible {
  case rsa2048, rsa3072, rsa4096, p256, p384

  var description: String { rawValue }

  /// A fresh private key. RSA keys are cached per size: generating RSA-4096
  /// takes seconds, and a test that needs distinct keys asks `fresh`.
  func privateKey(fresh: Bool = false) throws -> Certificate.PrivateKey {
    switch self {
    case .p256: return Certificate.PrivateKey(P256.Signing.PrivateKey())
    case .p384: return Certificate.PrivateKey(P384.Signing.PrivateKey())
    case .rsa2048, .rsa3072, .rsa4096:
      let bits = self == .rsa2048 ? 2048 : self == .rsa3072 ? 3072 : 4096
      if !fresh, let cached = RSAKeyCache.shared.key(bits: bits) {
        return Certificate.PrivateKey(cached)
      }
      let key = try _RSA.Signing.PrivateKey(keySize: .init(bitCount: bits))
      if !fresh { RSAKeyCache.shared.store(key, bits: bits) }
      return Certificate.PrivateKey(key)
    }
  }

  /// The PKCS#8 PEM of a key, for handing it to OpenSSL.
  static func pkcs8PEM(_ key: Certificate.PrivateKey) throws -> String {
    try key.serializeAsPEM().pemString
  }
}

final class RSAKeyCache: @unchecked Sendable {
  static let shared = RSAKeyCache()
  private let lock = NSLock()
  private var keys: [Int: _RSA.Signing.PrivateKey] = [:]

  func key(bits: Int) -> _RSA.Signing.PrivateKey? {
    lock.lock()
    defer { lock.unlock() }
    return keys[bits]
  }

  func store(_ key: _RSA.Signing.PrivateKey, bits: Int) {
    lock.lock()
    defer { lock.unlock() }
    keys[bits] = key
  }
}

/// A test PKI made by the same ceremony code as a real one, in memory.
struct TestPKI: Sendable {
  let root: Certificate
  let rootKey: any CASigningKey
  let authority: CertificateAuthority

  static let organization = try! OrganizationIdentity(
    name: "Universität Beispielstadt", identifier: "NTRDE-DEB1101.HRB123456", country: "DE"
  )

  /// Public-suffix test names: pkilint calls `.example`, `.test` and IP
  /// addresses internal names.
  static let endpoints = try! PublicEndpoints(baseURL: "http://pki.example.edu:8080")

  static func make(
    _ type: CAKeyType, custody: TestCustody = .file, validityDays: Int = 365, now: Date = Date()
  ) throws -> TestPKI {
    let rootKey = try custody.generate(type, label: "root")
    let issuingKey = try custody.generate(type, label: "issuing")
    let names = try CACeremony.names(
      organization: organization, test: true, now: now, rootKey: rootKey, issuingKey: issuingKey)
    let root = try CACeremony.makeRoot(key: rootKey, subject: names.root, now: now)
    let issuing = try CACeremony.makeIssuing(
      key: issuingKey, subject: names.issuing, root: root, rootKey: rootKey, endpoints: endpoints,
      now: now
    )
    let policy = try IssuerPolicy(
      organization: organization, validityDays: validityDays, endpoints: endpoints)
    return TestPKI(
      root: root,
      rootKey: rootKey,
      authority: try CertificateAuthority(
        certificate: issuing, chain: [issuing, root], key: issuingKey, policy: policy)
    )
  }
}

enum TestCSR {
  static func signatureAlgorithm(for key: Certificate.PrivateKey) -> Certificate.SignatureAlgorithm
  {
    let description = String(describing: key)
    if description.hasPrefix("P384") { return .ecdsaWithSHA384 }
    if description.hasPrefix("P256") { return .ecdsaWithSHA256 }
    if description.hasPrefix("P521") { return .ecdsaWithSHA512 }
    return .sha256WithRSAEncryption
  }

  /// A PEM certificate signing request with a subject and SAN that the CA
  /// must ignore.
  static func pem(_ key: Certificate.PrivateKey, commonName: String = "Mallory") throws -> String {
    let csr = try CertificateSigningRequest(
      version: .v1,
      subject: try DistinguishedName { CommonName(commonName) },
      privateKey: key,
      attributes: CertificateSigningRequest.Attributes(
        [
          .init(
            ExtensionRequest(
              extensions: try Certificate.Extensions {
                SubjectAlternativeNames([.rfc822Name("mallory@evil.example.com")])
              }))
        ]
      ),
      signatureAlgorithm: signatureAlgorithm(for: key)
    )
    return try csr.serializeAsPEM().pemString
  }
}

/// Where a test's CA keys live: in memory, or in a SoftHSM2 token through
/// the PKCS#11 custody (the same code path as a production HSM).
enum TestCustody: String, CaseIterable, Sendable, CustomStringConvertible {
  case file
  case softHSM

  var description: String { rawValue }

  /// The token the CA tests make their keys in.
  static func tokenCustody() throws -> (PKCS11KeyCustody, SoftHSM.Token) {
    let token = try SoftHSM.shared.token("mailseal-ca-tests")
    return (
      try PKCS11KeyCustody(
        modulePath: SoftHSM.modulePath, pinFile: token.pinFile, token: token.label),
      token
    )
  }

  /// A fresh CA key of `type` in this custody.
  func generate(_ type: CAKeyType, label: String) throws -> any CASigningKey {
    switch self {
    case .file:
      return try SoftwareSigningKey.generate(type)
    case .softHSM:
      return try Self.tokenCustody().0.generateKey(
        type, label: "\(label)-\(UInt64.random(in: 0...UInt64.max))"
      ).1
    }
  }
}
