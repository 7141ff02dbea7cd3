import Crypto
public import FluentKit
import Foundation
public import Logging
import MailsealCA
import MailsealModel
import MailsealStore
import Synchronization

/// How the portal reaches the provider over HTTP (the web layer has the
/// client); tests put a provider of their own behind it.
public protocol OIDCTransport: Sendable {
  /// GET; the status and the body (at most a few hundred KiB).
  func get(_ url: URL) async throws -> (status: Int, body: Data)
  /// POST of an application/x-www-form-urlencoded body, with HTTP Basic
  /// client authentication (RFC 6749 §2.3.1).
  func postForm(_ url: URL, _ form: [(String, String)], user: String, password: String)
    async throws -> (status: Int, body: Data)
}

/// The provider's discovery document and keys, fetched when first needed
/// and again after an hour; the keys also when a token names a key the
/// set does not hold (rotation), at most once per `refetchInterval`.
public actor OIDCProviderCache {
  let settings: OIDCSettings
  let transport: any OIDCTransport
  /// How soon after a fetch an unknown key may fetch the set again (a
  /// flood of tokens with made-up key IDs costs one fetch per interval).
  let refetchInterval: TimeInterval
  private var provider: (OpenIDProvider, fetched: Date)?
  private var keys: (JSONWebKeySet, fetched: Date)?

  public init(
    settings: OIDCSettings, transport: any OIDCTransport, refetchInterval: TimeInterval = 10
  ) {
    self.settings = settings
    self.transport = transport
    self.refetchInterval = refetchInterval
  }

  func fetch(_ url: URL, what: String) async throws -> Data {
    let answer: (status: Int, body: Data)
    do {
      answer = try await transport.get(url)
    } catch {
      throw OIDCUnavailable(detail: "\(what) \(url): \(error)")
    }
    guard answer.status == 200 else {
      throw OIDCUnavailable(detail: "\(what) \(url) answered \(answer.status)")
    }
    return answer.body
  }

  public func provider(now: Date = Date()) async throws -> OpenIDProvider {
    if let provider, now.timeIntervalSince(provider.fetched) < 3600 { return provider.0 }
    var base = settings.issuer
    while base.hasSuffix("/") { base.removeLast() }
    let url = URL(string: base + "/.well-known/openid-configuration")!
    let loaded = try OpenIDProvider(
      discovery: try await fetch(url, what: "discovery"), expectedIssuer: settings.issuer,
      allowForeignEndpoints: settings.allowForeignEndpoints)
    provider = (loaded, now)
    return loaded
  }

  func keys(refresh: Bool, now: Date) async throws -> JSONWebKeySet {
    if let keys, !refresh || now.timeIntervalSince(keys.fetched) < refetchInterval,
      now.timeIntervalSince(keys.fetched) < 3600
    {
      return keys.0
    }
    let loaded = try JSONWebKeySet(
      json: try await fetch(try await provider(now: now).jwksURI, what: "JWK set"))
    keys = (loaded, now)
    return loaded
  }

  /// Validates an ID token; a key the cached set lacks makes it fetch the
  /// set again once (the provider rotated its keys).
  func validate(_ token: String, nonce: String, now: Date) async throws -> IDTokenClaims {
    for refresh in [false, true] {
      do {
        return try IDTokenCheck.validate(
          token, keys: try await keys(refresh: refresh, now: now), issuer: settings.issuer,
          clientID: settings.clientID, nonce: nonce, now: now)
      } catch let refusal as OIDCRefusal where refusal.reason == "unknown-key" && !refresh {
        continue
      }
    }
    throw OIDCRefusal("unknown-key")
  }

  /// Validates a logout token, fetching the keys again once for a key
  /// the cached set lacks.
  func validateLogout(_ token: String, now: Date) async throws -> LogoutRequest {
    for refresh in [false, true] {
      do {
        return try IDTokenCheck.validateLogout(
          token, keys: try await keys(refresh: refresh, now: now), issuer: settings.issuer,
          clientID: settings.clientID, now: now)
      } catch let refusal as OIDCRefusal where refusal.reason == "unknown-key" && !refresh {
        continue
      }
    }
    throw OIDCRefusal("unknown-key")
  }
}

