import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import MailsealCA

/// Serial numbers: positive, 16 octets, random (S/MIME BR §7.1). pkilint
/// does not check randomness, so these tests must.
@Suite("Serial numbers are positive, fixed length and random")
struct SerialNumberTests {
  static let sampleSize = 10_000

  /// `lhs − rhs` modulo 2^128, both big-endian 16-byte numbers.
  static func difference(_ lhs: [UInt8], _ rhs: [UInt8]) -> [UInt8] {
    var result = [UInt8](repeating: 0, count: 16)
    var borrow = 0
    for index in stride(from: 15, through: 0, by: -1) {
      var value = Int(lhs[index]) - Int(rhs[index]) - borrow
      borrow = value < 0 ? 1 : 0
      if value < 0 { value += 256 }
      result[index] = UInt8(value)
    }
    return result
  }

  @Test(
    "10,000 serials: distinct, 16 bytes, first byte 0x40…0x7F, not sequential, every free bit balanced"
  )
  func sample() throws {
    let serials = (0..<Self.sampleSize).map { _ in Array(SerialNumberGenerator.next().bytes) }

    #expect(Set(serials).count == serials.count, "duplicate serials")
    #expect(serials.allSatisfy { $0.count == 16 }, "a serial is not 16 bytes")
    #expect(
      serials.allSatisfy { (0x40...0x7F).contains($0[0]) },
      "a serial's first byte is outside 0x40…0x7F")

    // Not sequential: consecutive differences differ, and consecutive
    // serials almost never share their upper half.
    let differences = zip(serials.dropFirst(), serials).map { Self.difference($0, $1) }
    #expect(Set(differences).count > 1, "serials step by a constant")
    #expect(Set(differences).count > Self.sampleSize * 99 / 100, "consecutive differences repeat")
    let sharedPrefix = zip(serials.dropFirst(), serials).filter { $0.prefix(8) == $1.prefix(8) }
      .count
    #expect(
      sharedPrefix < Self.sampleSize / 100,
      "\(sharedPrefix) consecutive pairs share their first 8 bytes")

    // Every bit below the top two is set in 45 % … 55 % of serials (the
    // binomial standard deviation is 0.5 %, so the band is ten sigma).
    var ones = [Int](repeating: 0, count: 128)
    for serial in serials {
      for bit in 0..<128 where serial[bit / 8] & (0x80 >> (bit % 8)) != 0 { ones[bit] += 1 }
    }
    #expect(ones[0] == 0, "the top bit is set in \(ones[0]) serials")
    #expect(
      ones[1] == Self.sampleSize, "the second bit is clear in \(Self.sampleSize - ones[1]) serials")
    for bit in 2..<128 {
      let share = Double(ones[bit]) / Double(Self.sampleSize)
      #expect((0.45...0.55).contains(share), "bit \(bit) is set in \(share * 100) % of serials")
    }
  }

  @Test("hex of every byte value is Foundation's %02x; empty bytes give an empty string")
  func hexOfEveryByte() {
    let all = (0...255).map { UInt8($0) }
    #expect(all.hexString == all.map { String(format: "%02x", $0) }.joined())
    #expect(all[250...].hexString == "fafbfcfdfeff")
    #expect([UInt8]().hexString.isEmpty)
  }

  @Test("the serial in an issued certificate's DER is an INTEGER of 16 content octets")
  func derEncoding() throws {
    let pki = try TestPKI.make(.p256)
    let request = try CertificateRequestCheck.check(
      pem: TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey())))
    let signed = try pki.authority.sign(
      pki.authority.prepare(request, for: ValidatedSubject.mailboxOnly("der@example.edu")))
    let root = try DER.parse(signed.der)
    guard case .constructed(let certificate) = root.content, let tbs = Array(certificate).first,
      case .constructed(let fields) = tbs.content
    else {
      Issue.record("the certificate is not a SEQUENCE of a SEQUENCE")
      return
    }
    let tbsFields = Array(fields)
    try #require(tbsFields.count > 2)
    let serial = tbsFields[1]  // after the explicit [0] version
    #expect(tbsFields[0].identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific))
    #expect(serial.identifier == .integer)
    guard case .primitive(let content) = serial.content else {
      Issue.record("the serial is not primitive")
      return
    }
    #expect(content.count == 16)
    #expect((0x40...0x7F).contains(content.first ?? 0))
    #expect(Array(content) == Array(signed.prepared.serialNumber.bytes))
    #expect(signed.prepared.serialHex.count == 32)
  }

  @Test("issued certificates carry a 16-byte serial, and 200 of them have distinct serials")
  func issued() throws {
    let pki = try TestPKI.make(.p256)
    let subject = try ValidatedSubject.mailboxOnly("serial@example.edu")
    let request = try CertificateRequestCheck.check(
      pem: TestCSR.pem(Certificate.PrivateKey(P256.Signing.PrivateKey())))
    var serials = Set<[UInt8]>()
    for _ in 0..<200 {
      let signed = try pki.authority.sign(pki.authority.prepare(request, for: subject))
      let certificate = try Certificate(derEncoded: signed.der)
      let bytes = Array(certificate.serialNumber.bytes)
      #expect(bytes.count == 16)
      #expect((0x40...0x7F).contains(bytes[0]))
      #expect(bytes == Array(signed.prepared.serialNumber.bytes))
      #expect(signed.prepared.serialHex == bytes.hexString)
      serials.insert(bytes)
    }
    #expect(serials.count == 200)
    // The CA certificates of the ceremony have such serials too.
    #expect(pki.root.serialNumber.bytes.count == 16)
    #expect(pki.authority.certificate.serialNumber.bytes.count == 16)
  }
}
