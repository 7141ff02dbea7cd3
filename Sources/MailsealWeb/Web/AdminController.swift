import Foundation
import MailsealModel
import MailsealRA
import Vapor

/// The administrator's page (service notice, issuance pause) and the
/// auditor's view of the audit trail.
enum AdminController {
  struct AdminPage: Encodable {
    let noticeGerman: String
    let noticeEnglish: String
    let hasNotice: Bool
    let issuancePaused: Bool
    let maximumNoticeLength: Int
    let error: String?
    let saved: Bool
    /// Staff accounts whose address changed (at the identity provider):
    /// each keeps its old addresses for the own-mailbox rules.
    let addressChanges: [AddressChangeRow]
    /// Key escrow stopped: why (nil: in force or off).
    let escrowStopped: String?
    /// An upstream CA issues: its name, and the requests held for an admin.
    let upstream: String?
    let held: [HeldRow]
    /// `MAILSEAL_PUBLISH` on: how many directory changes were set aside.
    var publishes = false
    var notPublished = 0
  }

  struct HeldRow: Encodable {
    let number: String
    let mailbox: String
    let reason: String
    let heldAt: String
    let orders: [HeldOrderRow]
  }

  struct HeldOrderRow: Encodable {
    let id: String
    let upstream: String
    let state: String
    let reference: String
    let serial: String?
    let subject: String?
    let addresses: String?
    let canRevoke: Bool
  }

  struct AddressChangeRow: Encodable {
    let name: String
    let address: String
    let former: String
    let changedAt: String
  }

  static func requireAdmin(_ request: Request) async throws -> OperatorSession.Current {
    try await OperatorSession.require(request, may: \.administer)
  }

  static func renderAdmin(
    _ request: Request, error: MailsealError? = nil, draft: NoticePost? = nil
  ) async throws -> Response {
    let authority = request.registrationAuthority
    let state = try await authority.service.serviceState()
    let language = Language.of(request)
    let zone = request.timeZone
    let changes = try await authority.service.staffAddressChanges().map {
      AddressChangeRow(
        name: $0.name, address: $0.address, former: $0.former.joined(separator: ", "),
        changedAt: BackOfficeController.format($0.changedAt, language, zone))
    }
    let escrowStopped =
      request.application.mailseal.escrow.isOn
      ? try await authority.enrollment.escrowCheck().problem : nil
    let current = try await requireAdmin(request)
    let held = try await authority.service.heldRequests(for: current.principal).map { held in
      HeldRow(
        number: held.request.number, mailbox: held.request.mailbox, reason: held.reason,
        heldAt: BackOfficeController.format(held.heldAt, language, zone),
        orders: held.orders.map { order in
          HeldOrderRow(
            id: order.id.uuidString, upstream: order.upstream,
            state: Catalogue.text(
              "upstream_order_\(Catalogue.idPart(order.state.rawValue))", language),
            reference: order.reference ?? "", serial: order.certificate?.serial,
            subject: order.certificate?.subject, addresses: order.certificate?.addresses,
            canRevoke: order.canRevoke)
        })
    }
    var notPublished = 0
    let publishes = request.application.mailseal.directory.mode != .off
    if publishes {
      notPublished = try await authority.directory.notPublished(for: current.principal, limit: 0)
        .count
    }
    return try await Pages.render(
      "admin",
      AdminPage(
        noticeGerman: draft?.de ?? state.notice?.de ?? "",
        noticeEnglish: draft?.en ?? state.notice?.en ?? "",
        hasNotice: state.notice != nil, issuancePaused: state.issuancePaused,
        maximumNoticeLength: Settings.maximumNoticeLength,
        error: error?.sentence(language),
        saved: request.query[String.self, at: "saved"] != nil, addressChanges: changes,
        escrowStopped: escrowStopped,
        upstream: request.application.mailseal.upstream?.connector.name, held: held,
        publishes: publishes, notPublished: notPublished),
      for: request, status: error?.status ?? .ok)
  }

  /// `GET /operator/admin`.
  @Sendable
  static func page(_ request: Request) async throws -> Response {
    _ = try await requireAdmin(request)
    return try await renderAdmin(request)
  }

  struct NoticePost: Content {
    var csrf: String
    var de: String
    var en: String
  }

