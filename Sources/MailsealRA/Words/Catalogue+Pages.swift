extension Catalogue {
  /// The words of the pages. Templates read them as `#(t.key)`; keys are
  /// stable and named after where they appear.
  static let pages: [String: LocalizedText] = [
    "app_name": .init(de: "S/MIME-Zertifikate", en: "S/MIME certificates"),
    "app_tagline": .init(
      de: "Zertifikate zum Signieren und Verschlüsseln von E-Mail",
      en: "Certificates to sign and encrypt mail"),
    "switch_language": .init(de: "English", en: "Deutsch"),
    "signed_in_as": .init(de: "Angemeldet für", en: "Signed in for"),
    "sign_out": .init(de: "Abmelden", en: "Sign out"),
    "skip_to_content": .init(de: "Zum Inhalt springen", en: "Skip to content"),
    "footer": .init(
      de: "Der private Schlüssel verlässt nie Ihren Computer.",
      en: "The private key never leaves your computer."),
    // Start page
    "start_title": .init(de: "S/MIME-Zertifikat beantragen", en: "Request an S/MIME certificate"),
    "start_intro": .init(
      de:
        "Mit einem S/MIME-Zertifikat signieren Sie Ihre E-Mails und können verschlüsselte E-Mails empfangen. Geben Sie zuerst die Adresse des Postfachs an, für das Sie das Zertifikat brauchen: Wir schicken Ihnen einen Anmeldelink.",
      en:
        "With an S/MIME certificate you sign your mail and can receive encrypted mail. First enter the address of the mailbox you need the certificate for: we will send you a login link."
    ),
    "start_steps": .init(
      de:
        "So geht es: Anmeldelink öffnen · Angaben machen und Schlüssel im Browser erzeugen · Ausweis am Service-Desk zeigen · Zertifikat abholen.",
      en:
        "How it works: open the login link · fill in the form and make the key in your browser · show your ID at the service desk · pick up the certificate."
    ),
    "address_label": .init(de: "E-Mail-Adresse", en: "Mail address"),
    "address_hint": .init(
      de: "Zum Beispiel vorname.nachname@example.edu",
      en: "For example firstname.lastname@example.edu"),
    "send_link": .init(de: "Anmeldelink senden", en: "Send login link"),
    "on_desktop": .init(
      de: "Ich bin an einem Desktop-Computer", en: "I am on a desktop computer"),
    "desktop_only_title": .init(
      de: "Bitte einen Desktop-Browser verwenden", en: "Please use a desktop browser"),
    "desktop_only": .init(
      de:
        "Anträge werden an einem Computer mit Chrome, Edge, Firefox oder Safari gestellt: Dort entsteht Ihr Schlüssel, und dort brauchen Sie ihn später für Ihr E-Mail-Programm. Bitte öffnen Sie diese Seite an Ihrem Computer.",
      en:
        "Requests are made on a computer with Chrome, Edge, Firefox or Safari: that is where your key is made, and where your mail program needs it later. Please open this page on your computer."
    ),
    // Link sent
    "link_sent_title": .init(de: "Bitte prüfen Sie Ihr Postfach", en: "Please check your mailbox"),
    "link_sent": .init(
      de:
        "Wenn die Adresse zu einer zugelassenen Domain gehört, ist ein Anmeldelink unterwegs. Er gilt nur einmal und nur kurze Zeit. Kommt nichts an, sehen Sie bitte auch im Spam-Ordner nach.",
      en:
        "If the address belongs to an allowed domain, a login link is on its way. It works once and only for a short time. If nothing arrives, please also look in your spam folder."
    ),
    "back_to_start": .init(de: "Zurück zum Start", en: "Back to the start"),
    // Error page
    "error_title": .init(de: "Das hat nicht geklappt", en: "That did not work"),
    "request_new_link": .init(de: "Neuen Anmeldelink anfordern", en: "Request a new login link"),
    // Requests
    "requests_title": .init(de: "Ihre Anträge", en: "Your requests"),
    "requests_empty": .init(
      de: "Für dieses Postfach gibt es noch keinen Antrag.",
      en: "There is no request for this mailbox yet."),
    "new_request": .init(de: "Neuen Antrag stellen", en: "Make a new request"),
    "number": .init(de: "Nummer", en: "Number"),
    "created": .init(de: "Gestellt", en: "Made"),
    "state": .init(de: "Stand", en: "State"),
    "name": .init(de: "Name", en: "Name"),
    "withdraw": .init(de: "Zurückziehen", en: "Withdraw"),
    "state_submitted": .init(
      de: "Eingegangen – Ausweisprüfung ausstehend", en: "Received – identity check pending"),
    "state_verified": .init(de: "Identität geprüft", en: "Identity checked"),
    "state_approved": .init(de: "Freigegeben – wird ausgestellt", en: "Approved – being issued"),
    "state_approved_paused": .init(
      de: "Freigegeben – wartet: die Ausstellung ist unterbrochen",
      en: "Approved – waiting: issuance is paused"),
    "state_approved_held": .init(
      de: "Freigegeben – wartet: bitte Postfach mit einem neuen Anmeldelink bestätigen",
      en: "Approved – waiting: please confirm the mailbox with a new login link"),
    "state_approved_upstream": .init(
      de: "Freigegeben – wartet auf die Zertifizierungsstelle",
      en: "Approved – waiting for the certificate authority"),
    "state_approved_upstream_held": .init(
      de: "Freigegeben – wird von der Administration geprüft",
      en: "Approved – being checked by an administrator"),
    "state_approved_any": .init(de: "Freigegeben", en: "Approved"),
    "state_issued": .init(de: "Ausgestellt", en: "Issued"),
    "state_rejected": .init(de: "Abgelehnt", en: "Rejected"),
    "state_withdrawn": .init(de: "Zurückgezogen", en: "Withdrawn"),
    "state_expired": .init(de: "Abgelaufen", en: "Expired"),
    // The form
    "form_title": .init(de: "Neuer Antrag", en: "New request"),
    "escrow_title": .init(de: "Schlüsselhinterlegung", en: "Key escrow"),
    "escrow_explained": .init(
      de:
        "Mit Hinterlegung erzeugt Ihr Browser zwei Schlüssel: einen zum Signieren, der nur bei Ihnen bleibt, und einen zum Verschlüsseln. Den Verschlüsselungsschlüssel verschlüsselt Ihr Browser für den Wiederherstellungsschlüssel der Organisation, bevor etwas Ihren Computer verlässt; das Portal kann ihn nicht öffnen. Verlieren Sie Ihre Schlüsseldatei oder das Passwort, oder verlassen Sie die Organisation, können die Verwahrer des Wiederherstellungsschlüssels der Organisation (in der Regel mehrere Personen gemeinsam, auf einem Rechner ohne Netz) Ihren Verschlüsselungsschlüssel wiederherstellen – und damit an Sie verschlüsselte E-Mails lesen. Eine Wiederherstellung beantragen Sie selbst (oder, wenn Sie ausgeschieden sind, die Administration) mit Begründung; zwei Wiederherstellungsbeauftragte müssen zustimmen, und Sie erhalten bei jedem Schritt eine E-Mail. Ihre Signaturen kann niemand außer Ihnen erstellen.",
      en:
        "With escrow your browser makes two keys: a signing key that stays with you alone, and an encryption key. Your browser encrypts the encryption key for the organisation's recovery key before anything leaves your computer; the portal cannot open it. If you lose your key file or its password, or leave the organisation, the holders of the organisation's recovery key (usually several people together, on a machine without network) can recover your encryption key – and with it read mail encrypted to you. A recovery is asked for by you (or, once you have left, by an administrator) with a reason; two recovery officers must approve it, and you get a mail at each step. Nobody but you can make your signatures."
    ),
    "escrow_choice_none": .init(
      de:
        "Ein Schlüssel für Signatur und Verschlüsselung, nicht hinterlegt (geht die Schlüsseldatei verloren, sind an Sie verschlüsselte E-Mails nicht mehr lesbar)",
      en:
        "One key for signing and encryption, not escrowed (if the key file is lost, mail encrypted to you can no longer be read)"
    ),
    "purpose": .init(de: "Verwendung", en: "Use"),
    "purpose_signing": .init(de: "nur Signatur", en: "signing only"),
    "purpose_encryption": .init(
      de: "nur Verschlüsselung, Schlüssel hinterlegt", en: "encryption only, key escrowed"),
    "escrow_consented": .init(
      de: "Verschlüsselungsschlüssel hinterlegt; zugestimmt am",
      en: "Encryption key escrowed; consented on"),
    "desk_encryption_fingerprint": .init(
      de: "Verschlüsselungsschlüssel (SHA-256):", en: "Encryption key (SHA-256):"),
    "escrow_choice_escrow": .init(
      de: "Zwei Schlüssel, der Verschlüsselungsschlüssel hinterlegt",
      en: "Two keys, the encryption key escrowed"),
    "escrow_required_note": .init(
      de:
        "Ihre Organisation hinterlegt Verschlüsselungsschlüssel: Ihr Browser erzeugt zwei Schlüssel.",
      en: "Your organisation escrows encryption keys: your browser makes two keys."),
    "escrow_consent": .init(
      de: "Ich stimme zu, dass mein Verschlüsselungsschlüssel wie beschrieben hinterlegt wird.",
      en: "I agree that my encryption key is escrowed as described."),
    "escrow_sealed_to": .init(
      de:
        "Ihr Browser verschlüsselt für die Wiederherstellungszertifikate mit den Fingerabdrücken (SHA-256, Anfang):",
      en:
        "Your browser encrypts to the recovery certificates with the fingerprints (SHA-256, start):"
    ),
    "escrow_stopped_required": .init(
      de:
        "Die Schlüsselhinterlegung ist zurzeit angehalten, und Ihre Organisation stellt Zertifikate nur mit hinterlegtem Verschlüsselungsschlüssel aus: Ein Antrag ist im Moment nicht möglich. Die Administration ist informiert; bitte versuchen Sie es später noch einmal.",
      en:
        "Key escrow is stopped for now, and your organisation issues certificates only with an escrowed encryption key: no request can be made at the moment. The administrators have been told; please try again later."
    ),
    "escrow_stopped_optional": .init(
      de:
        "Die Schlüsselhinterlegung ist zurzeit angehalten: Sie können einen Schlüssel ohne Hinterlegung beantragen oder es später noch einmal versuchen.",
      en:
        "Key escrow is stopped for now: you can ask for one key without escrow, or try again later."
    ),
    "js_escrow_pin_mismatch": .init(
      de:
        "Die Wiederherstellungszertifikate dieser Seite stimmen nicht mit den konfigurierten Fingerabdrücken überein; Ihr Schlüssel wurde für niemanden verschlüsselt und nichts gesendet. Bitte melden Sie das dem Service-Desk.",
      en:
        "The recovery certificates of this page do not match the configured fingerprints; your key was encrypted for nobody and nothing was sent. Please report this to the service desk."
    ),
    "js_escrow_consent": .init(
      de:
        "Bitte stimmen Sie der Hinterlegung zu oder wählen Sie einen Schlüssel ohne Hinterlegung.",
      en: "Please agree to the escrow, or choose one key without escrow."),
    "signing_certificate": .init(de: "Signaturzertifikat", en: "Signing certificate"),
    "encryption_certificate": .init(de: "Verschlüsselungszertifikat", en: "Encryption certificate"),
    "escrowed_note": .init(
      de:
        "Der Schlüssel dieses Zertifikats ist hinterlegt; die PKCS#12-Datei enthält beide Schlüssel.",
      en: "This certificate's key is escrowed; the PKCS#12 file holds both keys."),
    "mailbox_type": .init(de: "Art des Postfachs", en: "Type of mailbox"),
    "type_personal": .init(de: "Persönliches Postfach", en: "Personal mailbox"),
    "type_personal_when": .init(
      de: "Ihr eigenes Postfach, das nur Sie benutzen. Das Zertifikat nennt Ihren Namen.",
      en: "Your own mailbox that only you use. The certificate names you."),
    "type_role": .init(de: "Funktions- oder Gruppenpostfach", en: "Role or group mailbox"),
    "type_role_when": .init(
      de:
        "Ein Postfach, das Sie für eine Funktion betreuen (z. B. sekretariat@…). Das Zertifikat nennt die Funktion.",
      en:
        "A mailbox you look after for a function (e.g. secretariat@…). The certificate names the function."
    ),
    "given_name": .init(de: "Vorname(n)", en: "Given name(s)"),
    "surname": .init(de: "Nachname", en: "Surname"),
    "names_hint": .init(
      de: "Wie in Ihrem Ausweis. Sie werden am Service-Desk verglichen.",
      en: "As in your ID. They are compared at the service desk."),
    "responsible_title": .init(
      de: "Verantwortliche Person (Sie)", en: "The person responsible (you)"),
    "responsible_hint": .init(
      de:
        "Ihr Name wie in Ihrem Lichtbildausweis: Der Service-Desk prüft Ihren Ausweis, weil Sie für das Postfach verantwortlich sind. Ihr Name steht nicht im Zertifikat.",
      en:
        "Your name as on your photo ID: the service desk checks your ID because you are responsible for the mailbox. Your name does not appear in the certificate."
    ),
    "renewal_responsible": .init(
      de:
        "Wenn Sie nicht die zuletzt geprüfte Person sind, prüft der Service-Desk Ihren Ausweis.",
      en: "If you are not the person checked last time, the service desk checks your ID."),
    "common_name": .init(de: "Name des Postfachs", en: "Name of the mailbox"),
    "common_name_hint": .init(
      de:
        "In natürlicher Sprache, z. B. „Sekretariat des Rechenzentrums“. Empfänger sehen ihn als Absender.",
      en:
        "In natural language, e.g. “Secretariat of the Computing Centre”. Recipients see it as the sender."
    ),
    "key_type": .init(de: "Schlüsseltyp", en: "Key type"),
    "key_rsa3072": .init(de: "RSA 3072 (empfohlen)", en: "RSA 3072 (recommended)"),
    "key_rsa4096": .init(de: "RSA 4096", en: "RSA 4096"),
    "key_p256": .init(de: "ECDSA P-256", en: "ECDSA P-256"),
    "key_p256_note": .init(
      de: "Manche E-Mail-Programme können an EC-Schlüssel nicht verschlüsseln.",
      en: "Some mail programs cannot encrypt to EC keys."),
    "password": .init(de: "Passwort für die Schlüsseldatei", en: "Password for the key file"),
    "password_repeat": .init(de: "Passwort wiederholen", en: "Repeat the password"),
    "password_rules": .init(
      de:
        "Mindestens 12 Zeichen; kein bekanntes Passwort, kein wiederholtes Zeichen, keine Folge wie abcdef oder 123456, nicht der Name des Postfachs. Sie brauchen es bei der Abholung wieder; es wird nirgends gespeichert und nie übertragen.",
      en:
        "At least 12 characters; not a well-known password, not one character repeated, not a run such as abcdef or 123456, not the mailbox's name. You need it again at pickup; it is stored nowhere and never sent."
    ),
    "strength": .init(de: "Stärke", en: "Strength"),
    "next": .init(de: "Weiter: Schlüssel erzeugen", en: "Next: make the key"),
    "working": .init(
      de: "Ihr Browser erzeugt den Schlüssel …", en: "Your browser is making the key …"),
    "download_key": .init(de: "Schlüsseldatei speichern", en: "Save the key file"),
    "keep_key": .init(
      de:
        "Bewahren Sie die Schlüsseldatei und ihr Passwort gut auf: Ohne beides können Sie das Zertifikat nicht abholen, und niemand kann sie wiederherstellen.",
      en:
        "Keep the key file and its password safe: without both you cannot pick up the certificate, and nobody can recover them."
    ),
    "no_webcrypto": .init(
      de:
        "Ihr Browser kann hier keine Schlüssel erzeugen (WebCrypto fehlt oder die Seite ist nicht über eine sichere Verbindung geöffnet). Bitte verwenden Sie eine aktuelle Version von Chrome, Edge, Firefox oder Safari über https.",
      en:
        "Your browser cannot make keys here (WebCrypto is missing, or the page is not opened over a secure connection). Please use a current Chrome, Edge, Firefox or Safari over https."
    ),
    "scripts_needed": .init(
      de: "Für diesen Schritt braucht Ihr Browser JavaScript.",
      en: "Your browser needs JavaScript for this step."),
    // Confirmation
    "request_title": .init(de: "Antrag", en: "Request"),
    "confirmation_title": .init(
      de: "Ihr Antrag ist eingegangen", en: "Your request has been received"),
    "next_steps": .init(de: "So geht es weiter", en: "What happens next"),
    "show_id": .init(
      de:
        "Lassen Sie Ihre Identität mit einem Lichtbildausweis prüfen und nennen Sie die Antragsnummer.",
      en: "Have your identity checked with a photo ID and quote the request number."),
    "video_call": .init(de: "Videotermin buchen", en: "Book a video call"),
    "id_in_person": .init(de: "Persönlich am Service-Desk:", en: "In person at the service desk:"),
    "id_by_video": .init(de: "Oder per Videoanruf:", en: "Or by video call:"),
    "video_call_ask": .init(
      de: "Fragen Sie den Service-Desk nach einem Termin.",
      en: "Ask the service desk for an appointment."),
    "pickup_needs": .init(
      de: "Für die Abholung brauchen Sie die Schlüsseldatei und ihr Passwort.",
      en: "For the pickup you need the key file and its password."),
    "all_requests": .init(de: "Alle Anträge", en: "All requests"),
    "pickup": .init(de: "Zertifikat abholen", en: "Pick up the certificate"),
    "pickup_title": .init(de: "Ihr Zertifikat abholen", en: "Pick up your certificate"),
    "pickup_intro": .init(
      de:
        "Laden Sie Ihre Schlüsseldatei und geben Sie ihr Passwort ein. Ihr Browser prüft, ob der Schlüssel zum Zertifikat gehört, und erstellt daraus eine PKCS#12-Datei. Der Schlüssel verlässt dabei nie Ihren Computer.",
      en:
        "Load your key file and enter its password. Your browser checks that the key belongs to the certificate and builds a PKCS#12 file from them. The key never leaves your computer."
    ),
    "serial": .init(de: "Seriennummer", en: "Serial number"),
    "valid_from": .init(de: "Gültig ab", en: "Valid from"),
    "valid_until": .init(de: "Gültig bis", en: "Valid until"),
    "fingerprint": .init(de: "Fingerabdruck (SHA-256)", en: "Fingerprint (SHA-256)"),
    "issuer": .init(de: "Aussteller", en: "Issuer"),
    "issuer_full": .init(de: "Vollständiger Name", en: "Full name"),
    "key_file": .init(de: "Schlüsseldatei", en: "Key file"),
    "key_password": .init(
      de: "Passwort der Schlüsseldatei (schützt auch die PKCS#12-Datei)",
      en: "Password of the key file (also protects the PKCS#12 file)"),
    "encoding": .init(de: "Format", en: "Format"),
    "encoding_compatible": .init(de: "Kompatibel (empfohlen)", en: "Compatible (recommended)"),
    "encoding_compatible_note": .init(
      de:
        "Wird von allen E-Mail-Programmen gelesen, auch von älterem Windows, macOS-Schlüsselbund, Android und Adobe (Triple-DES, SHA-1-MAC).",
      en:
        "Read by every mail program, including older Windows, macOS Keychain, Android and Adobe (Triple DES, SHA-1 MAC)."
    ),
    "encoding_modern": .init(de: "Modern", en: "Modern"),
    "encoding_modern_note": .init(
      de:
        "AES-256 und SHA-256, wie OpenSSL 3 es schreibt; für aktuelle Systeme (Windows 10 ab 1709, Thunderbird, aktuelles macOS).",
      en:
        "AES-256 and SHA-256, as OpenSSL 3 writes it; for current systems (Windows 10 from 1709, Thunderbird, current macOS)."
    ),
    "build_p12": .init(de: "Zertifikat herunterladen", en: "Download certificate"),
    "building": .init(
      de: "Ihr Browser erstellt die Datei …", en: "Your browser is building the file …"),
    "download_p12": .init(de: "PKCS#12-Datei speichern", en: "Save the PKCS#12 file"),
    "p12_done": .init(
      de: "Fertig. Importieren Sie die Datei in Ihr E-Mail-Programm.",
      en: "Done. Import the file into your mail program."),
    "backup_advice": .init(
      de:
        "Sichern Sie die PKCS#12-Datei und ihr Passwort an einem sicheren Ort (zum Beispiel einem verschlüsselten USB-Stick): Ohne sie können Sie alte verschlüsselte E-Mails nicht mehr lesen. Importieren Sie dieselbe Datei auf jedem Gerät, mit dem Sie signieren oder entschlüsseln wollen – in Outlook über die Windows-Zertifikatverwaltung, in Apple Mail über die Schlüsselbundverwaltung, in Thunderbird unter Einstellungen › Datenschutz & Sicherheit › Zertifikate › Importieren.",
      en:
        "Back up the PKCS#12 file and its password in a safe place (for example an encrypted USB stick): without them you cannot read old encrypted mail. Import the same file on every device you sign or decrypt with – in Outlook through Windows certificate management, in Apple Mail through Keychain Access, in Thunderbird under Settings › Privacy & Security › Certificates › Import."
    ),
    "downloads": .init(de: "Zertifikat und Kette allein", en: "Certificate and chain alone"),
    "key_error_file": .init(
      de: "Das ist keine verschlüsselte Schlüsseldatei.", en: "This is not an encrypted key file."),
    "key_error_password": .init(
      de: "Das Passwort öffnet diese Schlüsseldatei nicht.",
      en: "The password does not open this key file."),
    "key_error_mismatch": .init(
      de:
        "Diese Schlüsseldatei gehört nicht zu diesem Zertifikat. Wählen Sie die Datei mailseal-<Nummer>.key.pem dieses Antrags.",
      en:
        "This key file does not belong to this certificate. Choose the file mailseal-<number>.key.pem of this request."
    ),
    // Back office
    "staff_title": .init(de: "Service-Desk", en: "Service desk"),
    "provider_sign_in": .init(de: "Mit {organisation} anmelden", en: "Sign in with {organisation}"),
    "staff_break_glass": .init(
      de: "Notfallanmeldung mit Passwort", en: "Emergency sign-in with a password"),
    "staff_break_glass_hint": .init(
      de:
        "Nur für Administratorinnen und Administratoren, wenn der Identitätsanbieter nicht erreichbar ist.",
      en: "For administrators only, when the identity provider cannot be reached."),
    "or_sign_in_with": .init(de: "Oder:", en: "Or:"),
    "provider_requester_hint": .init(
      de:
        "Für Ihr persönliches Postfach in der Organisation; für ein Funktionspostfach fordern Sie bitte einen Anmeldelink an.",
      en:
        "For your personal mailbox at the organisation; for a role mailbox please ask for a login link."
    ),
    "signed_in_title": .init(de: "Angemeldet", en: "Signed in"),
    "signed_in_text": .init(
      de: "Sie sind über den Identitätsanbieter angemeldet.",
      en: "You are signed in through the identity provider."),
    "signed_in_continue": .init(de: "Weiter", en: "Continue"),
    "staff_sign_in": .init(de: "Anmeldung für Mitarbeitende", en: "Staff sign-in"),
    "staff_email": .init(de: "E-Mail-Adresse", en: "Mail address"),
    "staff_password": .init(de: "Passwort", en: "Password"),
    "staff_password_repeat": .init(de: "Passwort wiederholen", en: "Repeat the password"),
    "staff_continue": .init(de: "Weiter", en: "Continue"),
    "staff_code": .init(
      de: "Code aus der Authenticator-App", en: "Code from the authenticator app"),
    "staff_code_intro": .init(
      de: "Geben Sie den sechsstelligen Code aus Ihrer Authenticator-App ein.",
      en: "Enter the six-digit code from your authenticator app."),
    "staff_enrol_title": .init(de: "Zugang einrichten", en: "Set up your access"),
    "staff_enrol_intro": .init(
      de:
        "Wählen Sie ein Passwort (mindestens 12 Zeichen). Danach richten Sie den zweiten Faktor ein.",
      en: "Choose a password (at least 12 characters). Then you set up the second factor."),
    "staff_qr_intro": .init(
      de:
        "Scannen Sie diesen Code mit Ihrer Authenticator-App. Er wird nur jetzt gezeigt. Geben Sie danach den angezeigten Code ein.",
      en:
        "Scan this code with your authenticator app. It is shown only now. Then enter the code the app shows."
    ),
    "staff_secret": .init(de: "Schlüssel zum Abtippen", en: "Key to type in"),
    "staff_enrolled": .init(
      de: "Ihr Zugang ist eingerichtet. Sie können sich jetzt anmelden.",
      en: "Your access is set up. You can sign in now."),
    "queue_title": .init(de: "Offene Anträge", en: "Open requests"),
    "queue_search": .init(
      de: "Suche nach Nummer, Adresse, Name oder Seriennummer eines Zertifikats",
      en: "Search by number, address, name or a certificate's serial number"),
    "queue_search_button": .init(de: "Suchen", en: "Search"),
    "queue_filter": .init(de: "Stand", en: "State"),
    "queue_all_open": .init(de: "Alle offenen", en: "All open"),
    "queue_empty": .init(de: "Keine Anträge gefunden.", en: "No requests found."),
    "queue_older": .init(de: "Weitere", en: "More"),
    "issuance_paused": .init(
      de: "Die Ausstellung ist angehalten: freigegebene Anträge warten.",
      en: "Issuance is paused: approved requests wait."),
    "issuance_pause": .init(de: "Ausstellung anhalten", en: "Pause issuance"),
    "issuance_resume": .init(de: "Ausstellung fortsetzen", en: "Resume issuance"),
    "desk_type": .init(de: "Art", en: "Type"),
    "desk_fingerprint": .init(de: "Schlüssel (SHA-256)", en: "Key (SHA-256)"),
    "desk_validated": .init(de: "Postfach bestätigt", en: "Mailbox validated"),
    "desk_validated_by_link": .init(de: "durch Anmeldelink", en: "by login link"),
    "desk_validated_by_provider": .init(
      de: "durch den Identitätsanbieter (bestätigte Adresse)",
      en: "by the identity provider (verified address)"),
    "desk_stale": .init(
      de: "Älter als 30 Tage: vor der Freigabe muss sich die Person neu anmelden.",
      en: "Older than 30 days: the person must sign in again before approval."),
    "desk_escrow_sealed_to": .init(
      de: "Verschlüsselt für die gepinnten Wiederherstellungszertifikate (SHA-256, Anfang):",
      en: "Sealed to the pinned recovery certificates (SHA-256, start):"),
    "desk_escrow_before_pins": .init(
      de: "Verschlüsselt, bevor Wiederherstellungszertifikate gepinnt wurden.",
      en: "Sealed before recovery certificates were pinned."),
    "desk_own": .init(
      de: "Das ist Ihr eigenes Postfach: Prüfung und Freigabe muss jemand anderes übernehmen.",
      en: "This is your own mailbox: someone else must check and approve."),
    "desk_evidence": .init(de: "Identitätsprüfung", en: "Identity check"),
    "desk_method": .init(de: "Art der Prüfung", en: "How"),
    "desk_document_type": .init(de: "Ausweisart", en: "Document"),
    "desk_authority": .init(de: "Ausstellende Behörde / Staat", en: "Issuing authority / country"),
    "desk_document_number": .init(de: "Ausweisnummer", en: "Document number"),
    "desk_document_expiry": .init(de: "Gültig bis", en: "Valid until"),
    "desk_document_expiry_hint": .init(
      de: "Das Ablaufdatum auf dem Ausweis, mit der Datumsauswahl des Browsers.",
      en: "The expiry date printed on the document, in the browser's date picker."),
    "desk_person": .init(de: "Zu prüfende Person", en: "Person to check"),
    "desk_person_personal": .init(
      de:
        "Die Inhaberin oder der Inhaber des Postfachs. Die Namen im Ausweis müssen die des Antrags sein; sie stehen im Zertifikat.",
      en:
        "The holder of the mailbox. The names on the photo ID must be the request's; they appear in the certificate."
    ),
    "desk_person_role": .init(
      de:
        "Die für das Funktionspostfach verantwortliche Person. Prüfen Sie ihren Lichtbildausweis; die Namen darauf müssen diese sein. Das Zertifikat nennt nur den Namen des Postfachs (Pseudonym); die Person wird mit der Prüfung festgehalten.",
      en:
        "The person responsible for the role mailbox. Check their photo ID; the names on it must be these. The certificate names only the mailbox (a pseudonym); the person is recorded with the check."
    ),
    "desk_person_unknown": .init(
      de:
        "Dieser Antrag nennt keine verantwortliche Person (gestellt vor dieser Regel): Erfassen Sie die Namen laut Ausweis der Person, die das Postfach verantwortet.",
      en:
        "This request names no responsible person (made before this rule): record the names on the photo ID of the person responsible for the mailbox."
    ),
    "method_in_person": .init(
      de: "Persönlich am Service-Desk", en: "In person at the service desk"),
    "method_video_call": .init(de: "Per Videoanruf", en: "By video call"),
    "document_identity_card": .init(de: "Personalausweis", en: "Identity card"),
    "document_passport": .init(de: "Reisepass", en: "Passport"),
    "document_residence_permit": .init(de: "Aufenthaltstitel", en: "Residence permit"),
    "keyname_rsa3072": .init(de: "RSA 3072", en: "RSA 3072"),
    "keyname_rsa4096": .init(de: "RSA 4096", en: "RSA 4096"),
    "keyname_p256": .init(de: "ECDSA P-256", en: "ECDSA P-256"),
    "role_operator": .init(de: "Service-Desk", en: "service desk"),
    "role_admin": .init(de: "Verwaltung", en: "administrator"),
    "role_auditor": .init(de: "Revision", en: "auditor"),
    "role_recovery_officer": .init(
      de: "Wiederherstellungsbeauftragte(r)", en: "recovery officer"),
    // Key recovery
    "recovery_title": .init(
      de: "Schlüssel wiederherstellen", en: "Recover the key"),
    "recovery_intro": .init(
      de:
        "Der Schlüssel dieses Verschlüsselungszertifikats ist hinterlegt – verschlüsselt für den Wiederherstellungsschlüssel der Organisation, den dieses Portal nicht hat. Wurde die Schlüsseldatei verloren oder das Passwort vergessen, kann er wiederhergestellt werden: zwei verschiedene Wiederherstellungsbeauftragte müssen zustimmen, dann wird er auf einem Rechner ohne Netz geöffnet. Die Inhaberin oder der Inhaber des Postfachs erhält bei jedem Schritt eine E-Mail.",
      en:
        "The key of this encryption certificate is escrowed – encrypted for the organisation's recovery key, which this portal does not have. If the key file was lost or its password forgotten, it can be recovered: two different recovery officers must approve, then it is opened on a machine without network. The holder of the mailbox is mailed at each step."
    ),
    "recovery_reason": .init(
      de: "Warum brauchen Sie den Schlüssel wieder?", en: "Why do you need the key back?"),
    "recovery_reason_admin": .init(
      de: "Grund (z. B. Person ausgeschieden, Postfach wird weitergeführt von …)",
      en: "Reason (e.g. person has left, mailbox taken over by …)"),
    "recovery_what_happens": .init(
      de:
        "Wer den wiederhergestellten Schlüssel hat, kann an dieses Postfach verschlüsselte E-Mails lesen. Signaturen kann damit niemand erstellen.",
      en:
        "Whoever has the recovered key can read mail encrypted to this mailbox. Nobody can make signatures with it."
    ),
    "recovery_button": .init(de: "Wiederherstellung beantragen", en: "Ask for recovery"),
    "recovery_asked": .init(
      de:
        "Die Wiederherstellung ist beantragt. Sie erhalten eine E-Mail bei jeder Freigabe und wenn der Schlüssel herausgegeben wird.",
      en:
        "The recovery has been asked for. You will get a mail at each approval and when the key is handed out."
    ),
    "recovery_approvals": .init(de: "Freigaben", en: "Approvals"),
    "recovery_state_requested": .init(de: "wartet auf Freigaben", en: "waiting for approvals"),
    "recovery_state_approved": .init(de: "freigegeben", en: "approved"),
    "recovery_state_declined": .init(de: "abgelehnt", en: "declined"),
    "recovery_state_expired": .init(de: "abgelaufen", en: "expired"),
    "recoveries_title": .init(de: "Wiederherstellungen", en: "Recoveries"),
    "recoveries_intro": .init(
      de:
        "Wiederherstellungen hinterlegter Verschlüsselungsschlüssel: offene zuerst. Zwei verschiedene Wiederherstellungsbeauftragte geben frei; niemand für das eigene Postfach oder einen eigenen Antrag. Erst danach kann der Schlüssel – weiter verschlüsselt – für den Wiederherstellungsrechner heruntergeladen werden.",
      en:
        "Recoveries of escrowed encryption keys: open ones first. Two different recovery officers approve; nobody for their own mailbox or a recovery they asked for. Only then may the key – still encrypted – be downloaded for the recovery machine."
    ),
    "recoveries_empty": .init(de: "Keine Wiederherstellungen.", en: "No recoveries."),
    "recovery_case_title": .init(de: "Wiederherstellung", en: "Recovery"),
    "recovery_asked_by": .init(de: "Beantragt von", en: "Asked for by"),
    "recovery_asked_by_person": .init(
      de: "der Inhaberin oder dem Inhaber des Postfachs (Anmeldelink)",
      en: "the holder of the mailbox (login link)"),
    "recovery_asked_by_admin": .init(de: "Administration:", en: "administrator:"),
    "recovery_reason_label": .init(de: "Grund", en: "Reason"),
    "recovery_until": .init(de: "Gilt bis", en: "Open until"),
    "recovery_declined_by": .init(de: "Abgelehnt von", en: "Declined by"),
    "recovery_downloads": .init(de: "Heruntergeladen", en: "Downloaded"),
    "recovery_own_mailbox": .init(
      de: "Diese Wiederherstellung betrifft Ihr eigenes Postfach: Sie entscheiden nicht darüber.",
      en: "This recovery concerns your own mailbox: you do not decide on it."),
    "recovery_own_request": .init(
      de: "Sie haben diese Wiederherstellung beantragt: Sie geben sie nicht frei.",
      en: "You asked for this recovery: you do not approve it."),
    "recovery_waiting_other": .init(
      de: "Sie haben freigegeben; die zweite Freigabe muss von einer anderen Person kommen.",
      en: "You have approved; the second approval must come from someone else."),
    "recovery_approved_done": .init(de: "Freigabe gespeichert.", en: "Approval recorded."),
    "recovery_approve_title": .init(de: "Freigeben", en: "Approve"),
    "recovery_approve_intro": .init(
      de:
        "Prüfen Sie vorher, dass der Grund trägt und die Person (oder, wenn sie ausgeschieden ist, die Organisation) den Schlüssel wirklich braucht. Die Person erhält eine E-Mail mit Ihrem Namen.",
      en:
        "Check first that the reason holds and that the person (or, if they have left, the organisation) really needs the key. The person gets a mail naming you."
    ),
    "recovery_approve_button": .init(
      de: "Wiederherstellung freigeben", en: "Approve the recovery"),
    "recovery_download_title": .init(
      de: "Hinterlegten Schlüssel herunterladen", en: "Download the escrowed key"),
    "recovery_download_intro": .init(
      de:
        "Die Datei ist weiter für den Wiederherstellungsschlüssel verschlüsselt. Bringen Sie sie mit dem Zertifikat zum Wiederherstellungsrechner ohne Netz; dort öffnen die Inhaber der Anteile sie. Jedes Herunterladen wird protokolliert und der Person mitgeteilt.",
      en:
        "The file is still encrypted for the recovery key. Take it with the certificate to the recovery machine without network; there the holders of the shares open it. Every download is recorded and told to the person."
    ),
    "recovery_download_button": .init(
      de: "Hinterlegten Schlüssel herunterladen (.p7m)", en: "Download the escrowed key (.p7m)"),
    "recovery_certificate_file": .init(
      de: "Zertifikat (.pem) für die Prüfung", en: "Certificate (.pem) for the check"),
    "recovery_decline_title": .init(de: "Ablehnen", en: "Decline"),
    "recovery_decline_reason": .init(
      de: "Grund (geht an die Person)", en: "Reason (sent to the person)"),
    "recovery_decline_button": .init(
      de: "Wiederherstellung ablehnen", en: "Decline the recovery"),
    "type_personal_short": .init(de: "Persönlich", en: "Personal"),
    "type_role_short": .init(de: "Funktion / Gruppe", en: "Role / group"),
    "desk_verified_given": .init(
      de: "Vorname(n) laut Ausweis", en: "Given name(s) on the document"),
    "desk_verified_surname": .init(de: "Nachname laut Ausweis", en: "Surname on the document"),
    "desk_record": .init(de: "Prüfung erfassen", en: "Record the check"),
    "desk_checked_by": .init(de: "Geprüft von", en: "Checked by"),
    "desk_approve": .init(de: "Freigeben", en: "Approve"),
    "desk_reject": .init(de: "Ablehnen", en: "Reject"),
    "desk_reason": .init(
      de: "Grund (wird der Person mitgeteilt)", en: "Reason (the person is told)"),
    "desk_rejection": .init(de: "Abgelehnt mit dem Grund", en: "Rejected with the reason"),
    // Certificates and revocation
    "certificates_title": .init(de: "Ihre Zertifikate", en: "Your certificates"),
    "certificate_title": .init(de: "Zertifikat", en: "Certificate"),
    "certificate_active": .init(de: "Gültig", en: "Valid"),
    "certificate_revoked": .init(de: "Widerrufen", en: "Revoked"),
    "certificate_revocation_requested": .init(
      de: "Widerruf bei der Zertifizierungsstelle beantragt",
      en: "Revocation requested at the certificate authority"),
    "certificate_expired": .init(de: "Abgelaufen", en: "Expired"),
    "revoked_at": .init(de: "Widerrufen am", en: "Revoked on"),
    "revocation_reason": .init(de: "Grund des Widerrufs", en: "Reason for revocation"),
    "revoke_link": .init(de: "Widerrufen …", en: "Revoke …"),
    "revoke_title": .init(de: "Zertifikat widerrufen", en: "Revoke the certificate"),
    "revoke_intro": .init(
      de:
        "Ein Widerruf gilt sofort und lässt sich nicht rückgängig machen: Mit diesem Zertifikat signierte E-Mails gelten danach als nicht mehr vertrauenswürdig. Mit dem Schlüssel können Sie alte verschlüsselte E-Mails weiterhin lesen.",
      en:
        "A revocation takes effect at once and cannot be undone: mail signed with this certificate is no longer trusted afterwards. You can still read old encrypted mail with the key."
    ),
    "revoke_key_compromise_note": .init(
      de:
        "Bei „Der private Schlüssel ist in fremde Hände geraten“ wird der Schlüssel dauerhaft gesperrt: Beantragen Sie das neue Zertifikat mit einem neuen Schlüssel.",
      en:
        "With “The private key has been compromised” the key is blocked for good: request the new certificate with a new key."
    ),
    "revoke_button": .init(de: "Jetzt widerrufen", en: "Revoke now"),
    "revoke_done": .init(
      de: "Das Zertifikat ist widerrufen. Sie erhalten eine Bestätigung per E-Mail.",
      en: "The certificate has been revoked. You will get a confirmation by mail."),
    // Renewal
    "renew_link": .init(de: "Verlängern", en: "Renew"),
    "renewal_title": .init(de: "Verlängerung", en: "Renewal"),
    "renewal_of": .init(de: "Verlängerung des Zertifikats", en: "Renewal of the certificate"),
    "renewal_reuse": .init(
      de:
        "Ihr Ausweis wurde innerhalb der letzten 825 Tage geprüft; ein neuer Besuch am Service-Desk ist nicht nötig. Geprüft am",
      en:
        "Your ID was checked within the last 825 days; you do not need to visit the service desk again. Checked on"
    ),
    "renewal_reuse_until": .init(
      de: "Diese Prüfung gilt für Verlängerungen bis zum",
      en: "This check counts for renewals until"),
    "renewal_desk": .init(
      de:
        "Ihre letzte Identitätsprüfung ist älter als 825 Tage (oder fehlt): Nach dem Antrag zeigen Sie Ihren Ausweis bitte noch einmal am Service-Desk.",
      en:
        "Your last identity check is older than 825 days (or missing): after the request, please show your ID at the service desk again."
    ),
    "renewal_names": .init(
      de:
        "Die Namen übernimmt die Verlängerung aus dem bisherigen Zertifikat. Haben sie sich geändert, stellen Sie einen neuen Antrag.",
      en:
        "The renewal keeps the names of the current certificate. If they have changed, make a new request."
    ),
    "desk_confirm_renewal": .init(de: "Verlängerung bestätigen", en: "Confirm the renewal"),
    "desk_evidence_reused": .init(
      de: "Identitätsprüfung übernommen aus Antrag", en: "Identity check reused from request"),
    // Service notice
    "service_paused": .init(
      de:
        "Die Ausstellung von S/MIME-Zertifikaten ist derzeit unterbrochen. Sie können Anträge stellen; freigegebene Anträge werden ausgestellt, sobald es weitergeht.",
      en:
        "Issuance of S/MIME certificates is currently paused. You can make requests; approved requests are issued as soon as it resumes."
    ),
    // Administration
    "admin_title": .init(de: "Verwaltung", en: "Administration"),
    "admin_saved": .init(de: "Gespeichert.", en: "Saved."),
    // Where and when to show a photo ID, unless MAILSEAL_ID_CHECK_* says.
    "identity_check_default": .init(
      de:
        "Bringen Sie Ihren Lichtbildausweis (Personalausweis oder Reisepass) zum Service-Desk mit. Öffnungszeiten: Montag bis Freitag, 9 bis 16 Uhr.",
      en:
        "Bring your photo ID (identity card or passport) to the service desk. Opening hours: Monday to Friday, 9:00 to 16:00."
    ),
    // Revocation reasons, as pages and mails name them (RevocationReason.label).
    "reason_keycompromise": .init(
      de: "Der private Schlüssel ist in fremde Hände geraten",
      en: "The private key has been compromised"),
    "reason_superseded": .init(
      de: "Durch ein neues Zertifikat ersetzt", en: "Replaced by a new certificate"),
    "reason_affiliationchanged": .init(
      de: "Name oder Zugehörigkeit hat sich geändert", en: "Name or affiliation has changed"),
    "reason_cessationofoperation": .init(
      de: "Das Postfach wird nicht mehr genutzt", en: "The mailbox is no longer used"),
    "reason_privilegewithdrawn": .init(
      de: "Die Berechtigung wurde entzogen", en: "The entitlement has been withdrawn"),
    "reason_cacompromise": .init(
      de: "Die Zertifizierungsstelle ist kompromittiert",
      en: "The certificate authority has been compromised"),
    "reason_unspecified": .init(de: "Ohne Angabe", en: "No reason given"),
    "admin_escrow_stopped": .init(
      de: "Schlüsselhinterlegung angehalten", en: "Key escrow stopped"),
    "admin_escrow_stopped_what": .init(
      de:
        "Die Wiederherstellungszertifikate in der Datenbank stimmen nicht mit MAILSEAL_RECOVERY_FINGERPRINTS überein. Anträge mit Hinterlegung werden abgelehnt, bis das geklärt ist: Prüfen Sie, wer die Datenbank geändert hat (Audit-Log: escrow.stopped, recovery-certificate.*), installieren Sie das gepinnte Zertifikat wieder oder pinnen Sie nach Prüfung das richtige und starten Sie das Portal neu.",
      en:
        "The recovery certificates in the database do not match MAILSEAL_RECOVERY_FINGERPRINTS. Requests with escrow are refused until this is resolved: find out who changed the database (audit trail: escrow.stopped, recovery-certificate.*), install the pinned certificate again, or after checking pin the right one and restart the portal."
    ),
    "admin_held": .init(
      de: "Bei der Zertifizierungsstelle angehalten", en: "Held at the certificate authority"),
    "admin_held_intro": .init(
      de:
        "Freigegebene Anträge, die nicht automatisch weitergehen: Die Zertifizierungsstelle hat ein Zertifikat geliefert, das nicht dem Geprüften entspricht, oder ein Auftrag lässt sich nicht mehr klären. Nichts wird ohne Ihre Entscheidung ein zweites Mal bestellt.",
      en:
        "Approved requests that do not go on by themselves: the certificate authority sent a certificate that is not what was validated, or an order can no longer be settled. Nothing is ordered a second time without your decision."
    ),
    "admin_held_none": .init(de: "Kein Antrag ist angehalten.", en: "No request is held."),
    "publish_title": .init(
      de: "Veröffentlichung im Verzeichnis", en: "Publishing in the directory"),
    "publish_question": .init(
      de:
        "Darf Ihr Zertifikat im Verzeichnis Ihrer Organisation veröffentlicht werden, damit Kolleginnen und Kollegen Ihnen verschlüsselte E-Mails senden können? Veröffentlicht wird nur das Zertifikat (Name, Adresse, öffentlicher Schlüssel), nie Ihr privater Schlüssel. Sie können das jederzeit auf der Seite des Zertifikats ändern.",
      en:
        "May your certificate be published in your organisation's directory so that colleagues can send you encrypted mail? Only the certificate is published (name, address, public key), never your private key. You can change this at any time on the certificate's page."
    ),
    "publish_yes": .init(
      de: "Ja, veröffentlichen (Kolleginnen und Kollegen finden es)",
      en: "Yes, publish it (colleagues find it)"),
    "publish_no": .init(de: "Nein, nicht veröffentlichen", en: "No, do not publish it"),
    "publish_change_later": .init(
      de: "Die Antwort lässt sich später auf der Seite des Zertifikats ändern.",
      en: "You can change the answer later on the certificate's page."),
    "publish_always_note": .init(
      de:
        "Ihre Organisation veröffentlicht Zertifikate für Verschlüsselung im Verzeichnis, damit Kolleginnen und Kollegen Ihnen verschlüsselte E-Mails senden können (nur das Zertifikat, nie Ihr privater Schlüssel).",
      en:
        "Your organisation publishes certificates for encryption in its directory so that colleagues can send you encrypted mail (only the certificate, never your private key)."
    ),
    "publish_consent_yes": .init(
      de: "Veröffentlichung zugestimmt", en: "Agreed to publishing"),
    "publish_consent_no": .init(
      de: "Nicht veröffentlichen", en: "Not to be published"),
    "publish_state_yes": .init(
      de: "Veröffentlicht: Kolleginnen und Kollegen finden dieses Zertifikat im Verzeichnis.",
      en: "Published: colleagues find this certificate in the directory."),
    "publish_state_no": .init(
      de: "Nicht veröffentlicht.", en: "Not published."),
    "publish_state_always": .init(
      de: "Veröffentlicht nach der Regel Ihrer Organisation.",
      en: "Published by your organisation's rule."),
    "publish_give": .init(de: "Veröffentlichen", en: "Publish"),
    "publish_withdraw": .init(
      de: "Veröffentlichung zurückziehen", en: "Withdraw from the directory"),
    "publish_changed": .init(
      de: "Gespeichert. Das Verzeichnis folgt innerhalb einer Minute.",
      en: "Saved. The directory follows within a minute."),
    "directory_title": .init(de: "Zertifikat suchen", en: "Find a certificate"),
    "directory_intro": .init(
      de:
        "Um jemandem verschlüsselt zu schreiben, brauchen Sie sein Zertifikat. Geben Sie die genaue E-Mail-Adresse ein.",
      en:
        "To send someone encrypted mail you need their certificate. Enter the exact mail address."
    ),
    "directory_mailbox": .init(de: "E-Mail-Adresse", en: "Mail address"),
    "directory_start_hint": .init(
      de: "– das Zertifikat einer Kollegin oder eines Kollegen, um verschlüsselt zu schreiben",
      en: "– a colleague's certificate, to send them encrypted mail"),
    "directory_search": .init(de: "Suchen", en: "Search"),
    "directory_none": .init(
      de: "Für diese Adresse ist kein Zertifikat veröffentlicht.",
      en: "No certificate is published for this address."),
    "directory_found": .init(
      de: "Veröffentlichte Zertifikate für", en: "Published certificates for"),
    "directory_subject": .init(de: "Inhaber", en: "Subject"),
    "directory_fingerprint": .init(
      de: "Fingerabdruck (SHA-256)", en: "Fingerprint (SHA-256)"),
    "directory_download_pem": .init(de: "Zertifikat (PEM)", en: "Certificate (PEM)"),
    "directory_download_der": .init(de: "DER (.cer)", en: "DER (.cer)"),
    "directory_download_p7c": .init(
      de: "mit Kette (.p7c)", en: "with chain (.p7c)"),
    "directory_admin_title": .init(de: "Verzeichnis", en: "Directory"),
    "directory_admin_count": .init(
      de: "Nicht veröffentlichte Änderungen:", en: "Changes not published:"),
    "directory_admin_target": .init(de: "Verzeichnis:", en: "Directory:"),
    "directory_admin_no_ldap": .init(
      de:
        "Kein LDAP-Verzeichnis eingerichtet: Zertifikate werden nur in der Suche des Portals veröffentlicht.",
      en:
        "No LDAP directory is configured: certificates are published in the portal's look-up only."
    ),
    "directory_admin_what": .init(
      de:
        "Diese Änderungen hat das Verzeichnis nicht angenommen (kein Eintrag, mehrere Einträge, keine Schreibrechte); erneutes Versuchen hilft nicht. Nach der Korrektur im Verzeichnis gleicht `mailseal directory sync` ab.",
      en:
        "The directory did not take these changes (no entry, several entries, no right to write); trying again cannot help. After correcting the directory, `mailseal directory sync` repairs it."
    ),
    "directory_admin_change": .init(de: "Änderung", en: "Change"),
    "directory_admin_reason": .init(de: "Grund", en: "Reason"),
    "directory_admin_queued": .init(de: "Eingereiht", en: "Queued"),
    "directory_change_publish": .init(de: "hinzufügen", en: "add"),
    "directory_change_unpublish": .init(de: "entfernen", en: "remove"),
    "admin_held_since": .init(de: "Angehalten seit", en: "Held since"),
    "admin_held_order": .init(de: "Auftrag", en: "Order"),
    "admin_held_state": .init(de: "Stand", en: "State"),
    "admin_held_certificate": .init(
      de: "Geliefertes Zertifikat", en: "Certificate sent"),
    "admin_held_revoke": .init(
      de: "Bei der Zertifizierungsstelle sperren", en: "Revoke at the certificate authority"),
    "admin_held_release": .init(
      de: "Erneut bestellen", en: "Order again"),
    "admin_held_reject": .init(de: "Antrag ablehnen", en: "Reject the request"),
    "admin_held_reject_reason": .init(de: "Begründung", en: "Reason"),
    "upstream_order_ordering": .init(
      de: "bestellt, Antwort ausstehend", en: "ordered, answer outstanding"),
    "upstream_order_not_taken": .init(
      de: "nicht angenommen, wird erneut gesendet", en: "not taken, to be sent again"),
    "upstream_order_pending": .init(
      de: "angenommen, in Bearbeitung", en: "taken, in progress"),
    "upstream_order_issued": .init(de: "ausgestellt", en: "issued"),
    "upstream_order_refused": .init(de: "abgelehnt", en: "refused"),
    "upstream_order_held": .init(de: "angehalten", en: "held"),
    "upstream_order_revoking": .init(
      de: "Sperrung beantragt", en: "revocation requested"),
    "upstream_order_revoked": .init(
      de: "bei der Zertifizierungsstelle gesperrt", en: "revoked at the certificate authority"),
    "admin_address_changes": .init(
      de: "Geänderte Adressen von Mitarbeitenden", en: "Staff address changes"),
    "admin_address_changes_intro": .init(
      de:
        "Konten, deren Adresse sich beim Identitätsanbieter geändert hat. Über ein Postfach, das ein Konto hat oder je hatte, entscheidet dieses Konto nie (Prüfung, Freigabe, Wiederherstellung).",
      en:
        "Accounts whose address changed at the identity provider. An account never decides about a mailbox it has or ever had (ID check, approval, recovery)."
    ),
    "admin_address_changes_none": .init(
      de: "Keine Adresse hat sich geändert.", en: "No address has changed."),
    "admin_address_name": .init(de: "Name", en: "Name"),
    "admin_address_now": .init(de: "Adresse jetzt", en: "Address now"),
    "admin_address_former": .init(de: "Frühere Adressen", en: "Former addresses"),
    "admin_address_when": .init(de: "Geändert", en: "Changed"),
    "admin_issuance": .init(de: "Ausstellung", en: "Issuance"),
    "admin_issuance_running": .init(
      de: "Die Ausstellung läuft.", en: "Issuance is running."),
    "admin_notice": .init(de: "Hinweis für Antragstellende", en: "Notice to requesters"),
    "admin_notice_intro": .init(
      de:
        "Der Hinweis erscheint auf jeder Seite für Antragstellende, bis Sie ihn entfernen. Beide Sprachen sind nötig, höchstens 500 Zeichen je Sprache.",
      en:
        "The notice appears on every requester page until you remove it. Both languages are required, at most 500 characters each."
    ),
    "admin_notice_de": .init(de: "Hinweis auf Deutsch", en: "Notice in German"),
    "admin_notice_en": .init(de: "Hinweis auf Englisch", en: "Notice in English"),
    "admin_notice_save": .init(de: "Hinweis anzeigen", en: "Show the notice"),
    "admin_notice_clear": .init(de: "Hinweis entfernen", en: "Remove the notice"),
    // Audit trail
    "audit_title": .init(de: "Prüfprotokoll", en: "Audit trail"),
    "audit_intro": .init(
      de:
        "Jeder Eintrag enthält den Hash des vorigen; `mailseal audit verify` prüft die ganze Kette. Filter suchen genau den eingegebenen Wert.",
      en:
        "Each record holds the hash of the one before; `mailseal audit verify` checks the whole chain. Filters match the exact value."
    ),
    "audit_actor": .init(de: "Wer", en: "Actor"),
    "audit_action": .init(de: "Aktion", en: "Action"),
    "audit_subject": .init(de: "Gegenstand", en: "Subject"),
    "audit_time": .init(de: "Zeit", en: "Time"),
    "audit_details": .init(de: "Einzelheiten", en: "Details"),
    "audit_export": .init(
      de: "Alles als JSON Lines herunterladen", en: "Download everything as JSON lines"),
    "audit_empty": .init(de: "Keine Einträge.", en: "No records."),
    "audit_older": .init(de: "Ältere Einträge", en: "Older records"),
    // The request form's script (read from the form's data attributes)
    "js_strength": .init(
      de: "sehr schwach|schwach|mittel|gut|stark", en: "very weak|weak|fair|good|strong"),
    "js_too_short": .init(
      de: "Das Passwort muss mindestens 12 Zeichen lang sein.",
      en: "The password must be at least 12 characters long."),
    "js_common": .init(
      de: "Dieses Passwort ist zu bekannt.", en: "This password is too well known."),
    "js_repeated": .init(
      de: "Es besteht aus einem einzigen, wiederholten Zeichen.",
      en: "It is one character repeated."),
    "js_sequence": .init(
      de: "Es ist eine Zeichenfolge wie abcdef, 123456 oder qwertz.",
      en: "It is a run of characters such as abcdef, 123456 or qwerty."),
    "js_mailbox": .init(
      de: "Es enthält den Namen des Postfachs.", en: "It contains the mailbox's name."),
    "js_mismatch": .init(
      de: "Die beiden Passwörter stimmen nicht überein.", en: "The two passwords do not match."),
    "js_missing": .init(de: "Bitte ausfüllen.", en: "Please fill this in."),
    "js_network": .init(
      de:
        "Der Antrag konnte nicht gesendet werden. Bitte prüfen Sie die Verbindung und versuchen Sie es noch einmal.",
      en: "The request could not be sent. Please check the connection and try again."),
  ]
}
