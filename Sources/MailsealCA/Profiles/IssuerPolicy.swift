/// What the authority puts into every certificate it issues besides the
/// subject: who sponsors it, how long it is valid, where relying parties
/// find the CA certificate, the CRL and OCSP.
public struct IssuerPolicy: Hashable, Sendable {
  /// The S/MIME BR cap on subscriber certificate validity (§6.3.2).
  public static let maximumValidityDays = 825
  /// The default validity.
  public static let defaultValidityDays = 365

  /// The sponsoring organisation.
  public let organization: OrganizationIdentity
  /// Days from notBefore to notAfter, 1…825.
  public let validityDays: Int
  /// Where the CRL, OCSP and caIssuers URLs point.
  public let endpoints: PublicEndpoints

  /// Creates a policy, refusing a validity outside 1…825 days.
  public init(
    organization: OrganizationIdentity, validityDays: Int = defaultValidityDays,
    endpoints: PublicEndpoints
  ) throws(CAError) {
    guard (1...Self.maximumValidityDays).contains(validityDays) else {
      throw CAError(
        .invalidIssuerPolicy,
        "A certificate validity of \(validityDays) days is not allowed; it must be 1 to \(Self.maximumValidityDays) days."
      )
    }
    self.organization = organization
    self.validityDays = validityDays
    self.endpoints = endpoints
  }
}

/// The URLs at which relying parties reach the authority, derived from one
/// base URL so that the certificates and the routes cannot drift apart.
///
/// The S/MIME BR require plain HTTP for the CRL, OCSP and caIssuers URLs
/// (§7.1.2.3 b, c): relying parties must not need a certificate to check a
/// certificate. The portal itself may run behind HTTPS; this base is the
/// HTTP address of the same host (or of a separate publication host).
public struct PublicEndpoints: Hashable, Sendable {
  /// The base URL without a trailing slash, e.g. `http://pki.example.edu`.
  public let baseURL: String

  /// Path of the CA certificates: `/ca/<issuer>.cer`.
  public static let caCertificatePathPrefix = "ca"
  /// Path of the CRLs: `/crl/<issuer>.crl`.
  public static let crlPathPrefix = "crl"
  /// Path of the OCSP responder.
  public static let ocspPath = "ocsp"

  /// Validates the base URL: `http://host[:port][/path]`, no query, no fragment.
  public init(baseURL input: String) throws(CAError) {
    var base = input.trimmingASCIIWhitespace()
    while base.hasSuffix("/") { base.removeLast() }
    func fail(_ why: String) -> CAError {
      CAError(
        .invalidIssuerPolicy, "The publication URL “\(base.prefix(100))” is not usable: \(why).")
    }
    guard base.hasPrefix("http://") else {
      throw fail("CRL, OCSP and CA certificate URLs must be plain http:// (S/MIME BR §7.1.2.3)")
    }
    let rest = base.dropFirst("http://".count)
    let authority = rest.prefix { $0 != "/" }
    guard !authority.contains("@") else {
      throw fail("it may not carry a user name or password: every certificate would show it")
    }
    let host = authority.prefix { $0 != ":" }
    guard !host.isEmpty else { throw fail("it has no host") }
    guard
      host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }),
      !host.hasPrefix("."), !host.hasSuffix("."), !host.hasPrefix("-")
    else {
      throw fail("the host must be a DNS name (letters, digits, hyphens, dots) or an IPv4 address")
    }
    if authority.count > host.count {
      let port = authority.dropFirst(host.count + 1)
      guard let number = Int(port), (1...65535).contains(number), port.allSatisfy(\.isNumber) else {
        throw fail("the port must be a number from 1 to 65535")
      }
    }
    guard base.utf8.count <= 200 else { throw fail("it is longer than 200 characters") }
    guard
      base.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "?" && $0 != "#" && $0 != "\\" })
    else {
      throw fail("it may not contain spaces, a query or a fragment")
    }
    self.baseURL = base
  }

  /// The URL path segment that names an issuer: the first eight bytes of
  /// its subject key identifier in lowercase hex.
  public static func issuerSlug(subjectKeyIdentifier: some Sequence<UInt8>) -> String {
    subjectKeyIdentifier.prefix(8).map { byte in
      let hex = String(byte, radix: 16)
      return byte < 16 ? "0" + hex : hex
    }.joined()
  }

  /// The caIssuers URL of certificates issued by the issuer.
  public func caCertificateURL(issuerSlug: String) -> String {
    "\(baseURL)/\(Self.caCertificatePathPrefix)/\(issuerSlug).cer"
  }

  /// The CRL distribution point of certificates issued by the issuer.
  public func crlURL(issuerSlug: String) -> String {
    "\(baseURL)/\(Self.crlPathPrefix)/\(issuerSlug).crl"
  }

  /// The OCSP responder URL.
  public var ocspURL: String { "\(baseURL)/\(Self.ocspPath)" }
}