/// The provider cannot be reached or answered nonsense: the sign-in fails,
/// nothing is changed.
public struct OIDCUnavailable: Error, CustomStringConvertible {
  public let detail: String
  public init(detail: String) { self.detail = detail }
  public var description: String { "identity provider unavailable: \(detail)" }
}

/// Sign-in through the organisation's OpenID provider: authorization code
/// with PKCE (S256), `state` and `nonce` bound to the browser and used
/// once, the ID token checked in full, then a staff session (roles from a
/// claim, multi-factor by `acr`) or a requester session (a verified
/// address in an allowed domain).
public struct OIDCSignIn: Sendable {
  let database: any Database
  let configuration: MailsealConfiguration
  let settings: OIDCSettings
  let cache: OIDCProviderCache
  let logger: Logger

  public init(
    database: any Database, configuration: MailsealConfiguration, settings: OIDCSettings,
    cache: OIDCProviderCache, logger: Logger
  ) {
    self.database = database
    self.configuration = configuration
    self.settings = settings
    self.cache = cache
    self.logger = logger
  }

  /// Who signs in.
  public enum Purpose: String, Sendable {
    case staff
    case requester
  }

  /// How long a sign-in at the provider may take.
  static let lifetime: TimeInterval = 600

  /// Where the provider sends the browser back.
  public var redirectURI: String { PortalPath.oidcCallback.url(base: configuration.publicURL) }

  /// A sign-in begun: where to send the browser, and the value of the
  /// cookie that binds the answer to this browser.
  public struct Started: Sendable {
    public let authorizationURL: String
    public let browserToken: String
  }

  /// The PKCE verifier and the nonce are derived from the browser's token
  /// (only its hash is stored): nothing in the database opens the sign-in.
  static func derived(_ browserToken: String, _ purpose: String) -> String {
    Base64URL.encode(
      HMAC<SHA256>.authenticationCode(
        for: Data(purpose.utf8), using: SymmetricKey(data: Data(browserToken.utf8))))
  }

  /// Step 1: records the sign-in (hashes of state and browser token) and
  /// returns the provider's authorization URL.
  public func start(_ purpose: Purpose, clientAddress: String = "", now: Date = Date())
    async throws -> Started
  {
    if purpose == .requester, !settings.requesters { throw MailsealError.notFound }
    try await RateLimiter(database: database).admitOrRefuse(
      [.init(key: "oidc.start:\(clientAddress.prefix(64))", limit: 60, window: 15 * 60)], now: now,
      logger: logger)
    let provider: OpenIDProvider
    do {
      provider = try await cache.provider(now: now)
    } catch {
      logger.error("identity provider unavailable: \(error)")
      throw MailsealError(.identityProviderUnavailable)
    }
    let state = SecretToken.make()
    let browserToken = SecretToken.make()
    try await Store(database).providerSignIns.begin(
      stateHash: SecretToken.hash(state), browserHash: SecretToken.hash(browserToken),
      purpose: purpose.rawValue, now: now, expiresAt: now.addingTimeInterval(Self.lifetime))
    let verifier = Self.derived(browserToken, "pkce")
    let challenge = Base64URL.encode(SHA256.hash(data: Data(verifier.utf8)))
    var components = URLComponents(
      url: provider.authorizationEndpoint, resolvingAgainstBaseURL: false)!
    var query = components.queryItems ?? []
    query += [
      URLQueryItem(name: "response_type", value: "code"),
      URLQueryItem(name: "client_id", value: settings.clientID),
      URLQueryItem(name: "redirect_uri", value: redirectURI),
      URLQueryItem(name: "scope", value: settings.scopes.joined(separator: " ")),
      URLQueryItem(name: "state", value: state),
      URLQueryItem(name: "nonce", value: Self.derived(browserToken, "nonce")),
      URLQueryItem(name: "code_challenge", value: challenge),
      URLQueryItem(name: "code_challenge_method", value: "S256"),
    ]
    if purpose == .staff, !settings.staffACR.isEmpty {
      query.append(
        URLQueryItem(name: "acr_values", value: settings.staffACR.sorted().joined(separator: " ")))
    }
    components.queryItems = query
    // "+" in a query value would be read as a space.
    components.percentEncodedQuery = components.percentEncodedQuery?.replacingOccurrences(
      of: "+", with: "%2B")
    return Started(authorizationURL: components.url!.absoluteString, browserToken: browserToken)
  }

