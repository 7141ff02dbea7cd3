import Crypto
import Foundation
import SwiftASN1
import Testing
import UpstreamTestSupport
import X509

@testable import MailsealCA

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

extension OpenSSLCMPServer {
  /// POSTs a message as RFC 6712 says and reads the answer.
  fileprivate func exchange(_ message: CMPMessage) async throws -> CMPMessage {
    var request = URLRequest(url: url)
    request.httpMethod = "POST"
    request.setValue("application/pkixcmp", forHTTPHeaderField: "Content-Type")
    // Each message on a connection of its own, closed after the answer (as
    // OpenSSL's server closes it): no pooled connection that the server
    // has closed is tried first and the message sent again.
    request.setValue("close", forHTTPHeaderField: "Connection")
    request.httpBody = Data(try message.serialized())
    let session = URLSession(configuration: .ephemeral)
    defer { session.finishTasksAndInvalidate() }
    let (data, response) = try await session.data(for: request)
    let status = (response as? HTTPURLResponse)?.statusCode
    try #require(status == 200, "HTTP \(status.map(String.init) ?? "?")")
    return try CMPMessage(derEncoded: Array(data))
  }
}

/// A test CA made with OpenSSL, a subscriber's request, and the certificate
/// the mock will hand out for it.
private struct CMPFixture {
  let workspace: OpenSSLWorkspace
  let caFile: String
  let certificateFile: String
  let certificate: Certificate
  let request: [UInt8]
  let recipient: DistinguishedName

