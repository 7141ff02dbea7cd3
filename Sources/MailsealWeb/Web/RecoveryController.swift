import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
import SwiftASN1
import Vapor

/// Key recovery: asked for on a certificate's page (by the person, or by an
/// administrator for someone who has left), approved by two recovery
/// officers, then the envelope downloaded for the offline machine.
enum RecoveryController {

  struct Row: Encodable {
    let number: String
    let mailbox: String
    let serial: String
    let state: String
    let stateLabel: String
    let approvals: String
    let created: String
    let expires: String
  }

  struct ListPage: Encodable {
    let rows: [Row]
  }

  struct Approval: Encodable {
    let who: String
    let at: String
  }

  struct RecoveryPage: Encodable {
    let row: Row
    let reason: String
    let askedBy: String
    let approvals: [Approval]
    let needed: Int
    let declinedBy: String?
    let declineReason: String?
    let downloads: Int
    let lastDownload: String?
    let canApprove: Bool
    let canDecline: Bool
    let canDownload: Bool
    let approvedByViewer: Bool
    let ownMailbox: Bool
    let ownRequest: Bool
    let error: String?
    let justApproved: Bool
  }

  static func row(
    _ record: KeyRecovery, serial: String, language: Language, zone: TimeZone,
    now: Date = Date()
  ) -> Row {
    let state = record.state(at: now)
    return Row(
      number: record.number, mailbox: record.mailbox, serial: serial, state: state.rawValue,
      stateLabel: Catalogue.text("recovery_state_\(state.rawValue)", language),
      approvals:
        "\(min(record.approvals, RecoveryRules.approvalsNeeded)) / \(RecoveryRules.approvalsNeeded)",
      created: BackOfficeController.format(record.createdAt, language, zone),
      expires: BackOfficeController.format(record.expiresAt, language, zone))
  }

  /// `GET /operator/recoveries`: open ones first (oldest first), then the
  /// latest others.
  @Sendable
  static func list(_ request: Request) async throws -> Response {
    _ = try await OperatorSession.require(request, may: \.seeRecoveries)
    let language = Language.of(request)
    let authority = request.registrationAuthority
    let rows = try await authority.recovery.recoveries().map {
      row($0.record, serial: $0.serial, language: language, zone: request.timeZone)
    }
    return try await Pages.render("recoveries", ListPage(rows: rows), for: request)
  }

  static func render(_ request: Request, number: String, error: MailsealError? = nil)
    async throws -> Response
  {
    let current = try await OperatorSession.require(request, may: \.seeRecoveries)
    let language = Language.of(request)
    let zone = request.timeZone
    let desk = try await request.registrationAuthority.recovery.deskRecovery(
      number: number, for: current.principal)
    let record = desk.record
    let page = RecoveryPage(
      row: row(record, serial: desk.certificate.serial, language: language, zone: zone),
      reason: record.reason, askedBy: askedBy(record, language),
      approvals: desk.approvals.map {
        Approval(
          who: $0.operatorEmail, at: BackOfficeController.format($0.approvedAt, language, zone))
      },
      needed: RecoveryRules.approvalsNeeded,
      declinedBy: record.declinedBy, declineReason: record.declineReason,
      downloads: record.downloads,
      lastDownload: record.lastDownloadedAt.map {
        "\(BackOfficeController.format($0, language, zone)) · \(record.lastDownloadedBy ?? "")"
      },
      canApprove: desk.actions.approve, canDecline: desk.actions.decline,
      canDownload: desk.actions.download, approvedByViewer: desk.actions.approvedByViewer,
      ownMailbox: desk.actions.ownMailbox, ownRequest: desk.actions.ownRequest,
      error: error?.sentence(language),
      justApproved: request.query[String.self, at: "approved"] != nil)
    return try await Pages.render("recovery", page, for: request, status: error?.status ?? .ok)
  }

  /// Who asked, in words: the person, or an administrator (by address).
  static func askedBy(_ record: KeyRecovery, _ language: Language) -> String {
    guard record.askedByOperatorID != nil else {
      return Catalogue.text("recovery_asked_by_person", language)
    }
    return Catalogue.text("recovery_asked_by_admin", language) + " "
      + record.askedBy.dropFirst(AuditEvent.staff("").count)
  }

  /// `GET /operator/recoveries/:number`.
  @Sendable
  static func show(_ request: Request) async throws -> Response {
    try await render(request, number: request.parameters.get("number") ?? "")
  }

  /// Runs an officer's decision, then shows the recovery again (with the
  /// refusal, if any).
  static func decide(
    _ request: Request, csrf: String?, query: String = "",
    _ action: (RegistrationAuthority, Principal, String) async throws -> Void
  ) async throws -> Response {
    let current = try await OperatorSession.require(request, may: \.seeRecoveries)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: csrf)
    let number = request.parameters.get("number") ?? ""
    do {
      try await action(request.registrationAuthority, current.principal, number)
    } catch let error as MailsealError where error.isShownOnPage {
      return try await render(request, number: number, error: error)
    }
    return request.redirect(to: .operatorRecovery(number: number, query: query))
  }

  /// `POST /operator/recoveries/:number/approve`.
  @Sendable
  static func approve(_ request: Request) async throws -> Response {
    let form = try request.content.decode(CSRFForm.self)
    return try await decide(request, csrf: form.csrf, query: "approved=1") {
      authority, officer, number in
      try await authority.recovery.approveRecovery(number: number, by: officer)
    }
  }

  /// `POST /operator/recoveries/:number/decline`.
  @Sendable
  static func decline(_ request: Request) async throws -> Response {
    let form = try request.content.decode(BackOfficeController.ReasonPost.self)
    return try await decide(request, csrf: form.csrf) { authority, officer, number in
      try await authority.recovery.declineRecovery(number: number, reason: form.reason, by: officer)
    }
  }

  /// `POST /operator/recoveries/:number/envelope`: the escrowed key, still
  /// sealed to the recovery certificates (CMS EnvelopedData, DER), for
  /// `mailseal recovery open` on the offline machine. A POST with the
  /// form's token: every download is counted, audited and mailed.
  @Sendable
  static func envelope(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request, may: \.seeRecoveries)
    let form = try? request.content.decode(CSRFForm.self)
    try OperatorSession.verifyCSRF(request, session: current.session, formToken: form?.csrf)
    let number = request.parameters.get("number") ?? ""
    let download: RecoveryDownload
    do {
      download = try await request.registrationAuthority.recovery.downloadRecoveryEnvelope(
        number: number, by: current.principal)
    } catch let error as MailsealError where error.isShownOnPage {
      return try await render(request, number: number, error: error)
    }
    return PickupController.download(
      download.envelope, type: "application/pkcs7-mime; smime-type=enveloped-data",
      name: "\(download.number)-\(download.serial).p7m")
  }

  /// `GET /operator/recoveries/:number/certificate.pem`: the encryption
  /// certificate the recovered key must match (`recovery open --certificate`).
  @Sendable
  static func certificate(_ request: Request) async throws -> Response {
    let current = try await OperatorSession.require(request, may: \.seeRecoveries)
    let desk = try await request.registrationAuthority.recovery.deskRecovery(
      number: request.parameters.get("number") ?? "", for: current.principal)
    let pem =
      PEMDocument(type: "CERTIFICATE", derBytes: Array(desk.certificate.der)).pemString + "\n"
    return PickupController.download(
      Data(pem.utf8), type: "application/x-pem-file",
      name: "\(desk.record.number)-\(desk.certificate.serial).pem")
  }
}
