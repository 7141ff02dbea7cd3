import Foundation
import Testing
import X509

@testable import MailsealCA

/// What an upstream sends back as certificates, made by OpenSSL (an
/// independent writer): a PEM chain, PKCS#7 in DER and in PEM; and what is
/// not one.
@Suite("An upstream's certificate bundles: PEM, PKCS#7 DER and PEM, refused otherwise")
struct CertificateBundleTests {
  @Test("OpenSSL's PEM chain and its PKCS#7 (DER, PEM) give the same certificates")
  func forms() throws {
    let workspace = try OpenSSLWorkspace()
    defer { workspace.cleanUp() }
    let caKey = try workspace.generateKey(
      "ca", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    try workspace.run([
      "req", "-x509", "-key", caKey, "-out", workspace.path("ca.pem"), "-subj", "/CN=Bundle CA",
      "-days", "2",
    ])
    let key = try workspace.generateKey(
      "ee", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    let csr = try workspace.request("ee", key: key)
    try workspace.run([
      "x509", "-req", "-in", csr, "-CA", workspace.path("ca.pem"), "-CAkey", caKey,
      "-CAcreateserial", "-days", "1", "-out", workspace.path("ee.pem"),
    ])
    let chain =
      try workspace.read(workspace.path("ee.pem")) + workspace.read(workspace.path("ca.pem"))
    let chainFile = try workspace.write("chain.pem", chain)
    try workspace.run([
      "crl2pkcs7", "-nocrl", "-certfile", chainFile, "-outform", "DER", "-out",
      workspace.path("chain.p7b"),
    ])
    try workspace.run([
      "crl2pkcs7", "-nocrl", "-certfile", chainFile, "-out", workspace.path("chain.p7.pem"),
    ])
    let fromPEM = try CertificateBundle.certificates(chain)
    #expect(fromPEM.count == 2)
    let fromDER = try CertificateBundle.certificates(
      try workspace.read(workspace.path("chain.p7b")))
    let fromPKCS7PEM = try CertificateBundle.certificates(
      try workspace.read(workspace.path("chain.p7.pem")))
    #expect(Set(fromDER) == Set(fromPEM))
    #expect(Set(fromPKCS7PEM) == Set(fromPEM))
  }

  @Test("empty, truncated, not PKCS#7, oversized: refused with a reason")
  func refused() throws {
    for bytes: [UInt8] in [
      [], [0x30, 0x03, 0x06, 0x01], Array("-----BEGIN CERTIFICATE-----\nAAAA\n".utf8),
      [0x30, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01],
      [UInt8](repeating: 0x30, count: CertificateBundle.maximumSize + 1),
    ] {
      #expect(throws: CertificateBundle.Malformed.self) {
        try CertificateBundle.certificates(bytes)
      }
    }
  }
}
