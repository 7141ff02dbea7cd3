import Foundation
public import MailsealStore

extension MailTemplates {
  /// A mail whose plain text and HTML say the same paragraphs; an address
  /// in a paragraph becomes a link in the HTML.
  static func paragraphs(
    from: String, to: String, subject: String, title: String, _ paragraphs: [String],
    language: Language
  ) -> MailMessage {
    let linked = paragraphs.map { paragraph in
      escape(paragraph).replacing(#/https?://[^\s<>"]+[^\s<>".,;:)]/#) { match in
        "<a href=\"\(match.output)\">\(match.output)</a>"
      }
    }
    return MailMessage(
      from: from, to: to, subject: subject, text: paragraphs.joined(separator: "\n\n"),
      html: html(language, title: title, paragraphs: linked), language: language.rawValue)
  }

  /// A renewal request that reuses the identity evidence: no desk visit.
  static func renewalReceived(
    _ request: CertificateRequestRecord, automatic: Bool, portalURL: String, from: String,
    language: Language
  ) -> MailMessage {
    let statusURL = "\(portalURL)/requests/\(request.number)"
    switch language {
    case .de:
      return paragraphs(
        from: from, to: request.mailbox,
        subject: "Ihr Verlängerungsantrag \(request.number)", title: "Verlängerung beantragt",
        [
          "Guten Tag,",
          "wir haben Ihren Antrag \(request.number) auf die Verlängerung Ihres S/MIME-Zertifikats für \(request.mailbox) erhalten.",
          "Ihre Identität wurde innerhalb der letzten 825 Tage geprüft; ein neuer Besuch am Service-Desk ist nicht nötig. "
            + (automatic
              ? "Das neue Zertifikat wird jetzt ausgestellt; Sie erhalten eine E-Mail zur Abholung."
              : "Sobald der Service-Desk die Verlängerung bestätigt hat, erhalten Sie eine E-Mail zur Abholung."),
          "Bewahren Sie die neue Schlüsseldatei und ihr Passwort gut auf: Sie brauchen beide bei der Abholung.",
          "Stand des Antrags: \(statusURL)",
        ], language: .de)
    case .en:
      return paragraphs(
        from: from, to: request.mailbox,
        subject: "Your renewal request \(request.number)", title: "Renewal requested",
        [
          "Hello,",
          "we have received your request \(request.number) to renew your S/MIME certificate for \(request.mailbox).",
          "Your identity was checked within the last 825 days; you do not need to visit the service desk again. "
            + (automatic
              ? "The new certificate is being issued now; you will get a mail to pick it up."
              : "Once the service desk has confirmed the renewal, you will get a mail to pick it up."),
          "Keep the new key file and its password safe: you need both at pickup.",
          "Status of the request: \(statusURL)",
        ], language: .en)
    }
  }

  /// A certificate expires soon: how to renew it.
  static func certificateExpiring(
    serial: String, mailbox: String, notAfter: Date, days: Int, evidenceReusable: Bool,
    portalURL: String, from: String, language: Language
  ) -> MailMessage {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: language == .de ? "de_DE" : "en_GB")
    formatter.dateStyle = .long
    formatter.timeZone = TimeZone(identifier: "Europe/Berlin")
    let date = formatter.string(from: notAfter)
    let serialText = serial.uppercased()
    switch language {
    case .de:
      return paragraphs(
        from: from, to: mailbox,
        subject: "Ihr S/MIME-Zertifikat für \(mailbox) läuft am \(date) ab",
        title: "Zertifikat läuft ab",
        [
          "Guten Tag,",
          "Ihr S/MIME-Zertifikat für \(mailbox) (Seriennummer \(serialText)) läuft am \(date) ab, in \(days) Tag\(days == 1 ? "" : "en").",
          "So verlängern Sie es: Melden Sie sich unter \(portalURL) mit einem Anmeldelink an und wählen Sie bei dem Zertifikat „Verlängern“. Ihr Browser erzeugt dabei einen neuen Schlüssel.",
          evidenceReusable
            ? "Ihre Identität wurde innerhalb der letzten 825 Tage geprüft: Ein neuer Besuch am Service-Desk ist nicht nötig."
            : "Ihre letzte Identitätsprüfung ist älter als 825 Tage: Für die Verlängerung zeigen Sie Ihren Ausweis bitte noch einmal am Service-Desk.",
          "Alte verschlüsselte E-Mails lesen Sie weiterhin mit dem bisherigen Schlüssel; bewahren Sie ihn auf.",
        ], language: .de)
    case .en:
      return paragraphs(
        from: from, to: mailbox,
        subject: "Your S/MIME certificate for \(mailbox) expires on \(date)",
        title: "Certificate expires",
        [
          "Hello,",
          "your S/MIME certificate for \(mailbox) (serial number \(serialText)) expires on \(date), in \(days) day\(days == 1 ? "" : "s").",
          "To renew it, sign in at \(portalURL) with a login link and choose “Renew” next to the certificate. Your browser makes a new key.",
          evidenceReusable
            ? "Your identity was checked within the last 825 days: you do not need to visit the service desk again."
            : "Your last identity check is more than 825 days old: please show your ID at the service desk again for the renewal.",
          "Keep the current key: you still need it to read old encrypted mail.",
        ], language: .en)
    }
  }
}
