extension Catalogue {
  /// The mails: `mail_<name>_subject`, `_title` and `_body` (paragraphs with
  /// the markup of ``MailComposer``), and the sentences they choose between.
  static let mails: [String: LocalizedText] = [
    "mail_login_link_subject": .init(
      de: "Ihr Anmeldelink für S/MIME-Zertifikate", en: "Your login link for S/MIME certificates"),
    "mail_login_link_title": .init(de: "Ihr Anmeldelink", en: "Your login link"),
    "mail_login_link_body": .init(
      de: """
        Guten Tag,

        mit diesem Link melden Sie sich für das Postfach *{mailbox}* an, um ein S/MIME-Zertifikat zu beantragen:

        <{url}>

        Der Link gilt {minutes} Minuten und nur einmal. Wenn Sie ihn nicht angefordert haben, können Sie diese Nachricht ignorieren; ohne den Link kann sich niemand für Ihr Postfach anmelden.
        """,
      en: """
        Hello,

        this link signs you in for the mailbox *{mailbox}* to request an S/MIME certificate:

        <{url}>

        The link works for {minutes} minutes and only once. If you did not ask for it, you can ignore this message; without the link nobody can sign in for your mailbox.
        """),

    "mail_request_received_subject": .init(
      de: "Ihr Zertifikatsantrag {number}", en: "Your certificate request {number}"),
    "mail_request_received_title": .init(
      de: "Ihr Zertifikatsantrag", en: "Your certificate request"),
    "mail_request_received_body": .init(
      de: """
        Guten Tag,

        wir haben Ihren Antrag auf ein S/MIME-Zertifikat für *{mailbox}* erhalten.

        Antragsnummer: *{number}*

        So geht es weiter: Lassen Sie Ihre Identität mit einem Lichtbildausweis prüfen und nennen Sie dabei die Antragsnummer. {identityCheck}

        Für das Funktionspostfach „{roleName}“ zeigt die verantwortliche Person ihren Ausweis: *{responsible}*. Die Namen im Ausweis müssen diese sein.

        Statt am Service-Desk können Sie Ihren Ausweis auch in einem Videoanruf zeigen: <{videoCallURL}>

        Statt am Service-Desk können Sie Ihren Ausweis auch in einem Videoanruf zeigen; {videoAsk}

        Nach der Freigabe erhalten Sie eine E-Mail mit dem Link zur Abholung. Für die Abholung brauchen Sie die heruntergeladene *Schlüsseldatei und ihr Passwort* — bewahren Sie beides gut auf.

        [Stand des Antrags]({statusURL})
        """,
      en: """
        Hello,

        we have received your request for an S/MIME certificate for *{mailbox}*.

        Request number: *{number}*

        What happens next: have your identity checked with a photo ID and quote the request number. {identityCheck}

        For the role mailbox "{roleName}", the person responsible shows their ID: *{responsible}*. The names on the ID must be these.

        Instead of at the service desk, you can also show your ID in a video call: <{videoCallURL}>

        Instead of at the service desk, you can also show your ID in a video call; {videoAsk}

        Once approved, you will get a mail with the pickup link. For the pickup you need the *key file you downloaded and its password* — keep both safe.

        [Status of the request]({statusURL})
        """),

    "mail_request_received_video_ask": .init(
      de: "fragen Sie den Service-Desk nach einem Termin.",
      en: "ask the service desk for an appointment."),
    "mail_renewal_received_subject": .init(
      de: "Ihr Verlängerungsantrag {number}", en: "Your renewal request {number}"),
    "mail_renewal_received_title": .init(de: "Verlängerung beantragt", en: "Renewal requested"),
    "mail_renewal_received_body": .init(
      de: """
        Guten Tag,

        wir haben Ihren Antrag *{number}* auf die Verlängerung Ihres S/MIME-Zertifikats für *{mailbox}* erhalten.

        Ihre Identität wurde innerhalb der letzten 825 Tage geprüft; ein neuer Besuch am Service-Desk ist nicht nötig. {next}

        Bewahren Sie die neue Schlüsseldatei und ihr Passwort gut auf: Sie brauchen beide bei der Abholung.

        [Stand des Antrags]({statusURL})
        """,
      en: """
        Hello,

        we have received your request *{number}* to renew your S/MIME certificate for *{mailbox}*.

        Your identity was checked within the last 825 days; you do not need to visit the service desk again. {next}

        Keep the new key file and its password safe: you need both at pickup.

        [Status of the request]({statusURL})
        """),
    "mail_renewal_received_automatic": .init(
      de: "Das neue Zertifikat wird jetzt ausgestellt; Sie erhalten eine E-Mail zur Abholung.",
      en: "The new certificate is being issued now; you will get a mail to pick it up."),
    "mail_renewal_received_confirmation": .init(
      de:
        "Sobald der Service-Desk die Verlängerung bestätigt hat, erhalten Sie eine E-Mail zur Abholung.",
      en: "Once the service desk has confirmed the renewal, you will get a mail to pick it up."),

    "mail_request_rejected_subject": .init(
      de: "Ihr Zertifikatsantrag {number} wurde abgelehnt",
      en: "Your certificate request {number} was rejected"),
    "mail_request_rejected_title": .init(de: "Antrag abgelehnt", en: "Request rejected"),
    "mail_request_rejected_body": .init(
      de: """
        Guten Tag,

        Ihr Antrag *{number}* auf ein S/MIME-Zertifikat für {mailbox} wurde abgelehnt.

        Grund: {reason}

        Sie können jederzeit einen neuen Antrag stellen.
        """,
      en: """
        Hello,

        your request *{number}* for an S/MIME certificate for {mailbox} was rejected.

        Reason: {reason}

        You can make a new request at any time.
        """),

    "mail_issuance_refused_subject": .init(
      de: "Ihr Zertifikat {number} konnte nicht ausgestellt werden",
      en: "Your certificate {number} could not be issued"),
    "mail_issuance_refused_title": .init(
      de: "Zertifikat nicht ausgestellt", en: "Certificate not issued"),
    "mail_issuance_refused_body": .init(
      de: """
        Guten Tag,

        Ihr Antrag *{number}* für {mailbox} war freigegeben, aber die Zertifizierungsstelle hat das Zertifikat nicht ausgestellt.

        Grund: {reason}

        Bitte stellen Sie einen neuen Antrag; Ihr Browser erzeugt dabei einen neuen Schlüssel.
        """,
      en: """
        Hello,

        your request *{number}* for {mailbox} was approved, but the certificate authority did not issue the certificate.

        Reason: {reason}

        Please make a new request; your browser makes a new key for it.
        """),
    "mail_issuance_refused_key_taken": .init(
      de:
        "Dieser Schlüssel ist inzwischen für ein anderes Postfach zertifiziert oder als kompromittiert gesperrt.",
      en: "This key has since been certified for another mailbox or blocked as compromised."),
    "mail_issuance_refused_other": .init(
      de: "Das Zertifikat hätte die Regeln der Zertifizierungsstelle nicht erfüllt.",
      en: "The certificate would not have met the certificate authority's rules."),

    "mail_issuance_held_subject": .init(
      de: "Ihr Zertifikat {number} wartet auf eine Bestätigung Ihres Postfachs",
      en: "Your certificate {number} waits for you to confirm your mailbox"),
    "mail_issuance_held_title": .init(
      de: "Postfach bestätigen", en: "Confirm your mailbox"),
    "mail_issuance_held_body": .init(
      de: """
        Guten Tag,

        Ihr Antrag *{number}* für *{mailbox}* ist freigegeben, aber Ihr Postfach wurde vor mehr als 30 Tagen bestätigt. So lange darf sich die Zertifizierungsstelle darauf nicht verlassen (S/MIME Baseline Requirements §3.2.2).

        Bitte fordern Sie unter <{portalURL}> einen neuen Anmeldelink an und öffnen Sie ihn. Danach wird Ihr Zertifikat ausgestellt, ohne dass Sie noch etwas tun müssen.
        """,
      en: """
        Hello,

        your request *{number}* for *{mailbox}* is approved, but your mailbox was confirmed more than 30 days ago. The certificate authority may not rely on it for longer than that (S/MIME Baseline Requirements §3.2.2).

        Please ask for a new login link at <{portalURL}> and open it. Your certificate is then issued without anything more to do.
        """),

    "mail_certificate_revoked_subject": .init(
      de: "Ihr S/MIME-Zertifikat für {mailbox} wurde widerrufen",
      en: "Your S/MIME certificate for {mailbox} has been revoked"),
    "mail_certificate_revoked_title": .init(
      de: "Zertifikat widerrufen", en: "Certificate revoked"),
    "mail_certificate_revoked_body": .init(
      de: """
        Guten Tag,

        Ihr S/MIME-Zertifikat für *{mailbox}* (Seriennummer {serial}) wurde widerrufen.

        Grund: {reason}

        Mit diesem Zertifikat können Sie keine E-Mails mehr signieren; Empfänger sehen es als ungültig. Verschlüsselte E-Mails, die Sie schon haben, können Sie mit dem Schlüssel weiter lesen. Ein neues Zertifikat beantragen Sie unter <{portalURL}>.

        Wenn Sie diesen Widerruf nicht veranlasst haben, wenden Sie sich bitte an den Service-Desk.
        """,
      en: """
        Hello,

        your S/MIME certificate for *{mailbox}* (serial number {serial}) has been revoked.

        Reason: {reason}

        You can no longer sign mail with this certificate; recipients see it as invalid. Encrypted mail you already have can still be read with the key. You can request a new certificate at <{portalURL}>.

        If you did not ask for this revocation, please contact the service desk.
        """),

    "mail_recovery_requested_subject": .init(
      de: "Wiederherstellung Ihres Verschlüsselungsschlüssels beantragt ({number})",
      en: "Recovery of your encryption key asked for ({number})"),
    "mail_recovery_requested_title": .init(
      de: "Wiederherstellung beantragt", en: "Recovery asked for"),
    "mail_recovery_requested_body": .init(
      de: """
        Guten Tag,

        {asker} Ihres hinterlegten Verschlüsselungsschlüssels für *{mailbox}* beantragt (Zertifikat {serial}, Vorgang *{number}*).

        Grund: {reason}

        Erst wenn zwei verschiedene Wiederherstellungsbeauftragte zustimmen, kann der verschlüsselt hinterlegte Schlüssel zum Wiederherstellungsrechner ohne Netz gebracht werden; dort wird er mit dem Wiederherstellungsschlüssel der Organisation geöffnet. Wer den Schlüssel hat, kann an Sie verschlüsselte E-Mails lesen — Ihre Signaturen kann niemand außer Ihnen erstellen. Wir schreiben Ihnen bei jedem Schritt.

        *Wenn Sie diese Wiederherstellung nicht erwartet haben, wenden Sie sich bitte sofort an den Service-Desk.*

        [Ihr Zertifikat]({certificateURL})
        """,
      en: """
        Hello,

        {asker} of your escrowed encryption key for *{mailbox}* (certificate {serial}, case *{number}*).

        Reason: {reason}

        Only when two different recovery officers approve can the escrowed key, still encrypted, be taken to the recovery machine without network, where the organisation's recovery key opens it. Whoever has the key can read mail encrypted to you — nobody but you can make your signatures. We will write to you at each step.

        *If you did not expect this recovery, please contact the service desk at once.*

        [Your certificate]({certificateURL})
        """),
    "mail_recovery_requested_by_you": .init(
      de: "Sie haben die Wiederherstellung", en: "You have asked for the recovery"),
    "mail_recovery_requested_by_administrator": .init(
      de: "Eine Administratorin oder ein Administrator hat die Wiederherstellung",
      en: "An administrator has asked for the recovery"),

    "mail_recovery_approved_subject": .init(
      de: "Wiederherstellung {number}: Freigabe {approvals} von {needed}",
      en: "Recovery {number}: approval {approvals} of {needed}"),
    "mail_recovery_approved_title": .init(
      de: "Wiederherstellung freigegeben", en: "Recovery approved"),
    "mail_recovery_approved_body": .init(
      de: """
        Guten Tag,

        {officer} hat die Wiederherstellung *{number}* Ihres hinterlegten Verschlüsselungsschlüssels für *{mailbox}* freigegeben (Freigabe {approvals} von {needed}).

        {next}

        Wenn Sie diese Wiederherstellung nicht erwartet haben, wenden Sie sich bitte sofort an den Service-Desk.
        """,
      en: """
        Hello,

        {officer} has approved the recovery *{number}* of your escrowed encryption key for *{mailbox}* (approval {approvals} of {needed}).

        {next}

        If you did not expect this recovery, please contact the service desk at once.
        """),
    "mail_recovery_approved_waiting": .init(
      de: "Eine weitere Freigabe durch eine andere Person steht noch aus.",
      en: "Another approval, by someone else, is still needed."),
    "mail_recovery_approved_complete": .init(
      de:
        "Damit ist die Wiederherstellung freigegeben: In den nächsten {days} Tagen kann der verschlüsselt hinterlegte Schlüssel für den Wiederherstellungsrechner heruntergeladen werden. Wir schreiben Ihnen, wenn das geschieht.",
      en:
        "With this the recovery is approved: for the next {days} days the escrowed key, still encrypted, may be downloaded for the recovery machine. We will write to you when that happens."
    ),

    "mail_recovery_declined_subject": .init(
      de: "Wiederherstellung {number} abgelehnt", en: "Recovery {number} declined"),
    "mail_recovery_declined_title": .init(
      de: "Wiederherstellung abgelehnt", en: "Recovery declined"),
    "mail_recovery_declined_body": .init(
      de: """
        Guten Tag,

        die Wiederherstellung *{number}* Ihres hinterlegten Verschlüsselungsschlüssels für *{mailbox}* wurde abgelehnt.

        Grund: {reason}

        Der hinterlegte Schlüssel bleibt verschlossen.
        """,
      en: """
        Hello,

        the recovery *{number}* of your escrowed encryption key for *{mailbox}* has been declined.

        Reason: {reason}

        The escrowed key stays sealed.
        """),

    "mail_recovery_downloaded_subject": .init(
      de: "Wiederherstellung {number}: hinterlegter Schlüssel herausgegeben",
      en: "Recovery {number}: escrowed key handed out"),
    "mail_recovery_downloaded_title": .init(
      de: "Hinterlegter Schlüssel herausgegeben", en: "Escrowed key handed out"),
    "mail_recovery_downloaded_body": .init(
      de: """
        Guten Tag,

        {officer} hat für die freigegebene Wiederherstellung *{number}* Ihren hinterlegten Verschlüsselungsschlüssel für *{mailbox}* heruntergeladen — noch verschlüsselt, zum Öffnen auf dem Wiederherstellungsrechner ohne Netz.

        Wenn Sie diese Wiederherstellung nicht erwartet haben, wenden Sie sich bitte sofort an den Service-Desk.
        """,
      en: """
        Hello,

        {officer} has downloaded your escrowed encryption key for *{mailbox}* for the approved recovery *{number}* — still encrypted, to be opened on the recovery machine without network.

        If you did not expect this recovery, please contact the service desk at once.
        """),

    "mail_certificate_ready_subject": .init(
      de: "Ihr S/MIME-Zertifikat {number} ist bereit",
      en: "Your S/MIME certificate {number} is ready"),
    "mail_certificate_ready_title": .init(
      de: "Ihr Zertifikat ist bereit", en: "Your certificate is ready"),
    "mail_certificate_ready_body": .init(
      de: """
        Guten Tag,

        Ihr S/MIME-Zertifikat für *{mailbox}* ist ausgestellt.

        [Zertifikat abholen]({pickupURL})

        Sie brauchen dafür Ihre Schlüsseldatei (mailseal-{number}.key.pem) und ihr Passwort. Ihr Browser erstellt daraus eine PKCS#12-Datei für Ihr E-Mail-Programm; der Schlüssel verlässt dabei Ihren Computer nicht.

        Der Link gilt {days} Tage. Angemeldet unter <{portalURL}> finden Sie das Zertifikat jederzeit unter Ihren Anträgen.
        """,
      en: """
        Hello,

        your S/MIME certificate for *{mailbox}* has been issued.

        [Pick up the certificate]({pickupURL})

        You need your key file (mailseal-{number}.key.pem) and its password. Your browser builds a PKCS#12 file for your mail program from them; the key does not leave your computer.

        The link works for {days} days. Signed in at <{portalURL}> you find the certificate under your requests at any time.
        """),

    "mail_certificate_expiring_subject": .init(
      de: "Ihr S/MIME-Zertifikat für {mailbox} läuft am {date} ab",
      en: "Your S/MIME certificate for {mailbox} expires on {date}"),
    "mail_certificate_expiring_title": .init(
      de: "Zertifikat läuft ab", en: "Certificate expires"),
    "mail_certificate_expiring_body": .init(
      de: """
        Guten Tag,

        Ihr S/MIME-Zertifikat für *{mailbox}* (Seriennummer {serial}) läuft am {date} ab, {remaining}.

        So verlängern Sie es: Melden Sie sich unter <{portalURL}> mit einem Anmeldelink an und wählen Sie bei dem Zertifikat „Verlängern“. Ihr Browser erzeugt dabei einen neuen Schlüssel.

        {evidence}

        Alte verschlüsselte E-Mails lesen Sie weiterhin mit dem bisherigen Schlüssel; bewahren Sie ihn auf.
        """,
      en: """
        Hello,

        your S/MIME certificate for *{mailbox}* (serial number {serial}) expires on {date}, {remaining}.

        To renew it, sign in at <{portalURL}> with a login link and choose “Renew” next to the certificate. Your browser makes a new key.

        {evidence}

        Keep the current key: you still need it to read old encrypted mail.
        """),
    "mail_certificate_expiring_in_one_day": .init(de: "in einem Tag", en: "in one day"),
    "mail_certificate_expiring_in_days": .init(de: "in {days} Tagen", en: "in {days} days"),
    "mail_certificate_expiring_evidence_reusable": .init(
      de:
        "Ihre Identität wurde innerhalb der letzten 825 Tage geprüft: Ein neuer Besuch am Service-Desk ist nicht nötig.",
      en:
        "Your identity was checked within the last 825 days: you do not need to visit the service desk again."
    ),
    "mail_certificate_expiring_evidence_too_old": .init(
      de:
        "Ihre letzte Identitätsprüfung ist älter als 825 Tage: Für die Verlängerung zeigen Sie Ihren Ausweis bitte noch einmal am Service-Desk.",
      en:
        "Your last identity check is more than 825 days old: please show your ID at the service desk again for the renewal."
    ),
  ]
}
