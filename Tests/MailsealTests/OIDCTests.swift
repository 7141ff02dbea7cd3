import Crypto
import Fluent
import Foundation
import MailsealModel
import SQLKit
import Testing
import Vapor
import _CryptoExtras

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// An OpenID provider of our own behind the transport: discovery, a JWK
/// set that can rotate, and a token endpoint whose ID tokens a test can
/// bend (claims, header, key, signature).
final class FakeProvider: OIDCTransport, @unchecked Sendable {
  static let issuer = "http://127.0.0.1:9/idp"
  static let clientID = "mailseal-portal"
  private let lock = NSLock()
  private var key = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
  private var kid = "key-1"
  /// What the next code stands for: the claims of its ID token.
  private var codes: [String: [String: Any]] = [:]
  /// Changes each ID token before it is signed (claims, header).
  var bend: @Sendable (inout [String: Any], inout [String: Any]) -> Void = { _, _ in }
  /// Signs with a key the JWK set does not hold (until `rotate`).
  var signWithUnpublishedKey = false
  private var unpublished = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
  var lastVerifier: String?
  /// Members added to (or replacing those of) the discovery document.
  var discoveryExtra: [String: Any] = [:]

  /// A JWT with `payload`, signed with the provider's current key (a
  /// logout token, say).
  func signedToken(_ payload: [String: Any], header extra: [String: Any] = [:]) throws -> String {
    let (signer, kid) = lock.withLock { (key, self.kid) }
    let header = ["alg": "RS256", "kid": kid].merging(extra) { $1 }
    let input =
      Base64URL.encode(try JSONSerialization.data(withJSONObject: header)) + "."
      + Base64URL.encode(try JSONSerialization.data(withJSONObject: payload))
    let signature = try signer.signature(
      for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5)
    return input + "." + Base64URL.encode(signature.rawRepresentation)
  }

  func rotate() {
    lock.withLock {
      key = unpublished
      kid = "key-2"
      signWithUnpublishedKey = false
    }
  }

  /// The provider's side of a sign-in: the user `claims` log in; returns
  /// the callback's query (code and state) for the authorization URL.
  func authorize(_ url: String, claims: [String: Any]) -> (state: String, code: String) {
    let items = URLComponents(string: url)!.queryItems!
    func value(_ name: String) -> String? { items.first { $0.name == name }?.value }
    var bound = claims
    bound["nonce"] = value("nonce")
    bound["_challenge"] = value("code_challenge")
    let code = UUID().uuidString
    lock.withLock { codes[code] = bound }
    return (value("state")!, code)
  }

  func get(_ url: URL) async throws -> (status: Int, body: Data) {
    if url.path.hasSuffix("/.well-known/openid-configuration") {
      let base = Self.issuer
      return (
        200,
        try JSONSerialization.data(
          withJSONObject: ([
            "issuer": base, "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token", "jwks_uri": base + "/jwks",
            "end_session_endpoint": base + "/logout",
          ] as [String: Any]).merging(lock.withLock { discoveryExtra }) { $1 })
      )
    }
    if url.path.hasSuffix("/jwks") {
      let (publicKey, kid) = lock.withLock { (key.publicKey, self.kid) }
      let der = publicKey.pkcs1DERRepresentation
      let (n, e) = Self.modulusAndExponent(Array(der))
      return (
        200,
        try JSONSerialization.data(withJSONObject: [
          "keys": [
            [
              "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": Base64URL.encode(n),
              "e": Base64URL.encode(e),
            ]
          ]
        ])
      )
    }
    return (404, Data())
  }