  /// `POST /operator/notice`.
  @Sendable
  static func setNotice(_ request: Request) async throws -> Response {
    let current = try await requireAdmin(request)
    let form = try? request.content.decode(NoticePost.self)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: form?.csrf)
    guard let form else { throw MailsealError.csrf }
    do {
      try await request.registrationAuthority.service.setNotice(
        german: form.de, english: form.en, by: current.principal)
    } catch let error as MailsealError where error.status.code < 500 {
      return try await renderAdmin(request, error: error, draft: form)
    }
    request.logger.notice("service notice set", metadata: ["by": "\(current.operator.email)"])
    return request.redirect(to: .operatorAdmin(saved: true))
  }

  /// `POST /operator/notice/clear`.
  @Sendable
  static func clearNotice(_ request: Request) async throws -> Response {
    let current = try await requireAdmin(request)
    try OperatorSession.verifyCSRF(
      request, session: current.session, formToken: try? request.content.decode(CSRFForm.self).csrf)
    try await request.registrationAuthority.service.clearNotice(by: current.principal)
    request.logger.notice("service notice cleared", metadata: ["by": "\(current.operator.email)"])
    return request.redirect(to: .operatorAdmin(saved: true))
  }

  // MARK: Requests held by the upstream CA's path

  struct HeldOrderPost: Content {
    var csrf: String
    var order: String
  }

  struct HeldRequestPost: Content {
    var csrf: String
    var number: String
    var reason: String?
  }

  /// Runs an admin's decision on a held request; a refusal shows on the
  /// admin page.
  static func decide<Form: Content>(
    _ request: Request, _ form: Form.Type, csrf: (Form) -> String,
    _ action: (Form, Principal) async throws -> Void
  ) async throws -> Response {
    let current = try await requireAdmin(request)
    let posted = try? request.content.decode(Form.self)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: posted.map(csrf))
    guard let posted else { throw MailsealError.csrf }
    do {
      try await action(posted, current.principal)
    } catch let error as MailsealError where error.status.code < 500 {
      return try await renderAdmin(request, error: error)
    }
    return request.redirect(to: .operatorAdmin(saved: true))
  }

  /// `POST /operator/upstream/revoke`: the upstream is asked to revoke the
  /// certificate a held order brought back.
  @Sendable
  static func revokeHeld(_ request: Request) async throws -> Response {
    try await decide(request, HeldOrderPost.self, csrf: \.csrf) { form, principal in
      guard let id = UUID(uuidString: form.order) else { throw MailsealError.notFound }
      try await request.registrationAuthority.service.revokeHeldCertificate(
        order: id, by: principal)
    }
  }

  /// `POST /operator/upstream/release`: the held request is ordered again.
  @Sendable
  static func releaseHeld(_ request: Request) async throws -> Response {
    try await decide(request, HeldRequestPost.self, csrf: \.csrf) { form, principal in
      try await request.registrationAuthority.service.releaseHeld(
        number: String(form.number.prefix(20)), by: principal)
    }
  }

  /// `POST /operator/upstream/reject`: the held request is rejected.
  @Sendable
  static func rejectHeld(_ request: Request) async throws -> Response {
    try await decide(request, HeldRequestPost.self, csrf: \.csrf) { form, principal in
      try await request.registrationAuthority.service.rejectHeld(
        number: String(form.number.prefix(20)), reason: form.reason ?? "", by: principal)
    }
  }

  // MARK: Audit trail

  struct AuditRow: Encodable {
    let seq: Int64
    let at: String
    let actor: String
    let action: String
    let subject: String
    let details: String
  }

  struct AuditPage: Encodable {
    let actor: String
    let action: String
    let subject: String
    let rows: [AuditRow]
    let nextBefore: Int64?
  }

  static let auditPageSize = 100

  /// Auditors and administrators read the trail.
  static func requireAuditReader(_ request: Request) async throws -> OperatorSession.Current {
    try await OperatorSession.require(request, may: \.readAudit)
  }

  /// `GET /operator/audit?actor=&action=&subject=&before=`: newest first,
  /// 100 a page, each filter an exact match.
  @Sendable
  static func audit(_ request: Request) async throws -> Response {
    _ = try await requireAuditReader(request)
    func filter(_ name: String) -> String {
      String((request.query[String.self, at: name] ?? "").prefix(200)).trimmingCharacters(
        in: .whitespaces)
    }
    let before = request.query[Int64.self, at: "before"]
    let language = Language.of(request)
    let zone = request.timeZone
    let records = try await request.registrationAuthority.service.auditRecords(
      actor: filter("actor"), action: filter("action"), subject: filter("subject"),
      before: before, limit: auditPageSize + 1)
    let rows = records.prefix(auditPageSize).map {
      AuditRow(
        seq: $0.seq, at: BackOfficeController.format($0.at, language, zone), actor: $0.actor,
        action: $0.action, subject: $0.subject, details: $0.details)
    }
    return try await Pages.render(
      "audit",
      AuditPage(
        actor: filter("actor"), action: filter("action"), subject: filter("subject"),
        rows: Array(rows),
        nextBefore: records.count > auditPageSize ? rows.last?.seq : nil),
      for: request)
  }

  /// `GET /operator/audit/export.jsonl`: the whole trail, oldest first, as
  /// JSON lines, streamed a page at a time.
  @Sendable
  static func export(_ request: Request) async throws -> Response {
    let current = try await requireAuditReader(request)
    let authority = request.registrationAuthority
    let logger = request.logger
    try await authority.service.recordAuditExport(by: current.principal)
    let response = Response(
      status: .ok,
      body: .init(
        managedAsyncStream: { writer in
          do {
            try await authority.service.exportAuditTrail { page in
              try await writer.write(.buffer(ByteBuffer(string: page)))
            }
          } catch {
            logger.error("audit export failed: \(error)")
            throw error
          }
        }, count: -1))
    response.headers.contentType = HTTPMediaType(type: "application", subType: "jsonl")
    response.headers.replaceOrAdd(
      name: .contentDisposition, value: "attachment; filename=\"mailseal-audit.jsonl\"")
    response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
    return response
  }
}
