import MailsealCA

/// Every path of the portal, in one place: the web registers its routes from
/// these, and mails, redirects and links are built from them — so a link
/// cannot name a page that no route serves, and a test fails when a route
/// is registered that is not named here.
///
/// A path is written as its pattern: constant segments, `:name` for a
/// parameter, `**` for the rest of the path.
public struct PortalPath: Hashable, Sendable, CustomStringConvertible {
  /// One segment of a pattern.
  public enum Segment: Hashable, Sendable {
    case constant(String)
    case parameter(String)
    /// Everything after (the OCSP GET request's base64, which may hold "/").
    case catchall
  }

  public let segments: [Segment]

  /// A path from its pattern, e.g. `/login/:token`.
  public init(_ pattern: String) {
    segments = pattern.split(separator: "/").map { segment in
      if segment == "**" { return .catchall }
      if segment.hasPrefix(":") { return .parameter(String(segment.dropFirst())) }
      return .constant(String(segment))
    }
  }

  /// The pattern, e.g. `/login/:token`.
  public var description: String {
    "/"
      + segments.map { segment in
        switch segment {
        case .constant(let text): text
        case .parameter(let name): ":" + name
        case .catchall: "**"
        }
      }.joined(separator: "/")
  }

  /// The path with `values` for its parameters, in order (each
  /// percent-encoded as a path segment needs).
  public func path(_ values: String...) -> String {
    var next = values.makeIterator()
    return "/"
      + segments.map { segment in
        switch segment {
        case .constant(let text): text
        case .parameter, .catchall: Self.encoded(next.next() ?? "")
        }
      }.joined(separator: "/")
  }

  /// The absolute URL under `base` (the public URL, no trailing slash).
  public func url(base: String, _ values: String...) -> String {
    var next = values.makeIterator()
    return base
      + "/"
      + segments.map { segment in
        switch segment {
        case .constant(let text): text
        case .parameter, .catchall: Self.encoded(next.next() ?? "")
        }
      }.joined(separator: "/")
  }

  /// A value as a path segment: unreserved characters and a few
  /// sub-delimiters plain, everything else percent-encoded (request
  /// numbers, serials and tokens never need it).
  static func encoded(_ value: String) -> String {
    var text = ""
    for byte in value.utf8 {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
        UInt8(ascii: "_"), UInt8(ascii: "~"):
        text.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        text += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
      }
    }
    return text
  }
}

extension String {
  fileprivate func leftPadded(to length: Int) -> String {
    String(repeating: "0", count: max(0, length - count)) + self
  }
}

extension PortalPath {
  // Operations.
  public static let health = PortalPath("/healthz")
  public static let metrics = PortalPath("/metrics")

  // The CA's publication point: what certificates name (PublicEndpoints).
  public static let caCertificate = PortalPath(
    "/\(PublicEndpoints.caCertificatePathPrefix)/:file")
  public static let crl = PortalPath("/\(PublicEndpoints.crlPathPrefix)/:file")
  public static let ocsp = PortalPath("/\(PublicEndpoints.ocspPath)")
  public static let ocspGet = PortalPath("/\(PublicEndpoints.ocspPath)/**")

  // The requester's pages.
  public static let start = PortalPath("/")
  public static let login = PortalPath("/login")
  public static let loginLinkSent = PortalPath("/login/sent")
  public static let loginWithProvider = PortalPath("/login/provider")
  public static let loginLink = PortalPath("/login/:token")
  public static let oidcCallback = PortalPath("/oidc/callback")
  public static let oidcBackchannelLogout = PortalPath("/oidc/backchannel-logout")
  public static let signedIn = PortalPath("/signed-in")
  public static let logout = PortalPath("/logout")
  public static let requests = PortalPath("/requests")
  public static let newRequest = PortalPath("/requests/new")
  public static let request = PortalPath("/requests/:number")
  public static let withdraw = PortalPath("/requests/:number/withdraw")

  // Pickup (steps 10–12): by the link from the mail, or signed in.
  public static let pickup = PortalPath("/pickup/:token")
  public static let pickupBundle = PortalPath("/pickup/:token/bundle.json")
  public static let pickupFile = PortalPath("/pickup/:token/:file")
  public static let requestPickup = PortalPath("/requests/:number/pickup")
  public static let requestPickupBundle = PortalPath("/requests/:number/pickup/bundle.json")
  public static let requestPickupFile = PortalPath("/requests/:number/pickup/:file")
  public static let certificate = PortalPath("/certificates/:serial")
  public static let revoke = PortalPath("/certificates/:serial/revoke")
  public static let askRecovery = PortalPath("/certificates/:serial/recovery")
  public static let publishConsent = PortalPath("/certificates/:serial/publish")

