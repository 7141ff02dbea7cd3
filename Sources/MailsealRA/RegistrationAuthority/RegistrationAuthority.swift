public import FluentKit
import Foundation
public import Logging
import MailsealCA
public import MailsealModel
import MailsealStore

/// The rules of the portal: who may ask for a login link, what a login link
/// proves, what a request must hold, who may see and withdraw it. Web pages
/// and the JSON API both call this; neither decides policy.
public struct RegistrationAuthority: Sendable {
  let database: any Database
  let configuration: MailsealConfiguration
  let logger: Logger
  /// Wakes the mail worker after a message was queued.
  let mailQueued: @Sendable () -> Void
  /// After a revocation has been committed: tells this instance's OCSP
  /// responder, wakes the CRL publisher, counts it.
  let revocationRecorded: @Sendable (RevocationNotice) -> Void
  /// Wakes the issuance worker (after an approval, or issuance resumed).
  let issuanceResumed: @Sendable () -> Void

  public init(
    database: any Database, configuration: MailsealConfiguration, logger: Logger,
    mailQueued: @escaping @Sendable () -> Void = {},
    revocationRecorded: @escaping @Sendable (RevocationNotice) -> Void = { _ in },
    issuanceResumed: @escaping @Sendable () -> Void = {}
  ) {
    self.database = database
    self.configuration = configuration
    self.logger = logger
    self.mailQueued = mailQueued
    self.revocationRecorded = revocationRecorded
    self.issuanceResumed = issuanceResumed
  }

  var portal: PortalSettings { configuration.portal }
  /// The store on this authority's database (or transaction).
  var store: Store { Store(database) }
}

extension MailboxSignIn {
  /// Sends a login link to `address` if its domain is allowed and the rate
  /// limits hold. The answer is the same whether or not the address has
  /// requests: nothing about the mailbox is revealed.
  public func requestLoginLink(
    address: String, language: Language, clientAddress: String, now: Date = Date()
  )
    async throws
  {
    let mailbox: Mailbox
    do {
      mailbox = try Mailbox(address)
    } catch {
      throw MailsealError(.invalidAddress, fields: ["address": Message("field_address_invalid")])
    }
    guard portal.allowedDomains.allows(mailbox) else {
      let domains = portal.allowedDomains.description
      throw MailsealError(
        .domainNotAllowed, ["domains": domains],
        fields: ["address": Message("field_address_domain_not_allowed")])
    }
    // Counted and admitted in one statement per limit (RateLimiter), so
    // parallel requests cannot all pass.
    let admitted = try await RateLimiter(database: database).admit(
      [
        .init(
          key: "login.address:\(mailbox.address)", limit: portal.loginLimitPerAddress,
          window: 3600),
        .init(
          key: "login.client:\(clientAddress)", limit: portal.loginLimitPerClient, window: 3600),
      ], now: now)
    guard admitted else {
      logger.warning(
        "login link refused by rate limit",
        metadata: ["mailbox": "\(mailbox)", "client": "\(clientAddress)"])
      throw MailsealError(.rateLimited)
    }
    let token = SecretToken.make()
    let url = PortalPath.loginLink.url(base: configuration.publicURL, token)
    let minutes = Int(portal.loginLinkLifetime / 60)
    let message = MailTemplates.loginLink(
      url: url, minutes: minutes, to: mailbox.address, from: configuration.mail.from,
      language: language)
    try await store.transaction { store in
      try await store.loginLinks.add(
        tokenHash: SecretToken.hash(token), mailbox: mailbox.address, language: language.rawValue,
        clientAddress: clientAddress, now: now,
        expiresAt: now.addingTimeInterval(portal.loginLinkLifetime))
      try await Outbox.enqueue(
        message, on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.requester(mailbox.address), action: .loginLinkSent,
          subject: mailbox.address, details: ["client": clientAddress]),
        on: store.database, now: now)
    }
    mailQueued()
    if configuration.mail.smtp == nil {
      // The embedded default has no mail server: the link is also logged.
      logger.notice("Login link for \(mailbox.address): \(url)")
    } else {
      logger.info("login link sent", metadata: ["mailbox": "\(mailbox)"])
    }
  }

  /// Opens a login link once: checks it, marks it used, starts a session.
  public func redeemLoginLink(_ token: String, now: Date = Date()) async throws
    -> RequesterSignIn
  {
    guard SecretToken.isWellFormed(token),
      let link = try await store.loginLinks.find(tokenHash: SecretToken.hash(token))
    else {
      throw MailsealError(.loginLinkInvalid)
    }
    guard link.usedAt == nil else {
      throw MailsealError.loginLinkUsed
    }
    guard link.expiresAt > now else {
      throw MailsealError(.loginLinkExpired)
    }
    let signIn = try await store.transaction { store in
      // Only one opening wins, even if two arrive at once.
      guard try await store.loginLinks.claim(link.id, now: now) else {
        throw MailsealError.loginLinkUsed
      }
      let signIn = try await RequesterSessions.start(
        by: MailboxSignIn.self, mailbox: link.mailbox, lifetime: portal.sessionLifetime,
        now: now, in: store)
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.requester(link.mailbox), action: .loginLinkUsed,
          subject: link.mailbox), on: store.database, now: now)
      return signIn
    }
    logger.info("signed in by login link", metadata: ["mailbox": "\(link.mailbox)"])
    return signIn
  }

  /// The live session a cookie names, if any.
  public func session(token: String, now: Date = Date()) async throws -> MailboxSession? {
    guard SecretToken.isWellFormed(token) else { return nil }
    return try await store.mailboxSessions.live(tokenHash: SecretToken.hash(token), now: now)
  }

  /// Ends a session.
  public func signOut(token: String) async throws {
    guard SecretToken.isWellFormed(token) else { return }
    try await store.mailboxSessions.end(tokenHash: SecretToken.hash(token))
  }

  /// Whether a CSRF token belongs to the session.
  public static func verifyCSRF(_ token: String?, session: MailboxSession) -> Bool {
    guard let token, SecretToken.isWellFormed(token) else { return false }
    return SecretToken.constantTimeEquals(SecretToken.hash(token), session.csrfHash)
  }
}
