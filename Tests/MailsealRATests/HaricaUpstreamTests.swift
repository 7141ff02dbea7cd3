import FluentKit
import Foundation
import MailsealAdapters
import MailsealCA
import MailsealModel
import NIOCore
import Testing
import UpstreamTestSupport
import X509

@testable import MailsealRA
@testable import MailsealStore

/// `MAILSEAL_UPSTREAM=harica` through the issuance worker against the
/// HARICA test server (Tests/upstream/harica_server.py, itself checked by
/// driving PyPI tcs-garr): the sign-in with TOTP, the order and its ZIP,
/// and each fault with what the request and HARICA show after it.
@Suite("HARICA upstream: the worker against the HARICA test server", .serialized)
struct HaricaUpstreamTests {
  /// The test server's TOTP seed, JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP.
  static let totp: [UInt8] = Array(
    repeating: [0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x21, 0xDE, 0xAD, 0xBE, 0xEF], count: 2
  ).flatMap { $0 }

  struct Scene {
    let installation: RAInstallation
    let request: CertificateRequest
    let server: UpstreamTestServer
    let http: UpstreamHTTP
    let connector: HaricaConnector
    let worker: IssuanceWorker

    func state() async throws -> CertificateRequestRecord {
      try await UpstreamIssuerTests.request(installation, request.id)
    }
  }

  static func with(
    mailbox: String = "zoe@example.edu", organization: String = "Example University",
    _ body: (Scene) async throws -> Void
  ) async throws {
    try await RAInstallation.with { installation in
      let request = try await UpstreamIssuerTests.approved(installation, mailbox: mailbox)
      let server = try UpstreamTestServer("harica_server.py")
      let http = try UpstreamHTTP(caFile: nil)
      let connector = HaricaConnector(
        http: http, base: server.url, email: "svc-mailseal@example.edu",
        password: "harica-test-password", totpSecret: Self.totp, organization: organization)
      let trust = try UpstreamTrust(pem: String(contentsOf: server.chainFile, encoding: .utf8))
      let scene = Scene(
        installation: installation, request: request, server: server, http: http,
        connector: connector,
        worker: try UpstreamIssuerTests.worker(installation, connector, trust: trust))
      defer { server.stop() }
      do {
        try await body(scene)
      } catch {
        try? await http.shutdown()
        throw error
      }
      try? await http.shutdown()
    }
  }

  static func logins(_ server: UpstreamTestServer) async throws -> Int {
    (try await server.state()["logins"] as? NSNumber)?.intValue ?? -1
  }

  @Test(
    "signed in with the TOTP code, ordered, the ZIP's PKCS#7 read: issued in one pass, named by the request"
  )
  func delivered() async throws {
    try await Self.with { scene in
      #expect(try await scene.worker.issueDue() == 1)
      #expect(try await scene.state().state == .issued)
      let state = try await scene.server.state()
      #expect((state["orders"] as? NSNumber)?.intValue == 1)
      #expect((state["logins"] as? NSNumber)?.intValue == 1)
      #expect(
        state["friendlyNames"] as? [String] == ["mailseal-\(scene.request.number)-dual-use"])
    }
  }

  @Test(
    "the organisation by its id works too; an unknown one keeps requests waiting with the reason")
  func organisation() async throws {
    try await Self.with(organization: "6f1c2a9e-0d4b-4c1e-9a57-1b2c3d4e5f60") {
      (scene: Scene) async throws in
      #expect(try await scene.worker.issueDue() == 1)
    }
    try await Self.with(organization: "Another University") { (scene: Scene) async throws in
      await #expect(throws: UpstreamUnavailable.self) { try await scene.worker.issueDue() }
      #expect(try await scene.state().state == .approved)
      #expect(try await scene.server.orders() == 0)
    }
  }

  @Test(
    "a connection closed after HARICA issued, or an empty answer: found by friendly name, one certificate at HARICA"
  )
  func lostAnswers() async throws {
    for fault in ["close-after-create", "empty-after-create"] {
      try await Self.with { scene in
        try await scene.server.faults(["create": [fault]])
        let now = Date()
        #expect(try await scene.worker.issueDue(now: now) == 0)
        #expect(
          try await UpstreamIssuerTests.orders(scene.installation, scene.request.id).map(\.state)
            == [.ordering])
        #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(20)) == 1, "\(fault)")
        #expect(try await scene.server.orders() == 1, "\(fault): exactly one certificate at HARICA")
      }
    }
  }

  @Test(
    "500 (looked up: absent, then ordered), 429 (ordered again after Retry-After), the session ended (signed in again)"
  )
  func unavailable() async throws {
    for fault in ["500", "429:10", "logout"] {
      try await Self.with { scene in
        try await scene.server.faults(["create": [fault]])
        let now = Date()
        #expect(try await scene.worker.issueDue(now: now) == 0)
        #expect(try await scene.server.orders() == 0)
        #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(20)) == 1, "\(fault)")
        #expect(try await scene.server.orders() == 1)
        if fault == "logout" {
          let logins = try await Self.logins(scene.server)
          #expect(logins == 2)
        }
      }
    }
  }

  @Test("the wrong address, the wrong key, a foreign chain: held for an admin, nothing stored")
  func held() async throws {
    for (fault, reason) in [
      ("wrong-email", "wrong-mailbox"), ("wrong-key", "wrong-key"),
      ("foreign-chain", "not-chained"),
    ] {
      try await Self.with { scene in
        try await scene.server.faults(["create": [fault]])
        #expect(try await scene.worker.issueDue() == 0)
        let held = try await scene.state()
        #expect(
          held.upstreamHeldReason?.contains(reason) == true,
          "\(fault): \(held.upstreamHeldReason ?? "")")
        #expect(try await CertificateRecord.query(on: scene.installation.database).count() == 0)
      }
    }
  }

  @Test("a domain HARICA has not validated: the request rejected with HARICA's words")
  func refused() async throws {
    try await Self.with(mailbox: "zoe@example.net") { scene in
      #expect(try await scene.worker.issueDue() == 0)
      let rejected = try await scene.state()
      #expect(rejected.state == .rejected)
      #expect(rejected.rejectionReason?.contains("not validated") == true)
    }
  }

  @Test("revocation: found by friendly name, revoked with HARICA's code for key compromise")
  func revocation() async throws {
    try await Self.with { scene in
      #expect(try await scene.worker.issueDue() == 1)
      let certificateID = try #require(try await scene.state().certificateID)
      let stored = try #require(
        try await Store(scene.installation.database).certificates.find(certificateID))
      try await scene.connector.revoke(
        try Certificate(derEncoded: Array(stored.der)),
        reference: "mailseal-\(scene.request.number)-dual-use", reason: .keyCompromise)
      let revoked = try await scene.server.state()["revoked"] as? [[String: Any]]
      #expect(revoked?.first?["reason"] as? String == "4.9.1.1.1.2")
    }
  }
}
