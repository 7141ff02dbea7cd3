import Foundation
import SwiftASN1
import Testing

@testable import MailsealCA

/// The configured search filter (RFC 4515 text with a `{mailbox}` slot) and
/// the certs-only PKCS#7 a directory's `userSMIMECertificate` holds.
@Suite("LDAP filter templates and certs-only PKCS#7")
struct LDAPFilterTemplateTests {
  @Test("the address goes into the slot as octets: no address changes the filter's shape")
  func slot() throws {
    let template = try LDAPFilterTemplate("(mail={mailbox})")
    #expect(
      template.filter(mailbox: "a@example.edu") == .equal("mail", Array("a@example.edu".utf8)))
    let hostile = "x)(objectClass=*"
    #expect(template.filter(mailbox: hostile) == .equal("mail", Array(hostile.utf8)))
    let ad = try LDAPFilterTemplate(
      "(&(objectCategory=person)(|(mail={mailbox})(proxyAddresses=smtp:{mailbox}))(!(x=\\2a)))")
    #expect(
      ad.filter(mailbox: "b@example.edu")
        == .and([
          .equal("objectCategory", Array("person".utf8)),
          .or([
            .equal("mail", Array("b@example.edu".utf8)),
            .equal("proxyAddresses", Array("smtp:b@example.edu".utf8)),
          ]),
          .not(.equal("x", [0x2A])),
        ]))
    #expect(
      try LDAPFilterTemplate("(&(mail={mailbox})(userCertificate;binary=*))").description
        .hasPrefix("(&"))
  }

  @Test("what the subset does not take is refused with its place")
  func refused() {
    for text in [
      "mail={mailbox}", "(mail={mailbox}", "(mail=*{mailbox})", "(mail={mailbox})x",
      "(uid=alice)", "(&)", "(mail=\\zz{mailbox})", "(mail>={mailbox})", "((mail={mailbox}))",
      String(repeating: "(!", count: 11) + "(mail={mailbox})" + String(repeating: ")", count: 11),
      "(mail={mailbox})" + String(repeating: " ", count: 1024),
    ] {
      #expect(throws: LDAPFilterTemplate.Malformed.self, "\(text.prefix(40))") {
        try LDAPFilterTemplate(text)
      }
    }
  }

  @Test("RFC 4515 escaping for the filter's text")
  func escaping() {
    #expect(LDAPFilterTemplate.escape("a*b(c)\\d") == "a\\2ab\\28c\\29\\5cd")
    #expect(LDAPFilterTemplate.escape("zoë@example.edu") == "zoë@example.edu")
  }

  @Test("certs-only PKCS#7: read back by the bundle reader in the order written")
  func certsOnly() throws {
    let pki = try TestPKI.make(.p256)
    var root = DER.Serializer()
    try root.serialize(pki.root)
    var issuing = DER.Serializer()
    try issuing.serialize(pki.authority.certificate)
    let (first, second) = (issuing.serializedBytes, root.serializedBytes)
    let bytes = try CertificateBundle.certsOnly([first, second])
    #expect(CertificateBundle.certificatesOfPKCS7(bytes) == [first, second])
    #expect(CertificateBundle.certificatesOfPKCS7(first) == nil)
  }
}
