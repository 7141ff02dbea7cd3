import Foundation
public import MailsealStore

/// The mails of the portal, in German and English, as plain text and HTML.
enum MailTemplates {
  static func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
  }

  static func html(_ language: Language, title: String, paragraphs: [String]) -> String {
    """
    <!DOCTYPE html>
    <html lang="\(language.rawValue)"><head><meta charset="utf-8"><title>\(escape(title))</title></head>
    <body style="font-family: Arial, Helvetica, sans-serif; color: #1a1a1a; line-height: 1.5; max-width: 40em">
    \(paragraphs.map { "<p>\($0)</p>" }.joined(separator: "\n"))
    </body></html>
    """
  }

  /// The login link: the only way to prove control of the mailbox.
  static func loginLink(url: String, minutes: Int, to: String, from: String, language: Language)
    -> MailMessage
  {
    switch language {
    case .de:
      return MailMessage(
        from: from, to: to, subject: "Ihr Anmeldelink für S/MIME-Zertifikate",
        text: """
          Guten Tag,

          mit diesem Link melden Sie sich für das Postfach \(to) an, um ein S/MIME-Zertifikat zu beantragen:

          \(url)

          Der Link gilt \(minutes) Minuten und nur einmal. Wenn Sie ihn nicht angefordert haben, können Sie diese Nachricht ignorieren; ohne den Link kann sich niemand für Ihr Postfach anmelden.
          """,
        html: html(
          .de, title: "Ihr Anmeldelink",
          paragraphs: [
            "Guten Tag,",
            "mit diesem Link melden Sie sich für das Postfach <strong>\(escape(to))</strong> an, um ein S/MIME-Zertifikat zu beantragen:",
            "<a href=\"\(escape(url))\">\(escape(url))</a>",
            "Der Link gilt \(minutes) Minuten und nur einmal. Wenn Sie ihn nicht angefordert haben, können Sie diese Nachricht ignorieren; ohne den Link kann sich niemand für Ihr Postfach anmelden.",
          ]),
        language: "de")
    case .en:
      return MailMessage(
        from: from, to: to, subject: "Your login link for S/MIME certificates",
        text: """
          Hello,

          this link signs you in for the mailbox \(to) to request an S/MIME certificate:

          \(url)

          The link works for \(minutes) minutes and only once. If you did not ask for it, you can ignore this message; without the link nobody can sign in for your mailbox.
          """,
        html: html(
          .en, title: "Your login link",
          paragraphs: [
            "Hello,",
            "this link signs you in for the mailbox <strong>\(escape(to))</strong> to request an S/MIME certificate:",
            "<a href=\"\(escape(url))\">\(escape(url))</a>",
            "The link works for \(minutes) minutes and only once. If you did not ask for it, you can ignore this message; without the link nobody can sign in for your mailbox.",
          ]),
        language: "en")
    }
  }

  /// The confirmation of a request: its number and what happens next.
  static func requestReceived(
    _ request: CertificateRequestRecord, identityCheck: String, videoCallURL: String?,
    portalURL: String, from: String,
    language: Language
  ) -> MailMessage {
    let statusURL = "\(portalURL)/requests/\(request.number)"
    switch language {
    case .de:
      let video =
        videoCallURL.map {
          "\nStatt am Service-Desk können Sie Ihren Ausweis auch in einem Videotermin zeigen: \($0)\n"
        } ?? ""
      let videoHTML = videoCallURL.map {
        "Statt am Service-Desk können Sie Ihren Ausweis auch in einem <a href=\"\(escape($0))\">Videotermin</a> zeigen."
      }
      return MailMessage(
        from: from, to: request.mailbox, subject: "Ihr Zertifikatsantrag \(request.number)",
        text: """
          Guten Tag,

          wir haben Ihren Antrag auf ein S/MIME-Zertifikat für \(request.mailbox) erhalten.

          Antragsnummer: \(request.number)

          So geht es weiter: Lassen Sie Ihre Identität mit einem Lichtbildausweis prüfen und nennen Sie dabei die Antragsnummer.
          \(identityCheck)
          \(video)
          Nach der Freigabe erhalten Sie eine E-Mail mit dem Link zur Abholung. Für die Abholung brauchen Sie die heruntergeladene Schlüsseldatei und ihr Passwort — bewahren Sie beides gut auf.

          Stand des Antrags: \(statusURL)
          """,
        html: html(
          .de, title: "Ihr Zertifikatsantrag",
          paragraphs: [
            "Guten Tag,",
            "wir haben Ihren Antrag auf ein S/MIME-Zertifikat für <strong>\(escape(request.mailbox))</strong> erhalten.",
            "Antragsnummer: <strong>\(escape(request.number))</strong>",
            "So geht es weiter: Lassen Sie Ihre Identität mit einem Lichtbildausweis prüfen und nennen Sie dabei die Antragsnummer. \(escape(identityCheck))",
          ] + (videoHTML.map { [$0] } ?? []) + [
            "Nach der Freigabe erhalten Sie eine E-Mail mit dem Link zur Abholung. Für die Abholung brauchen Sie die heruntergeladene <strong>Schlüsseldatei und ihr Passwort</strong> — bewahren Sie beides gut auf.",
            "<a href=\"\(escape(statusURL))\">Stand des Antrags</a>",
          ]),
        language: "de")
    case .en:
      let video =
        videoCallURL.map {
          "\nInstead of at the service desk, you can also show your ID in a video call: \($0)\n"
        } ?? ""
      let videoHTML = videoCallURL.map {
        "Instead of at the service desk, you can also show your ID in a <a href=\"\(escape($0))\">video call</a>."
      }
      return MailMessage(
        from: from, to: request.mailbox, subject: "Your certificate request \(request.number)",
        text: """
          Hello,

          we have received your request for an S/MIME certificate for \(request.mailbox).

          Request number: \(request.number)

          What happens next: have your identity checked with a photo ID and quote the request number.
          \(identityCheck)
          \(video)
          Once approved, you will get a mail with the pickup link. For the pickup you need the key file you downloaded and its password — keep both safe.

          Status of the request: \(statusURL)
          """,
        html: html(
          .en, title: "Your certificate request",
          paragraphs: [
            "Hello,",
            "we have received your request for an S/MIME certificate for <strong>\(escape(request.mailbox))</strong>.",
            "Request number: <strong>\(escape(request.number))</strong>",
            "What happens next: have your identity checked with a photo ID and quote the request number. \(escape(identityCheck))",
          ] + (videoHTML.map { [$0] } ?? []) + [
            "Once approved, you will get a mail with the pickup link. For the pickup you need the <strong>key file you downloaded and its password</strong> — keep both safe.",
            "<a href=\"\(escape(statusURL))\">Status of the request</a>",
          ]),
        language: "en")
    }
  }

  /// A rejection, with the operator's reason.
  static func requestRejected(
    _ request: CertificateRequestRecord, reason: String, from: String, language: Language
  ) -> MailMessage {
    switch language {
    case .de:
      return MailMessage(
        from: from, to: request.mailbox,
        subject: "Ihr Zertifikatsantrag \(request.number) wurde abgelehnt",
        text:
          "Guten Tag,\n\nIhr Antrag \(request.number) auf ein S/MIME-Zertifikat für \(request.mailbox) wurde abgelehnt.\n\nGrund: \(reason)\n\nSie können jederzeit einen neuen Antrag stellen.",
        html: html(
          .de, title: "Antrag abgelehnt",
          paragraphs: [
            "Guten Tag,",
            "Ihr Antrag <strong>\(escape(request.number))</strong> auf ein S/MIME-Zertifikat für \(escape(request.mailbox)) wurde abgelehnt.",
            "Grund: \(escape(reason))", "Sie können jederzeit einen neuen Antrag stellen.",
          ]),
        language: "de")
    case .en:
      return MailMessage(
        from: from, to: request.mailbox,
        subject: "Your certificate request \(request.number) was rejected",
        text:
          "Hello,\n\nyour request \(request.number) for an S/MIME certificate for \(request.mailbox) was rejected.\n\nReason: \(reason)\n\nYou can make a new request at any time.",
        html: html(
          .en, title: "Request rejected",
          paragraphs: [
            "Hello,",
            "your request <strong>\(escape(request.number))</strong> for an S/MIME certificate for \(escape(request.mailbox)) was rejected.",
            "Reason: \(escape(reason))", "You can make a new request at any time.",
          ]),
        language: "en")
    }
  }

  /// A certificate was revoked: which one, why, and what now.
  static func certificateRevoked(
    _ certificate: CertificateRecord, reason: String, portalURL: String, from: String,
    language: Language
  ) -> MailMessage {
    let serial = certificate.serial.uppercased()
    switch language {
    case .de:
      return MailMessage(
        from: from, to: certificate.mailbox,
        subject: "Ihr S/MIME-Zertifikat für \(certificate.mailbox) wurde widerrufen",
        text: """
          Guten Tag,

          Ihr S/MIME-Zertifikat für \(certificate.mailbox) (Seriennummer \(serial)) wurde widerrufen.

          Grund: \(reason)

          Mit diesem Zertifikat können Sie keine E-Mails mehr signieren; Empfänger sehen es als ungültig. Verschlüsselte E-Mails, die Sie schon haben, können Sie mit dem Schlüssel weiter lesen. Ein neues Zertifikat beantragen Sie unter \(portalURL).

          Wenn Sie diesen Widerruf nicht veranlasst haben, wenden Sie sich bitte an den Service-Desk.
          """,
        html: html(
          .de, title: "Zertifikat widerrufen",
          paragraphs: [
            "Guten Tag,",
            "Ihr S/MIME-Zertifikat für <strong>\(escape(certificate.mailbox))</strong> (Seriennummer \(escape(serial))) wurde widerrufen.",
            "Grund: \(escape(reason))",
            "Mit diesem Zertifikat können Sie keine E-Mails mehr signieren; Empfänger sehen es als ungültig. Verschlüsselte E-Mails, die Sie schon haben, können Sie mit dem Schlüssel weiter lesen. Ein neues Zertifikat beantragen Sie unter <a href=\"\(escape(portalURL))\">\(escape(portalURL))</a>.",
            "Wenn Sie diesen Widerruf nicht veranlasst haben, wenden Sie sich bitte an den Service-Desk.",
          ]),
        language: "de")
    case .en:
      return MailMessage(
        from: from, to: certificate.mailbox,
        subject: "Your S/MIME certificate for \(certificate.mailbox) has been revoked",
        text: """
          Hello,

          your S/MIME certificate for \(certificate.mailbox) (serial number \(serial)) has been revoked.

          Reason: \(reason)

          You can no longer sign mail with this certificate; recipients see it as invalid. Encrypted mail you already have can still be read with the key. You can request a new certificate at \(portalURL).

          If you did not ask for this revocation, please contact the service desk.
          """,
        html: html(
          .en, title: "Certificate revoked",
          paragraphs: [
            "Hello,",
            "your S/MIME certificate for <strong>\(escape(certificate.mailbox))</strong> (serial number \(escape(serial))) has been revoked.",
            "Reason: \(escape(reason))",
            "You can no longer sign mail with this certificate; recipients see it as invalid. Encrypted mail you already have can still be read with the key. You can request a new certificate at <a href=\"\(escape(portalURL))\">\(escape(portalURL))</a>.",
            "If you did not ask for this revocation, please contact the service desk.",
          ]),
        language: "en")
    }
  }

  /// The certificate is ready: the pickup link.
  static func certificateReady(
    number: String, mailbox: String, pickupURL: String, days: Int, portalURL: String,
    from: String, language: Language
  ) -> MailMessage {
    switch language {
    case .de:
      return MailMessage(
        from: from, to: mailbox,
        subject: "Ihr S/MIME-Zertifikat \(number) ist bereit",
        text: """
          Guten Tag,

          Ihr S/MIME-Zertifikat für \(mailbox) ist ausgestellt. Holen Sie es hier ab:

          \(pickupURL)

          Sie brauchen dafür Ihre Schlüsseldatei (mailseal-\(number).key.pem) und ihr Passwort. Ihr Browser erstellt daraus eine PKCS#12-Datei für Ihr E-Mail-Programm; der Schlüssel verlässt dabei Ihren Computer nicht.

          Der Link gilt \(days) Tage. Angemeldet über \(portalURL) finden Sie das Zertifikat jederzeit unter Ihren Anträgen.
          """,
        html: html(
          .de, title: "Ihr Zertifikat ist bereit",
          paragraphs: [
            "Guten Tag,",
            "Ihr S/MIME-Zertifikat für <strong>\(escape(mailbox))</strong> ist ausgestellt.",
            "<a href=\"\(escape(pickupURL))\">Zertifikat abholen</a>",
            "Sie brauchen dafür Ihre Schlüsseldatei (mailseal-\(escape(number)).key.pem) und ihr Passwort. Ihr Browser erstellt daraus eine PKCS#12-Datei für Ihr E-Mail-Programm; der Schlüssel verlässt dabei Ihren Computer nicht.",
            "Der Link gilt \(days) Tage. Angemeldet finden Sie das Zertifikat jederzeit unter Ihren Anträgen.",
          ]),
        language: "de")
    case .en:
      return MailMessage(
        from: from, to: mailbox,
        subject: "Your S/MIME certificate \(number) is ready",
        text: """
          Hello,

          your S/MIME certificate for \(mailbox) has been issued. Pick it up here:

          \(pickupURL)

          You need your key file (mailseal-\(number).key.pem) and its password. Your browser builds a PKCS#12 file for your mail program from them; the key does not leave your computer.

          The link works for \(days) days. Signed in at \(portalURL) you find the certificate under your requests at any time.
          """,
        html: html(
          .en, title: "Your certificate is ready",
          paragraphs: [
            "Hello,",
            "your S/MIME certificate for <strong>\(escape(mailbox))</strong> has been issued.",
            "<a href=\"\(escape(pickupURL))\">Pick up the certificate</a>",
            "You need your key file (mailseal-\(escape(number)).key.pem) and its password. Your browser builds a PKCS#12 file for your mail program from them; the key does not leave your computer.",
            "The link works for \(days) days. Signed in, you find the certificate under your requests at any time.",
          ]),
        language: "en")
    }
  }
}