  func postForm(_ url: URL, _ form: [(String, String)], user: String, password: String)
    async throws -> (status: Int, body: Data)
  {
    let fields = Dictionary(form, uniquingKeysWith: { $1 })
    let claims = lock.withLock { () -> [String: Any]? in
      lastVerifier = fields["code_verifier"]
      return fields["code"].flatMap { codes.removeValue(forKey: $0) }
    }
    guard user == Self.clientID, var claims,
      let verifier = fields["code_verifier"],
      Base64URL.encode(SHA256.hash(data: Data(verifier.utf8))) == claims["_challenge"] as? String
    else {
      return (400, Data(#"{"error":"invalid_grant"}"#.utf8))
    }
    claims.removeValue(forKey: "_challenge")
    let now = Int(Date().timeIntervalSince1970)
    var payload: [String: Any] = [
      "iss": Self.issuer, "aud": Self.clientID, "iat": now, "exp": now + 300,
    ]
    payload.merge(claims) { $1 }
    var (header, signer) = lock.withLock { () -> ([String: Any], _RSA.Signing.PrivateKey) in
      (
        ["alg": "RS256", "kid": signWithUnpublishedKey ? "key-2" : kid],
        signWithUnpublishedKey ? unpublished : key
      )
    }
    bend(&payload, &header)
    let input =
      Base64URL.encode(try JSONSerialization.data(withJSONObject: header)) + "."
      + Base64URL.encode(try JSONSerialization.data(withJSONObject: payload))
    let signature = try signer.signature(
      for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5)
    let token = input + "." + Base64URL.encode(signature.rawRepresentation)
    return (
      200, try JSONSerialization.data(withJSONObject: ["id_token": token, "token_type": "Bearer"])
    )
  }

  /// The modulus and exponent of a PKCS#1 RSAPublicKey (two INTEGERs).
  static func modulusAndExponent(_ der: [UInt8]) -> ([UInt8], [UInt8]) {
    var index = 0
    func length() -> Int {
      let first = Int(der[index])
      index += 1
      guard first & 0x80 != 0 else { return first }
      var value = 0
      for _ in 0..<(first & 0x7f) {
        value = value << 8 | Int(der[index])
        index += 1
      }
      return value
    }
    index = 1
    _ = length()
    var integers: [[UInt8]] = []
    for _ in 0..<2 {
      index += 1
      let count = length()
      integers.append(Array(der[index..<index + count].drop { $0 == 0 }))
      index += count
    }
    return (integers[0], integers[1])
  }
}

@Suite("Sign-in through the organisation's OpenID provider")
struct OIDCTests {
  static func environment(
    _ folder: URL, extra: [String: String] = [:]
  ) throws -> [String: String] {
    let secret = folder.appendingPathComponent("client-secret")
    try "not-so-secret-client-secret\n".write(to: secret, atomically: true, encoding: .utf8)
    return [
      "MAILSEAL_OIDC_ISSUER": FakeProvider.issuer,
      "MAILSEAL_OIDC_CLIENT_ID": FakeProvider.clientID,
      "MAILSEAL_OIDC_CLIENT_SECRET_FILE": secret.path,
      "MAILSEAL_OIDC_ROLES": "operator:servicedesk,admin:pki-admins,auditor:revision",
      "MAILSEAL_OIDC_REQUESTERS": "true",
      "MAILSEAL_ALLOWED_DOMAINS": "example.edu,*.example.edu",
    ].merging(extra) { $1 }
  }

  /// An installation whose provider is `provider`.
  static func withProvider(
    extra: [String: String] = [:],
    _ body: (Application, FakeProvider) async throws -> Void
  ) async throws {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let provider = FakeProvider()
    try await TestInstallation.withApp(environment: try environment(folder, extra: extra)) { app in
      let settings = try #require(app.mailseal.oidc)
      app.oidcSignIn = OIDCSignIn(
        database: app.db, configuration: app.mailseal, settings: settings,
        cache: OIDCProviderCache(settings: settings, transport: provider, refetchInterval: 0),
        logger: app.logger)
      try await body(app, provider)
    }
  }

  static var staffClaims: [String: Any] {
    [
      "sub": "u-4711", "email": "anna.desk@example.edu", "email_verified": true,
      "name": "Anna Desk", "groups": ["staff", "servicedesk"],
    ]
  }

  /// Begins a sign-in in `browser`, lets `claims` log in at the provider,
  /// and brings the answer back; the callback's page.
  static func signIn(
    _ browser: inout TestBrowser, _ provider: FakeProvider, staff: Bool = true,
    claims: [String: Any]
  ) async throws -> TestBrowser.Page {
    let start = try await browser.send(.GET, staff ? "/operator/login/provider" : "/login/provider")
    #expect(start.status == .seeOther)
    let location = try #require(start.headers.first(name: .location))
    #expect(location.hasPrefix(FakeProvider.issuer + "/authorize?"))
    #expect(location.contains("code_challenge_method=S256"))
    let (state, code) = provider.authorize(location, claims: claims)
    return try await browser.send(.GET, "/oidc/callback?state=\(state)&code=\(code)")
  }

  @Test(
    "staff: a role from the group claim, a session, the queue; the directory follows the provider; RP-initiated logout"
  )
  func staffSignIn() async throws {
    try await Self.withProvider { app, provider in
      var browser = TestBrowser(app)
      let login = try await browser.send(.GET, "/operator/login")
      #expect(login.body.contains("/operator/login/provider"))
      #expect(login.body.contains("Sign in with Universität Beispielstadt"))
      let answer = try await Self.signIn(&browser, provider, claims: Self.staffClaims)
      #expect(answer.status == .seeOther)
      #expect(answer.headers.first(name: .location) == "/signed-in?to=queue")
      let queue = try await browser.send(.GET, "/operator/queue")
      #expect(queue.status == .ok)
      #expect(queue.body.contains("Anna Desk"))
      let record = try #require(
        try await OperatorRecord.query(on: app.db).filter(\.$email == "anna.desk@example.edu")
          .first())
      #expect(record.role == .operator)
      #expect(record.oidcSubject == "\(FakeProvider.issuer) u-4711")

      // Promoted at the provider: admin at the next sign-in, audited.
      var second = TestBrowser(app)
      var promoted = Self.staffClaims
      promoted["groups"] = ["pki-admins"]
      _ = try await Self.signIn(&second, provider, claims: promoted)
      #expect(try await second.send(.GET, "/operator/admin").status == .ok)
      let changes = try await app.db.sql.raw(
        "SELECT details FROM audit_events WHERE action = 'operator.role-changed'"
      ).all()
      #expect(changes.count == 1)

      // Signing out leads to the provider's end_session_endpoint.
      let page = try await second.send(.GET, "/operator/queue")
      let csrf = try #require(TestBrowser.formToken(in: page.body))
      let out = try await second.send(.POST, "/operator/logout", form: ["csrf": csrf])
      #expect(out.status == .seeOther)
      let target = out.headers.first(name: .location) ?? ""
      #expect(target.hasPrefix(FakeProvider.issuer + "/logout?client_id=mailseal-portal"))
      #expect(target.contains("post_logout_redirect_uri="))
      #expect(try await second.send(.GET, "/operator/queue").status != .ok)

      // The role removed at the provider: no session, the account disabled
      // and its other sessions (the first browser's) ended.
      var third = TestBrowser(app)
      var removed = Self.staffClaims
      removed["groups"] = ["staff"]
      let refused = try await Self.signIn(&third, provider, claims: removed)
      #expect(refused.status == .forbidden)
      #expect(refused.body.contains("has no role in this portal"))
      #expect(third.cookies[OperatorSession.cookieName] == nil)
      #expect(try await browser.send(.GET, "/operator/queue").status != .ok)
      let disabled = try #require(
        try await OperatorRecord.query(on: app.db).filter(\.$email == "anna.desk@example.edu")
          .first())
      #expect(!disabled.isEnabled)
    }
  }

