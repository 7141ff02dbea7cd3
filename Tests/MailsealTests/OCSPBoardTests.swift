import Foundation
import MailsealCA
import MailsealModel
import StoreTestSupport
import Testing
import Vapor
import VaporTesting
import X509

@testable import MailsealRA
@testable import MailsealStatus
@testable import MailsealStore
@testable import MailsealWeb

@Suite(
  "OCSP from memory: signed ahead, and a revocation answered as revoked within a second on every instance"
)
struct OCSPBoardTests {
  /// Runs the responder's background work while `body` runs.
  static func running(_ services: [OCSPService], _ body: () async throws -> Void) async throws {
    let tasks = services.map { service in Task { await service.run() } }
    do {
      try await body()
    } catch {
      for task in tasks { task.cancel() }
      for task in tasks { await task.value }
      throw error
    }
    for task in tasks { task.cancel() }
    for task in tasks { await task.value }
  }

  /// Polls `condition` until it holds (true) or 20 s have passed (false).
  static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(20)
    while try await !condition() {
      guard ContinuousClock.now < deadline else { return false }
      try await Task.sleep(for: .milliseconds(20))
    }
    return true
  }

  /// An OpenSSL request (SHA-1 CertID, no nonce) for an issued certificate.
  static func request(_ app: Application, _ record: CertificateRecord) async throws -> [UInt8] {
    let (authority, _) = try await app.caInstallation.loadActiveAuthority()
    return try Run.ocspRequest(issuer: authority.certificate, serial: record.serial)
  }

  /// Asks `service` in a tight loop for `seconds` after `revoked`: no
  /// answer begun more than a second after the revocation says good, and
  /// one says revoked; returns when the first revoked answer began.
  static func watch(
    _ service: OCSPService, _ request: [UInt8], revokedAt revoked: ContinuousClock.Instant,
    for seconds: Duration = .seconds(2)
  ) async -> Duration? {
    var firstRevoked: Duration?
    var answers = 0
    while ContinuousClock.now < revoked + seconds {
      let started = ContinuousClock.now
      let answer = await service.respond(to: request)
      answers += 1
      switch answer.outcome {
      case .good:
        #expect(started - revoked < .seconds(1), "good \(started - revoked) after the revocation")
        #expect(firstRevoked == nil, "good again after revoked")
      case .revoked:
        firstRevoked = firstRevoked ?? (started - revoked)
      default:
        Issue.record("unexpected answer \(answer.outcome)")
      }
    }
    #expect(answers > 50)
    return firstRevoked
  }

  @Test(
    "one instance: responses signed before anyone asks; revoked here, never good from the next answer on; revoked by another process, never good a second later"
  )
  func oneInstance() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let first = try await LifecycleTests.issue(app, mailbox: "anna@example.edu")
      let second = try await LifecycleTests.issue(app, mailbox: "ben@example.edu")
      let service = app.ocspService
      let firstRequest = try await Self.request(app, first)
      let secondRequest = try await Self.request(app, second)
      #expect(service.immediateAnswer(to: firstRequest) == nil, "nothing in memory yet")

      try await Self.running([service]) {
        // Nobody has asked: both answers were signed ahead. (Under load the
        // board may miss its second for a moment and send queries to the
        // store: hence "eventually".)
        #expect(
          try await Self.eventually {
            service.immediateAnswer(to: firstRequest)?.outcome == .good
              && service.immediateAnswer(to: secondRequest)?.outcome == .good
          })
        // The short path over HTTP gives the bytes signed ahead, with the
        // publication's headers.
        var headers = HTTPHeaders()
        headers.contentType = HTTPMediaType(type: "application", subType: "ocsp-request")
        var http: TestingHTTPResponse?
        #expect(
          try await Self.eventually {
            let signedAhead = service.immediateAnswer(to: firstRequest)?.der
            http = try await app.testing().sendRequest(
              .POST, "/ocsp", headers: headers, body: ByteBuffer(bytes: firstRequest))
            return signedAhead != nil
              && http.map { Array($0.body.readableBytesView) } == signedAhead
          })
        #expect(http?.status == .ok)
        #expect(http?.headers.first(name: "X-Content-Type-Options") == "nosniff")
        #expect(http?.headers.first(name: .cacheControl) == "no-store")

        // Revoked through this instance: revoked from the first answer on.
        try await app.registrationAuthority.certificates.revoke(
          serial: first.serial, reason: .keyCompromise, by: .commandLine)
        let revoked = ContinuousClock.now
        #expect(await service.respond(to: firstRequest).outcome == .revoked)
        #expect(await Self.watch(service, firstRequest, revokedAt: revoked) != nil)
        // … and that answer is signed ahead too.
        #expect(
          try await Self.eventually {
            service.immediateAnswer(to: firstRequest)?.outcome == .revoked
          }
        )

        // Revoked by another process (as `mailseal ca revoke` does: an RA
        // that does not know this responder): read from the store.
        let other = RegistrationAuthority(
          database: app.db, configuration: app.mailseal, logger: app.logger)
        try await other.certificates.revoke(
          serial: second.serial, reason: .superseded, by: .commandLine)
        let elsewhere = try #require(
          await Self.watch(service, secondRequest, revokedAt: ContinuousClock.now))
        #expect(elsewhere < .seconds(1))
      }
    }
  }

  @Test(
    "two instances on one database: a revocation through A is answered as revoked by B within a second — by notification alone, by the store's revocation numbers alone, and with B's listener connection killed"
  )
  func twoInstances() async throws {
    try await TestInstallation.withApp { a in
      try await prepareToServe(a)
      var issued: [CertificateRecord] = []
      for name in ["anna", "ben", "carla", "dora"] {
        issued.append(try await LifecycleTests.issue(a, mailbox: "\(name)@example.edu"))
      }
      // Instance B: another application on the same database and data folder.
      let b = try await Application.make(
        Environment(name: "testing", arguments: ["mailseal", "test"]))
      do {
        try await configure(b, with: a.mailseal)
        let postgres: String? =
          if case .postgres(let url) = a.mailseal.database { url } else { nil }
        // B as configured; B reading the store's numbers only (never
        // listening); on PostgreSQL, B hearing of revocations only by
        // notification (it reads the store once a minute).
        let usual = b.ocspService
        let safetyNet = OCSPService(
          database: b.db, configuration: b.mailseal, logger: b.logger, listens: false)
        let notified = OCSPService(
          database: b.db, configuration: b.mailseal, logger: b.logger,
          catchUpInterval: .seconds(60), freshness: 120)
        let services = [usual, safetyNet] + (postgres == nil ? [] : [notified])
        var requests: [[UInt8]] = []
        for record in issued { requests.append(try await Self.request(a, record)) }

        try await Self.running(services) {
          for service in services {
            #expect(
              try await Self.eventually {
                requests.allSatisfy { service.immediateAnswer(to: $0)?.outcome == .good }
              })
          }
          func revoke(_ index: Int) async throws -> ContinuousClock.Instant {
            try await a.registrationAuthority.certificates.revoke(
              serial: issued[index].serial, reason: .superseded, by: .commandLine)
            return ContinuousClock.now
          }
          func revokedWithin(_ service: OCSPService, _ index: Int, since: ContinuousClock.Instant)
            async throws -> Duration?
          {
            let found = try await Self.eventually {
              await service.respond(to: requests[index]).outcome == .revoked
            }
            return found ? ContinuousClock.now - since : nil
          }

          var at = try await revoke(0)
          for service in services {
            let took = try #require(try await revokedWithin(service, 0, since: at))
            #expect(took < .seconds(1))
          }
          at = try await revoke(1)
          let watched = try #require(await Self.watch(safetyNet, requests[1], revokedAt: at))
          #expect(watched < .seconds(1))

          if let postgres {
            // Notifications blocked: B's listener connections are killed
            // (only this test's database: other tests listen on theirs).
            let listeners =
              "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(RevocationSequence.listenerName)' AND datname = current_database()"
            try TestDatabase.psql(
              postgres,
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '\(RevocationSequence.listenerName)' AND datname = current_database()"
            )
            at = try await revoke(2)
            let took = try #require(try await revokedWithin(usual, 2, since: at))
            #expect(took < .seconds(1))
            // The listener comes back, and notifications reach B again.
            #expect(
              try await Self.eventually {
                let output = try Run.program(
                  "/usr/bin/psql", [postgres, "-Atqc", listeners]
                ).output
                return Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) == 2
              })
            at = try await revoke(3)
            let notifiedAgain = try #require(try await revokedWithin(notified, 3, since: at))
            #expect(notifiedAgain < .seconds(1))
          }
        }
      } catch {
        try? await b.asyncShutdown()
        throw error
      }
      try await b.asyncShutdown()
    }
  }
}

