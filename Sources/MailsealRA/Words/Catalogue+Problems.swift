extension Catalogue {
  /// What went wrong: `problem_<code>` for each ``MailsealError/Code`` (and
  /// finer variants), `field_…` for the problem of one form field, `label_…`
  /// for the names of fields inside those sentences.
  static let problems: [String: LocalizedText] = [
    // Login links and sessions
    "problem_invalid_address": .init(
      de: "Das ist keine gültige E-Mail-Adresse.", en: "This is not a valid mail address."),
    "field_address_invalid": .init(de: "Ungültige E-Mail-Adresse.", en: "Invalid mail address."),
    "problem_domain_not_allowed": .init(
      de: "Zertifikate gibt es nur für Adressen dieser Domains: {domains}.",
      en: "Certificates are only for addresses of these domains: {domains}."),
    "field_address_domain_not_allowed": .init(
      de: "Domain nicht zugelassen.", en: "Domain not allowed."),
    "problem_rate_limited": .init(
      de:
        "Für diese Adresse wurden in der letzten Stunde zu viele Anmeldelinks angefordert. Bitte prüfen Sie Ihr Postfach (auch den Spam-Ordner) oder versuchen Sie es in einer Stunde noch einmal.",
      en:
        "Too many login links were requested for this address in the last hour. Please check your mailbox (and its spam folder) or try again in an hour."
    ),
    "problem_login_link_invalid": .init(
      de:
        "Dieser Anmeldelink ist nicht gültig. Vielleicht wurde er beim Kopieren abgeschnitten. Bitte fordern Sie einen neuen an.",
      en:
        "This login link is not valid. Perhaps it was cut off when copied. Please request a new one."
    ),
    "problem_login_link_expired": .init(
      de: "Dieser Anmeldelink ist abgelaufen. Bitte fordern Sie einen neuen an.",
      en: "This login link has expired. Please request a new one."),
    "problem_login_link_used": .init(
      de:
        "Dieser Anmeldelink wurde schon benutzt; jeder Link gilt nur einmal. Bitte fordern Sie einen neuen an.",
      en: "This login link has already been used; each link works once. Please request a new one."),
    "problem_sign_in_required": .init(
      de: "Bitte melden Sie sich zuerst über einen Anmeldelink an.",
      en: "Please sign in with a login link first."),
    "problem_csrf_token_invalid": .init(
      de:
        "Das Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
      en:
        "The form has expired or was not sent from this page. Please reload the page and try again."
    ),
    "problem_not_found": .init(
      de: "Unter dieser Adresse gibt es nichts.", en: "There is nothing at this address."),
    "problem_pickup_link_invalid": .init(
      de:
        "Dieser Abholungslink ist ungültig oder abgelaufen. Melden Sie sich mit einem Anmeldelink an: unter Ihren Anträgen finden Sie das Zertifikat jederzeit.",
      en:
        "This pickup link is invalid or has expired. Sign in with a login link: you find the certificate under your requests at any time."
    ),

    // The request form
    "problem_invalid_form": .init(
      de: "Bitte prüfen Sie die markierten Angaben.", en: "Please check the marked fields."),
    "label_given_name": .init(de: "Der Vorname", en: "The given name"),
    "label_surname": .init(de: "Der Nachname", en: "The surname"),
    "label_mailbox_name": .init(de: "Der Name des Postfachs", en: "The mailbox name"),
    "field_name_missing": .init(de: "{label} fehlt.", en: "{label} is missing."),
    "field_name_too_long": .init(de: "{label} ist zu lang.", en: "{label} is too long."),
    "field_name_too_long_at_most": .init(
      de: "{label} ist zu lang (höchstens {bound} Zeichen).",
      en: "{label} is too long (at most {bound} characters)."),
    "field_name_control_character": .init(
      de: "{label} enthält ein unsichtbares Steuerzeichen.",
      en: "{label} contains an invisible control character."),
    "field_name_needs_letter": .init(
      de: "{label} muss mindestens einen Buchstaben enthalten.",
      en: "{label} must contain at least one letter."),
    "field_name_invalid": .init(de: "{label} ist ungültig.", en: "{label} is not valid."),
    "field_names_too_long_together": .init(
      de: "Vor- und Nachname sind zusammen zu lang (höchstens {bound} Zeichen).",
      en: "Given name and surname are too long together (at most {bound} characters)."),
    "field_mailbox_type_choose": .init(
      de: "Bitte wählen Sie die Art des Postfachs.", en: "Please choose the type of mailbox."),
    "field_escrow_not_offered": .init(
      de: "Diese Installation hinterlegt keine Schlüssel.",
      en: "This installation does not escrow keys."),
    "field_escrow_required": .init(
      de:
        "Hier wird der Verschlüsselungsschlüssel hinterlegt: Ihr Browser muss zwei Schlüssel und einen Schlüsselumschlag senden. Bitte laden Sie die Seite neu.",
      en:
        "This installation escrows the encryption key: your browser must send two keys and a key envelope. Please reload the page."
    ),
    "field_escrow_consent": .init(
      de: "Bitte stimmen Sie der Hinterlegung Ihres Verschlüsselungsschlüssels zu.",
      en: "Please agree to the escrow of your encryption key."),
    "field_escrow_same_key": .init(
      de: "Signatur- und Verschlüsselungsschlüssel müssen verschieden sein.",
      en: "The signing key and the encryption key must differ."),
    "field_key_type_choose": .init(
      de: "Bitte wählen Sie einen Schlüsseltyp.", en: "Please choose a key type."),
    "problem_key_type_mismatch": .init(
      de: "Der Schlüssel in der Anforderung ist kein {keyType}-Schlüssel.",
      en: "The key in the request is not the chosen {keyType} key."),
    "problem_envelope_refused": .init(
      de:
        "Der Schlüsselumschlag Ihres Browsers wurde abgelehnt: {reason} Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
      en:
        "Your browser's key envelope was refused: {reason} Please reload the page and try again."),
    "problem_csr_refused": .init(
      de:
        "Die Zertifikatsanforderung Ihres Browsers wurde abgelehnt ({code}: {reason}). Bitte laden Sie die Seite neu und erzeugen Sie einen neuen Schlüssel.",
      en: "Your browser's certificate request was refused ({code}): {reason}"),
    "field_csr_refused": .init(
      de: "Ungültige Zertifikatsanforderung ({code}: {reason}).",
      en: "Invalid certificate request ({code}): {reason}"),
    "problem_invalid_value": .init(
      de: "Eine Angabe ist ungültig: {reason}", en: "A value is not valid: {reason}"),
    "problem_key_already_certified": .init(
      de:
        "Dieser Schlüssel ist bereits für ein anderes Postfach zertifiziert. Bitte erzeugen Sie einen neuen.",
      en:
        "This key is already certified or requested for another mailbox. Please make a new one."
    ),
    "problem_key_compromised": .init(
      de:
        "Dieser Schlüssel wurde als kompromittiert gesperrt und kann nie wieder zertifiziert werden. Bitte erzeugen Sie einen neuen.",
      en:
        "This key was blocked as compromised and can never be certified again. Please make a new one."
    ),
    "problem_cannot_withdraw": .init(
      de: "Dieser Antrag kann nicht mehr zurückgezogen werden.",
      en: "This request can no longer be withdrawn."),
    "problem_renewal_names_changed": .init(
      de:
        "Eine Verlängerung übernimmt die Namen des bisherigen Zertifikats. Haben sich Ihre Namen geändert, stellen Sie bitte einen neuen Antrag; der Service-Desk prüft dann Ihren Ausweis.",
      en:
        "A renewal keeps the names of the current certificate. If your names have changed, please make a new request; the service desk then checks your ID."
    ),
    "problem_renewal_needs_new_key": .init(
      de: "Eine Verlängerung braucht einen neuen Schlüssel.", en: "A renewal needs a new key."),

    // Decisions at the desk
    "problem_own_mailbox": .init(
      de: "Sie dürfen keinen Antrag für Ihr eigenes Postfach prüfen, freigeben oder ablehnen.",
      en: "You may not check, approve or reject a request for your own mailbox."),
    "problem_wrong_state": .init(
      de: "Der Antrag wurde inzwischen geändert.", en: "The request was changed meanwhile."),
    "problem_wrong_state_evidence": .init(
      de: "Für diesen Antrag kann keine Prüfung mehr erfasst werden.",
      en: "Evidence can no longer be recorded for this request."),
    "problem_wrong_state_approve": .init(
      de: "Nur Anträge mit geprüfter Identität können freigegeben werden.",
      en: "Only requests whose identity has been checked can be approved."),
    "problem_wrong_state_reject": .init(
      de: "Dieser Antrag kann nicht mehr abgelehnt werden.",
      en: "This request can no longer be rejected."),
    "problem_invalid_evidence": .init(
      de: "Bitte prüfen Sie die markierten Angaben.", en: "Please check the marked fields."),
    "field_missing_or_invalid": .init(de: "Fehlt oder ist ungültig.", en: "Missing or not valid."),
    "field_choose": .init(de: "Bitte wählen.", en: "Please choose."),
    "field_date_format": .init(
      de: "Bitte das Ablaufdatum des Ausweises wählen.",
      en: "Please choose the document's expiry date."),
    "field_document_expiry_implausible": .init(
      de:
        "Ein Ausweis, der noch mehr als {years} Jahre gilt, ist nicht plausibel: Bitte das Datum prüfen.",
      en:
        "A document valid for more than {years} more years is not plausible: please check the date."
    ),
    "field_document_expired": .init(
      de: "Der Ausweis ist abgelaufen und kann nicht angenommen werden.",
      en: "The document has expired and cannot be accepted."),
    "problem_name_mismatch": .init(
      de:
        "Die Namen im Ausweis stimmen nicht mit dem Antrag überein. So kann der Antrag nicht freigegeben werden; die antragstellende Person muss einen neuen Antrag mit den Namen aus dem Ausweis stellen.",
      en:
        "The names on the document do not match the request. The request cannot be approved like this; the requester must make a new request with the names on the document."
    ),
    "problem_own_mailbox_recovery": .init(
      de:
        "Eine Wiederherstellung für Ihr eigenes Postfach dürfen Sie weder beantragen noch freigeben; für Ihr eigenes Postfach beantragen Sie sie mit einem Anmeldelink als Inhaberin oder Inhaber.",
      en:
        "You may neither ask for nor approve a recovery for your own mailbox; for your own mailbox you ask as its holder, signed in by login link."
    ),
    "problem_recovery_not_escrowed": .init(
      de:
        "Der Schlüssel dieses Zertifikats wurde nicht hinterlegt und kann nicht wiederhergestellt werden (nur Verschlüsselungszertifikate mit hinterlegtem Schlüssel).",
      en:
        "The key of this certificate was not escrowed and cannot be recovered (only encryption certificates with an escrowed key)."
    ),
    "problem_recovery_open": .init(
      de:
        "Für dieses Zertifikat läuft schon eine Wiederherstellung; sie muss erst freigegeben, abgelehnt oder abgelaufen sein.",
      en:
        "A recovery of this certificate is already under way; it must first be approved, declined or expire."
    ),
    "problem_recovery_already_approved": .init(
      de:
        "Sie haben diese Wiederherstellung schon freigegeben; die zweite Freigabe muss von einer anderen Person kommen.",
      en:
        "You have already approved this recovery; the second approval must come from someone else."),
    "problem_escrow_stopped": .init(
      de:
        "Die Schlüsselhinterlegung ist angehalten: Die Wiederherstellungszertifikate in der Datenbank stimmen nicht mit den konfigurierten überein. Anträge mit hinterlegtem Schlüssel sind erst wieder möglich, wenn das geklärt ist; die Administration ist informiert.",
      en:
        "Key escrow is stopped: the recovery certificates in the database do not match the configured ones. Requests that escrow a key can be made again once this is resolved; the administrators have been told."
    ),
    "problem_recovery_own_request": .init(
      de: "Wer eine Wiederherstellung beantragt hat, darf sie nicht freigeben.",
      en: "Whoever asked for a recovery may not approve it."),
    "problem_recovery_not_approved": .init(
      de:
        "Der hinterlegte Schlüssel wird erst nach zwei Freigaben durch verschiedene Personen herausgegeben.",
      en: "The escrowed key is handed out only after two approvals by different people."),
    "problem_recovery_expired": .init(
      de:
        "Diese Wiederherstellung ist abgelaufen (Freigaben binnen 14 Tagen, Herunterladen binnen 7 Tagen nach der Freigabe); sie kann neu beantragt werden.",
      en:
        "This recovery has expired (approvals within 14 days, download within 7 days of approval); it may be asked for again."
    ),
    "field_recovery_reason": .init(
      de: "Bitte einen Grund angeben (höchstens {max} Zeichen).",
      en: "Please give a reason (at most {max} characters)."),
    "problem_four_eyes": .init(
      de:
        "Vier-Augen-Prinzip: Freigeben muss jemand anderes als die Person, die den Ausweis geprüft hat.",
      en: "Four-eyes rule: someone other than the person who checked the ID must approve."),
    "problem_mailbox_validation_stale": .init(
      de:
        "Die Bestätigung des Postfachs ist älter als 30 Tage. Die antragstellende Person muss sich erneut mit einem Anmeldelink anmelden.",
      en:
        "The mailbox validation is older than 30 days. The requester must sign in again with a login link."
    ),
    "problem_evidence_too_old": .init(
      de:
        "Die Identitätsprüfung ist älter als 825 Tage und darf nicht mehr verwendet werden; die Person muss ihren Ausweis noch einmal zeigen.",
      en:
        "The identity check is more than 825 days old and may no longer be relied on; the person must show their ID again."
    ),
    "problem_invalid_reason": .init(
      de: "Bitte geben Sie einen Grund an (höchstens 500 Zeichen).",
      en: "Please give a reason (at most 500 characters)."),
    "field_reason_invalid": .init(de: "Fehlt oder zu lang.", en: "Missing or too long."),

    // Revocation
    "problem_reason_missing": .init(
      de: "Bitte wählen Sie einen Grund für den Widerruf.",
      en: "Please choose a reason for the revocation."),
    "problem_reason_not_allowed": .init(
      de: "Dieser Grund steht Ihnen nicht zur Wahl.", en: "This reason is not one you can choose."),
    "problem_reason_not_allowed_command_line": .init(
      de: "Dieser Grund ist der Kommandozeile vorbehalten.",
      en: "This reason is for the command line only."),
    "problem_already_revoked": .init(
      de: "Dieses Zertifikat ist bereits widerrufen.",
      en: "This certificate has already been revoked."),
    "problem_expired": .init(
      de: "Dieses Zertifikat ist abgelaufen; ein Widerruf ändert nichts mehr.",
      en: "This certificate has expired; revoking it would change nothing."),

    // Staff
    "problem_too_many_attempts": .init(
      de:
        "Zu viele Anmeldeversuche von hier oder für dieses Konto. Bitte warten Sie eine Viertelstunde.",
      en:
        "Too many sign-in attempts from here or for this account. Please wait a quarter of an hour."
    ),
    "problem_busy": .init(
      de:
        "Gerade melden sich sehr viele an. Bitte versuchen Sie es in einigen Sekunden noch einmal.",
      en: "Very many sign-ins are under way. Please try again in a few seconds."),
    "problem_operator_sign_in_failed": .init(
      de: "Anmeldung fehlgeschlagen. Prüfen Sie E-Mail-Adresse, Passwort und Code.",
      en: "Sign-in failed. Check the address, the password and the code."),
    "problem_identity_provider_refused": .init(
      de: "Die Anmeldung über den Identitätsanbieter wurde abgelehnt.",
      en: "The sign-in through the identity provider was refused."),
    "problem_identity_provider_refused_state": .init(
      de:
        "Diese Anmeldung ist unbekannt, schon benutzt, abgelaufen oder wurde in einem anderen Browser begonnen. Bitte melden Sie sich noch einmal an.",
      en:
        "This sign-in is unknown, already used, expired or was begun in another browser. Please sign in again."
    ),
    "problem_identity_provider_refused_provider_error": .init(
      de: "Der Identitätsanbieter hat die Anmeldung nicht bestätigt.",
      en: "The identity provider did not confirm the sign-in."),
    "problem_identity_provider_refused_provider_unusable": .init(
      de:
        "Die Angaben des Identitätsanbieters sind nicht verwendbar. Bitte wenden Sie sich an die Administration.",
      en: "The identity provider's metadata cannot be used. Please contact the administrators."),
    "problem_identity_provider_refused_malformed_token": .init(
      de: "Der Identitätsanbieter hat eine unlesbare Bestätigung geschickt.",
      en: "The identity provider sent a confirmation that cannot be read."),
    "problem_identity_provider_refused_bad_signature": .init(
      de: "Die Bestätigung des Identitätsanbieters ist nicht gültig signiert.",
      en: "The identity provider's confirmation is not validly signed."),
    "problem_identity_provider_refused_unknown_key": .init(
      de:
        "Die Bestätigung ist mit einem Schlüssel signiert, den der Identitätsanbieter nicht veröffentlicht.",
      en: "The confirmation is signed with a key the identity provider does not publish."),
    "problem_identity_provider_refused_wrong_issuer": .init(
      de: "Die Bestätigung stammt nicht vom eingerichteten Identitätsanbieter.",
      en: "The confirmation does not come from the configured identity provider."),
    "problem_identity_provider_refused_wrong_audience": .init(
      de: "Die Bestätigung ist nicht für dieses Portal ausgestellt.",
      en: "The confirmation was not issued for this portal."),
    "problem_identity_provider_refused_expired": .init(
      de:
        "Die Bestätigung des Identitätsanbieters ist abgelaufen. Bitte melden Sie sich noch einmal an.",
      en: "The identity provider's confirmation has expired. Please sign in again."),
    "problem_identity_provider_refused_nonce": .init(
      de: "Die Bestätigung gehört nicht zu dieser Anmeldung.",
      en: "The confirmation does not belong to this sign-in."),
    "problem_identity_provider_refused_email_missing": .init(
      de: "Der Identitätsanbieter hat keine E-Mail-Adresse übermittelt.",
      en: "The identity provider sent no email address."),
    "problem_identity_provider_refused_email_unverified": .init(
      de:
        "Der Identitätsanbieter bestätigt diese E-Mail-Adresse nicht. Bitte fordern Sie einen Anmeldelink an.",
      en:
        "The identity provider does not vouch for this email address. Please ask for a login link."
    ),
    "problem_identity_provider_refused_staff_email_unverified": .init(
      de:
        "Der Identitätsanbieter bestätigt Ihre E-Mail-Adresse nicht (email_verified). Ohne bestätigte Adresse gibt es keine Anmeldung für Mitarbeitende; bitte wenden Sie sich an die Verwaltung des Identitätsanbieters.",
      en:
        "The identity provider does not vouch for your email address (email_verified). Staff cannot sign in without a verified address; please ask the identity provider's administrators."
    ),
    "problem_identity_provider_refused_domain_not_allowed": .init(
      de:
        "Für die Adresse, die der Identitätsanbieter übermittelt hat, stellt dieses Portal keine Zertifikate aus.",
      en: "This portal issues no certificates for the address the identity provider sent."),
    "problem_identity_provider_refused_no_role": .init(
      de:
        "Ihr Konto beim Identitätsanbieter hat keine Rolle in diesem Portal. Bitten Sie die Administration, Sie einer Gruppe zuzuordnen.",
      en:
        "Your account at the identity provider has no role in this portal. Ask the administrators to add you to a group."
    ),
    "problem_identity_provider_refused_account_conflict": .init(
      de:
        "Diese Adresse gehört schon zu einem anderen Konto für Mitarbeitende. Eine Administratorin muss es entfernen, bevor Sie sich über den Identitätsanbieter anmelden können.",
      en:
        "This address already belongs to another staff account. An administrator must remove it before you can sign in through the identity provider."
    ),
    "problem_identity_provider_refused_acr": .init(
      de:
        "Für Mitarbeitende ist eine Anmeldung mit zweitem Faktor beim Identitätsanbieter nötig.",
      en: "Staff must sign in at the identity provider with a second factor."),
    "problem_identity_provider_unavailable": .init(
      de:
        "Der Identitätsanbieter ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal.",
      en: "The identity provider cannot be reached right now. Please try again in a moment."),
    "problem_local_sign_in_off": .init(
      de:
        "Die Anmeldung mit Passwort ist ausgeschaltet. Bitte melden Sie sich über den Identitätsanbieter an.",
      en:
        "Signing in with a password is switched off. Please sign in through the identity provider."),
    "problem_role_mailbox_needs_login_link": .init(
      de:
        "Für ein Funktionspostfach ist ein Anmeldelink an dieses Postfach nötig: Der Identitätsanbieter bestätigt die Person, nicht die Funktionsadresse.",
      en:
        "A role mailbox needs a login link sent to it: the identity provider vouches for the person, not for the role address."
    ),
    "problem_operator_locked": .init(
      de: "Das Konto ist nach zu vielen Fehlversuchen für 15 Minuten gesperrt.",
      en: "The account is locked for 15 minutes after too many failed attempts."),
    "problem_operator_enrolment_invalid": .init(
      de:
        "Dieser Einrichtungslink ist ungültig, abgelaufen oder schon benutzt. Bitten Sie eine Administratorin um einen neuen.",
      en:
        "This enrolment link is invalid, expired or already used. Ask an administrator for a new one."
    ),
    "problem_operator_exists": .init(
      de: "Diese Adresse hat schon ein Konto.", en: "This address already has an account."),
    "problem_operator_sign_in_required": .init(
      de: "Bitte melden Sie sich als Mitarbeiterin oder Mitarbeiter an.",
      en: "Please sign in as a member of staff."),
    "problem_forbidden_for_role": .init(
      de: "Ihre Rolle erlaubt das nicht.", en: "Your role does not allow this."),
    "problem_password_mismatch": .init(
      de: "Die Passwörter stimmen nicht überein.", en: "The passwords do not match."),
    "field_password_not_the_same": .init(de: "Nicht gleich.", en: "Not the same."),
    "problem_password_too_short": .init(
      de: "Das Passwort muss 12 bis 1024 Zeichen lang sein.",
      en: "The password must be 12 to 1024 characters long."),
    "field_password_too_short": .init(de: "Zu kurz.", en: "Too short."),
    "problem_totp_invalid": .init(
      de:
        "Der Code stimmt nicht. Prüfen Sie die Uhrzeit des Geräts und geben Sie den aktuellen Code ein.",
      en: "The code is not right. Check the device's clock and enter the current code."),
    "field_code_wrong": .init(de: "Falscher Code.", en: "Wrong code."),

    // Administration
    "problem_notice_invalid": .init(
      de: "Der Hinweis wurde nicht gespeichert.", en: "The notice was not saved."),
    "field_notice_de_missing": .init(
      de: "Der Hinweis braucht einen Text auf Deutsch.", en: "The notice needs a text in German."),
    "field_notice_en_missing": .init(
      de: "Der Hinweis braucht einen Text auf Englisch.", en: "The notice needs a text in English."
    ),
    "field_notice_too_long": .init(
      de: "Der Hinweis darf höchstens {bound} Zeichen lang sein.",
      en: "The notice can be at most {bound} characters long."),
    "field_notice_control_characters": .init(
      de: "Der Hinweis enthält Steuerzeichen.", en: "The notice contains control characters."),
    "problem_metrics_token": .init(
      de: "Die Messwerte brauchen das Token.", en: "The metrics need the token."),

    // Ours
    "problem_service_unavailable": .init(
      de:
        "Der Dienst ist gerade kurz nicht erreichbar. Bitte versuchen Sie es in einigen Sekunden noch einmal; es ist nichts verloren gegangen.",
      en:
        "The service is briefly unavailable. Please try again in a few seconds; nothing has been lost."
    ),
    "problem_service_unavailable_cannot_store": .init(
      de:
        "Der Dienst kann gerade keine Daten speichern. Bitte versuchen Sie es später noch einmal; es ist nichts verloren gegangen.",
      en: "The service cannot store data right now. Please try again later; nothing has been lost."
    ),
    "problem_upstream_refused": .init(
      de: "Die Zertifizierungsstelle hat den Auftrag abgelehnt: {reason}",
      en: "The certificate authority refused the order: {reason}"),
    "problem_internal": .init(
      de:
        "Bei uns ist etwas schiefgegangen. Bitte versuchen Sie es später noch einmal und nennen Sie die Referenz {reference}, falls es so bleibt.",
      en:
        "Something went wrong on our side. Please try again later, and quote reference {reference} if it persists."
    ),
    "problem_http": .init(de: "{reason}", en: "{reason}"),
  ]
}