  /// One refusal: the callback answers 403 with `message`, no session.
  static func expectRefusal(
    _ app: Application, _ provider: FakeProvider, staff: Bool = true,
    claims: [String: Any] = OIDCTests.staffClaims, message: String
  ) async throws {
    var browser = TestBrowser(app)
    let answer = try await signIn(&browser, provider, staff: staff, claims: claims)
    #expect(answer.status == .forbidden, "\(message): \(answer.status)")
    #expect(answer.body.contains(message), "\(answer.body.prefix(2000))")
    #expect(browser.cookies[OperatorSession.cookieName] == nil)
    #expect(browser.cookies[RequesterSession.cookieName] == nil)
  }

  @Test(
    "refused with a clear message and no session: wrong audience, expired, bad signature, unknown key (accepted after the provider rotates), missing nonce, wrong issuer, no role, acr below the level"
  )
  func refusals() async throws {
    try await Self.withProvider(extra: ["MAILSEAL_OIDC_STAFF_ACR": "urn:mfa"]) { app, provider in
      var mfa = Self.staffClaims
      mfa["acr"] = "urn:mfa"
      provider.bend = { claims, _ in claims["aud"] = "someone-else" }
      try await Self.expectRefusal(
        app, provider, claims: mfa, message: "not issued for this portal")
      provider.bend = { claims, _ in claims["azp"] = "someone-else" }
      try await Self.expectRefusal(
        app, provider, claims: mfa, message: "not issued for this portal")
      provider.bend = { claims, _ in
        claims["exp"] = Int(Date().timeIntervalSince1970) - 3600
      }
      try await Self.expectRefusal(app, provider, claims: mfa, message: "has expired")
      provider.bend = { claims, _ in claims["iss"] = "http://127.0.0.1:9/other" }
      try await Self.expectRefusal(
        app, provider, claims: mfa, message: "configured identity provider")
      provider.bend = { _, header in header["alg"] = "none" }
      try await Self.expectRefusal(app, provider, claims: mfa, message: "not validly signed")
      provider.bend = { _, header in header["alg"] = "HS256" }
      try await Self.expectRefusal(app, provider, claims: mfa, message: "not validly signed")
      provider.bend = { claims, _ in claims.removeValue(forKey: "nonce") }
      try await Self.expectRefusal(
        app, provider, claims: mfa, message: "does not belong to this sign-in")
      provider.bend = { claims, _ in claims["nonce"] = "another-browsers-nonce" }
      try await Self.expectRefusal(
        app, provider, claims: mfa, message: "does not belong to this sign-in")
      provider.bend = { _, _ in }
      try await Self.expectRefusal(
        app, provider, claims: Self.staffClaims, message: "with a second factor")
      var noRole = mfa
      noRole["groups"] = ["students"]
      try await Self.expectRefusal(app, provider, claims: noRole, message: "has no role")

      // A key the set does not hold: refused; after the provider rotates
      // to it, the same kind of token is accepted (the set is fetched again).
      provider.signWithUnpublishedKey = true
      try await Self.expectRefusal(app, provider, claims: mfa, message: "does not publish")
      provider.rotate()
      var browser = TestBrowser(app)
      let accepted = try await Self.signIn(&browser, provider, claims: mfa)
      #expect(accepted.status == .seeOther)
      #expect(browser.cookies[OperatorSession.cookieName] != nil)

      // Every refusal is in the audit trail.
      let refusals = try await app.db.sql.raw(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'identity-provider.refused'"
      ).first()!.decode(column: "n", as: Int.self)
      #expect(refusals == 11)
    }
  }

