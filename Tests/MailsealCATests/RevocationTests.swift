import Foundation
import SwiftASN1
import Testing
import X509

@testable import MailsealCA

/// CRLs and OCSP responses, judged by OpenSSL and pkilint.
@Suite("CRLs and OCSP responses pass the independent judges")
struct RevocationTests {
  /// A CA with three issued certificates, written to a folder as PEM.
  struct Fixture {
    let pki: TestPKI
    let folder: URL
    let certificates: [SignedCertificate]

    init(_ caKey: CAKeyType, custody: TestCustody = .file) throws {
      pki = try TestPKI.make(caKey, custody: custody)
      folder = try ExternalTool.temporaryDirectory()
      var made: [SignedCertificate] = []
      for name in ["good", "compromised", "left"] {
        let request = try CertificateRequestCheck.check(
          pem: TestCSR.pem(try TestSubscriberKey.p256.privateKey()))
        made.append(
          try pki.authority.sign(
            pki.authority.prepare(request, for: try .mailboxOnly("\(name)@example.edu"))))
      }
      certificates = made
      try write(pki.authority.certificate.pemString, "issuing.pem")
      try write(pki.root.pemString, "root.pem")
      try write(pki.root.pemString + "\n" + pki.authority.certificate.pemString, "chain.pem")
      for (name, certificate) in zip(["good", "compromised", "left"], certificates) {
        try write(certificate.pem, "\(name).pem")
      }
    }

    func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    func write(_ text: String, _ name: String) throws {
      try (text + "\n").write(to: url(name), atomically: true, encoding: .utf8)
    }

    func write(_ bytes: [UInt8], _ name: String) throws {
      try Data(bytes).write(to: url(name))
    }

    var revoked: [RevokedCertificate] {
      [
        RevokedCertificate(
          serialNumber: Array(certificates[1].prepared.serialNumber.bytes),
          revocationDate: Date().addingTimeInterval(-60), reason: .keyCompromise),
        RevokedCertificate(
          serialNumber: Array(certificates[2].prepared.serialNumber.bytes),
          revocationDate: Date().addingTimeInterval(-30), reason: .unspecified),
      ]
    }

    func pem(_ der: [UInt8], _ label: String) -> String {
      PEMDocument(type: label, derBytes: der).pemString
    }
  }

  @Test(
    "the CRL and the root's ARL (keys in memory and in a SoftHSM2 token): openssl verifies them and finds revoked certificates; pkilint finds nothing",
    arguments: [CAKeyType.p384, .rsa4096], TestCustody.allCases)
  func crl(caKey: CAKeyType, custody: TestCustody) throws {
    let fixture = try Fixture(caKey, custody: custody)
    defer { ExternalTool.cleanUp(fixture.folder) }
    let now = Date()
    let crl = try fixture.pki.authority.signCRL(
      revoked: fixture.revoked, number: 42, thisUpdate: now,
      nextUpdate: now.addingTimeInterval(7 * 86_400))
    try fixture.write(crl, "crl.der")
    try fixture.write(fixture.pem(crl, "X509 CRL"), "crl.pem")
    let root = try CertificateAuthority(
      certificate: fixture.pki.root, chain: [fixture.pki.root], key: fixture.pki.rootKey,
      policy: fixture.pki.authority.policy)
    let arl = try root.signCRL(
      revoked: [], number: 1, thisUpdate: now, nextUpdate: now.addingTimeInterval(7 * 86_400))
    try fixture.write(arl, "arl.der")
    try fixture.write(fixture.pem(arl, "X509 CRL"), "arl.pem")

    let check = try ExternalTool.openssl([
      "crl", "-inform", "DER", "-in", fixture.url("crl.der").path, "-CAfile",
      fixture.url("chain.pem").path, "-noout", "-text",
    ])
    #expect(check.status == 0 && check.output.contains("verify OK"), "\(check.output)")
    #expect(check.output.contains("Version 2"))
    #expect(check.output.contains("X509v3 CRL Number: \n                42"))
    #expect(check.output.contains("X509v3 Authority Key Identifier"))
    #expect(check.output.contains("Key Compromise"))
    #expect(check.output.components(separatedBy: "Serial Number:").count == 3)
    let arlCheck = try ExternalTool.openssl([
      "crl", "-inform", "DER", "-in", fixture.url("arl.der").path, "-CAfile",
      fixture.url("root.pem").path, "-noout",
    ])
    #expect(arlCheck.status == 0 && arlCheck.output.contains("verify OK"), "\(arlCheck.output)")

    for (name, expected) in [
      ("good", ": OK"), ("compromised", "certificate revoked"), ("left", "certificate revoked"),
    ] {
      for mode in ["-crl_check", "-crl_check_all"] {
        let verify = try ExternalTool.openssl([
          "verify", mode, "-CAfile", fixture.url("root.pem").path, "-untrusted",
          fixture.url("issuing.pem").path, "-CRLfile", fixture.url("crl.pem").path, "-CRLfile",
          fixture.url("arl.pem").path, "-purpose", "smimesign", fixture.url("\(name).pem").path,
        ])
        #expect(verify.output.contains(expected), "\(name) \(mode): \(verify.output)")
        #expect((verify.status == 0) == (name == "good"), "\(name) \(mode): \(verify.output)")
      }
    }

    for (file, type) in [("crl.der", "CRL"), ("arl.der", "ARL")] {
      let report = try PkilintReport.lintCRL(fixture.url(file), type: type)
      #expect(report.atWarningOrAbove.isEmpty, "pkilint \(type): \(report.atWarningOrAbove)")
    }
  }

