public import Foundation
import MailsealCA
public import MailsealModel
import MailsealStore
import X509

/// A request held for an admin by the upstream CA's path, with its orders.
public struct HeldRequest: Sendable {
  public let request: CertificateRequest
  public let reason: String
  public let heldAt: Date
  public let orders: [Order]

  /// An order at the upstream, with the certificate it brought back (if
  /// any) in words.
  public struct Order: Sendable {
    public let id: UUID
    public let upstream: String
    public let state: UpstreamOrder.State
    public let reference: String?
    public let lastError: String?
    /// The certificate the upstream sent: serial, subject, addresses.
    public let certificate: (serial: String, subject: String, addresses: String)?
    /// An admin may ask the upstream to revoke it.
    public var canRevoke: Bool { state == .held && certificate != nil }
  }
}

extension ServiceControl {
  /// The requests held for an admin (oldest first). Administrators only.
  public func heldRequests(for administrator: Principal) async throws -> [HeldRequest] {
    try Self.refuseUnlessAdministrator(administrator)
    return try await store.upstreamOrders.held().map { request, orders in
      HeldRequest(
        request: request, reason: request.upstreamHeldReason ?? "",
        heldAt: request.upstreamHeldAt ?? request.updatedAt,
        orders: orders.map { order in
          let certificate = order.certificateDER.flatMap {
            try? Certificate(derEncoded: Array($0))
          }
          return HeldRequest.Order(
            id: order.id, upstream: order.upstream, state: order.state,
            reference: order.reference, lastError: order.lastError,
            certificate: certificate.map { certificate in
              (
                certificate.serialNumber.hex, certificate.subject.description,
                ((try? certificate.extensions.subjectAlternativeNames) ?? nil)
                  .map { $0.map { "\($0)" }.joined(separator: ", ") } ?? ""
              )
            })
        })
    }
  }

  /// Asks the upstream to revoke the certificate a held order brought
  /// back (the issuance worker sends it until the upstream confirms).
  public func revokeHeldCertificate(
    order id: UUID, by administrator: Principal, now: Date = Date()
  ) async throws {
    try Self.refuseUnlessAdministrator(administrator)
    try await store.transaction { store in
      guard try await store.upstreamOrders.requestRevocation(id, now: now) else {
        throw MailsealError(.wrongState)
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: administrator.auditActor, action: .upstreamHeldRevocationRequested,
          subject: id.uuidString), on: store.database, now: now)
    }
    issuanceResumed()
  }

  /// Releases a held request: its orders that came to nothing (held,
  /// refused, revoked at the upstream) are forgotten and the request is
  /// ordered again — the admin's decision, never the worker's; audited.
  public func releaseHeld(number: String, by administrator: Principal, now: Date = Date())
    async throws
  {
    try Self.refuseUnlessAdministrator(administrator)
    guard let request = try await store.requests.find(number: number),
      request.upstreamHeldAt != nil
    else { throw MailsealError.notFound }
    try await store.transaction { store in
      guard try await store.upstreamOrders.release(request.id, now: now) else {
        throw MailsealError(.wrongState)
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: administrator.auditActor, action: .upstreamHoldReleased, subject: number,
          details: ["mailbox": request.mailbox]), on: store.database, now: now)
    }
    issuanceResumed()
  }

  /// Rejects a held request with the admin's reason; the requester is
  /// told by mail.
  public func rejectHeld(
    number: String, reason: String, by administrator: Principal, now: Date = Date()
  ) async throws {
    try Self.refuseUnlessAdministrator(administrator)
    let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
    guard !trimmed.isEmpty, trimmed.count <= 500 else {
      throw MailsealError(.invalidReason, fields: ["reason": Message("field_reason_invalid")])
    }
    guard let request = try await store.requests.find(number: number),
      request.upstreamHeldAt != nil
    else { throw MailsealError.notFound }
    let configuration = self.configuration
    try await store.transaction { store in
      guard
        let recipient = try await store.issuance.refuseApproved(
          request.id, reason: trimmed, now: now)
      else { throw MailsealError(.wrongState) }
      try await Outbox.enqueue(
        MailTemplates.issuanceRefused(
          number: number, mailbox: recipient.mailbox, reason: trimmed,
          from: configuration.mail.from,
          language: Language(rawValue: recipient.language) ?? .de),
        on: store.database, messageDomain: configuration.mail.domain, now: now)
      try await AuditTrail.append(
        AuditEvent(
          actor: administrator.auditActor, action: .requestRejected, subject: number,
          details: ["mailbox": request.mailbox, "reason": trimmed, "held": "upstream"]),
        on: store.database, now: now)
    }
    mailQueued()
  }
}
