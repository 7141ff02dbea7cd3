import Vapor

/// A form whose only field is its CSRF token (withdraw, sign out, clear,
/// approve).
struct CSRFForm: Content {
  var csrf: String
}
