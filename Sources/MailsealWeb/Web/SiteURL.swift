import MailsealCA
import MailsealModel
import MailsealRA
import Vapor

/// The portal's addresses that controllers send people to, and the areas of
/// the site that the middlewares treat differently — in one place. (The
/// templates' links are checked against the routes by a test.)
enum SiteURL {
  case start
  case loginLinkSent
  case requests
  case newRequest
  case request(number: String)
  case certificate(serial: String, staff: Bool, revoked: Bool = false)
  case operatorLogin
  case operatorCode
  case operatorQueue
  case operatorRequest(number: String)
  case operatorAdmin(saved: Bool = false)
  case operatorRecoveries
  case operatorRecovery(number: String, query: String = "")

  var path: String {
    switch self {
    case .start: return PortalPath.start.path()
    case .loginLinkSent: return PortalPath.loginLinkSent.path()
    case .requests: return PortalPath.requests.path()
    case .newRequest: return PortalPath.newRequest.path()
    case .request(let number): return PortalPath.request.path(number)
    case .certificate(let serial, let staff, let revoked):
      return (staff ? PortalPath.deskCertificate : PortalPath.certificate).path(serial)
        + (revoked ? "?revoked=1" : "")
    case .operatorLogin: return PortalPath.staffLogin.path()
    case .operatorCode: return PortalPath.staffCode.path()
    case .operatorQueue: return PortalPath.queue.path()
    case .operatorRequest(let number): return PortalPath.deskRequest.path(number)
    case .operatorAdmin(let saved): return PortalPath.admin.path() + (saved ? "?saved=1" : "")
    case .operatorRecoveries: return PortalPath.recoveries.path()
    case .operatorRecovery(let number, let query):
      return PortalPath.recovery.path(number) + (query.isEmpty ? "" : "?" + query)
    }
  }

  /// The page a form posted to `path` is on (what a language link of its
  /// answer opens): the start page for the address form, the admin page
  /// for its forms, the page of the thing an action was taken on.
  static func pageOfForm(_ path: String) -> String {
    switch path {
    case "/login", "/logout": return "/"
    case "/operator/notice", "/operator/notice/clear", "/operator/issuance",
      "/operator/upstream/revoke", "/operator/upstream/release", "/operator/upstream/reject":
      return "/operator/admin"
    case "/operator/logout": return "/operator/login"
    default: break
    }
    let actions: Set<Substring> = [
      "evidence", "approve", "reject", "withdraw", "revoke", "confirm", "decline", "envelope",
      "recovery",
    ]
    var segments = path.split(separator: "/")
    if let last = segments.last, actions.contains(last) { segments.removeLast() }
    return "/" + segments.joined(separator: "/")
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
