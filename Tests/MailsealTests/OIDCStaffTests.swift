import AsyncHTTPClient
import Crypto
import Fluent
import Foundation
import MailsealModel
import NIOCore
import SQLKit
import Testing
import Vapor

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// Staff from the identity provider: a verified address only; separation
/// of duties by account, whatever address the provider gives later; a
/// session that ends when the provider says (back-channel logout) or soon
/// (`MAILSEAL_OIDC_SESSION_MINUTES`); a provider that cannot send the
/// portal elsewhere or make it hold more than 256 KiB.
@Suite("Staff from the identity provider: verified addresses, accounts, short sessions")
struct OIDCStaffTests {
  static func claims(_ email: String, groups: [String] = ["servicedesk"], sub: String = "u-4711")
    -> [String: Any]
  {
    [
      "sub": sub, "email": email, "email_verified": true, "name": "Anna Desk",
      "groups": groups,
    ]
  }

  static func audited(_ app: Application, _ action: AuditAction) async throws -> [AuditRecord] {
    try await AuditTrail.search(
      actor: nil, action: action.rawValue, subject: nil, before: nil, limit: 50, on: app.db)
  }

  static func account(_ app: Application) async throws -> StaffAccount {
    try #require(
      try await OperatorRecord.query(on: app.db)
        .filter(\.$oidcSubject == "\(FakeProvider.issuer) u-4711").first()
    ).value
  }

  @Test(
    "an address the provider does not vouch for (email_verified) gives staff no session; audited")
  func unverified() async throws {
    try await OIDCTests.withProvider { app, provider in
      for verified in [false, nil] as [Bool?] {
        var claims = Self.claims("anna.desk@example.edu")
        claims["email_verified"] = verified
        try await OIDCTests.expectRefusal(
          app, provider, claims: claims, message: "does not vouch for your email address")
      }
      let refusals = try await Self.audited(app, .identityProviderRefused)
      #expect(refusals.count == 2)
      #expect(refusals.allSatisfy { $0.details.contains("staff-email-unverified") })
      #expect(try await OperatorRecord.query(on: app.db).count() == 0)
    }
  }

  @Test(
    "an operator whose address changes at the provider decides neither about the old address nor the new one — at the desk and at issuance; the change is audited and shown to admins"
  )
  func addressChangeAtTheDesk() async throws {
    try await OIDCTests.withProvider { app, provider in
      try await prepareToServe(app)
      let authority = app.registrationAuthority
      let ben = try await BackOfficeTests.staff(app, "ben@example.edu")
      // Signed in as anna.desk@ she approves a request of anna.new@ (not
      // hers yet), checked by Ben.
      var browser = TestBrowser(app)
      _ = try await OIDCTests.signIn(
        &browser, provider, claims: Self.claims("anna.desk@example.edu"))
      let anna = try await Self.account(app)
      let later = try await EscrowTests.submit(
        app, try EnrollmentTests.form(), mailbox: "anna.new@example.edu")
      _ = try await authority.desk.recordEvidence(
        number: later.number, BackOfficeTests.evidence(), by: .staff(ben))
      _ = try await authority.desk.approve(number: later.number, by: .staff(anna))

      // The provider changes her address.
      var second = TestBrowser(app)
      _ = try await OIDCTests.signIn(&second, provider, claims: Self.claims("anna.new@example.edu"))
      let changed = try await Self.audited(app, .operatorAddressChanged)
      #expect(changed.count == 1)
      #expect(changed.first?.details.contains("anna.desk@example.edu") == true)
      #expect(changed.first?.details.contains("anna.new@example.edu") == true)
      let now = try await Self.account(app)
      #expect(now.email == "anna.new@example.edu")
      #expect(
        try await Store(app.db).staffAddresses.of(StaffMember(now))
          == ["anna.desk@example.edu", "anna.new@example.edu"])

      // Neither the old address nor the new one is hers to decide about.
      for mailbox in ["anna.desk@example.edu", "anna.new@example.edu"] {
        let request = try await EscrowTests.submit(
          app, try EnrollmentTests.form(), mailbox: mailbox)
        await #expect(throws: MailsealError(.ownMailbox), "\(mailbox)") {
          try await authority.desk.recordEvidence(
            number: request.number, BackOfficeTests.evidence(), by: .staff(now))
        }
        await #expect(throws: MailsealError(.ownMailbox), "\(mailbox)") {
          try await authority.desk.reject(number: request.number, reason: "no", by: .staff(now))
        }
        _ = try await authority.desk.recordEvidence(
          number: request.number, BackOfficeTests.evidence(), by: .staff(ben))
        await #expect(throws: MailsealError(.ownMailbox), "\(mailbox)") {
          try await authority.desk.approve(number: request.number, by: .staff(now))
        }
        let desk = try await authority.desk.deskRequest(number: request.number, for: .staff(now))
        #expect(desk.actions.ownMailbox && !desk.actions.approve, "\(mailbox)")
      }
      // The request she approved while it was not hers: the issuance
      // checks again and does not issue it.
      _ = try await #require(app.issuanceWorker).issueDue()
      let held = try #require(try await CertificateRequestRecord.find(later.id, on: app.db))
      #expect(held.state != .issued)
      let refused = try await Self.audited(app, .issuanceRefused)
      #expect(refused.contains { $0.subject == later.number && $0.details.contains("own-mailbox") })

      // Admins see the change.
      var admin = TestBrowser(app)
      _ = try await OIDCTests.signIn(
        &admin, provider,
        claims: Self.claims("boss@example.edu", groups: ["pki-admins"], sub: "u-boss"))
      let page = try await admin.send(.GET, "/operator/admin")
      #expect(page.status == .ok)
      #expect(page.body.contains("id=\"address-changes\""))
      #expect(page.body.contains("anna.new@example.edu"))
      #expect(page.body.contains("anna.desk@example.edu"))
    }
  }

  @Test(
    "a recovery officer whose address changes at the provider approves the recovery of neither address"
  )
  func addressChangeOfARecoveryOfficer() async throws {
    let extra = EscrowTests.environment("required").merging([
      "MAILSEAL_OIDC_ROLES": "operator:servicedesk,recovery-officer:keepers"
    ]) { $1 }
    try await OIDCTests.withProvider(extra: extra) { app, provider in
      // The escrowed certificate is of zoe@example.edu (KeyRecoveryTests).
      let (encryption, _, _) = try await KeyRecoveryTests.escrowedCertificate(app)
      let authority = app.registrationAuthority
      var browser = TestBrowser(app)
      _ = try await OIDCTests.signIn(
        &browser, provider, claims: Self.claims("zoe@example.edu", groups: ["keepers"]))
      var second = TestBrowser(app)
      _ = try await OIDCTests.signIn(
        &second, provider, claims: Self.claims("zoe.keeper@example.edu", groups: ["keepers"]))
      let officer = try await Self.account(app)
      #expect(officer.email == "zoe.keeper@example.edu" && officer.role == .recoveryOfficer)
      let asked = try await authority.recovery.askRecovery(
        serial: encryption.serial, reason: "lost the key file",
        by: .requester(mailbox: KeyRecoveryTests.mailbox, validation: .loginLink), language: .en)
      await #expect(
        throws: MailsealError(.ownMailbox, message: Message("problem_own_mailbox_recovery"))
      ) {
        try await authority.recovery.approveRecovery(number: asked.number, by: .staff(officer))
      }
      let desk = try await authority.recovery.deskRecovery(
        number: asked.number, for: .staff(officer))
      #expect(desk.actions.ownMailbox && !desk.actions.approve)
    }
  }

  @Test(
    "back-channel logout: by subject all the account's provider sessions end, by sid only that one; forged or wrong tokens are refused with 400 and end nothing"
  )
  func backchannelLogout() async throws {
    try await OIDCTests.withProvider { app, provider in
      var first = TestBrowser(app)
      var claims = Self.claims("anna.desk@example.edu")
      claims["sid"] = "session-one"
      _ = try await OIDCTests.signIn(&first, provider, claims: claims)
      var second = TestBrowser(app)
      claims["sid"] = "session-two"
      _ = try await OIDCTests.signIn(&second, provider, claims: claims)
      #expect(try await first.send(.GET, "/operator/queue").status == .ok)
      #expect(try await second.send(.GET, "/operator/queue").status == .ok)

      func logout(_ payload: [String: Any], header: [String: Any] = [:]) async throws
        -> HTTPResponseStatus
      {
        var provider0 = TestBrowser(app)
        let token = try provider.signedToken(payload, header: header)
        return try await provider0.send(
          .POST, "/oidc/backchannel-logout", form: ["logout_token": token], page: false
        ).status
      }
      let now = Int(Date().timeIntervalSince1970)
      let good: [String: Any] = [
        "iss": FakeProvider.issuer, "aud": FakeProvider.clientID, "iat": now, "exp": now + 120,
        "jti": UUID().uuidString, "sub": "u-4711",
        "events": ["http://schemas.openid.net/event/backchannel-logout": [:] as [String: Any]],
      ]
      // Refused, nothing ended: another audience, no event, a nonce (an
      // ID token is no logout token), expired, neither sub nor sid.
      var wrongAudience = good
      wrongAudience["aud"] = "someone-else"
      var noEvent = good
      noEvent.removeValue(forKey: "events")
      var withNonce = good
      withNonce["nonce"] = "n"
      var expired = good
      expired["iat"] = now - 7200
      expired["exp"] = now - 3600
      var nobody = good
      nobody.removeValue(forKey: "sub")
      for payload in [wrongAudience, noEvent, withNonce, expired, nobody] {
        #expect(try await logout(payload) == .badRequest)
      }
      #expect(try await logout(good, header: ["alg": "none"]) == .badRequest)
      #expect(try await first.send(.GET, "/operator/queue").status == .ok)

      // By sid: that session only.
      var bySession = good
      bySession.removeValue(forKey: "sub")
      bySession["sid"] = "session-one"
      #expect(try await logout(bySession) == .ok)
      #expect(try await first.send(.GET, "/operator/queue").status != .ok)
      #expect(try await second.send(.GET, "/operator/queue").status == .ok)
      // By subject: every provider session of the account.
      #expect(try await logout(good) == .ok)
      #expect(try await second.send(.GET, "/operator/queue").status != .ok)
      let logouts = try await Self.audited(app, .identityProviderLoggedOut)
      #expect(logouts.count == 2)
    }
  }

  @Test(
    "a provider session lasts MAILSEAL_OIDC_SESSION_MINUTES (default 60), a password session 8 hours"
  )
  func sessionLifetime() async throws {
    for (minutes, extra) in [(60, [:]), (15, ["MAILSEAL_OIDC_SESSION_MINUTES": "15"])] {
      try await OIDCTests.withProvider(extra: extra) { app, provider in
        var browser = TestBrowser(app)
        _ = try await OIDCTests.signIn(
          &browser, provider, claims: Self.claims("anna.desk@example.edu"))
        let session = try #require(try await OperatorSessionRecord.query(on: app.db).first())
        #expect(
          abs(session.expiresAt.timeIntervalSince(session.createdAt) - Double(minutes * 60)) < 1)
      }
    }
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    for wrong in ["4", "1441", "soon"] {
      let error = #expect(throws: ConfigurationError.self) {
        try MailsealConfiguration.load(
          from: try OIDCTests.environment(folder).merging([
            "MAILSEAL_DATA_DIR": folder.path, "MAILSEAL_OIDC_SESSION_MINUTES": wrong,
          ]) { $1 })
      }
      #expect(error?.problems.map(\.variable) == ["MAILSEAL_OIDC_SESSION_MINUTES"])
    }
  }

  @Test(
    "discovery naming an endpoint on another host is refused unless MAILSEAL_OIDC_ALLOW_FOREIGN_ENDPOINTS=true"
  )
  func foreignEndpoints() throws {
    let issuer = "https://idp.example.edu/realm"
    func discovery(_ token: String) -> Data {
      try! JSONSerialization.data(withJSONObject: [
        "issuer": issuer, "authorization_endpoint": "https://idp.example.edu/authorize",
        "token_endpoint": token, "jwks_uri": "https://idp.example.edu/jwks",
      ])
    }
    _ = try OpenIDProvider(
      discovery: discovery("https://IDP.example.edu/token"), expectedIssuer: issuer)
    let refused = #expect(throws: OIDCRefusal.self) {
      try OpenIDProvider(
        discovery: discovery("https://collector.example.org/token"), expectedIssuer: issuer)
    }
    #expect(refused?.detail.contains("not on the issuer's host") == true)
    let allowed = try OpenIDProvider(
      discovery: discovery("https://collector.example.org/token"), expectedIssuer: issuer,
      allowForeignEndpoints: true)
    #expect(allowed.tokenEndpoint.host == "collector.example.org")
  }

  @Test(
    "an answer of the provider is refused as soon as it passes 256 KiB while it arrives, not after it was read whole"
  )
  func answerLimit() async throws {
    let server = try await Application.make(Environment(name: "testing", arguments: ["vapor"]))
    let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
    // 320 KiB, then the answer does not end until the test is over: only
    // a reader that stops at the limit returns.
    let (over, finish) = AsyncStream<Void>.makeStream()
    server.get("endless") { _ in
      Response(
        body: .init(asyncStream: { writer in
          for _ in 0..<5 { try await writer.write(.buffer(chunk)) }
          for await _ in over {}
          try await writer.write(.end)
        }))
    }
    server.get("declared") { _ in
      Response(body: .init(buffer: ByteBuffer(repeating: UInt8(ascii: "y"), count: 300 * 1024)))
    }
    server.get("small") { _ in "{}" }
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    do {
      try await server.asyncBoot()
      try await server.server.start(address: .hostname("127.0.0.1", port: 0))
      let port = try #require(server.http.server.shared.localAddress?.port)
      let transport = VaporOIDCTransport(client: client)
      let small = try await transport.get(URL(string: "http://127.0.0.1:\(port)/small")!)
      #expect(small.status == 200 && small.body == Data("{}".utf8))
      for path in ["endless", "declared"] {
        let error = await #expect(throws: OIDCUnavailable.self, "\(path)") {
          _ = try await transport.get(URL(string: "http://127.0.0.1:\(port)/\(path)")!)
        }
        #expect(
          error?.detail.contains("256 KiB") == true || error?.detail.contains("at most") == true)
      }
    } catch {
      Issue.record("\(error)")
    }
    finish.finish()
    try? await client.shutdown()
    await server.server.shutdown()
    try await server.asyncShutdown()
  }
}