  @Test(
    "a state is used once and only by the browser that began the sign-in; a bad signature byte is refused"
  )
  func stateAndSignature() async throws {
    try await Self.withProvider { app, provider in
      var browser = TestBrowser(app)
      let start = try await browser.send(.GET, "/operator/login/provider")
      let location = try #require(start.headers.first(name: .location))
      let (state, code) = provider.authorize(location, claims: Self.staffClaims)
      // Another browser brings the answer: refused (no binding cookie).
      var other = TestBrowser(app)
      let stolen = try await other.send(.GET, "/oidc/callback?state=\(state)&code=\(code)")
      #expect(stolen.status == .forbidden)
      #expect(stolen.body.contains("begun in another browser"))
      let first = try await browser.send(.GET, "/oidc/callback?state=\(state)&code=\(code)")
      #expect(first.status == .seeOther)
      // Replayed: the state is spent.
      var replay = TestBrowser(app)
      replay.cookies = browser.cookies
      let again = try await replay.send(.GET, "/oidc/callback?state=\(state)&code=\(code)")
      #expect(again.status == .forbidden)
      #expect(again.body.contains("already used"))

      // A token whose signature was bent after signing.
      let keys = try JSONWebKeySet(
        json: try await provider.get(URL(string: FakeProvider.issuer + "/jwks")!).body)
      let (_, token) = try await Self.token(provider, claims: Self.staffClaims, nonce: "n-1")
      var parts = token.split(separator: ".").map(String.init)
      var signature = Array(Base64URL.decode(parts[2][...])!)
      signature[10] ^= 0x01
      parts[2] = Base64URL.encode(signature)
      #expect(
        throws: OIDCRefusal(
          "bad-signature", "the signature does not verify with the provider's key")
      ) {
        _ = try IDTokenCheck.validate(
          parts.joined(separator: "."), keys: keys, issuer: FakeProvider.issuer,
          clientID: FakeProvider.clientID, nonce: "n-1", now: Date())
      }
      let good = try IDTokenCheck.validate(
        token, keys: keys, issuer: FakeProvider.issuer, clientID: FakeProvider.clientID,
        nonce: "n-1", now: Date())
      #expect(good.subject == "u-4711")
    }
  }

  /// An ID token straight from the provider's token endpoint.
  static func token(_ provider: FakeProvider, claims: [String: Any], nonce: String) async throws
    -> (String, String)
  {
    let verifier = "verifier-\(UUID().uuidString)"
    let challenge = Base64URL.encode(SHA256.hash(data: Data(verifier.utf8)))
    let (_, code) = provider.authorize(
      "\(FakeProvider.issuer)/authorize?state=s&nonce=\(nonce)&code_challenge=\(challenge)",
      claims: claims)
    let answer = try await provider.postForm(
      URL(string: FakeProvider.issuer + "/token")!,
      [("code", code), ("code_verifier", verifier)], user: FakeProvider.clientID, password: "x")
    let body = try #require(JSONValue.object(answer.body))
    return (code, try #require(body["id_token"]?.string))
  }

  @Test(
    "requesters: a verified address in an allowed domain signs in and the request records the identity provider; unverified, foreign domains and role mailboxes are refused"
  )
  func requesters() async throws {
    try await Self.withProvider { app, provider in
      let person: [String: Any] = [
        "sub": "p-1", "email": "zoe.mueller@example.edu", "email_verified": true,
        "given_name": "Zoë", "family_name": "Müller\u{202E}Lüdenscheidt",
      ]
      var unverified = person
      unverified["email_verified"] = false
      try await Self.expectRefusal(
        app, provider, staff: false, claims: unverified, message: "does not vouch")
      var foreign = person
      foreign["email"] = "zoe@elsewhere.org"
      try await Self.expectRefusal(
        app, provider, staff: false, claims: foreign, message: "issues no certificates")

      var browser = TestBrowser(app)
      let start = try await browser.send(.GET, "/")
      #expect(start.body.contains("/login/provider"))
      let answer = try await Self.signIn(&browser, provider, staff: false, claims: person)
      #expect(answer.headers.first(name: .location) == "/signed-in?to=new")
      let session = try #require(
        try await SessionRecord.query(on: app.db).filter(\.$mailbox == "zoe.mueller@example.edu")
          .first())
      #expect(session.validationMethod == "identity-provider")
      let form = try await browser.send(.GET, "/requests/new")
      #expect(form.status == .ok)
      // A name from the provider pre-fills the form only if it would pass
      // the form's check (here the surname holds a bidirectional control).
      #expect(form.body.contains(#"value="Zoë""#))
      #expect(session.givenNameHint == "Zoë")
      #expect(session.surnameHint == nil)
    }
  }

  @Test(
    "with a provider, the password sign-in is the administrators' break-glass: an operator's right password is refused, an admin's works"
  )
  func breakGlass() async throws {
    try await Self.withProvider { app, _ in
      let directory = app.operatorDirectory
      for (email, role) in [
        ("op@example.edu", OperatorRecord.Role.operator), ("boss@example.edu", .admin),
      ] {
        let (account, _) = try await directory.add(email: email, name: "Someone", role: role)
        let record = try #require(try await OperatorRecord.find(account.id, on: app.db))
        record.passwordHash = try PasswordHash.make("a-long-enough-password")
        record.totpSecretSealed = try directory.box.seal(Array("12345678901234567890".utf8))
        record.enrolmentTokenHash = nil
        record.enrolmentExpiresAt = nil
        try await record.save(on: app.db)
      }
      await #expect(throws: MailsealError.self) {
        _ = try await directory.signIn(email: "op@example.edu", password: "a-long-enough-password")
      }
      let tokens = try await directory.signIn(
        email: "boss@example.edu", password: "a-long-enough-password")
      #expect(SecretToken.isWellFormed(tokens.session))
    }
  }

  @Test(
    "an address alone never takes over, changes or disables an account: a provider user with a local admin's address is refused and the admin untouched"
  )
  func noTakeoverByAddress() async throws {
    try await Self.withProvider { app, provider in
      let (admin, _) = try await app.operatorDirectory.add(
        email: "boss@example.edu", name: "Local Admin", role: .admin)
      var claims = Self.staffClaims
      claims["email"] = "boss@example.edu"
      try await Self.expectRefusal(app, provider, claims: claims, message: "another staff account")
      claims["groups"] = ["students"]
      try await Self.expectRefusal(app, provider, claims: claims, message: "another staff account")
      let after = try #require(try await OperatorRecord.find(admin.id, on: app.db))
      #expect(after.isEnabled && after.role == .admin && after.oidcSubject == nil)
    }
  }

  @Test("with the password sign-in off the form is gone and its POST refused")
  func localSignInOff() async throws {
    try await Self.withProvider(extra: ["MAILSEAL_LOCAL_STAFF_LOGIN": "false"]) { app, _ in
      var browser = TestBrowser(app)
      let page = try await browser.send(.GET, "/operator/login")
      #expect(page.status == .ok)
      #expect(!page.body.contains("id=\"password-sign-in\""))
      #expect(!page.body.contains("type=\"password\""))
      #expect(page.body.contains("/operator/login/provider"))
      let token = try #require(TestBrowser.formToken(in: try await browser.send(.GET, "/").body))
      let post = try await browser.send(
        .POST, "/operator/login",
        form: ["email": "anna.desk@example.edu", "password": "whatever-it-is", "csrf": token])
      #expect(post.status == .forbidden)
      #expect(post.body.contains("password is switched off"))
    }
  }

  @Test("configuration: every missing or malformed OIDC value is named")
  func configuration() throws {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    do {
      _ = try MailsealConfiguration.load(from: [
        "MAILSEAL_DATA_DIR": folder.appendingPathComponent("data").path,
        "MAILSEAL_CA_PASSPHRASE": "a-passphrase-long-enough",
        "MAILSEAL_OIDC_ISSUER": "http://idp.example.edu",
        "MAILSEAL_OIDC_ROLES": "wizard:magicians",
        "MAILSEAL_OIDC_REQUESTERS": "perhaps",
      ])
      Issue.record("accepted")
    } catch {
      let text = error.description
      for name in [
        "MAILSEAL_OIDC_ISSUER", "MAILSEAL_OIDC_CLIENT_ID", "MAILSEAL_OIDC_CLIENT_SECRET_FILE",
        "MAILSEAL_OIDC_ROLES", "MAILSEAL_OIDC_REQUESTERS",
      ] {
        #expect(text.contains(name), "\(name) in \(text)")
      }
    }
    let secret = folder.appendingPathComponent("secret")
    try "s\n".write(to: secret, atomically: true, encoding: .utf8)
    do {
      _ = try MailsealConfiguration.load(from: [
        "MAILSEAL_DATA_DIR": folder.appendingPathComponent("data").path,
        "MAILSEAL_CA_PASSPHRASE": "a-passphrase-long-enough",
        "MAILSEAL_OIDC_ISSUER": "https://idp.example.edu/",
        "MAILSEAL_OIDC_CLIENT_ID": "portal",
        "MAILSEAL_OIDC_CLIENT_SECRET_FILE": secret.path,
        "MAILSEAL_OIDC_REQUESTERS": "true",
      ])
      Issue.record("accepted without allowed domains")
    } catch {
      #expect(error.description.contains("MAILSEAL_ALLOWED_DOMAINS"), "\(error.description)")
    }
    do {
      _ = try MailsealConfiguration.load(from: [
        "MAILSEAL_DATA_DIR": folder.appendingPathComponent("data").path,
        "MAILSEAL_CA_PASSPHRASE": "a-passphrase-long-enough",
        "MAILSEAL_LOCAL_STAFF_LOGIN": "false",
      ])
      Issue.record("accepted")
    } catch {
      #expect(error.description.contains("MAILSEAL_LOCAL_STAFF_LOGIN"))
    }
  }
}
