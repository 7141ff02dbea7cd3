import Foundation
import Testing

@testable import MailsealCA

/// The LDAP messages against bytes OpenLDAP's slapd 2.5 sent and accepted
/// (captured for issue 29's research), and Active Directory's Notice of
/// Disconnection with its four-byte lengths.
@Suite("LDAP messages: the bytes slapd speaks, AD's long lengths, hostile input refused")
struct LDAPMessageTests {
  static func bytes(_ parts: Any...) -> [UInt8] {
    parts.flatMap { part -> [UInt8] in
      switch part {
      case let text as String: Array(text.utf8)
      case let list as [UInt8]: list
      case let list as [Int]: list.map { UInt8($0) }
      case let number as Int: [UInt8(number)]
      default: []
      }
    }
  }

  @Test("StartTLS, simple bind, a search, unbind: written byte for byte as slapd accepted them")
  func writes() throws {
    #expect(
      try LDAPMessage(id: 1, .extendedRequest(name: LDAPOperation.startTLS, value: nil))
        .serialized()
        == Self.bytes(
          [0x30, 0x1D, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16], "1.3.6.1.4.1.1466.20037"))
    #expect(
      try LDAPMessage(
        id: 1, .bindRequest(name: "cn=admin,dc=example,dc=edu", password: Array("secret".utf8))
      ).serialized()
        == Self.bytes(
          [0x30, 0x2C, 0x02, 0x01, 0x01, 0x60, 0x27, 0x02, 0x01, 0x03, 0x04, 0x1A],
          "cn=admin,dc=example,dc=edu", [0x80, 0x06], "secret"))
    let search = LDAPSearch(
      base: "dc=example,dc=edu",
      filter: .and([
        .equal("objectClass", Array("inetOrgPerson".utf8)),
        .equal("mail", Array("a@example.edu".utf8)),
      ]), attributes: ["1.1"])
    #expect(
      try LDAPMessage(id: 3, .searchRequest(search)).serialized()
        == Self.bytes(
          [0x30, 0x65, 0x02, 0x01, 0x03, 0x63, 0x60, 0x04, 0x11], "dc=example,dc=edu",
          [
            0x0A, 0x01, 0x02, 0x0A, 0x01, 0x00, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0A, 0x01, 0x01,
            0x00,
          ],
          [0xA0, 0x35, 0xA3, 0x1C, 0x04, 0x0B], "objectClass", [0x04, 0x0D], "inetOrgPerson",
          [0xA3, 0x15, 0x04, 0x04], "mail", [0x04, 0x0D], "a@example.edu",
          [0x30, 0x05, 0x04, 0x03], "1.1"))
    #expect(
      try LDAPMessage(id: 11, .unbindRequest).serialized()
        == [0x30, 0x05, 0x02, 0x01, 0x0B, 0x42, 0x00])
  }

  @Test("slapd's answers: StartTLS without a responseName, a bind refused (49), a search done")
  func reads() throws {
    let startTLS = try LDAPMessage(berEncoded: [
      0x30, 0x0C, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
    ])
    #expect(startTLS == LDAPMessage(id: 1, .extendedResponse(LDAPResult(code: 0), name: nil)))
    let refused = try LDAPMessage(berEncoded: [
      0x30, 0x0C, 0x02, 0x01, 0x03, 0x61, 0x07, 0x0A, 0x01, 0x31, 0x04, 0x00, 0x04, 0x00,
    ])
    #expect(refused.operation == .bindResponse(LDAPResult(code: LDAPResult.invalidCredentials)))
    let done = try LDAPMessage(berEncoded: [
      0x30, 0x0C, 0x02, 0x01, 0x05, 0x65, 0x07, 0x0A, 0x01, 0x04, 0x04, 0x00, 0x04, 0x00,
    ])
    #expect(done.operation == .searchDone(LDAPResult(code: LDAPResult.sizeLimitExceeded)))
  }

  @Test("Active Directory's Notice of Disconnection: four-byte lengths, a NUL-ended message")
  func activeDirectory() throws {
    let words =
      "00000057: LdapErr: DSID-0C0C0095, comment: Error decoding ldap message, data 0, v4563"
    let notice = Self.bytes(
      [0x30, 0x84, 0x00, 0x00, 0x00, 0x7E, 0x02, 0x01, 0x00],
      [0x78, 0x84, 0x00, 0x00, 0x00, 0x5D, 0x0A, 0x01, 0x02, 0x04, 0x00, 0x04, 0x56], words, [0x00],
      [0x8A, 0x16], "1.3.6.1.4.1.1466.20036")
    #expect(try LDAPMessage.frameLength(notice) == notice.count)
    #expect(try LDAPMessage.frameLength(notice.prefix(5)) == nil)
    let message = try LDAPMessage(berEncoded: notice)
    #expect(message.id == 0)
    guard case .extendedResponse(let result, _) = message.operation else {
      Issue.record("\(message.operation)")
      return
    }
    #expect(result.code == 2 && result.message.hasPrefix("00000057: LdapErr"))
  }

  @Test("every operation written is read back the same")
  func roundTrip() throws {
    let certificate: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x01]
    let operations: [LDAPOperation] = [
      .bindRequest(name: "cn=mailseal,dc=example,dc=edu", password: Array("pw".utf8)),
      .bindResponse(LDAPResult(code: 0)),
      .searchEntry(
        name: "uid=alice,ou=people,dc=example,dc=edu",
        attributes: [LDAPAttribute(type: "userCertificate;binary", values: [certificate])]),
      .searchReference(["ldap://other.example.edu/dc=example,dc=edu"]),
      .searchDone(LDAPResult(code: 32, matchedDN: "dc=example,dc=edu", message: "no such object")),
      .modifyResponse(LDAPResult(code: 20, message: "value #0 already exists")),
      .extendedResponse(LDAPResult(code: 0), name: LDAPOperation.startTLS),
      .unbindRequest,
    ]
    for (index, operation) in operations.enumerated() {
      let message = LDAPMessage(id: index + 1, operation)
      #expect(try LDAPMessage(berEncoded: message.serialized()) == message, "\(operation)")
    }
    // A modify request is written as the research captured it: the add of
    // one value under its ;binary type.
    let modify = try LDAPMessage(
      id: 7,
      .modifyRequest(
        name: "uid=alice,ou=people,dc=example,dc=edu",
        changes: [
          LDAPChange(.add, LDAPAttribute(type: "userCertificate;binary", values: [certificate]))
        ])
    ).serialized()
    #expect(
      modify.suffix(38)
        == Self.bytes(
          [0x0A, 0x01, 0x00, 0x30, 0x21, 0x04, 0x16], "userCertificate;binary",
          [0x31, 0x07, 0x04, 0x05], certificate))
  }

  @Test("trailing bytes, an indefinite length, a DN that is not UTF-8, LDAP version 2: refused")
  func refused() throws {
    let good: [UInt8] = [
      0x30, 0x0C, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
    ]
    #expect(throws: LDAPMessage.Malformed.self) { try LDAPMessage(berEncoded: good + [0x00]) }
    #expect(throws: LDAPMessage.Malformed.self) { try LDAPMessage.frameLength([0x30, 0x80]) }
    #expect(throws: LDAPMessage.Malformed.self) {
      try LDAPMessage.frameLength([0x30, 0x84, 0x7F, 0xFF, 0xFF, 0xFF])
    }
    #expect(throws: LDAPMessage.Malformed.self) {
      try LDAPMessage(berEncoded: [
        0x30, 0x0D, 0x02, 0x01, 0x01, 0x65, 0x08, 0x0A, 0x01, 0x00, 0x04, 0x01, 0xFF, 0x04, 0x00,
      ])
    }
    var bind = try LDAPMessage(id: 1, .bindRequest(name: "", password: [])).serialized()
    bind[8] = 2  // the version
    #expect(throws: LDAPMessage.Malformed.self) { try LDAPMessage(berEncoded: bind) }
  }
}