  @Test("a CRL of 100,000 entries is well-formed DER that openssl verifies and counts")
  func largeCRL() throws {
    let fixture = try Fixture(.p256)
    defer { ExternalTool.cleanUp(fixture.folder) }
    let now = Date()
    let entries = (0..<100_000).map { index in
      RevokedCertificate(
        serialNumber: [0x40] + withUnsafeBytes(of: UInt64(index).bigEndian, Array.init)
          + [0, 0, 0, 0, 0, 0, 1],
        revocationDate: now.addingTimeInterval(-Double(index)),
        reason: RevocationReason.allCases[index % RevocationReason.allCases.count])
    }
    let crl = try fixture.pki.authority.signCRL(
      revoked: entries, number: 7, thisUpdate: now, nextUpdate: now.addingTimeInterval(86_400))
    try fixture.write(crl, "large.der")
    let check = try ExternalTool.openssl([
      "crl", "-inform", "DER", "-in", fixture.url("large.der").path, "-CAfile",
      fixture.url("chain.pem").path, "-noout", "-text",
    ])
    #expect(check.status == 0 && check.output.contains("verify OK"))
    #expect(check.output.components(separatedBy: "Serial Number:").count == 100_001)
  }

  @Test("a CRL's nextUpdate must be after thisUpdate and at most 10 days later")
  func crlValidity() throws {
    let pki = try TestPKI.make(.p256)
    let now = Date()
    for next in [now, now.addingTimeInterval(-1), now.addingTimeInterval(10 * 86_400 + 1)] {
      #expect(throws: CAError.self) {
        try pki.authority.signCRL(revoked: [], number: 1, thisUpdate: now, nextUpdate: next)
      }
    }
  }

  @Test(
    "OCSP (keys in memory and in a SoftHSM2 token): openssl reads good, revoked with reason and unknown, verifies the signature of the CA and of the delegated responder, with and without nonce, SHA-1 and SHA-256 CertIDs; pkilint finds nothing",
    arguments: [CAKeyType.p384, .rsa4096], TestCustody.allCases)
  func ocsp(caKey: CAKeyType, custody: TestCustody) throws {
    let fixture = try Fixture(caKey, custody: custody)
    defer { ExternalTool.cleanUp(fixture.folder) }
    let authority = fixture.pki.authority
    let responderKey = try custody.generate(.p256, label: "ocsp")
    let delegated = try CACeremony.makeOCSPResponder(
      key: responderKey, issuing: authority.certificate, issuingKey: authority.signingKey,
      now: Date())
    let signers: [(String, OCSPResponder)] = [
      (
        "ca",
        try OCSPResponder(
          issuer: authority.certificate, signerCertificate: authority.certificate,
          key: authority.signingKey)
      ),
      (
        "delegated",
        try OCSPResponder(
          issuer: authority.certificate, signerCertificate: delegated, key: responderKey)
      ),
    ]
    let revokedAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down) - 60)
    let cases: [(String, OCSPCertStatus, String)] = [
      ("good", .good, ": good"),
      ("compromised", .revoked(at: revokedAt, reason: .keyCompromise), ": revoked"),
      ("left", .unknown, ": unknown"),
    ]
    for (signerName, responder) in signers {
      for (name, status, expected) in cases {
        for (nonceName, nonceOption) in [("nonce", [String]()), ("no nonce", ["-no_nonce"])] {
          for digest in ["-sha1", "-sha256"] {
            let label = "\(signerName) \(name) \(nonceName) \(digest)"
            let request = try ExternalTool.openssl(
              [
                "ocsp", digest, "-issuer", fixture.url("issuing.pem").path, "-cert",
                fixture.url("\(name).pem").path, "-reqout", fixture.url("req.der").path,
              ] + nonceOption)
            #expect(request.status == 0, "\(label): \(request.output)")
            let parsed = try OCSPRequest(
              derEncoded: Array(try Data(contentsOf: fixture.url("req.der"))))
            #expect(parsed.certIDs.count == 1)
            #expect(responder.isForIssuer(parsed.certIDs[0]), "\(label)")
            #expect((parsed.nonce != nil) == nonceOption.isEmpty, "\(label)")
            let now = Date()
            let response = try responder.sign(
              [
                OCSPSingleResponse(
                  certID: parsed.certIDs[0], status: status, thisUpdate: now,
                  nextUpdate: now.addingTimeInterval(4 * 86_400))
              ], producedAt: now, nonce: parsed.nonce)
            try fixture.write(response, "resp.der")
            // The request read back (not one made anew from -cert), so
            // openssl compares its nonce with the response's.
            let read = try ExternalTool.openssl([
              "ocsp", "-reqin", fixture.url("req.der").path, "-respin",
              fixture.url("resp.der").path,
              "-CAfile", fixture.url("root.pem").path, "-verify_other",
              fixture.url("issuing.pem").path, "-resp_text",
            ])
            #expect(read.status == 0, "\(label): \(read.output)")
            #expect(read.output.contains("Response verify OK"), "\(label): \(read.output)")
            #expect(read.output.contains("Cert Status\(expected)"), "\(label): \(read.output)")
            #expect(!read.output.contains("Nonce Verify error"), "\(label): \(read.output)")
            #expect(
              read.output.contains("OCSP Nonce") == nonceOption.isEmpty, "\(label): \(read.output)")
            if case .revoked = status {
              #expect(
                read.output.contains("Revocation Reason: keyCompromise"), "\(label): \(read.output)"
              )
            }
            let report = try PkilintReport.lintOCSP(fixture.url("resp.der"))
            #expect(report.atWarningOrAbove.isEmpty, "pkilint \(label): \(report.atWarningOrAbove)")
          }
        }
      }
    }
    // A CertID of another CA is not this responder's.
    let other = try TestPKI.make(caKey)
    try fixture.write(other.authority.certificate.pemString, "other.pem")
    _ = try ExternalTool.openssl([
      "ocsp", "-issuer", fixture.url("other.pem").path, "-serial", "0x1234", "-reqout",
      fixture.url("other.der").path,
    ])
    let foreign = try OCSPRequest(
      derEncoded: Array(try Data(contentsOf: fixture.url("other.der"))))
    #expect(!signers[0].1.isForIssuer(foreign.certIDs[0]))
  }

  @Test(
    "malformed OCSP requests: truncated, oversized, wrong version, random, and every bent field")
  func malformedRequests() throws {
    let fixture = try Fixture(.p256)
    defer { ExternalTool.cleanUp(fixture.folder) }
    _ = try ExternalTool.openssl([
      "ocsp", "-issuer", fixture.url("issuing.pem").path, "-cert", fixture.url("good.pem").path,
      "-reqout", fixture.url("req.der").path,
    ])
    let valid = Array(try Data(contentsOf: fixture.url("req.der")))
    #expect(throws: Never.self) { try OCSPRequest(derEncoded: valid) }

    func refused(_ bytes: [UInt8], _ label: String) {
      #expect(throws: OCSPRequest.Malformed.self, "\(label)") {
        try OCSPRequest(derEncoded: bytes)
      }
    }
    refused([], "empty")
    for length in stride(from: 1, to: valid.count, by: 3) {
      refused(Array(valid.prefix(length)), "truncated to \(length)")
    }
    refused(valid + [0], "trailing byte")
    refused(Array(repeating: 0x30, count: OCSPRequest.maximumSize + 1), "oversized")
    var generator = SystemRandomNumberGenerator()
    for index in 0..<2_000 {
      let random = (0..<Int.random(in: 1...300, using: &generator)).map { _ in
        UInt8.random(in: 0...255, using: &generator)
      }
      refused(random, "random \(index)")
    }
    // Random bytes behind a plausible start.
    for index in 0..<500 {
      var bent = valid
      bent[Int.random(in: 2..<bent.count, using: &generator)] ^= UInt8.random(
        in: 1...255, using: &generator)
      // A flip inside a hash or the nonce leaves a well-formed request;
      // anything else must be refused, never crash.
      _ = try? OCSPRequest(derEncoded: bent)
      _ = index
    }

    // Built requests: one thing wrong each.
    let certID = try OCSPRequest(derEncoded: valid).certIDs[0].encoded
    func request(
      version: Int? = nil, certIDs: [[UInt8]]? = nil, extensions: [UInt8]? = nil
    ) throws -> [UInt8] {
      var coder = DER.Serializer()
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          if let version {
            try coder.appendConstructedNode(
              identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
            ) { try $0.serialize(version) }
          }
          coder.appendConstructedNode(identifier: .sequence) { coder in
            for id in certIDs ?? [certID] {
              coder.appendConstructedNode(identifier: .sequence) { $0.serializeRawBytes(id) }
            }
          }
          if let extensions {
            coder.appendConstructedNode(
              identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)
            ) { $0.serializeRawBytes(extensions) }
          }
        }
      }
      return coder.serializedBytes
    }
    func nonceExtension(_ nonce: [UInt8], critical: Bool = false, oid: ASN1ObjectIdentifier? = nil)
      throws -> [UInt8]
    {
      var inner = DER.Serializer()
      try inner.serialize(ASN1OctetString(contentBytes: nonce[...]))
      var coder = DER.Serializer()
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.serialize(
          Certificate.Extension(
            oid: oid ?? OCSPRequest.nonceOID, critical: critical,
            value: inner.serializedBytes[...]))
      }
      return coder.serializedBytes
    }
    #expect(throws: Never.self) { try OCSPRequest(derEncoded: try request()) }
    #expect(throws: Never.self) { try OCSPRequest(derEncoded: try request(version: 0)) }
    #expect(
      try OCSPRequest(
        derEncoded: try request(extensions: try nonceExtension(Array(repeating: 7, count: 32)))
      )
      .nonce != nil)
    refused(try request(version: 1), "version 2")
    refused(try request(version: 5), "version 6")
    refused(try request(certIDs: []), "no CertID")
    refused(
      try request(certIDs: Array(repeating: certID, count: OCSPRequest.maximumRequests + 1)),
      "too many CertIDs")
    refused(try request(extensions: try nonceExtension([])), "empty nonce")
    refused(
      try request(extensions: try nonceExtension(Array(repeating: 7, count: 33))), "long nonce")
    refused(
      try request(extensions: try nonceExtension([1], critical: true, oid: [1, 2, 3, 4])),
      "unknown critical extension")
    var shortHash = certID
    // The CertID's issuerNameHash is 20 bytes long; claim SHA-256 for it.
    if let range = shortHash.firstRange(of: [0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A]) {
      shortHash.replaceSubrange(
        range, with: [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01])
      shortHash[1] += 4
      shortHash[3] += 4
    }
    refused(try request(certIDs: [shortHash]), "SHA-256 named for a SHA-1 sized hash")
  }
}
