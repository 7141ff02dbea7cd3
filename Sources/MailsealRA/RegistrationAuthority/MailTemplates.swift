import Foundation
import MailsealModel
import MailsealStore

/// The mails of the portal: which catalogue template, to whom, with which
/// values. The words are in `Catalogue+Mails.swift`, in German and English.
enum MailTemplates {
  /// The login link: the only way to prove control of the mailbox.
  static func loginLink(url: String, minutes: Int, to: String, from: String, language: Language)
    -> MailMessage
  {
    MailComposer.compose(
      "login-link", to: to, from: from, language: language,
      values: ["mailbox": to, "url": url, "minutes": "\(minutes)"])
  }

  /// The confirmation of a request: its number and what happens next.
  static func requestReceived(
    _ request: CertificateRequest, identityCheck: String, videoCallURL: String?,
    portalURL: String, from: String, language: Language
  ) -> MailMessage {
    var values = [
      "mailbox": request.mailbox, "number": request.number, "identityCheck": identityCheck,
      "statusURL": PortalPath.request.url(base: portalURL, request.number),
    ]
    // A role mailbox: whose ID the desk checks.
    if let roleName = request.pseudonym, let surname = request.surname {
      values["roleName"] = roleName
      values["responsible"] = [request.givenName, surname].compactMap { $0 }.joined(
        separator: " ")
    }
    // Both ways are always named: the video call's link when there is
    // one, otherwise whom to ask (the other paragraph is left out).
    if let videoCallURL {
      values["videoCallURL"] = videoCallURL
    } else {
      values["videoAsk"] = "@mail_request_received_video_ask"
    }
    return MailComposer.compose(
      "request-received", to: request.mailbox, from: from, language: language, values: values)
  }

  /// A renewal request that reuses the identity evidence: no desk visit.
  static func renewalReceived(
    _ request: CertificateRequest, automatic: Bool, portalURL: String, from: String,
    language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "renewal-received", to: request.mailbox, from: from, language: language,
      values: [
        "mailbox": request.mailbox, "number": request.number,
        "statusURL": PortalPath.request.url(base: portalURL, request.number),
        "next": automatic
          ? "@mail_renewal_received_automatic" : "@mail_renewal_received_confirmation",
      ])
  }

  /// A rejection, with the operator's reason.
  static func requestRejected(
    _ request: CertificateRequest, reason: String, from: String, language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "request-rejected", to: request.mailbox, from: from, language: language,
      values: ["mailbox": request.mailbox, "number": request.number, "reason": reason])
  }

  /// An approved request the CA refused to issue (`reason`: a catalogue
  /// sentence, `@id`).
  static func issuanceRefused(
    number: String, mailbox: String, reason: String, from: String, language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "issuance-refused", to: mailbox, from: from, language: language,
      values: ["mailbox": mailbox, "number": number, "reason": reason])
  }

  /// An approved request waits because its mailbox validation is older
  /// than 30 days: a fresh login link lets it be issued.
  static func issuanceHeld(
    number: String, mailbox: String, portalURL: String, from: String, language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "issuance-held", to: mailbox, from: from, language: language,
      values: ["mailbox": mailbox, "number": number, "portalURL": portalURL])
  }

  /// A certificate was revoked: which one, why, and what now.
  static func certificateRevoked(
    _ certificate: IssuedCertificate, reason: String, portalURL: String, from: String,
    language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "certificate-revoked", to: certificate.mailbox, from: from, language: language,
      values: [
        "mailbox": certificate.mailbox, "serial": certificate.serial.uppercased(),
        "reason": reason, "portalURL": portalURL,
      ])
  }

  /// The certificate is ready: the pickup link.
  static func certificateReady(
    number: String, mailbox: String, pickupURL: String, days: Int, portalURL: String,
    from: String, language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "certificate-ready", to: mailbox, from: from, language: language,
      values: [
        "mailbox": mailbox, "number": number, "pickupURL": pickupURL, "days": "\(days)",
        "portalURL": portalURL,
      ])
  }

  /// A certificate expires soon: how to renew it.
  static func certificateExpiring(
    serial: String, mailbox: String, notAfter: Date, days: Int, evidenceReusable: Bool,
    portalURL: String, from: String, language: Language, zone: TimeZone
  ) -> MailMessage {
    return MailComposer.compose(
      "certificate-expiring", to: mailbox, from: from, language: language,
      values: [
        "mailbox": mailbox, "serial": serial.uppercased(),
        "date": DateWords.format(
          notAfter, language: language, zone: zone, time: false, long: true),
        "days": "\(days)",
        "remaining": days == 1
          ? "@mail_certificate_expiring_in_one_day" : "@mail_certificate_expiring_in_days",
        "evidence": evidenceReusable
          ? "@mail_certificate_expiring_evidence_reusable"
          : "@mail_certificate_expiring_evidence_too_old",
        "portalURL": portalURL,
      ])
  }

  // MARK: Key recovery: the person learns of every step.

  /// A recovery of the person's escrowed key was asked for.
  static func recoveryRequested(
    _ recovery: KeyRecovery, serial: String, byAdministrator: Bool, portalURL: String,
    from: String, language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "recovery-requested", to: recovery.mailbox, from: from, language: language,
      values: [
        "mailbox": recovery.mailbox, "number": recovery.number, "serial": serial.uppercased(),
        "reason": recovery.reason,
        "asker": byAdministrator
          ? "@mail_recovery_requested_by_administrator" : "@mail_recovery_requested_by_you",
        "certificateURL": PortalPath.certificate.url(base: portalURL, serial),
      ])
  }

  /// An officer approved (the first or the second of two).
  static func recoveryApproved(
    _ recovery: KeyRecovery, officer: String, approvals: Int, portalURL: String,
    from: String, language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "recovery-approved", to: recovery.mailbox, from: from, language: language,
      values: [
        "mailbox": recovery.mailbox, "number": recovery.number, "officer": officer,
        "approvals": "\(approvals)", "needed": "\(RecoveryRules.approvalsNeeded)",
        "next": approvals >= RecoveryRules.approvalsNeeded
          ? "@mail_recovery_approved_complete" : "@mail_recovery_approved_waiting",
        "days": "\(Int(RecoveryRules.downloadWindow / 86_400))",
      ])
  }

  /// An officer declined.
  static func recoveryDeclined(
    _ recovery: KeyRecovery, reason: String, from: String, language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "recovery-declined", to: recovery.mailbox, from: from, language: language,
      values: ["mailbox": recovery.mailbox, "number": recovery.number, "reason": reason])
  }

  /// An officer downloaded the envelope for the offline machine.
  static func recoveryDownloaded(
    _ recovery: KeyRecovery, officer: String, from: String, language: Language
  ) -> MailMessage {
    MailComposer.compose(
      "recovery-downloaded", to: recovery.mailbox, from: from, language: language,
      values: ["mailbox": recovery.mailbox, "number": recovery.number, "officer": officer])
  }
}
