import Crypto
import FluentKit
import Foundation
import MailsealAdapters
import MailsealCA
import MailsealModel
import Testing
import UpstreamTestSupport
import X509

@testable import MailsealRA
@testable import MailsealStore

/// `MAILSEAL_UPSTREAM=cmp` end to end: the issuance worker, the upstream
/// issuer, the CMP connector and its HTTP, against OpenSSL's own CMP
/// server (independent code) — enrolment, polling, an injected error, a
/// certificate for the wrong key, revocation.
@Suite("CMP upstream: the worker against OpenSSL's CMP server", .serialized)
struct CMPUpstreamTests {
  static let reference = "mailseal-ra"
  static let secret = "cmp-shared-secret"

  /// An approved request, the upstream's certificate for it, and the
  /// OpenSSL server handing it out.
  struct Scene {
    let installation: RAInstallation
    let request: CertificateRequest
    let ca: UpstreamTestCA
    let certificate: Certificate
    let server: OpenSSLCMPServer
    let http: UpstreamHTTP
    let connector: CMPConnector
    let folder: URL

    func worker() throws -> IssuanceWorker {
      try UpstreamIssuerTests.worker(installation, connector, ca: ca)
    }

    func stop() async {
      server.stop()
      try? await http.shutdown()
      try? FileManager.default.removeItem(at: folder)
    }
  }

  static func scene(
    _ installation: RAInstallation, options: [String] = [], wrongKey: Bool = false
  ) async throws -> Scene {
    let request = try await UpstreamIssuerTests.approved(installation)
    let ca = try UpstreamTestCA()
    let subject = try ValidatedSubject.person(
      mailbox: request.mailbox, givenName: "Zoë", surname: "Müller")
    let certificate = try ca.issue(
      csr: Array(request.csrDER), for: subject,
      key: wrongKey ? .init(P256.Signing.PrivateKey().publicKey) : nil)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "cmp-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let certificateFile = folder.appendingPathComponent("issued.pem")
    let chainFile = folder.appendingPathComponent("chain.pem")
    try Data(try certificate.serializeAsPEM().pemString.utf8).write(to: certificateFile)
    try ca.chainPEM.write(to: chainFile, atomically: true, encoding: .utf8)
    let server = try OpenSSLCMPServer(
      [
        "-srv_ref", reference, "-srv_secret", "pass:\(secret)", "-rsp_cert", certificateFile.path,
        "-rsp_extracerts", chainFile.path,
      ] + options)
    let http = try UpstreamHTTP(caFile: nil)
    let connector = CMPConnector(
      client: CMPClient(
        reference: Array(reference.utf8), secret: Array(secret.utf8),
        recipient: ca.issuing.subject, transport: HTTPCMPTransport(http: http, url: server.url)))
    return Scene(
      installation: installation, request: request, ca: ca, certificate: certificate,
      server: server, http: http, connector: connector, folder: folder)
  }

  @Test(
    "p10cr → cp → certConf → pkiConf: the request issued with the CA's certificate, the order issued"
  )
  func enrolment() async throws {
    try await RAInstallation.with { installation in
      let scene = try await Self.scene(installation)
      do {
        #expect(try await scene.worker().issueDue() == 1)
        let issued = try await UpstreamIssuerTests.request(installation, scene.request.id)
        #expect(issued.state == .issued)
        let certificateID = try #require(issued.certificateID)
        let stored = try #require(
          try await Store(installation.database).certificates.find(certificateID))
        #expect(Array(stored.der) == scene.certificate.derBytes)
        let orders = try await UpstreamIssuerTests.orders(installation, scene.request.id)
        #expect(orders.map(\.state) == [.issued])
        #expect(orders.first?.reference?.count == 32)
      } catch {
        await scene.stop()
        throw error
      }
      await scene.stop()
    }
  }

  @Test("a waiting answer: pending, polled after checkAfter (pollRep, then the certificate)")
  func polling() async throws {
    try await RAInstallation.with { installation in
      let scene = try await Self.scene(
        installation, options: ["-poll_count", "2", "-check_after", "1"])
      do {
        let worker = try scene.worker()
        let now = Date()
        #expect(try await worker.issueDue(now: now) == 0)
        #expect(
          try await UpstreamIssuerTests.orders(installation, scene.request.id).map(\.state)
            == [.pending])
        // Not asked before checkAfter …
        #expect(try await worker.issueDue(now: now.addingTimeInterval(0.5)) == 0)
        // … then pollRep (still waiting), then the certificate.
        #expect(try await worker.issueDue(now: now.addingTimeInterval(2)) == 0)
        #expect(try await worker.issueDue(now: now.addingTimeInterval(4)) == 1)
        #expect(
          try await UpstreamIssuerTests.request(installation, scene.request.id).state == .issued)
      } catch {
        await scene.stop()
        throw error
      }
      await scene.stop()
    }
  }

  @Test("the CA's error message: the request rejected with the CA's words")
  func error() async throws {
    try await RAInstallation.with { installation in
      let scene = try await Self.scene(installation, options: ["-send_error"])
      do {
        #expect(try await scene.worker().issueDue() == 0)
        let rejected = try await UpstreamIssuerTests.request(installation, scene.request.id)
        #expect(rejected.state == .rejected)
        #expect(
          rejected.rejectionReason?.contains("error") == true, "\(rejected.rejectionReason ?? "")")
      } catch {
        await scene.stop()
        throw error
      }
      await scene.stop()
    }
  }

  @Test("a certificate for another key: refused in certConf, held for an admin, nothing stored")
  func wrongKey() async throws {
    try await RAInstallation.with { installation in
      let scene = try await Self.scene(installation, wrongKey: true)
      do {
        #expect(try await scene.worker().issueDue() == 0)
        let held = try await UpstreamIssuerTests.request(installation, scene.request.id)
        #expect(held.state == .approved && held.upstreamHeldReason?.contains("wrong-key") == true)
        #expect(try await CertificateRecord.query(on: installation.database).count() == 0)
      } catch {
        await scene.stop()
        throw error
      }
      await scene.stop()
    }
  }

  @Test("revocation: rr for the CA's certificate accepted; another serial refused")
  func revocation() async throws {
    try await RAInstallation.with { installation in
      let scene = try await Self.scene(installation)
      do {
        try await scene.connector.revoke(scene.certificate, reference: nil, reason: .keyCompromise)
        let other = try scene.ca.issue(
          csr: Array(scene.request.csrDER),
          for: try .person(mailbox: scene.request.mailbox, givenName: "Zoë", surname: "Müller"))
        await #expect(throws: (any Error).self) {
          try await scene.connector.revoke(other, reference: nil, reason: .superseded)
        }
      } catch {
        await scene.stop()
        throw error
      }
      await scene.stop()
    }
  }
}
