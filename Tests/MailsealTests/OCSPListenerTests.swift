import AsyncHTTPClient
import Foundation
import MailsealModel
import NIOCore
import Testing
import Vapor

@testable import MailsealRA
@testable import MailsealStatus
@testable import MailsealStore
@testable import MailsealWeb

/// The OCSP listener of its own (`MAILSEAL_OCSP_LISTEN`): the same answers,
/// bytes and headers as the portal's port, over plain NIO.
@Suite("OCSP on a listener of its own")
struct OCSPListenerTests {
  @Test(
    "Behind a trusted proxy the portal's port and the OCSP listener take X-Forwarded-For's last entry (the proxy's), at most 64 characters"
  )
  func forwardedClient() {
    #expect(RequesterSession.forwardedClient(["203.0.113.9, 192.0.2.1"]) == "192.0.2.1")
    #expect(RequesterSession.forwardedClient(["203.0.113.9", " 192.0.2.2 "]) == "192.0.2.2")
    #expect(RequesterSession.forwardedClient([]) == nil)
    #expect(RequesterSession.forwardedClient(["203.0.113.9, "]) == nil)
    #expect(RequesterSession.forwardedClient([String(repeating: "f", count: 100)])?.count == 64)
  }

  @Test(
    "POST and GET on the OCSP listener answer byte for byte as the portal's port, keep-alive; other paths 404"
  )
  func sameAnswers() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let issued = try await LifecycleTests.issue(app, mailbox: "anna@example.edu")
      let service = app.ocspService
      let request = try await OCSPBoardTests.request(app, issued)
      let listener = OCSPListener(
        ocsp: service, metrics: app.metrics, trustForwardedFor: false, logger: app.logger)
      let client = HTTPClient(eventLoopGroupProvider: .singleton)
      do {
        let address = try await listener.start(
          host: "127.0.0.1", port: 0, group: app.eventLoopGroup)
        let port = try #require(address?.port)
        try await OCSPBoardTests.running([service]) {
          #expect(
            try await OCSPBoardTests.eventually { service.immediateAnswer(to: request) != nil })
          let expected = try #require(service.immediateAnswer(to: request)).der
          for _ in 0..<3 {
            var post = HTTPClientRequest(url: "http://127.0.0.1:\(port)/ocsp")
            post.method = .POST
            post.headers.add(name: "Content-Type", value: "application/ocsp-request")
            post.body = .bytes(ByteBuffer(bytes: request))
            let answer = try await client.execute(post, timeout: .seconds(10))
            #expect(answer.status == .ok)
            #expect(answer.headers.first(name: "Content-Type") == "application/ocsp-response")
            #expect(answer.headers.first(name: "Cache-Control") == "no-store")
            #expect(
              Array(try await answer.body.collect(upTo: 1 << 16).readableBytesView) == expected)
          }
          let encoded = Data(request).base64EncodedString()
            .addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
          let get = try await client.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)/ocsp/\(encoded)"),
            timeout: .seconds(10))
          #expect(get.status == .ok)
          #expect(get.headers.first(name: "Cache-Control")?.hasPrefix("public, max-age=") == true)
          #expect(Array(try await get.body.collect(upTo: 1 << 16).readableBytesView) == expected)
          // The same headers as the portal's port.
          let portal = try await app.testing().sendRequest(
            .GET, "/ocsp/\(encoded)")
          #expect(Array(portal.body.readableBytesView) == expected)
          #expect(portal.headers.first(name: .expires) == get.headers.first(name: "Expires"))
          // Garbage: malformedRequest, 200 as RFC 6960 has it; elsewhere 404.
          var garbage = HTTPClientRequest(url: "http://127.0.0.1:\(port)/ocsp")
          garbage.method = .POST
          garbage.body = .bytes(ByteBuffer(bytes: [0x30, 0x00]))
          let malformed = try await client.execute(garbage, timeout: .seconds(10))
          #expect(
            Array(try await malformed.body.collect(upTo: 64).readableBytesView)
              == [0x30, 0x03, 0x0A, 0x01, 0x01])
          let other = try await client.execute(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz"), timeout: .seconds(10))
          #expect(other.status == .notFound)
        }
      } catch {
        Issue.record("\(error)")
      }
      try? await client.shutdown()
      await listener.stop()
    }
  }
}