  /// What a finished sign-in gives.
  public enum Finished: Sendable {
    case staff(OperatorDirectory.Tokens, email: String)
    case requester(RequesterSignIn)
  }

  /// Step 2, the provider's answer: the sign-in is taken (once, by this
  /// browser), the code exchanged, the ID token checked, the session made.
  /// Every refusal is audited and makes no session.
  public func finish(
    state: String?, code: String?, providerError: String?, browserToken: String?,
    now: Date = Date()
  ) async throws -> Finished {
    guard let state, SecretToken.isWellFormed(state), let browserToken,
      SecretToken.isWellFormed(browserToken)
    else {
      throw refuseUnaudited(OIDCRefusal("state", "no state or no browser binding"))
    }
    // One statement: a state is used once, and only by its browser.
    guard
      let taken = try await Store(database).providerSignIns.take(
        stateHash: SecretToken.hash(state), browserHash: SecretToken.hash(browserToken), now: now),
      let purpose = Purpose(rawValue: taken)
    else {
      throw refuseUnaudited(
        OIDCRefusal("state", "unknown, used, expired or another browser's state"))
    }
    if let providerError {
      throw try await refuse(
        OIDCRefusal("provider-error", "the provider answered \(providerError.prefix(100))"),
        now: now)
    }
    guard let code, !code.isEmpty, code.utf8.count <= 2048 else {
      throw try await refuse(OIDCRefusal("provider-error", "no code"), now: now)
    }
    let claims: IDTokenClaims
    do {
      let provider = try await cache.provider(now: now)
      let answer = try await cache.transport.postForm(
        provider.tokenEndpoint,
        [
          ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
          ("code_verifier", Self.derived(browserToken, "pkce")),
        ], user: settings.clientID, password: settings.clientSecret)
      guard answer.status == 200, let body = JSONValue.object(answer.body),
        let idToken = body["id_token"]?.string
      else {
        throw OIDCRefusal(
          "provider-error", "the token endpoint answered \(answer.status) without an id_token")
      }
      claims = try await cache.validate(
        idToken, nonce: Self.derived(browserToken, "nonce"), now: now)
    } catch let refusal as OIDCRefusal {
      throw try await refuse(refusal, now: now)
    } catch {
      logger.error("identity provider unavailable: \(error)")
      throw MailsealError(.identityProviderUnavailable)
    }
    switch purpose {
    case .staff: return try await signInStaff(claims, now: now)
    case .requester: return try await signInRequester(claims, now: now)
    }
  }

  /// Logs a refusal before any sign-in was taken (anyone can send such a
  /// request: it is not worth a record in the audit trail).
  func refuseUnaudited(_ refusal: OIDCRefusal) -> MailsealError {
    logger.info(
      "identity provider callback without a sign-in of this browser",
      metadata: ["reason": "\(refusal.reason)", "detail": "\(refusal.detail)"])
    return refusal.error
  }

  /// Audits and logs a refusal; returns the error to throw.
  func refuse(_ refusal: OIDCRefusal, who: String = "", now: Date) async throws -> MailsealError {
    logger.warning(
      "sign-in through the identity provider refused",
      metadata: ["reason": "\(refusal.reason)", "detail": "\(refusal.detail)", "who": "\(who)"])
    try await AuditTrail.append(
      AuditEvent(
        actor: who.isEmpty ? AuditEvent.identityProvider : AuditEvent.staff(who),
        action: .identityProviderRefused, subject: who,
        details: ["reason": refusal.reason, "detail": String(refusal.detail.prefix(300))]),
      on: database, now: now)
    return refusal.error
  }

  /// The account at the provider, as stored: issuer and subject.
  func subjectKey(_ claims: IDTokenClaims) -> String { "\(settings.issuer) \(claims.subject)" }