@Suite("OCSP short path: requests read by their bytes")
struct OCSPShortPathTests {
  @Test(
    "GET paths: percent-decoding and base64 agree with Foundation's, for random requests and bent ones"
  )
  func getPaths() {
    var generator = SystemRandomNumberGenerator()
    for length in 0..<300 {
      let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let base64 = Data(bytes).base64EncodedString()
      let escaped = base64.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
      #expect(PublicCAController.ocspGetRequest(path: "/ocsp/" + base64) == bytes)
      #expect(PublicCAController.ocspGetRequest(path: "/ocsp/" + escaped) == bytes)
    }
    // Strict RFC 4648: padding only at the end, no other alphabet, whole
    // quartets; a bad escape or another path is no request at all.
    #expect(PublicCAController.ocspGetRequest(path: "/ocsp/MEMw") == [0x30, 0x43, 0x30])
    #expect(PublicCAController.ocspGetRequest(path: "/ocsp/MEM%3D") == [0x30, 0x43])
    for bent in [
      "/ocsp/MEM", "/ocsp/ME=w", "/ocsp/%ZZ", "/ocsp/%4", "/ocsp/ab_-", "/ocsp/a===", "/ocsp/====",
      "/other/MEMw", "/ocsp/" + String(repeating: "A", count: 12_000),
    ] {
      #expect(PublicCAController.ocspGetRequest(path: bent) == [], "\(bent.prefix(20))")
    }
  }