  // The look-up of published certificates (MAILSEAL_PUBLISH).
  public static let directory = PortalPath("/directory")
  public static let directoryFile = PortalPath("/directory/:serial/:file")

  // The back office.
  public static let staffHome = PortalPath("/operator")
  public static let staffLogin = PortalPath("/operator/login")
  public static let staffLoginWithProvider = PortalPath("/operator/login/provider")
  public static let staffCode = PortalPath("/operator/code")
  public static let staffLogout = PortalPath("/operator/logout")
  public static let staffEnrol = PortalPath("/operator/enrol/:token")
  public static let staffEnrolConfirm = PortalPath("/operator/enrol/:token/confirm")
  public static let staffEnrolled = PortalPath("/operator/enrolled")
  public static let queue = PortalPath("/operator/queue")
  public static let issuanceSwitch = PortalPath("/operator/issuance")
  public static let deskRequest = PortalPath("/operator/requests/:number")
  public static let deskEvidence = PortalPath("/operator/requests/:number/evidence")
  public static let deskApprove = PortalPath("/operator/requests/:number/approve")
  public static let deskReject = PortalPath("/operator/requests/:number/reject")
  public static let deskCertificate = PortalPath("/operator/certificates/:serial")
  public static let deskRevoke = PortalPath("/operator/certificates/:serial/revoke")
  public static let deskAskRecovery = PortalPath("/operator/certificates/:serial/recovery")
  public static let recoveries = PortalPath("/operator/recoveries")
  public static let recovery = PortalPath("/operator/recoveries/:number")
  public static let recoveryCertificate = PortalPath(
    "/operator/recoveries/:number/certificate.pem")
  public static let recoveryApprove = PortalPath("/operator/recoveries/:number/approve")
  public static let recoveryDecline = PortalPath("/operator/recoveries/:number/decline")
  public static let recoveryEnvelope = PortalPath("/operator/recoveries/:number/envelope")
  public static let admin = PortalPath("/operator/admin")
  public static let notice = PortalPath("/operator/notice")
  public static let noticeClear = PortalPath("/operator/notice/clear")
  /// Requests held by the upstream CA's path: an admin's three decisions.
  public static let heldRevoke = PortalPath("/operator/upstream/revoke")
  public static let heldRelease = PortalPath("/operator/upstream/release")
  public static let heldReject = PortalPath("/operator/upstream/reject")
  public static let adminDirectory = PortalPath("/operator/directory")
  public static let audit = PortalPath("/operator/audit")
  public static let auditExport = PortalPath("/operator/audit/export.jsonl")

  // The JSON API of the browser's script, and its description.
  public static let apiRequests = PortalPath("/api/v1/requests")
  public static let apiRequest = PortalPath("/api/v1/requests/:number")
  public static let apiWithdraw = PortalPath("/api/v1/requests/:number/withdraw")
  public static let apiDirectory = PortalPath("/api/v1/directory")
  public static let openAPI = PortalPath("/api/openapi.json")

  /// Every path the portal serves.
  public static let all: [PortalPath] = [
    health, metrics, caCertificate, crl, ocsp, ocspGet, start, login, loginLinkSent,
    loginWithProvider, loginLink, oidcCallback, oidcBackchannelLogout, signedIn, logout,
    requests, newRequest, request, withdraw, pickup, pickupBundle, pickupFile, requestPickup,
    requestPickupBundle, requestPickupFile, certificate, revoke, askRecovery, publishConsent,
    directory, directoryFile, adminDirectory, apiDirectory, staffHome,
    staffLogin, staffLoginWithProvider, staffCode, staffLogout, staffEnrol, staffEnrolConfirm,
    staffEnrolled, queue, issuanceSwitch, deskRequest, deskEvidence, deskApprove, deskReject,
    deskCertificate, deskRevoke, deskAskRecovery, recoveries, recovery, recoveryCertificate,
    recoveryApprove, recoveryDecline, recoveryEnvelope, admin, notice, noticeClear, heldRevoke,
    heldRelease, heldReject, audit,
    auditExport, apiRequests, apiRequest, apiWithdraw, openAPI,
  ]
}
