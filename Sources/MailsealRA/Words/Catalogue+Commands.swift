extension Catalogue {
  /// What the administrator's commands print and throw, and their help:
  /// `command.<group>.<command>.<what>`; `command.<group>.<command>.help`
  /// for a command's help, `….<option>.help` for an option's;
  /// `command.failure.…` and `command.file.…` for what several commands
  /// share. The language is the shell's (`LC_ALL`, `LC_MESSAGES`, `LANG`).
  static let commands: [String: LocalizedText] = [
    // Shared by several commands
    "command_failure_needs_installation": .init(
      de: "Dieser Befehl braucht die Konfiguration der Installation.",
      en: "This command needs the installation's configuration."),
    "command_failure_file_unreadable": .init(
      de: "{what} {path} kann nicht gelesen werden.", en: "The {what} {path} cannot be read."),
    "command_failure_file_too_large": .init(
      de: "{what} {path} ist größer als {limit} Bytes.",
      en: "The {what} {path} is larger than {limit} bytes."),
    "command_failure_cannot_write": .init(
      de: "{path} kann nicht geschrieben werden.", en: "{path} cannot be written."),
    "command_failure_folder_not_empty": .init(
      de: "{path} ist nicht leer; es wird nichts überschrieben.",
      en: "{path} is not empty; nothing is overwritten."),
    "command_failure_exists": .init(
      de: "{path} gibt es schon; es wird nichts überschrieben.",
      en: "{path} exists; nothing is overwritten."),
    // The files a command reads, inside the two sentences above (German
    // with its article, at the start of the sentence).
    "command_file_chain": .init(de: "Die Kettendatei", en: "chain file"),
    "command_file_key": .init(de: "Die Schlüsseldatei", en: "key file"),
    "command_file_passphrase": .init(de: "Die Passphrasendatei", en: "passphrase file"),
    "command_file_certificate_request": .init(
      de: "Der Zertifikatsantrag", en: "certificate request"),
    "command_file_certificate": .init(de: "Das Zertifikat", en: "certificate"),
    "command_file_recovery_certificate": .init(
      de: "Das Wiederherstellungszertifikat", en: "recovery certificate"),
    "command_file_recovery_key": .init(
      de: "Der Wiederherstellungsschlüssel", en: "recovery key"),
    "command_file_share": .init(de: "Der Anteil", en: "share"),
    "command_file_envelope": .init(de: "Der Schlüsselumschlag", en: "envelope"),

    // mailseal audit
    "command_directory_help": .init(
      de: "Das Verzeichnis der Organisation mit den veröffentlichten Zertifikaten abgleichen.",
      en: "Compare the organisation's directory with the published certificates."),
    "command_directory_sync_help": .init(
      de:
        "Vergleicht, was das Verzeichnis an Werten von Mailseal hält, mit dem, was es halten soll, und repariert die Unterschiede.",
      en:
        "Compares the values Mailseal put into the directory with what it should hold, and repairs the differences."
    ),
    "command_directory_dry_run_help": .init(
      de: "nur die Unterschiede zeigen, nichts ändern", en: "show the differences, change nothing"),
    "command_directory_not_configured": .init(
      de: "Kein Verzeichnis eingerichtet: MAILSEAL_PUBLISH und MAILSEAL_LDAP_URL setzen.",
      en: "No directory is configured: set MAILSEAL_PUBLISH and MAILSEAL_LDAP_URL."),
    "command_directory_more": .init(
      de: "… und {count} weitere", en: "… and {count} more"),
    "command_directory_dry_run": .init(
      de:
        "{addresses} Adressen verglichen: {added} hinzuzufügen, {removed} zu entfernen, {unreadable} Einträge nicht lesbar (nichts geändert)",
      en:
        "{addresses} addresses compared: {added} to add, {removed} to remove, {unreadable} entries unreadable (nothing changed)"
    ),
    "command_directory_synced": .init(
      de:
        "{addresses} Adressen verglichen: {added} hinzugefügt, {removed} entfernt, {unreadable} Einträge nicht lesbar; {applied} Änderungen angewandt in {seconds} s",
      en:
        "{addresses} addresses compared: {added} added, {removed} removed, {unreadable} entries unreadable; {applied} changes applied in {seconds} s"
    ),
    // mailseal backup, mailseal restore
    "command_backup_help": .init(
      de:
        "Eine Sicherung der laufenden Installation schreiben: Datenbank (konsistent), CA-Schlüsseldateien (verschlüsselt), Konfiguration ohne Geheimnisse.",
      en:
        "Write a backup of the running installation: the database (consistent), the CA key files (encrypted), the configuration without secrets."
    ),
    "command_backup_out_help": .init(
      de: "Die neue Sicherungsdatei (wird nie überschrieben, Modus 0600).",
      en: "The new backup file (never overwritten, mode 0600)."),
    "command_backup_needs_out": .init(
      de: "Die Sicherung braucht --out DATEI.", en: "A backup needs --out FILE."),
    "command_backup_written": .init(
      de:
        "Sicherung geschrieben: {path} ({bytes} Bytes, Datenbankstand {taken}, {keys} CA-Schlüsseldateien) in {seconds} s.",
      en:
        "Backup written: {path} ({bytes} bytes, database as of {taken}, {keys} CA key files) in {seconds} s."
    ),
    "command_backup_kept_elsewhere": .init(
      de: "Nicht in der Sicherung – bewahren Sie dies getrennt auf:",
      en: "Not in the backup — keep these elsewhere:"),
    "command_restore_help": .init(
      de:
        "Eine Sicherung in einen leeren Datenordner und eine leere Datenbank zurückspielen; danach läuft serve weiter.",
      en:
        "Restore a backup into an empty data folder and an empty database; serve carries on afterwards."
    ),
    "command_restore_from_help": .init(
      de: "Die Sicherungsdatei (von mailseal backup).",
      en: "The backup file (from mailseal backup)."),
    "command_restore_needs_from": .init(
      de: "Das Zurückspielen braucht --from DATEI.", en: "A restore needs --from FILE."),
    "command_restore_done": .init(
      de:
        "Zurückgespielt: die Sicherung mit dem Datenbankstand {taken} ({database}, {keys} CA-Schlüsseldateien, {certificates} Zertifikate, Prüfprotokoll bis Eintrag {seq}) in {seconds} s.",
      en:
        "Restored: the backup of the database as of {taken} ({database}, {keys} CA key files, {certificates} certificates, audit trail up to record {seq}) in {seconds} s."
    ),
    "command_restore_span": .init(
      de:
        "Dieser Installation fehlt alles ab {taken} bis zum Ende der alten Installation:",
      en:
        "This installation lacks everything from {taken} until the old installation stopped:"),
    "command_restore_span_issued": .init(
      de:
        "Zertifikate aus dieser Zeit kennt sie nicht: OCSP antwortet für sie „unknown“, keine CRL führt sie. Sperren Sie sie über ihre Seriennummer (mailseal ca revoke), wenn Sie sie aus Protokollen oder Mails kennen.",
      en:
        "Certificates issued in that time are unknown here: OCSP answers “unknown” for them, no CRL lists them. Revoke them by serial (mailseal ca revoke) where logs or mails name them."
    ),
    "command_restore_span_upstream": .init(
      de:
        "Die vorgeschaltete CA führt jeden Auftrag: listen Sie dort die seit diesem Zeitpunkt erteilten Zertifikate auf und sperren Sie dort, was Sie nicht kennen.",
      en:
        "The upstream CA keeps every order: list there the certificates issued since that time, and revoke there what you do not recognise."
    ),
    "command_restore_span_revoked": .init(
      de:
        "Sperrungen aus dieser Zeit sind verloren: sperren Sie diese Zertifikate erneut (mailseal ca revoke), sonst gelten sie hier als gültig.",
      en:
        "Revocations made in that time are lost: revoke those certificates again (mailseal ca revoke), or they count as valid here."
    ),
    "command_restore_span_waiting": .init(
      de:
        "{count} genehmigte Anträge warten auf Ausstellung: serve stellt sie aus; ein ihnen in dieser Zeit schon ausgestelltes Zertifikat bleibt hier unbekannt.",
      en:
        "{count} approved requests are waiting for issuance: serve issues them; a certificate issued to them in that time stays unknown here."
    ),
    "command_restore_crls": .init(
      de:
        "Die nächste CRL jeder CA ({issuers}) erscheint beim Start von serve, mit einer höheren Nummer als jede frühere.",
      en:
        "The next CRL of each CA ({issuers}) is published when serve starts, numbered above every earlier one."
    ),
    "command_restore_kept_elsewhere": .init(
      de: "Die Sicherung enthielt dies nicht (es muss hier eingerichtet sein):",
      en: "The backup did not hold these (they must be in place here):"),
    "command_audit_help": .init(
      de: "Die Hash-Kette des Prüfprotokolls prüfen oder das Protokoll exportieren.",
      en: "Check the audit trail's hash chain or export it."),
    "command_audit_verify_help": .init(
      de:
        "Hash und Verkettung jedes Eintrags prüfen; den ersten gebrochenen Eintrag nennen (Exit-Status 1).",
      en: "Check every record's hash and link; name the first broken record (exit status 1)."),
    "command_audit_broken": .init(
      de:
        "Prüfprotokoll gebrochen bei Eintrag {seq}: {reason} (die {records} Einträge davor sind intakt)",
      en: "audit trail broken at record {seq}: {reason} ({records} records before it hold)"),
    "command_audit_intact": .init(
      de: "Prüfprotokoll intakt: {records} Einträge, jede Verkettung hält",
      en: "audit trail intact: {records} records, every link holds"),
    "command_audit_export_help": .init(
      de: "Das ganze Prüfprotokoll als JSON Lines exportieren, die ältesten Einträge zuerst.",
      en: "Export the whole audit trail as JSON lines, oldest first."),
    "command_audit_export_out_help": .init(
      de: "In diese Datei schreiben (neu angelegt, Modus 0600) statt auf die Standardausgabe.",
      en: "Write to this file (made new, mode 0600) instead of standard output."),
    "command_audit_export_written": .init(
      de: "Prüfprotokoll nach {path} geschrieben", en: "audit trail written to {path}"),

    // mailseal notice
    "command_notice_help": .init(
      de:
        "Den Diensthinweis auf jeder Seite für Antragstellende setzen, entfernen oder anzeigen.",
      en: "Set, clear or show the service notice shown on every requester page."),
    "command_notice_set_help": .init(
      de:
        "Den Hinweis auf Deutsch und Englisch setzen (beide nötig, höchstens 500 Zeichen je Sprache).",
      en: "Set the notice in German and English (both required, 500 characters each)."),
    "command_notice_set_de_help": .init(
      de: "Der Hinweis auf Deutsch.", en: "The notice in German."),
    "command_notice_set_en_help": .init(
      de: "Der Hinweis auf Englisch.", en: "The notice in English."),
    "command_notice_set_both_required": .init(
      de: "--de TEXT und --en TEXT sind beide nötig.",
      en: "--de TEXT and --en TEXT are both required."),
    "command_notice_set_done": .init(
      de: "Der Hinweis erscheint jetzt auf jeder Seite für Antragstellende.",
      en: "The notice is shown on every requester page."),
    "command_notice_clear_help": .init(de: "Den Hinweis entfernen.", en: "Remove the notice."),
    "command_notice_clear_done": .init(
      de: "Der Hinweis ist entfernt.", en: "The notice is removed."),
    "command_notice_show_help": .init(
      de: "Den Hinweis anzeigen und ob die Ausstellung pausiert ist.",
      en: "Show the notice and whether issuance is paused."),
    "command_notice_show_none": .init(de: "kein Hinweis", en: "no notice"),
    "command_notice_show_issuance_paused": .init(
      de: "Ausstellung pausiert", en: "issuance paused"),
    "command_notice_show_issuance_running": .init(
      de: "Ausstellung läuft", en: "issuance running"),

    // mailseal issuance
    "command_issuance_help": .init(
      de: "Die Ausstellung pausieren oder fortsetzen.", en: "Pause or resume issuance."),
    "command_issuance_pause_help": .init(
      de: "Die Ausstellung pausieren: Genehmigte Anträge warten.",
      en: "Pause issuance: approved requests wait."),
    "command_issuance_resume_help": .init(
      de: "Die Ausstellung fortsetzen.", en: "Resume issuance."),
    "command_issuance_paused": .init(
      de: "Die Ausstellung ist pausiert; genehmigte Anträge warten.",
      en: "Issuance is paused; approved requests wait."),
    "command_issuance_running": .init(
      de: "Die Ausstellung läuft.", en: "Issuance is running."),
    "command_issuance_status_help": .init(
      de: "Anzeigen, ob die Ausstellung pausiert ist und wie viele Anträge warten.",
      en: "Say whether issuance is paused and how many requests wait."),
    "command_issuance_status_paused": .init(
      de: "pausiert; wartende genehmigte Anträge: {count}",
      en: "paused; {count} approved request(s) waiting"),
    "command_issuance_status_running": .init(
      de: "läuft; wartende genehmigte Anträge: {count}",
      en: "running; {count} approved request(s) waiting"),

    // mailseal operator
    "command_operator_help": .init(
      de: "Mitarbeitende für Service-Desk, Verwaltung und Revision hinzufügen.",
      en: "Add operators (service desk), administrators and auditors."),
    "command_operator_add_help": .init(
      de:
        "Ein Konto für Mitarbeitende anlegen und seinen einmaligen Einrichtungslink ausgeben (48 Stunden gültig).",
      en: "Add a staff account and print its one-time enrolment link (valid 48 hours)."),
    "command_operator_add_email_help": .init(
      de: "Die E-Mail-Adresse der Person (zugleich ihr Anmeldename).",
      en: "The operator's mail address (also the sign-in name)."),
    "command_operator_add_name_help": .init(
      de: "Der Name der Person, wie ihn das Backoffice und das Prüfprotokoll zeigen.",
      en: "The operator's name as shown in the back office and the audit trail."),
    "command_operator_add_role_help": .init(
      de:
        "operator (prüfen, genehmigen, ablehnen, widerrufen), admin (dazu Mitarbeitende, Hinweise, Einstellungen), auditor (nur lesen) oder recovery-officer (gibt Schlüsselwiederherstellungen frei, lädt deren Schlüsselumschläge herunter).",
      en:
        "operator (verify, approve, reject, revoke), admin (also operators, notices, settings), auditor (read only) or recovery-officer (approves key recoveries, downloads their envelopes)."
    ),
    "command_operator_add_required": .init(
      de: "--email, --name und --role sind nötig.",
      en: "--email, --name and --role are required."),
    "command_operator_add_role_invalid": .init(
      de:
        "--role muss operator, admin, auditor oder recovery-officer sein; „{value}“ gehört nicht dazu.",
      en: "--role must be operator, admin, auditor or recovery-officer; “{value}” is not."),
    "command_operator_add_added": .init(
      de: "{name} <{email}> als {role} hinzugefügt.", en: "Added {name} <{email}> as {role}."),
    "command_operator_add_link": .init(
      de:
        "Einrichtungslink (48 Stunden gültig, nur einmal nutzbar; senden Sie ihn ausschließlich an {email}):",
      en: "Enrolment link (valid 48 hours, works once; send it to {email} only):"),

    // mailseal ca
    "command_ca_help": .init(
      de: "Die CA erzeugen, importieren oder anzeigen; ein Zertifikat direkt ausstellen.",
      en: "Make, import, show the CA; issue a certificate directly."),
    // ca init
    "command_ca_init_help": .init(
      de:
        "Eine Root-CA und eine ausstellende CA erzeugen; die Schlüssel kommen in Verwahrung (verschlüsselte Dateien oder ein HSM-Token), die Zertifikate in die Datenbank.",
      en:
        "Make a root CA and an issuing CA; keys go into custody (encrypted files or an HSM token), certificates into the database."
    ),
    "command_ca_init_key_type_help": .init(
      de:
        "Schlüsseltyp der Root- und der ausstellenden CA: p384 (Standard), rsa4096, p256 oder p521.",
      en: "Key type of the root and issuing CA: p384 (default), rsa4096, p256 or p521."),
    "command_ca_init_test_help": .init(
      de: "Die CAs „TEST — not trusted“ nennen (die eingebaute Test-CA).",
      en: "Name the CAs \"TEST — not trusted\" (the embedded test CA)."),
    "command_ca_init_custody_help": .init(
      de:
        "Wo die Schlüssel erzeugt werden: file (verschlüsselte Dateien im Datenordner) oder pkcs11 (im Token des HSM; braucht MAILSEAL_PKCS11_MODULE und eine PIN-Datei). Standard: pkcs11, wenn MAILSEAL_PKCS11_TOKEN gesetzt ist, sonst file.",
      en:
        "Where the keys are made: file (encrypted files in the data folder) or pkcs11 (inside the HSM token; needs MAILSEAL_PKCS11_MODULE and a PIN file). Default: pkcs11 when MAILSEAL_PKCS11_TOKEN is set, else file."
    ),
    "command_ca_init_token_help": .init(
      de: "Mit --custody pkcs11: das Label des Tokens (Standard: MAILSEAL_PKCS11_TOKEN).",
      en: "With --custody pkcs11: the label of the token (default MAILSEAL_PKCS11_TOKEN)."),
    "command_ca_init_key_type_invalid": .init(
      de: "--key-type muss einer von {choices} sein; „{value}“ gehört nicht dazu.",
      en: "--key-type must be one of {choices}; “{value}” is not."),
    "command_ca_init_token_without_pkcs11": .init(
      de: "--token gehört zu --custody pkcs11.", en: "--token belongs to --custody pkcs11."),
    "command_ca_init_custody_invalid": .init(
      de: "--custody muss file oder pkcs11 sein; „{value}“ gehört nicht dazu.",
      en: "--custody must be file or pkcs11; “{value}” is not."),
    "command_ca_init_made_root": .init(
      de: "Root-CA erzeugt          {subject}", en: "Made the root CA    {subject}"),
    "command_ca_init_made_issuing": .init(
      de: "Ausstellende CA erzeugt  {subject}", en: "Made the issuing CA {subject}"),
    "command_ca_init_keys_in_files": .init(
      de: "Schlüssel (verschlüsselt, {keyType}): {path}",
      en: "Keys (encrypted, {keyType}): {path}"),
    "command_ca_init_root_key_offline": .init(
      de:
        "Bringen Sie die Schlüsseldatei der Root-CA {file} nach der Zeremonie auf einen Rechner ohne Netz; sie wird nur zum Signieren neuer ausstellender CAs und der CRL der Root-CA gebraucht.",
      en:
        "Move the root key file {file} offline after the ceremony; it is needed only to sign new issuing CAs and the root CRL."
    ),
    "command_ca_init_keys_in_token": .init(
      de: "Schlüssel ({keyType}) im Token erzeugt: sensitiv, nicht extrahierbar.",
      en: "Keys ({keyType}) made inside the token: sensitive, not extractable."),
    "command_ca_init_root_key_in_token": .init(
      de:
        "Der Root-Schlüssel {reference} wird nur zum Signieren neuer ausstellender CAs und der CRL der Root-CA gebraucht: Sichern Sie den Token so, wie es sein Hersteller beschreibt, und bewahren Sie den Token der Root-CA offline auf, wo das HSM es erlaubt.",
      en:
        "The root key {reference} is needed only to sign new issuing CAs and the root CRL: back up the token as its maker describes, and keep the root's token offline where the HSM allows it."
    ),
    // ca import
    "command_ca_import_help": .init(
      de:
        "Eine bestehende ausstellende CA (Zertifikatskette und verschlüsselter Schlüssel) für den Betrieb übernehmen.",
      en:
        "Take over an existing issuing CA (certificate chain and encrypted key) for production."),
    "command_ca_import_chain_help": .init(
      de:
        "PEM-Datei: zuerst das Zertifikat der ausstellenden CA, dann jeder Aussteller bis zur Root-CA.",
      en: "PEM file: the issuing CA certificate first, then each issuer up to the root."),
    "command_ca_import_key_help": .init(
      de:
        "Der Schlüssel der ausstellenden CA: eine Datei mit verschlüsseltem PKCS#8-PEM (openssl pkcs8 -topk8 -v2 aes-256-cbc) oder die PKCS#11-URI eines Schlüssels im HSM (pkcs11:token=…;object=…).",
      en:
        "The issuing CA key: a file of encrypted PKCS#8 PEM (openssl pkcs8 -topk8 -v2 aes-256-cbc), or the PKCS#11 URI of a key in the HSM (pkcs11:token=…;object=…)."
    ),
    "command_ca_import_key_passphrase_file_help": .init(
      de: "Datei mit der Passphrase von --key (Standard: die CA-Passphrase dieser Installation).",
      en: "File with the passphrase of --key (default: the CA passphrase of this installation)."),
    "command_ca_import_required": .init(
      de: "--chain DATEI und --key DATEI sind beide nötig.",
      en: "Both --chain FILE and --key FILE are required."),
    "command_ca_import_passphrase_for_token": .init(
      de:
        "--key-passphrase-file gehört zu einer Schlüsseldatei; ein Schlüssel in einem Token wird mit dessen PIN geöffnet (MAILSEAL_PKCS11_PIN_FILE).",
      en:
        "--key-passphrase-file belongs to a key file; a key in a token is opened with its PIN (MAILSEAL_PKCS11_PIN_FILE)."
    ),
    "command_ca_import_done": .init(
      de: "Ausstellende CA {subject} importiert; sie ist jetzt aktiv.",
      en: "Imported the issuing CA {subject}; it is now active."),
    // ca show
    "command_ca_show_help": .init(
      de: "Die CA-Kette ausgeben: Subjects, Fingerabdrücke, Schlüsseltypen, Gültigkeit, URLs.",
      en: "Print the CA chain: subjects, fingerprints, key types, validity, URLs."),
    "command_ca_show_none": .init(
      de:
        "Noch keine ausstellende CA: Führen Sie `mailseal ca init` oder `mailseal ca import` aus (oder `mailseal serve`, das eine Test-CA erzeugt).",
      en:
        "No issuing CA yet: run `mailseal ca init` or `mailseal ca import` (or `mailseal serve`, which makes a test CA)."
    ),
    "command_ca_show_issuing_active": .init(
      de: "Ausstellende CA (aktiv)", en: "Issuing CA (active)"),
    "command_ca_show_root": .init(de: "Root-CA", en: "Root CA"),
    "command_ca_show_intermediate": .init(de: "CA", en: "CA"),
    "command_ca_show_test": .init(
      de: "{title} — TEST, nicht vertrauenswürdig", en: "{title} — TEST, not trusted"),
    "command_ca_show_subject_label": .init(de: "Subject", en: "subject"),
    "command_ca_show_issuer_label": .init(de: "Aussteller", en: "issuer"),
    "command_ca_show_serial_label": .init(de: "Seriennummer", en: "serial"),
    "command_ca_show_fingerprint_label": .init(de: "SHA-256", en: "SHA-256"),
    "command_ca_show_key_type_label": .init(de: "Schlüsseltyp", en: "key type"),
    "command_ca_show_valid_label": .init(de: "gültig", en: "valid"),
    "command_ca_show_key_label": .init(de: "Schlüssel", en: "key"),
    "command_ca_show_token_label": .init(de: "Token", en: "token"),
    "command_ca_show_certificate_label": .init(de: "Zertifikat", en: "certificate"),
    "command_ca_show_crl_label": .init(de: "CRL", en: "CRL"),
    "command_ca_show_ocsp_label": .init(de: "OCSP", en: "OCSP"),
    "command_ca_show_key_type": .init(
      de: "{keyType}, signiert mit {algorithm}", en: "{keyType}, signs with {algorithm}"),
    "command_ca_show_key_not_held": .init(
      de: "nicht bei dieser Installation", en: "not held by this installation"),
    "command_ca_show_token": .init(
      de: "„{label}“, hergestellt von {manufacturer} ({model}), Seriennummer {serial}",
      en: "“{label}”, made by {manufacturer} ({model}), serial {serial}"),
    "command_ca_show_token_unreachable": .init(
      de: "nicht erreichbar: {reason}", en: "cannot be reached: {reason}"),
    // ca issue
    "command_ca_issue_help": .init(
      de:
        "Ein Zertifikat direkt aus einem CSR ausstellen (für Administratoren und Tests); es wird wie jedes andere erfasst.",
      en:
        "Issue a certificate from a CSR directly (for administrators and tests); it is recorded like any other."
    ),
    "command_ca_issue_csr_help": .init(
      de: "Der PKCS#10-Antrag, PEM oder DER.", en: "The PKCS#10 request, PEM or DER."),
    "command_ca_issue_email_help": .init(
      de: "Das Postfach, für das das Zertifikat ausgestellt wird.",
      en: "The mailbox the certificate is for."),
    "command_ca_issue_given_name_help": .init(
      de: "Persönliches Postfach: der Vorname (mit --surname).",
      en: "Personal mailbox: the given name (with --surname)."),
    "command_ca_issue_surname_help": .init(
      de: "Persönliches Postfach: der Nachname (mit --given-name).",
      en: "Personal mailbox: the surname (with --given-name)."),
    "command_ca_issue_pseudonym_help": .init(
      de: "Funktions- oder Gruppenpostfach: sein Name in natürlicher Sprache.",
      en: "Role or group mailbox: its name in natural language."),
    "command_ca_issue_mailbox_only_help": .init(
      de: "Postfach-validiertes Zertifikat: Der Common Name ist die Adresse.",
      en: "Mailbox-validated certificate: the common name is the address."),
    "command_ca_issue_out_help": .init(
      de: "Das PEM-Zertifikat in diese Datei schreiben statt auf die Standardausgabe.",
      en: "Write the PEM certificate to this file instead of standard output."),
    "command_ca_issue_wait_help": .init(
      de:
        "Mit einer vorgelagerten Zertifizierungsstelle: so viele Sekunden auf das Zertifikat warten (0–3600, Vorgabe 60)",
      en:
        "With an upstream certificate authority: seconds to wait for the certificate (0–3600, default 60)"
    ),
    "command_ca_issue_order_help": .init(
      de: "Einen Auftrag fortsetzen, auf den ein früherer Aufruf noch wartete (seine Kennung)",
      en: "Go on with an order an earlier run left waiting (its id)"),
    "command_ca_issue_wait_range": .init(
      de: "--wait nimmt 0 bis 3600 Sekunden.", en: "--wait takes 0 to 3600 seconds."),
    "command_ca_issue_order_invalid": .init(
      de: "--order nimmt die Kennung eines Auftrags (eine UUID).",
      en: "--order takes an order's id (a UUID)."),
    "command_ca_issue_refused": .init(
      de: "Die Zertifizierungsstelle hat den Auftrag abgelehnt: {reason}",
      en: "The certificate authority refused the order: {reason}"),
    "command_ca_issue_held": .init(
      de:
        "Auftrag {order} angehalten, nichts ausgegeben: {reason}. Er wird nicht erneut bestellt.",
      en: "Order {order} held, nothing written: {reason}. It is not ordered again."),
    "command_ca_issue_pending": .init(
      de: "Wartet auf {upstream} …", en: "Waiting for {upstream} …"),
    "command_ca_issue_waiting": .init(
      de:
        "{upstream} hat noch nicht ausgestellt (Auftrag {order}, Referenz {reference}). Später fortsetzen: derselbe Befehl mit --order {order}.",
      en:
        "{upstream} has not issued yet (order {order}, reference {reference}). Go on later: the same command with --order {order}."
    ),
    "command_ca_issue_required": .init(
      de: "--csr DATEI und --email ADRESSE sind nötig.",
      en: "--csr FILE and --email ADDRESS are required."),
    "command_ca_issue_name_one_way": .init(
      de:
        "Nennen Sie die Inhaberin oder den Inhaber auf genau eine Weise: --given-name und --surname (persönlich), --pseudonym (Funktions- oder Gruppenpostfach) oder --mailbox-only.",
      en:
        "Name the holder in exactly one way: --given-name and --surname (personal), --pseudonym (role or group mailbox), or --mailbox-only."
    ),
    "command_ca_issue_not_written": .init(
      de:
        "Das Zertifikat wurde ausgestellt (Seriennummer {serial}), aber {path} kann nicht geschrieben werden; `mailseal ca show` und die Datenbank haben es.",
      en:
        "The certificate was issued (serial {serial}) but {path} cannot be written; `mailseal ca show` and the database hold it."
    ),
    "command_ca_issue_done": .init(
      de: "Seriennummer {serial} ausgestellt, geschrieben nach {path}",
      en: "Issued serial {serial} to {path}"),
    // ca revoke
    "command_ca_revoke_help": .init(
      de:
        "Ein Zertifikat widerrufen: sofort in OCSP, in der nächsten CRL (binnen Sekunden), die Inhaberin oder der Inhaber erfährt es per E-Mail.",
      en:
        "Revoke a certificate: at once in OCSP, in the next CRL (within seconds), the holder told by mail."
    ),
    "command_ca_revoke_serial_help": .init(
      de: "Die Seriennummer des Zertifikats, hexadezimal (Doppelpunkte erlaubt).",
      en: "The certificate's serial number in hex (colons allowed)."),
    "command_ca_revoke_reason_help": .init(
      de:
        "keyCompromise, superseded, affiliationChanged, cessationOfOperation, privilegeWithdrawn, cACompromise oder unspecified.",
      en:
        "keyCompromise, superseded, affiliationChanged, cessationOfOperation, privilegeWithdrawn, cACompromise or unspecified."
    ),
    "command_ca_revoke_required": .init(
      de: "--serial HEX und --reason GRUND sind nötig.",
      en: "--serial HEX and --reason REASON are required."),
    "command_ca_revoke_reason_invalid": .init(
      de: "--reason muss einer von {choices} sein; „{value}“ gehört nicht dazu.",
      en: "--reason must be one of {choices}; “{value}” is not."),
    "command_ca_revoke_not_found": .init(
      de: "Kein Zertifikat dieser Installation hat die Seriennummer {serial}.",
      en: "No certificate of this installation has serial {serial}."),
    "command_ca_revoke_done": .init(
      de: "{serial} ({mailbox}) widerrufen mit dem Grund {reason}; die CRL ist veröffentlicht.",
      en: "Revoked {serial} ({mailbox}) for {reason}; the CRL is published."),

    // mailseal recovery
    "command_recovery_help": .init(
      de:
        "Wiederherstellungsschlüssel für hinterlegte Verschlüsselungsschlüssel: einen offline erzeugen, sein Zertifikat installieren, einen Schlüsselumschlag öffnen.",
      en:
        "Recovery keys for escrowed encryption keys: make one offline, install its certificate, open an envelope."
    ),
    "command_recovery_out_required": .init(
      de: "--out ORDNER ist nötig.", en: "--out FOLDER is required."),
    "command_recovery_key_help": .init(
      de: "Die Datei des Wiederherstellungsschlüssels (oder geben Sie die Anteile an).",
      en: "The recovery key file (or give the shares)."),
    "command_recovery_key_or_shares": .init(
      de: "Geben Sie entweder --key oder --share (einmal je Anteil) an, nicht beides.",
      en: "Give either --key or --share (once per share), not both."),
    // recovery init
    "command_recovery_init_help": .init(
      de:
        "Auf dem Rechner ohne Netz: einen RSA-4096-Wiederherstellungsschlüssel und sein Zertifikat erzeugen; mit --split N --threshold M Anteile statt einer Schlüsseldatei.",
      en:
        "On the offline machine: make an RSA-4096 recovery key and its certificate; with --split N --threshold M, shares instead of a key file."
    ),
    "command_recovery_init_out_help": .init(
      de: "Ein neuer oder leerer Ordner für das Zertifikat und den Schlüssel oder die Anteile.",
      en: "A new or empty folder for the certificate and the key or shares."),
    "command_recovery_init_split_help": .init(
      de:
        "Den privaten Schlüssel in so viele Anteile aufteilen (2–255), eine Datei je Beauftragte oder Beauftragten; es wird keine Schlüsseldatei geschrieben.",
      en:
        "Split the private key into this many shares (2–255), one file per officer; no key file is written."
    ),
    "command_recovery_init_threshold_help": .init(
      de: "Mit --split: wie viele Anteile einen Schlüsselumschlag öffnen (2 bis --split).",
      en: "With --split: how many shares open an envelope (2 to --split)."),
    "command_recovery_init_organization_help": .init(
      de: "Der Name der Organisation im Zertifikat (optional).",
      en: "The organisation's name in the certificate (optional)."),
    "command_recovery_init_split_range": .init(
      de: "--split muss zwischen 2 und {maximum} liegen und --threshold zwischen 2 und --split.",
      en: "--split must be 2 to {maximum}, and --threshold 2 to --split."),
    "command_recovery_init_split_with_threshold": .init(
      de: "--split und --threshold gehören zusammen.",
      en: "--split and --threshold go together."),
    "command_recovery_init_organization_length": .init(
      de: "--organization muss 1 bis 64 Zeichen haben.",
      en: "--organization must have 1 to 64 characters."),
    "command_recovery_init_certificate": .init(
      de: "Wiederherstellungszertifikat: {path}", en: "Recovery certificate: {path}"),
    "command_recovery_init_share": .init(de: "Anteil {index}: {path}", en: "Share {index}: {path}"),
    "command_recovery_init_shares_advice": .init(
      de:
        "Je {threshold} der {count} Anteile öffnen einen Schlüsselumschlag; weniger verraten nichts. Geben Sie jeden Anteil einer oder einem Beauftragten, auf einem eigenen Datenträger, und löschen Sie ihn von diesem Rechner.",
      en:
        "Any {threshold} of the {count} shares open an envelope; fewer tell nothing. Give each share to one officer, on its own medium, and delete it from this machine."
    ),
    "command_recovery_init_key": .init(
      de: "Wiederherstellungsschlüssel: {path}", en: "Recovery key: {path}"),
    "command_recovery_init_key_advice": .init(
      de:
        "Die Schlüsseldatei ist nicht verschlüsselt: Bewahren Sie sie auf einem Wechseldatenträger in einem Tresor auf, nie auf einem Rechner im Netz (oder verwenden Sie --split).",
      en:
        "The key file is not encrypted: keep it on removable media in a safe, never on a networked machine (or use --split)."
    ),
    "command_recovery_init_install_next": .init(
      de:
        "Installieren Sie im Portal nur das Zertifikat: mailseal recovery install --cert recovery-certificate.pem",
      en:
        "Install only the certificate in the portal: mailseal recovery install --cert recovery-certificate.pem"
    ),
    // recovery install
    "command_recovery_install_help": .init(
      de:
        "Ein Wiederherstellungszertifikat installieren (nur das Zertifikat): Jeder Schlüsselumschlag wird für alle installierten gemacht.",
      en:
        "Install a recovery certificate (only the certificate): every escrow envelope is made for all installed ones."
    ),
    "command_recovery_install_cert_help": .init(
      de: "Das Wiederherstellungszertifikat (PEM oder DER), das `recovery init` erzeugt hat.",
      en: "The recovery certificate (PEM or DER) made by `recovery init`."),
    "command_recovery_install_cert_required": .init(
      de: "--cert DATEI ist nötig.", en: "--cert FILE is required."),
    "command_recovery_install_installed": .init(
      de: "Wiederherstellungszertifikat {subject} installiert",
      en: "Installed recovery certificate {subject}"),
    "command_recovery_install_already": .init(
      de:
        "Das Wiederherstellungszertifikat {fingerprint} ist schon installiert; es hat sich nichts geändert.",
      en: "Recovery certificate {fingerprint} is installed already; nothing changed."),
    "command_recovery_install_pinned": .init(
      de: "Es ist gepinnt: MAILSEAL_RECOVERY_FINGERPRINTS nennt es.",
      en: "It is pinned: MAILSEAL_RECOVERY_FINGERPRINTS names it."),
    "command_recovery_install_pin_it": .init(
      de: "Um es in Kraft zu setzen, pinnen Sie es und starten Sie die Portale neu:",
      en: "To put it in force, pin it and restart the portals:"),
    "command_recovery_install_escrow_off": .init(
      de:
        "Warnung: Die Schlüsselhinterlegung bleibt aus, bis MAILSEAL_RECOVERY_FINGERPRINTS es nennt.",
      en: "Warning: key escrow stays off until MAILSEAL_RECOVERY_FINGERPRINTS names it."),
    "command_recovery_install_not_sealed": .init(
      de:
        "Warnung: Schlüsselumschläge werden erst für dieses Zertifikat versiegelt, wenn MAILSEAL_RECOVERY_FINGERPRINTS es nennt.",
      en: "Warning: envelopes are not sealed to it until MAILSEAL_RECOVERY_FINGERPRINTS names it."
    ),
    // recovery remove
    "command_recovery_remove_help": .init(
      de:
        "Ein installiertes Wiederherstellungszertifikat entfernen (zuerst den Nachfolger installieren); zuvor gemachte Schlüsselumschläge öffnen sich weiter mit seinem Schlüssel.",
      en:
        "Remove an installed recovery certificate (install its successor first); envelopes made before still open with its key."
    ),
    "command_recovery_remove_fingerprint_help": .init(
      de: "Der SHA-256-Fingerabdruck, den `recovery show` ausgibt.",
      en: "The SHA-256 fingerprint `recovery show` prints."),
    "command_recovery_remove_fingerprint_invalid": .init(
      de: "--fingerprint muss ein SHA-256-Fingerabdruck sein (64 Hexadezimalziffern).",
      en: "--fingerprint must be a SHA-256 fingerprint (64 hex digits)."),
    "command_recovery_remove_pinned": .init(
      de:
        "Es ist gepinnt: Entfernen Sie es zuerst aus MAILSEAL_RECOVERY_FINGERPRINTS und starten Sie die Portale neu (solange ein gepinntes Zertifikat fehlt, stünde die Hinterlegung still).",
      en:
        "It is pinned: remove it from MAILSEAL_RECOVERY_FINGERPRINTS and restart the portals first (escrow would stop while a pinned certificate is missing)."
    ),
    "command_recovery_remove_not_found": .init(
      de: "Kein installiertes Wiederherstellungszertifikat hat diesen Fingerabdruck.",
      en: "No installed recovery certificate has that fingerprint."),
    "command_recovery_remove_done": .init(
      de:
        "Entfernt; neue Schlüsselumschläge werden nicht mehr dafür gemacht. Bewahren Sie seinen Schlüssel oder seine Anteile auf: Ältere Schlüsselumschläge brauchen sie.",
      en:
        "Removed; new envelopes are not made for it. Keep its key or shares: older envelopes need them."
    ),
    // recovery show
    "command_recovery_show_help": .init(
      de: "Die installierten Wiederherstellungszertifikate mit ihren Fingerabdrücken ausgeben.",
      en: "Print the installed recovery certificates with their fingerprints."),
    "command_recovery_show_none": .init(
      de: "Es ist kein Wiederherstellungszertifikat installiert.",
      en: "No recovery certificate is installed."),
    "command_recovery_show_fingerprint_label": .init(de: "SHA-256", en: "SHA-256"),
    "command_recovery_show_pinned_label": .init(de: "gepinnt", en: "pinned"),
    "command_recovery_show_valid_to_label": .init(de: "gültig bis", en: "valid to"),
    "command_recovery_show_installed_label": .init(de: "installiert", en: "installed"),
    "command_recovery_show_pinned": .init(de: "ja", en: "yes"),
    "command_recovery_show_not_pinned": .init(
      de: "nein (nicht in Kraft, bis MAILSEAL_RECOVERY_FINGERPRINTS es nennt)",
      en: "no (not in force until MAILSEAL_RECOVERY_FINGERPRINTS names it)"),
    // recovery open
    "command_recovery_open_help": .init(
      de:
        "Auf dem Rechner ohne Netz: einen Schlüsselumschlag mit dem Wiederherstellungsschlüssel oder den Anteilen öffnen, den Schlüssel mit dem Zertifikat abgleichen, eine PKCS#12-Datei mit einem neuen Passwort schreiben.",
      en:
        "On the offline machine: open an escrow envelope with the recovery key or shares, check the key against the certificate, write a PKCS#12 under a fresh password."
    ),
    "command_recovery_open_envelope_help": .init(
      de: "Der Schlüsselumschlag (DER), den Wiederherstellungsbeauftragte heruntergeladen haben.",
      en: "The escrow envelope (DER) an officer downloaded."),
    "command_recovery_open_share_help": .init(
      de:
        "Eine Anteilsdatei; geben Sie --share einmal je Anteil an (so viele, wie die Schwelle verlangt) oder die Dateien durch Kommas getrennt.",
      en:
        "A share file; give --share once per share (as many as the threshold), or the files separated by commas."
    ),
    "command_recovery_open_certificate_help": .init(
      de: "Das Verschlüsselungszertifikat der Person (PEM oder DER).",
      en: "The person's encryption certificate (PEM or DER)."),
    "command_recovery_open_out_help": .init(
      de: "Wohin die PKCS#12-Datei geschrieben wird (darf noch nicht existieren).",
      en: "Where to write the PKCS#12 file (must not exist)."),
    "command_recovery_open_required": .init(
      de: "--envelope, --certificate und --out sind nötig, dazu --key oder --share.",
      en: "--envelope, --certificate and --out are required, and --key or --share."),
    "command_recovery_open_key_mismatch": .init(
      de:
        "Der Schlüssel im Umschlag ist nicht der Schlüssel von {subject}: Es wurde nichts geschrieben. Führen Sie `mailseal recovery check` aus und melden Sie den Schlüsselumschlag.",
      en:
        "The key in the envelope is not the key of {subject}: nothing was written. Run `mailseal recovery check` and report the envelope."
    ),
    "command_recovery_open_written": .init(
      de: "{path} geschrieben: der Schlüssel von {subject} und sein Zertifikat.",
      en: "Wrote {path}: the key of {subject} and its certificate."),
    "command_recovery_open_password": .init(
      de: "Das Passwort der Datei (nur dieses eine Mal angezeigt, nirgends gespeichert):",
      en: "Its password (shown once, not stored anywhere):"),
    // recovery export
    "command_recovery_export_help": .init(
      de:
        "Hinterlegte Schlüsselumschläge mit ihren Verschlüsselungszertifikaten in einen Ordner schreiben, für den Rechner ohne Netz (recovery open, recovery check). Wird protokolliert.",
      en:
        "Write escrowed envelopes with their encryption certificates to a folder, for the offline machine (recovery open, recovery check). Audited."
    ),
    "command_recovery_export_out_help": .init(
      de: "Ein neuer oder leerer Ordner für die Schlüsselumschläge und ihre Zertifikate.",
      en: "A new or empty folder for the envelopes and their certificates."),
    "command_recovery_export_serial_help": .init(
      de:
        "Nur der Schlüsselumschlag dieses Verschlüsselungszertifikats (Seriennummer, hexadezimal).",
      en: "Only this encryption certificate's envelope (serial, hex)."),
    "command_recovery_export_serial_invalid": .init(
      de: "--serial muss die Seriennummer des Zertifikats sein, hexadezimal.",
      en: "--serial must be the certificate's serial number in hex."),
    "command_recovery_export_done": .init(
      de: "Schlüsselumschläge mit ihren Zertifikaten nach {path} geschrieben: {count}.",
      en: "Wrote {count} envelope(s) with their certificates to {path}."),
    // recovery check
    "command_recovery_check_help": .init(
      de:
        "Auf dem Rechner ohne Netz: jeden Schlüsselumschlag eines Exports öffnen und jeden melden, dessen Schlüssel nicht der seines Zertifikats ist (ein fehlerhafter Browser).",
      en:
        "On the offline machine: open every envelope of an export and report each whose key is not its certificate's (a faulty browser)."
    ),
    "command_recovery_check_export_help": .init(
      de: "Ein Ordner, den `mailseal recovery export` geschrieben hat.",
      en: "A folder written by `mailseal recovery export`."),
    "command_recovery_check_share_help": .init(
      de:
        "Eine Anteilsdatei; geben Sie --share einmal je Anteil an oder die Dateien durch Kommas getrennt.",
      en: "A share file; give --share once per share, or the files separated by commas."),
    "command_recovery_check_required": .init(
      de: "--export ORDNER ist nötig, dazu --key oder --share.",
      en: "--export FOLDER is required, and --key or --share."),
    "command_recovery_check_key_mismatch": .init(
      de: "der Schlüssel im Umschlag ist nicht der Schlüssel des Zertifikats",
      en: "the key in the envelope is not the certificate's key"),
    "command_recovery_check_fault": .init(de: "FEHLER {fault}", en: "FAULT {fault}"),
    "command_recovery_check_summary": .init(
      de: "Geprüfte Schlüsselumschläge: {count}, davon in Ordnung: {good}, fehlerhaft: {faulty}.",
      en: "{count} envelope(s) checked, {good} good, {faulty} faulty."),
    "command_recovery_check_failed": .init(
      de:
        "Schlüsselumschläge, aus denen sich der Schlüssel nicht wiederherstellen ließe: {faulty}.",
      en: "{faulty} envelope(s) would not recover their key."),
  ]
}
