import MailsealCA
import Vapor

/// The portal's addresses that controllers send people to, and the areas of
/// the site that the middlewares treat differently — in one place. (The
/// templates' links are checked against the routes by a test.)
enum SiteURL {
  case start
  case requests
  case request(number: String)
  case certificate(serial: String, staff: Bool, revoked: Bool = false)
  case operatorLogin
  case operatorCode
  case operatorQueue
  case operatorRequest(number: String)
  case operatorAdmin(saved: Bool = false)

  var path: String {
    switch self {
    case .start: return "/"
    case .requests: return "/requests"
    case .request(let number): return "/requests/\(number)"
    case .certificate(let serial, let staff, let revoked):
      return (staff ? "/operator/certificates/" : "/certificates/") + serial
        + (revoked ? "?revoked=1" : "")
    case .operatorLogin: return "/operator/login"
    case .operatorCode: return "/operator/code"
    case .operatorQueue: return "/operator/queue"
    case .operatorRequest(let number): return "/operator/requests/\(number)"
    case .operatorAdmin(let saved): return "/operator/admin" + (saved ? "?saved=1" : "")
    }
  }

  /// What part of the site a path belongs to.
  enum Area {
    /// CA certificates, CRLs and OCSP: data for relying parties.
    case publication
    /// The JSON API.
    case api
    /// Staff pages.
    case staff
    /// `/healthz`, `/metrics`.
    case operations
    /// The requester's pages (and everything else).
    case requester
  }

  static func area(of path: String) -> Area {
    let first = path.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
    switch first {
    case PublicEndpoints.caCertificatePathPrefix, PublicEndpoints.crlPathPrefix,
      PublicEndpoints.ocspPath:
      return .publication
    case "api": return .api
    case "operator": return .staff
    case "healthz", "metrics": return .operations
    default: return .requester
    }
  }
}

extension Request {
  /// A 303 to one of the portal's own pages.
  func redirect(to url: SiteURL) -> Response {
    redirect(to: url.path)
  }
}