  /// A staff member: a mapped role and (when asked) multi-factor, else no
  /// session; the directory follows the provider at each sign-in — name,
  /// role, and an account whose role is gone is disabled with its
  /// sessions ended.
  func signInStaff(_ claims: IDTokenClaims, now: Date) async throws -> Finished {
    guard let rawEmail = claims.email, let email = try? Mailbox(rawEmail).address else {
      throw try await refuse(OIDCRefusal("email-missing", "no usable email claim"), now: now)
    }
    // The address decides whose mailbox is whose (separation of duties):
    // one the provider has not verified gives no session.
    guard claims.emailVerified else {
      throw try await refuse(
        OIDCRefusal("staff-email-unverified", "email_verified is not true for \(email)"),
        who: email,
        now: now)
    }
    let key = subjectKey(claims)
    let role = settings.role(for: claims.strings(settings.roleClaim))
    let nameText =
      claims.name
      ?? [claims.givenName, claims.familyName].compactMap { $0 }.joined(
        separator: " ")
    let name =
      (try? SubjectName(nameText.isEmpty ? email : nameText, field: "name", maximumLength: 128))?
      .value ?? email
    if role != nil, !settings.staffACR.isEmpty, !settings.staffACR.contains(claims.acr ?? "") {
      throw try await refuse(
        OIDCRefusal(
          "acr", "acr \(claims.acr ?? "missing") is not one of \(settings.staffACR.sorted())"),
        who: email, now: now)
    }
    let tokens = OperatorDirectory.Tokens(session: SecretToken.make(), csrf: SecretToken.make())
    let outcome: Result<Void, OIDCRefusal> = try await Store(database).transaction { store in
      // Accounts are linked to the provider by issuer and subject only: an
      // address alone (which a provider user may be able to edit) never
      // takes over, changes or disables an account.
      let existing = try await store.staff.find(oidcSubject: key)
      let holder = try await store.staff.find(email: email)
      if let holder, holder.id != existing?.id {
        return .failure(
          OIDCRefusal(
            "account-conflict",
            "\(email) belongs to another staff account (\(holder.oidcSubject == nil ? "password sign-in" : "another subject at the provider"))"
          ))
      }
      guard let role else {
        if let existing, existing.isEnabled {
          try await store.staff.disable(existing.id)
          try await store.staffSessions.endAll(of: existing.id)
          try await AuditTrail.append(
            AuditEvent(
              actor: AuditEvent.identityProvider, action: .operatorRoleChanged, subject: email,
              details: ["from": existing.role.rawValue, "to": "none", "sessions": "ended"]),
            on: store.database, now: now)
        }
        return .failure(
          OIDCRefusal(
            "no-role",
            "no value of \(settings.roleClaim) is mapped to a role: \(claims.strings(settings.roleClaim).prefix(20))"
          ))
      }
      if let previous = existing?.email, previous != email {
        // The old address stays the account's (StaffAddresses): the
        // change decides nothing about whose mailbox is whose.
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.identityProvider, action: .operatorAddressChanged, subject: email,
            details: ["from": previous, "to": email, "subject": key]),
          on: store.database, now: now)
        logger.warning(
          "a staff account's address changed at the identity provider",
          metadata: ["from": "\(previous)", "to": "\(email)"])
      }
      let account = try await store.staff.saveFromProvider(
        existing?.id, email: email, name: name, role: role, oidcSubject: key, now: now)
      try await store.staffAddresses.record(email, for: account.id, now: now)
      if let existing {
        if existing.role != role || !existing.isEnabled {
          try await AuditTrail.append(
            AuditEvent(
              actor: AuditEvent.identityProvider, action: .operatorRoleChanged, subject: email,
              details: ["from": existing.role.rawValue, "to": role.rawValue]),
            on: store.database, now: now)
        }
      } else {
        try await AuditTrail.append(
          AuditEvent(
            actor: AuditEvent.identityProvider, action: .operatorAdded, subject: email,
            details: ["name": name, "role": role.rawValue, "via": "identity-provider"]),
          on: store.database, now: now)
      }
      // A session from the provider is short (MAILSEAL_OIDC_SESSION_MINUTES):
      // the next sign-in there sees a role taken away; and the provider can
      // end it at once (back-channel logout, by subject or by its `sid`).
      try await OperatorDirectory.createSession(
        tokens, for: account.id, stage: .complete,
        expires: now.addingTimeInterval(
          min(settings.sessionLifetime, OperatorDirectory.sessionLifetime)), now: now,
        viaIdentityProvider: true, providerSessionID: claims.string("sid"), in: store)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.staff(email), action: .operatorSignedIn, subject: email,
          details: ["via": "identity-provider", "acr": claims.acr ?? ""]),
        on: store.database, now: now)
      return .success(())
    }
    if case .failure(let refusal) = outcome {
      throw try await refuse(refusal, who: email, now: now)
    }
    logger.info("operator signed in through the identity provider", metadata: ["email": "\(email)"])
    return .staff(tokens, email: email)
  }

  /// A requester: the provider's verified address in an allowed domain
  /// validates the mailbox (S/MIME BR §3.2.2.1: the organisation holds
  /// the domain); the session and every request made in it record how.
  func signInRequester(_ claims: IDTokenClaims, now: Date) async throws -> Finished {
    guard let rawEmail = claims.email, let mailbox = try? Mailbox(rawEmail) else {
      throw try await refuse(OIDCRefusal("email-missing", "no usable email claim"), now: now)
    }
    guard claims.emailVerified else {
      throw try await refuse(
        OIDCRefusal("email-unverified", "email_verified is not true for \(mailbox.address)"),
        now: now)
    }
    guard configuration.portal.allowedDomains.allows(mailbox) else {
      throw try await refuse(
        OIDCRefusal("domain-not-allowed", "\(mailbox.address) is outside the allowed domains"),
        now: now)
    }
    let signIn = try await Store(database).transaction { store in
      let signIn = try await RequesterSessions.start(
        by: OIDCSignIn.self, mailbox: mailbox.address,
        lifetime: configuration.portal.sessionLifetime, now: now,
        names: (Self.nameHint(claims.givenName), Self.nameHint(claims.familyName)), in: store)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.requester(mailbox.address), action: .identityProviderSignedIn,
          subject: mailbox.address, details: ["subject": subjectKey(claims)]),
        on: store.database, now: now)
      return signIn
    }
    logger.info(
      "requester signed in through the identity provider",
      metadata: ["mailbox": "\(mailbox.address)"])
    return .requester(signIn)
  }

  /// A name from the provider as a hint for the form: only one that would
  /// pass the form's own check (the requester may still change it).
  static func nameHint(_ text: String?) -> String? {
    guard let text else { return nil }
    return (try? SubjectName(text, field: "name", maximumLength: SubjectNameBounds.givenName))?
      .value
  }

  /// The provider ends a session (OpenID Connect Back-Channel Logout 1.0):
  /// with `sid`, that staff session; with `sub` alone, every staff session
  /// of that account made through the provider. Returns how many ended.
  /// A token that fails a check changes nothing and is logged (anyone can
  /// post one); one that passes is audited.
  public func backchannelLogout(token: String, now: Date = Date()) async throws -> Int {
    guard !token.isEmpty, token.utf8.count <= IDTokenCheck.maximumLength else {
      throw refuseUnaudited(OIDCRefusal("malformed-token", "no logout token or too long"))
    }
    let request: LogoutRequest
    do {
      request = try await cache.validateLogout(token, now: now)
    } catch let refusal as OIDCRefusal {
      throw refuseUnaudited(refusal)
    } catch {
      logger.error("identity provider unavailable: \(error)")
      throw MailsealError(.identityProviderUnavailable)
    }
    let account = request.subject.map { "\(settings.issuer) \($0)" }
    let ended = try await Store(database).transaction { store -> Int in
      let ended = try await store.staffSessions.endFromProvider(
        providerSessionID: request.sessionID, oidcSubject: account)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.identityProvider, action: .identityProviderLoggedOut,
          subject: request.subject ?? "",
          details: ["sid": request.sessionID ?? "", "sessions": "\(ended)"]),
        on: store.database, now: now)
      return ended
    }
    logger.info(
      "back-channel logout from the identity provider",
      metadata: ["subject": "\(request.subject ?? "")", "sessions": "\(ended)"])
    return ended
  }

  /// Where to send a browser that signs out of a session made by the
  /// provider (RP-initiated logout), if the provider says.
  public func logoutURL(returnTo: String) async -> String? {
    guard let provider = try? await cache.provider(), let endpoint = provider.endSessionEndpoint,
      var components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)
    else { return nil }
    components.queryItems =
      (components.queryItems ?? []) + [
        URLQueryItem(name: "client_id", value: settings.clientID),
        URLQueryItem(name: "post_logout_redirect_uri", value: returnTo),
      ]
    return components.url?.absoluteString
  }
}