  init() throws {
    workspace = try OpenSSLWorkspace()
    let caKey = try workspace.generateKey(
      "ca", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    caFile = workspace.path("ca.pem")
    try workspace.run([
      "req", "-x509", "-key", caKey, "-out", caFile, "-subj", "/CN=Test Issuing CA/O=Example",
      "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE",
      "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    ])
    let key = try workspace.generateKey(
      "anna", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
    let csr = try workspace.request("anna", key: key)
    let extensions = try workspace.write(
      "ext.cnf", "extendedKeyUsage=emailProtection\nsubjectAltName=email:anna@example.edu\n")
    certificateFile = workspace.path("anna.pem")
    try workspace.run([
      "x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial", "-days", "10",
      "-out", certificateFile, "-extfile", extensions,
    ])
    certificate = try Certificate(
      pemEncoded: String(decoding: try workspace.read(certificateFile), as: UTF8.self))
    request = try PEMDocument(
      pemString: String(decoding: try workspace.read(csr), as: UTF8.self)
    ).derBytes
    recipient = try DistinguishedName {
      OrganizationName("Example")
      CommonName("Test Issuing CA")
    }
  }

  /// The mock for this fixture's certificate, with more options.
  func server(_ options: [String] = []) throws -> OpenSSLCMPServer {
    try OpenSSLCMPServer(
      [
        "-srv_ref", "1234", "-srv_secret", "pass:test", "-rsp_cert", certificateFile,
        "-rsp_extracerts", caFile,
      ] + options)
  }

  /// A header for a new message of one transaction.
  func header(transaction: [UInt8], recipNonce: [UInt8]? = nil) -> CMPHeader {
    CMPHeader(
      sender: .directoryName(DistinguishedName()), recipient: .directoryName(recipient),
      messageTime: Date(), senderKID: Array("1234".utf8), transactionID: transaction,
      senderNonce: Self.random(), recipNonce: recipNonce)
  }

  static func random() -> [UInt8] { (0..<16).map { _ in UInt8.random(in: 0...255) } }

  static let secret = Array("test".utf8)

  func protect(_ message: CMPMessage, secret: [UInt8] = secret) throws -> CMPMessage {
    try CMPProtection.fresh().protect(message, secret: secret)
  }
}

@Suite("CMP messages, judged by OpenSSL's CMP server", .serialized)
struct CMPTests {
  @Test(
    "p10cr → cp with the certificate → certConf → pkiConf; every answer MAC-checked and bound to the transaction"
  )
  func enrolment() async throws {
    let fixture = try CMPFixture()
    defer { fixture.workspace.cleanUp() }
    let server = try fixture.server()
    defer { server.stop() }
    let transaction = CMPFixture.random()
    let request = try fixture.protect(
      CMPMessage(header: fixture.header(transaction: transaction), body: .p10cr(fixture.request)))
    let answer = try await server.exchange(request)
    try CMPProtection.verify(answer, secret: CMPFixture.secret)
    #expect(answer.header.transactionID == transaction)
    #expect(answer.header.recipNonce == request.header.senderNonce)
    guard case .certResponse(3, _, let responses) = answer.body, let response = responses.first
    else {
      Issue.record("expected a cp, got \(answer.body.name)")
      return
    }
    #expect(response.status.isGranted)
    #expect(response.certificate == fixture.certificate)
    #expect(answer.extraCertificates.count == 1)
    // Confirm with the certificate's hash.
    var serializer = DER.Serializer()
    try serializer.serialize(fixture.certificate)
    let hash = Array(SHA256.hash(data: serializer.serializedBytes))
    let confirm = try fixture.protect(
      CMPMessage(
        header: fixture.header(transaction: transaction, recipNonce: answer.header.senderNonce),
        body: .certConf([
          CMPCertStatus(
            certHash: hash, certReqID: response.certReqID, status: CMPStatus(status: 0))
        ])))
    let acknowledged = try await server.exchange(confirm)
    try CMPProtection.verify(acknowledged, secret: CMPFixture.secret)
    #expect(acknowledged.body == .pkiConf, "\(acknowledged.body)")
    #expect(acknowledged.header.recipNonce == confirm.header.senderNonce)
  }

  @Test("a waiting answer, pollReq, pollRep with checkAfter, then the certificate")
  func polling() async throws {
    let fixture = try CMPFixture()
    defer { fixture.workspace.cleanUp() }
    let server = try fixture.server(["-poll_count", "2", "-check_after", "0"])
    defer { server.stop() }
    let transaction = CMPFixture.random()
    var answer = try await server.exchange(
      try fixture.protect(
        CMPMessage(header: fixture.header(transaction: transaction), body: .p10cr(fixture.request)))
    )
    guard case .certResponse(_, _, let first) = answer.body, let waiting = first.first else {
      Issue.record("expected a cp, got \(answer.body.name)")
      return
    }
    #expect(waiting.status.status == CMPStatus.waiting && waiting.certificate == nil)
    var kinds: [String] = []
    var certificate: Certificate?
    for _ in 0..<4 where certificate == nil {
      answer = try await server.exchange(
        try fixture.protect(
          CMPMessage(
            header: fixture.header(transaction: transaction, recipNonce: answer.header.senderNonce),
            body: .pollReq([waiting.certReqID]))))
      try CMPProtection.verify(answer, secret: CMPFixture.secret)
      kinds.append(answer.body.name)
      if case .pollRep(let polls) = answer.body { #expect(polls.first?.checkAfter == 0) }
      if case .certResponse(_, _, let responses) = answer.body {
        certificate = responses.first?.certificate
      }
    }
    #expect(kinds == ["pollRep", "cp"])
    #expect(certificate == fixture.certificate)
  }

  @Test("an error message, a rejection, an unprotected answer and a wrong secret are told apart")
  func faults() async throws {
    let fixture = try CMPFixture()
    defer { fixture.workspace.cleanUp() }
    do {
      let server = try fixture.server(["-send_error"])
      defer { server.stop() }
      let answer = try await server.exchange(
        try fixture.protect(
          CMPMessage(
            header: fixture.header(transaction: CMPFixture.random()), body: .p10cr(fixture.request))
        ))
      try CMPProtection.verify(answer, secret: CMPFixture.secret)
      guard case .error(let status, _, _) = answer.body else {
        Issue.record("expected an error, got \(answer.body.name)")
        return
      }
      #expect(status.status == CMPStatus.rejection)
    }
    do {
      let server = try fixture.server([
        "-pkistatus", "2", "-failure", "2", "-statusstring", "bad request",
      ])
      defer { server.stop() }
      let answer = try await server.exchange(
        try fixture.protect(
          CMPMessage(
            header: fixture.header(transaction: CMPFixture.random()), body: .p10cr(fixture.request))
        ))
      guard case .certResponse(_, _, let responses) = answer.body, let response = responses.first
      else {
        Issue.record("expected a cp, got \(answer.body.name)")
        return
      }
      #expect(response.status.status == CMPStatus.rejection)
      #expect(response.status.failures == [CMPStatus.badRequest])
      #expect(response.status.texts == ["bad request"])
      #expect(response.certificate == nil)
    }
    do {
      let server = try fixture.server(["-send_unprotected"])
      defer { server.stop() }
      let answer = try await server.exchange(
        try fixture.protect(
          CMPMessage(
            header: fixture.header(transaction: CMPFixture.random()), body: .p10cr(fixture.request))
        ))
      #expect(throws: CMPProtection.Refused.self) {
        try CMPProtection.verify(answer, secret: CMPFixture.secret)
      }
    }
    do {
      // The server refuses our MAC, and its answer does not verify with
      // our (wrong) secret either.
      let server = try fixture.server()
      defer { server.stop() }
      let wrong = Array("not the secret".utf8)
      let answer = try await server.exchange(
        try fixture.protect(
          CMPMessage(
            header: fixture.header(transaction: CMPFixture.random()), body: .p10cr(fixture.request)),
          secret: wrong))
      #expect(throws: CMPProtection.Refused.self) {
        try CMPProtection.verify(answer, secret: wrong)
      }
      if case .certResponse = answer.body { Issue.record("a certificate for a wrong MAC") }
    }
  }

  @Test("rr for the issued certificate with its reason → rp accepted; another serial → refused")
  func revocation() async throws {
    let fixture = try CMPFixture()
    defer { fixture.workspace.cleanUp() }
    let server = try fixture.server()
    defer { server.stop() }
    let revoke = { (serial: Certificate.SerialNumber) async throws -> CMPMessage in
      let answer = try await server.exchange(
        try fixture.protect(
          CMPMessage(
            header: fixture.header(transaction: CMPFixture.random()),
            body: .rr([
              CMPRevocation(issuer: fixture.certificate.issuer, serialNumber: serial, reason: 1)
            ]))))
      try CMPProtection.verify(answer, secret: CMPFixture.secret)
      return answer
    }
    let accepted = try await revoke(fixture.certificate.serialNumber)
    #expect(accepted.body == .rp([CMPStatus(status: 0)]), "\(accepted.body)")
    let refused = try await revoke(Certificate.SerialNumber(bytes: [0x01, 0x02]))
    if case .rp(let statuses) = refused.body {
      #expect(statuses.first?.status == CMPStatus.rejection)
    } else if case .error = refused.body {
    } else {
      Issue.record("expected a refusal, got \(refused.body.name)")
    }
  }

  @Test("every body we send or read survives encoding and reading; hostile input is refused")
  func roundTrip() throws {
    let fixture = try CMPFixture()
    defer { fixture.workspace.cleanUp() }
    let bodies: [CMPBody] = [
      .p10cr(fixture.request),
      .certResponse(
        tag: 3, caPublications: [],
        responses: [
          CMPCertResponse(
            certReqID: -1, status: CMPStatus(status: 0), certificate: fixture.certificate)
        ]),
      .certConf([
        CMPCertStatus(
          certHash: [1, 2, 3], certReqID: 0,
          status: CMPStatus(status: 2, texts: ["wrong key"], failures: [7, 19]))
      ]),
      .pkiConf, .pollReq([-1]),
      .pollRep([CMPPollResponse(certReqID: -1, checkAfter: 5, reason: [])]),
      .rr([
        CMPRevocation(
          issuer: fixture.certificate.issuer, serialNumber: fixture.certificate.serialNumber,
          reason: 4)
      ]),
      .rp([CMPStatus(status: 0)]), .error(CMPStatus(status: 2), code: 7, details: ["no"]),
    ]
    for body in bodies {
      let message = try fixture.protect(
        CMPMessage(
          header: fixture.header(transaction: CMPFixture.random()), body: body,
          extraCertificates: [fixture.certificate]))
      let read = try CMPMessage(derEncoded: try message.serialized())
      #expect(read.body == body, "\(body.name)")
      #expect(read.header.transactionID == message.header.transactionID)
      try CMPProtection.verify(read, secret: CMPFixture.secret)
    }
    // A serial whose high bit is set stays positive: [1] 03 00 80 01.
    let high = try CMPMessage(
      header: fixture.header(transaction: CMPFixture.random()),
      body: .rr([
        CMPRevocation(
          issuer: fixture.certificate.issuer,
          serialNumber: Certificate.SerialNumber(bytes: [0x80, 0x01]), reason: 1)
      ])
    ).serialized()
    #expect(
      high.indices.dropLast(4).contains { high[$0..<($0 + 5)] == [0x81, 0x03, 0x00, 0x80, 0x01] })
    // Truncated, oversized, an unknown body, an absurd iteration count.
    let good = try fixture.protect(
      CMPMessage(header: fixture.header(transaction: CMPFixture.random()), body: .pkiConf)
    ).serialized()
    #expect(throws: CMPMessage.Malformed.self) {
      try CMPMessage(derEncoded: Array(good.dropLast()))
    }
    #expect(throws: CMPMessage.Malformed.self) {
      try CMPMessage(derEncoded: [UInt8](repeating: 0x30, count: CMPMessage.maximumSize + 1))
    }
    var greedy = try fixture.protect(
      CMPMessage(header: fixture.header(transaction: CMPFixture.random()), body: .pkiConf))
    greedy.header.protectionAlgorithm?.iterations = CMPProtection.maximumIterations + 1
    #expect(throws: CMPMessage.Malformed.self) {
      try CMPMessage(derEncoded: try greedy.serialized())
    }
  }
}
