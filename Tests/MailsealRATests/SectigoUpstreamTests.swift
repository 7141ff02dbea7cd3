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

/// `MAILSEAL_UPSTREAM=sectigo` through the issuance worker against the
/// Sectigo test server (Tests/upstream/sectigo_server.py, itself checked
/// with PyPI cert-manager): the order, the collect, and each fault with
/// what the request and the upstream show after it.
@Suite("Sectigo upstream: the worker against the Sectigo test server", .serialized)
struct SectigoUpstreamTests {
  struct Scene {
    let installation: RAInstallation
    let request: CertificateRequest
    let server: UpstreamTestServer
    let http: UpstreamHTTP
    let connector: SectigoConnector
    let worker: IssuanceWorker

    func stop() async {
      server.stop()
      try? await http.shutdown()
    }

    func state() async throws -> CertificateRequestRecord {
      try await UpstreamIssuerTests.request(installation, request.id)
    }
  }

  /// Runs `body` with an approved request for `mailbox` and a fresh server.
  static func with(
    mailbox: String = "zoe@example.edu", timeout: TimeAmount = .seconds(30),
    _ body: (Scene) async throws -> Void
  ) async throws {
    try await RAInstallation.with { installation in
      let request = try await UpstreamIssuerTests.approved(installation, mailbox: mailbox)
      let server = try UpstreamTestServer("sectigo_server.py")
      let http = try UpstreamHTTP(caFile: nil, timeout: timeout)
      let connector = SectigoConnector(
        http: http, base: server.url.appendingPathComponent("api"),
        customerURI: "example-university", login: "mailseal-api",
        password: "sectigo-test-password", organizationID: 4242, personalType: 1938,
        roleType: 1939, termDays: 365)
      let trust = try UpstreamTrust(pem: String(contentsOf: server.chainFile, encoding: .utf8))
      let scene = Scene(
        installation: installation, request: request, server: server, http: http,
        connector: connector,
        worker: try UpstreamIssuerTests.worker(installation, connector, trust: trust))
      do {
        try await body(scene)
      } catch {
        await scene.stop()
        throw error
      }
      await scene.stop()
    }
  }

  @Test("enroll → backendCertId (pending) → collect: issued, one order at Sectigo")
  func delivered() async throws {
    try await Self.with { scene in
      let now = Date()
      #expect(try await scene.worker.issueDue(now: now) == 0)
      let orders = try await UpstreamIssuerTests.orders(scene.installation, scene.request.id)
      #expect(orders.map(\.state) == [.pending] && orders.first?.reference == "1001")
      #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(3)) == 1)
      #expect(try await scene.state().state == .issued)
      #expect(try await scene.server.orders() == 1)
    }
  }

  @Test(
    "the connection closed after Sectigo took the order, or an empty answer: found by address and key, never ordered again"
  )
  func lostAnswers() async throws {
    for fault in ["close-after-create", "empty-after-create"] {
      try await Self.with { scene in
        try await scene.server.faults(["enroll": [fault]])
        let now = Date()
        #expect(try await scene.worker.issueDue(now: now) == 0)
        let lost = try await UpstreamIssuerTests.orders(scene.installation, scene.request.id)
        #expect(lost.map(\.state) == [.ordering] && lost.first?.reference == nil, "\(fault)")
        #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(20)) == 1, "\(fault)")
        #expect(try await scene.state().state == .issued)
        #expect(try await scene.server.orders() == 1, "\(fault): exactly one order at Sectigo")
      }
    }
  }

  @Test(
    "500: looked up (nothing there), then ordered; 429 with Retry-After: not asked before, ordered after"
  )
  func unavailable() async throws {
    try await Self.with { scene in
      try await scene.server.faults(["enroll": ["500"]])
      let now = Date()
      #expect(try await scene.worker.issueDue(now: now) == 0)
      #expect(try await scene.server.orders() == 0)
      #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(20)) == 0)
      #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(25)) == 1)
      #expect(try await scene.server.orders() == 1)
    }
    try await Self.with { scene in
      try await scene.server.faults(["enroll": ["429:200"]])
      let now = Date()
      #expect(try await scene.worker.issueDue(now: now) == 0)
      #expect(
        try await UpstreamIssuerTests.orders(scene.installation, scene.request.id).map(\.state)
          == [.notTaken])
      #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(150)) == 0)
      #expect(try await scene.server.orders() == 0)
      #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(201)) == 0)
      #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(204)) == 1)
      #expect(try await scene.server.orders() == 1)
    }
  }

  @Test("a slow answer (past the timeout): looked up once Sectigo has the order; one order")
  func slow() async throws {
    try await Self.with(timeout: .milliseconds(500)) { scene in
      try await scene.server.faults(["enroll": ["slow:1.5"]])
      let now = Date()
      #expect(try await scene.worker.issueDue(now: now) == 0)
      // The server takes the order after our timeout: wait for it to be
      // there (a condition, not a clock), then the look-up finds it.
      while try await scene.server.orders() == 0 { await Task.yield() }
      #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(20)) == 1)
      #expect(try await scene.server.orders() == 1)
    }
  }

  @Test(
    "the wrong address, the wrong key, a foreign chain: held for an admin with the reason, nothing stored"
  )
  func held() async throws {
    for (fault, reason) in [
      ("wrong-email", "wrong-mailbox"), ("wrong-key", "wrong-key"),
      ("foreign-chain", "not-chained"),
    ] {
      try await Self.with { scene in
        try await scene.server.faults(["enroll": [fault]])
        let now = Date()
        #expect(try await scene.worker.issueDue(now: now) == 0)
        #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(3)) == 0)
        let held = try await scene.state()
        #expect(
          held.upstreamHeldReason?.contains(reason) == true,
          "\(fault): \(held.upstreamHeldReason ?? "")")
        #expect(try await CertificateRecord.query(on: scene.installation.database).count() == 0)
      }
    }
  }

  @Test("a domain Sectigo has not validated: the request rejected with Sectigo's words")
  func refused() async throws {
    try await Self.with(mailbox: "zoe@example.net") { scene in
      #expect(try await scene.worker.issueDue() == 0)
      let rejected = try await scene.state()
      #expect(rejected.state == .rejected)
      #expect(
        rejected.rejectionReason?.contains("not validated") == true,
        "\(rejected.rejectionReason ?? "")")
    }
  }

  @Test("revocation by the order's backendCertId, with the reason")
  func revocation() async throws {
    try await Self.with { scene in
      let now = Date()
      _ = try await scene.worker.issueDue(now: now)
      #expect(try await scene.worker.issueDue(now: now.addingTimeInterval(3)) == 1)
      let record = try await scene.state()
      let certificateID = try #require(record.certificateID)
      let stored = try #require(
        try await Store(scene.installation.database).certificates.find(certificateID))
      try await scene.connector.revoke(
        try Certificate(derEncoded: Array(stored.der)), reference: "1001", reason: .keyCompromise)
      let revoked = try await scene.server.state()["revoked"] as? [[String: Any]]
      #expect(revoked?.first?["reason"] as? String == "keyCompromise")
    }
  }
}
