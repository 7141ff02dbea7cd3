public import MailsealModel

/// The words for the values the store keeps as identifiers (`in-person`,
/// `identity-card`, `rsa3072`, `submitted`): pages show these, never the
/// identifiers. Each is a catalogue ID, so the catalogue's tests see them.
public enum RecordWords {
  public static func method(_ method: IdentityEvidence.Method, _ language: Language)
    -> String
  {
    switch method {
    case .inPerson: Catalogue.text("method_in_person", language)
    case .videoCall: Catalogue.text("method_video_call", language)
    }
  }

  public static func document(
    _ document: IdentityEvidence.DocumentType, _ language: Language
  ) -> String {
    switch document {
    case .identityCard: Catalogue.text("document_identity_card", language)
    case .passport: Catalogue.text("document_passport", language)
    case .residencePermit: Catalogue.text("document_residence_permit", language)
    }
  }

  public static func role(_ role: StaffRole, _ language: Language) -> String {
    switch role {
    case .operator: Catalogue.text("role_operator", language)
    case .admin: Catalogue.text("role_admin", language)
    case .auditor: Catalogue.text("role_auditor", language)
    case .recoveryOfficer: Catalogue.text("role_recovery_officer", language)
    }
  }

  public static func mailboxType(
    _ type: CertificateRequest.MailboxType, _ language: Language
  ) -> String {
    switch type {
    case .personal: Catalogue.text("type_personal_short", language)
    case .role: Catalogue.text("type_role_short", language)
    }
  }

  /// A key type the form offers, in words; anything else as it is stored.
  public static func keyType(_ keyType: String, _ language: Language) -> String {
    switch OfferedKeyType(rawValue: keyType) {
    case .rsa3072: Catalogue.text("keyname_rsa3072", language)
    case .rsa4096: Catalogue.text("keyname_rsa4096", language)
    case .p256: Catalogue.text("keyname_p256", language)
    case nil: keyType
    }
  }

  /// A request's state as such (the queue's filter); a request's own line
  /// also says why an approved one waits.
  public static func state(_ state: CertificateRequest.State, _ language: Language)
    -> String
  {
    switch state {
    case .submitted: Catalogue.text("state_submitted", language)
    case .verified: Catalogue.text("state_verified", language)
    case .approved: Catalogue.text("state_approved_any", language)
    case .issued: Catalogue.text("state_issued", language)
    case .rejected: Catalogue.text("state_rejected", language)
    case .withdrawn: Catalogue.text("state_withdrawn", language)
    case .expired: Catalogue.text("state_expired", language)
    }
  }
}
