import MailsealModel
public import MailsealRA
public import Vapor

/// A form whose only field is its CSRF token (withdraw, sign out, clear,
/// approve).
struct CSRFForm: Content {
  var csrf: String
}

// The registration authority's forms, as Vapor decodes them.
extension RequestForm: Content {}
extension EvidenceForm: Content {}