  @Test("only a request for one certificate with nothing else is read by its CertID's bytes")
  func soleCertID() throws {
    let certID: [UInt8] = [0x30, 0x03, 0x02, 0x01, 0x05]
    func wrap(_ bytes: [UInt8]) -> [UInt8] {
      bytes.count < 0x80
        ? [0x30, UInt8(bytes.count)] + bytes
        : bytes.count < 0x100
          ? [0x30, 0x81, UInt8(bytes.count)] + bytes
          : [0x30, 0x82, UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
    }
    let plain = wrap(wrap(wrap(wrap(certID))))
    #expect(OCSPRequest.soleCertID(in: plain).map(Array.init) == certID)
    // Long and longer lengths, when minimal, are read too.
    let long: [UInt8] = [0x30, 0x81, 0x80] + [UInt8](repeating: 0, count: 0x80)
    #expect(OCSPRequest.soleCertID(in: wrap(wrap(wrap(wrap(long))))).map(Array.init) == long)
    // Anything else is left to the full reader: trailing bytes, a second
    // request, extensions (a nonce), a non-minimal length, another tag.
    #expect(OCSPRequest.soleCertID(in: plain + [0]) == nil)
    #expect(OCSPRequest.soleCertID(in: wrap(wrap(wrap(wrap(certID) + wrap(certID))))) == nil)
    #expect(OCSPRequest.soleCertID(in: wrap(wrap(wrap(wrap(certID)) + [0xA2, 0x00]))) == nil)
    #expect(OCSPRequest.soleCertID(in: [0x30, 0x81, 0x0B] + Array(plain.dropFirst(2))) == nil)
    #expect(OCSPRequest.soleCertID(in: wrap(wrap(wrap(wrap([0x04, 0x01, 0x00]))))) == nil)
    #expect(OCSPRequest.soleCertID(in: []) == nil)
    #expect(OCSPRequest.soleCertID(in: [0x30]) == nil)
  }
}
