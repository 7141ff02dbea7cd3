import Crypto
import Foundation
import SwiftASN1
import Testing
import X509
import _CryptoExtras

@testable import MailsealCA

/// Issuance encodes the TBSCertificate itself (no signing round trip
/// through the X509 package). These tests hold that encoding byte for byte
/// equal to the package's, for every CA key type, profile, purpose and
/// subscriber key, so that what is linted and signed is what the package —
/// and a relying party's parser — would have made of the same template.
@Suite("The to-be-signed encoding equals the X509 package's")
struct ToBeSignedEncodingTests {
  static let subjects: [ValidatedSubject] = [
    try! .person(mailbox: "zoe.mueller@example.edu", givenName: "Zoë", surname: "Müller"),
    try! .pseudonym(mailbox: "fuchs@example.edu", name: "Fuchs"),
    try! .mailboxOnly("Helpdesk@Example.edu"),
  ]

  /// The package's TBSCertificate and signatureAlgorithm for `template`,
  /// from a certificate it signs with a key of the algorithm's family.
  static func packageEncoding(_ template: CertificateTemplate) throws -> (
    tbs: [UInt8], algorithm: [UInt8]
  ) {
    let key: Certificate.PrivateKey =
      template.signatureAlgorithm == .sha256WithRSAEncryption
      ? Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048))
      : Certificate.PrivateKey(P256.Signing.PrivateKey())
    let root = try DER.parse(try template.signed(by: key))
    guard case .constructed(let nodes) = root.content else {
      throw ASN1Error.invalidASN1Object(reason: "not a SEQUENCE")
    }
    let elements = Array(nodes)
    return (Array(elements[0].encodedBytes), Array(elements[1].encodedBytes))
  }

  @Test(
    "every CA key type, profile, purpose and subscriber key",
    arguments: [CAKeyType.p256, .p384, .p521, .rsa4096])
  func matchesPackage(_ type: CAKeyType) throws {
    let pki = try TestPKI.make(type)
    let subscribers: [(Certificate.PublicKey, SubscriberKeyType)] = [
      (Certificate.PublicKey(P256.Signing.PrivateKey().publicKey), .ecP256),
      (Certificate.PublicKey(P384.Signing.PrivateKey().publicKey), .ecP384),
      (
        Certificate.PublicKey(try _RSA.Signing.PrivateKey(keySize: .bits2048).publicKey),
        .rsa(bits: 2048)
      ),
    ]
    var compared = 0
    for subject in Self.subjects {
      for purpose in KeyPurpose.allCases {
        for (publicKey, keyType) in subscribers {
          let template = try pki.authority.makeTemplate(
            publicKey: publicKey, keyType: keyType, subject: subject, purpose: purpose, now: Date())
          let ours = try template.toBeSigned()
          let package = try Self.packageEncoding(template)
          #expect(ours.tbs == package.tbs, "\(type) \(subject.profile) \(purpose) \(keyType)")
          #expect(ours.algorithm == package.algorithm)
          #expect(ours.algorithm == type.algorithmIdentifierDER)
          compared += 1
        }
      }
    }
    #expect(compared == Self.subjects.count * KeyPurpose.allCases.count * subscribers.count)
  }

  /// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  @Test("validity across the 2050 switch to GeneralizedTime")
  func validityAcross2050() throws {
    let pki = try TestPKI.make(.p256)
    var template = try pki.authority.makeTemplate(
      publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey), keyType: .ecP256,
      subject: Self.subjects[0], now: Date())
    // Both in 2050, then 2049-12-31T23:59:59Z to 2050-01-01T00:00:00Z.
    for (before, after) in [(2_524_608_000.0, 2_556_143_999.0), (2_524_607_999, 2_524_608_000)] {
      template.notBefore = Date(timeIntervalSince1970: before)
      template.notAfter = Date(timeIntervalSince1970: after)
      let ours = try template.toBeSigned()
      #expect(ours.tbs == (try Self.packageEncoding(template)).tbs)
    }
    // The last pair crossed: notBefore a UTCTime, notAfter a GeneralizedTime.
    guard case .constructed(let fields) = try DER.parse(try template.toBeSigned().tbs).content,
      case .constructed(let validity) = Array(fields)[4].content
    else {
      Issue.record("the TBSCertificate has no validity")
      return
    }
    #expect(Array(validity).map(\.identifier) == [.utcTime, .generalizedTime])
  }

  @Test("the lint copy parses back with the bytes to be signed, under no key")
  func lintCopy() throws {
    for type in [CAKeyType.p256, .rsa4096] {
      let pki = try TestPKI.make(type)
      let template = try pki.authority.makeTemplate(
        publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey), keyType: .ecP256,
        subject: Self.subjects[0], now: Date())
      let (tbs, algorithm) = try template.toBeSigned()
      let copy = try Certificate(
        derEncoded: try CertificateTemplate.lintCopy(tbs: tbs, algorithm: algorithm))
      #expect(Array(copy.tbsCertificateBytes) == tbs)
      #expect(copy.signatureAlgorithm == type.signatureAlgorithm)
      #expect(!pki.authority.certificate.publicKey.isValidSignature(copy.signature, for: copy))
    }
  }
}
