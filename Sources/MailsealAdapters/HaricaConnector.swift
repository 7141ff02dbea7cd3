public import Foundation
public import MailsealCA
public import MailsealRA
import MultipartKit
import NIOCore
import NIOHTTP1
import SwiftASN1
import Synchronization
public import X509
import ZIPFoundation

/// HARICA CertManager (GÉANT TCS) through its session API, as the GÉANT
/// community's own tools call it (PyPI tcs-garr, hm-edu/harica):
///
/// - sign-in: the page's `__RequestVerificationToken` and its cookie,
///   `POST /api/User/Login2FA` with the service account's password and
///   TOTP code (`/api/User/Login` without a TOTP secret), the bare JWT in
///   `Authorization`, a fresh verification token after the sign-in; again
///   before the JWT expires, or when HARICA sends the session to its login
///   or error page;
/// - the organisation (`MAILSEAL_HARICA_ORGANIZATION`, its name or id)
///   from `GetOrganizationsBulk`: the `groupId` of every order;
/// - an order: `CreateBulkCertificatesSMIME` with one CSV row
///   (`natural_legal_lcp` with the names for a personal mailbox,
///   `email_only` otherwise), the friendly name `mailseal-<number>-<purpose>`;
///   HARICA answers at once with a ZIP of the PKCS#7 chain;
/// - the look-up of an order whose answer was lost: the organisation's bulk
///   entries since the order, their certificates matched by friendly name;
/// - revocation: `OrganizationValidatorSmime/RevokeCertificate` with the
///   reason code HARICA lists for the RFC 5280 reason.
///
/// `MAILSEAL_UPSTREAM_URL` is the CertManager's address
/// (`https://cm.harica.gr`).
public final class HaricaConnector: UpstreamConnector {
  let http: UpstreamHTTP
  let base: URL
  let email: String
  let password: String
  let totpSecret: [UInt8]?
  let organization: String

  struct Session {
    var jwt: String
    var token: String
    var cookies: [String: String]
    var expires: Date
    var groupID: String
  }

  let session = Mutex<Session?>(nil)

  public init(
    http: UpstreamHTTP, base: URL, email: String, password: String, totpSecret: [UInt8]?,
    organization: String
  ) {
    self.http = http
    self.base = base
    self.email = email
    self.password = password
    self.totpSecret = totpSecret
    self.organization = organization
  }

  public var name: String { "harica" }
  public var signsIn: Bool { true }

  // MARK: The session

  public func ensureReady() async throws {
    _ = try await current()
  }

  /// The session, signed in again when it is about to expire.
  func current() async throws -> Session {
    if let session = session.withLock({ $0 }), session.expires > Date() { return session }
    let made = try await signIn()
    session.withLock { $0 = made }
    return made
  }

  /// Forgets the session (HARICA ended it).
  func signOut() {
    session.withLock { $0 = nil }
  }

  func signIn() async throws -> Session {
    var cookies: [String: String] = [:]
    let anonymous = try await verificationToken(jwt: nil, cookies: &cookies)
    var body: [String: String] = ["email": email, "password": password]
    let path: String
    if let totpSecret {
      body["token"] = OneTimePassword.code(secret: totpSecret, at: Date())
      path = "api/User/Login2FA"
    } else {
      path = "api/User/Login"
    }
    let answer = try await http.send(
      .POST, base.appendingPathComponent(path),
      headers: [
        ("RequestVerificationToken", anonymous), ("Cookie", Self.cookieHeader(cookies)),
        ("Content-Type", "application/json"), ("Accept", "application/json, text/plain"),
      ], body: try JSONSerialization.data(withJSONObject: body))
    Self.keep(answer, in: &cookies)
    guard answer.status == 200 else {
      throw UpstreamUnavailable(
        "HARICA refused the sign-in (HTTP \(answer.status)): check MAILSEAL_HARICA_EMAIL, MAILSEAL_HARICA_PASSWORD_FILE and MAILSEAL_HARICA_TOTP_SECRET_FILE",
        nothingTaken: true)
    }
    var jwt = String(decoding: answer.body, as: UTF8.self).trimmingCharacters(
      in: .whitespacesAndNewlines)
    if jwt.count >= 2, jwt.hasPrefix("\""), jwt.hasSuffix("\"") {
      jwt = String(jwt.dropFirst().dropLast())
    }
    guard jwt.split(separator: ".").count == 3, jwt.count <= 8_192 else {
      throw UpstreamProtocolError("HARICA's answer to the sign-in is not a JWT")
    }
    let token = try await verificationToken(jwt: jwt, cookies: &cookies)
    var session = Session(
      jwt: jwt, token: token, cookies: cookies, expires: Self.expiry(of: jwt), groupID: "")
    session.groupID = try await groupID(session)
    return session
  }

  /// The page's verification token (with the cookie it is bound to).
  func verificationToken(jwt: String?, cookies: inout [String: String]) async throws -> String {
    var headers = [("Accept", "text/html")]
    if let jwt { headers.append(("Authorization", jwt)) }
    if !cookies.isEmpty { headers.append(("Cookie", Self.cookieHeader(cookies))) }
    let answer = try await http.send(.GET, base, headers: headers)
    Self.keep(answer, in: &cookies)
    guard answer.status == 200,
      let token = Self.verificationToken(in: String(decoding: answer.body, as: UTF8.self))
    else {
      throw UpstreamUnavailable(
        "HARICA's page has no verification token (HTTP \(answer.status))")
    }
    return token
  }

  /// The value of the `__RequestVerificationToken` input, its attributes in
  /// any order.
  static func verificationToken(in page: String) -> String? {
    for tag in page.matches(of: /<input\b[^>]*>/) {
      let text = String(tag.output)
      guard text.contains("\"__RequestVerificationToken\""),
        let value = text.firstMatch(of: /\bvalue\s*=\s*"([^"]{1,1024})"/)
      else { continue }
      return String(value.1)
    }
    return nil
  }

  /// The JWT's `exp`, five minutes early; 50 minutes when it has none.
  static func expiry(of jwt: String) -> Date {
    let parts = jwt.split(separator: ".")
    var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+")
      .replacingOccurrences(of: "_", with: "/")
    while payload.count % 4 != 0 { payload += "=" }
    if let data = Data(base64Encoded: payload),
      let claims = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let exp = (claims["exp"] as? NSNumber)?.doubleValue
    {
      return Date(timeIntervalSince1970: exp - 300)
    }
    return Date().addingTimeInterval(50 * 60)
  }

  static func keep(_ answer: UpstreamHTTP.Answer, in cookies: inout [String: String]) {
    for header in answer.headers["Set-Cookie"] {
      let pair = header.split(separator: ";", maxSplits: 1)[0]
      let parts = pair.split(separator: "=", maxSplits: 1)
      guard parts.count == 2, cookies.count < 32 else { continue }
      cookies[parts[0].trimmingCharacters(in: .whitespaces)] = String(parts[1])
    }
  }

  static func cookieHeader(_ cookies: [String: String]) -> String {
    cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
  }

  /// The organisation's id, by id or by name.
  func groupID(_ session: Session) async throws -> String {
    let answer = try await call("api/OrganizationAdmin/GetOrganizationsBulk", session: session)
    guard let items = try? JSONSerialization.jsonObject(with: answer.body) as? [[String: Any]]
    else {
      throw UpstreamProtocolError("HARICA's organisations could not be read")
    }
    let wanted = organization.lowercased()
    for item in items {
      let id = (item["organizationId"] as? String) ?? (item["id"] as? String)
      let name = (item["organization"] as? String) ?? (item["organizationName"] as? String)
      if let id, id.lowercased() == wanted || name?.lowercased() == wanted { return id }
    }
    let names = Set(items.compactMap { $0["organization"] as? String }).sorted()
    throw UpstreamUnavailable(
      "HARICA lists no organisation \(organization) (MAILSEAL_HARICA_ORGANIZATION) for the service account; it lists \(names)"
    )
  }

  /// A POST to the API with the session (JSON, or another body); a
  /// session HARICA ended (a redirect to its login or error page, 401)
  /// is forgotten, and the call is unavailable — nothing was taken.
  func call(
    _ path: String, session: Session, json: Any? = nil,
    body: (contentType: String, data: Data)? = nil
  ) async throws -> UpstreamHTTP.Answer {
    var headers = [
      ("Authorization", session.jwt), ("RequestVerificationToken", session.token),
      ("Cookie", Self.cookieHeader(session.cookies)), ("Accept", "application/json"),
    ]
    var data: Data?
    if let body {
      headers.append(("Content-Type", body.contentType))
      data = body.data
    } else if let json {
      headers.append(("Content-Type", "application/json"))
      data = try JSONSerialization.data(withJSONObject: json)
    }
    let answer = try await http.send(
      .POST, base.appendingPathComponent(path), headers: headers, body: data)
    if (300..<400).contains(answer.status) || answer.status == 401 {
      signOut()
      throw UpstreamUnavailable(
        "HARICA ended the session (HTTP \(answer.status) on \(path)); signing in again",
        nothingTaken: true)
    }
    return answer
  }

  // MARK: Orders

  public func prepare(_ order: UpstreamOrderRequest) -> (reference: String?, progress: Data?) {
    ("mailseal-\(order.number)-\(order.purpose.rawValue)", nil)
  }

  public func place(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    let session = try await current()
    let reference = order.record.reference ?? prepare(order).reference!
    var given = ""
    var surname = ""
    var type = "email_only"
    if case .person(let first, let last) = order.subject.identity {
      (given, surname, type) = (first.value, last.value, "natural_legal_lcp")
    }
    let rows = [
      [
        "FriendlyName", "Email", "Email2", "Email3", "GivenName", "Surname", "PickupPassword",
        "CertType", "CSR",
      ],
      [reference, order.subject.mailbox.address, "", "", given, surname, "", type, order.csrPEM],
    ]
    let csv = rows.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\r\n")
    let boundary = "mailseal-" + UUID().uuidString
    var group = MultipartPart(body: session.groupID)
    group.headers.replaceOrAdd(name: "Content-Disposition", value: "form-data; name=\"groupId\"")
    var file = MultipartPart(body: csv + "\r\n")
    file.headers.replaceOrAdd(
      name: "Content-Disposition", value: "form-data; name=\"csv\"; filename=\"mailseal.csv\"")
    file.headers.replaceOrAdd(name: "Content-Type", value: "text/csv")
    let body = try MultipartSerializer().serialize(parts: [group, file], boundary: boundary)
    let answer = try await call(
      "api/OrganizationAdmin/CreateBulkCertificatesSMIME", session: session,
      body: ("multipart/form-data; boundary=\(boundary)", Data(body.utf8)))
    guard answer.status == 200 else {
      return .refused(
        "HARICA refused the order: "
          + String(String(decoding: answer.body.prefix(300), as: UTF8.self)))
    }
    guard !answer.body.isEmpty else {
      throw UpstreamProtocolError("HARICA's answer to the order was empty")
    }
    let certificates = try Self.unzip(answer.body)
    return .certificate(try order.leaf(of: certificates), reference: reference, progress: nil)
  }

  /// The certificates of the ZIP's first PKCS#7 (or PEM) entry.
  static func unzip(_ data: Data) throws -> [Certificate] {
    guard data.count <= UpstreamHTTP.limit else {
      throw UpstreamProtocolError("HARICA's ZIP is larger than \(UpstreamHTTP.limit) bytes")
    }
    let archive: Archive
    do {
      archive = try Archive(data: data, accessMode: .read)
    } catch {
      throw UpstreamProtocolError("HARICA's answer is not a ZIP: \(error)")
    }
    let entries = archive.filter { $0.type == .file }.sorted { $0.path < $1.path }
    guard let entry = entries.first, entries.count <= 64,
      entry.uncompressedSize <= UInt64(CertificateBundle.maximumSize)
    else {
      throw UpstreamProtocolError("HARICA's ZIP holds no certificate bundle of a sensible size")
    }
    var bytes = Data()
    do {
      _ = try archive.extract(entry) { chunk in
        bytes += chunk
        if bytes.count > CertificateBundle.maximumSize {
          throw UpstreamProtocolError("the bundle in the ZIP is too large")
        }
      }
      return try CertificateBundle.certificates(Array(bytes))
    } catch {
      throw UpstreamProtocolError("HARICA's ZIP entry \(entry.path) cannot be read: \(error)")
    }
  }

  static func csvField(_ value: String) -> String {
    // Scalars, not characters: "\r\n" is one Character.
    guard value.unicodeScalars.contains(where: { ",\"\r\n".unicodeScalars.contains($0) }) else {
      return value
    }
    return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// HARICA answers at once: an order whose answer was lost is in the
  /// organisation's bulk entries under its friendly name, or HARICA does
  /// not have it.
  public func resume(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    guard let reference = order.record.reference else { return .absent }
    guard let item = try await find(friendlyName: reference, since: order.record.createdAt)
    else { return .absent }
    guard let pem = item["certificate"] as? String,
      let certificates = try? CertificateBundle.certificates(Array(pem.utf8))
    else {
      return .unknown("HARICA has the order \(reference) but no certificate for it")
    }
    return .certificate(try order.leaf(of: certificates), reference: reference, progress: nil)
  }

  /// The certificate item of a friendly name, in the bulk entries made
  /// since `since` (less a day for clocks), newest first.
  func find(friendlyName: String?, serial: String? = nil, since: Date?) async throws
    -> [String: Any]?
  {
    let session = try await current()
    let answer = try await call(
      "api/OrganizationAdmin/GetBulkCertificateEntries", session: session, json: [String: String]())
    guard answer.status == 200,
      let entries = try? JSONSerialization.jsonObject(with: answer.body) as? [[String: Any]]
    else {
      throw UpstreamProtocolError("HARICA's bulk entries could not be read (HTTP \(answer.status))")
    }
    let cutoff = since.map { Self.isoDay($0.addingTimeInterval(-86_400)) }
    let candidates =
      entries
      .filter { entry in
        guard let cutoff, let created = entry["createdAt"] as? String else { return true }
        return created >= cutoff
      }
      .sorted { ($0["createdAt"] as? String ?? "") > ($1["createdAt"] as? String ?? "") }
    for entry in candidates.prefix(200) {
      guard let id = entry["id"] as? String else { continue }
      let items = try await call(
        "api/OrganizationAdmin/GetBulkCertificatesOfAnEntry", session: session, json: ["id": id])
      guard items.status == 200,
        let list = try? JSONSerialization.jsonObject(with: items.body) as? [[String: Any]]
      else { continue }
      if let found = list.first(where: {
        (friendlyName != nil && $0["friendlyName"] as? String == friendlyName)
          || (serial != nil && ($0["serial"] as? String)?.lowercased() == serial)
      }) {
        return found
      }
    }
    return nil
  }

  static func isoDay(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withFullDate]
    return formatter.string(from: date)
  }

  // MARK: Revocation

  public func revoke(_ certificate: Certificate, reference: String?, reason: RevocationReason)
    async throws
  {
    let serial = certificate.serialNumber.hex.drop { $0 == "0" }.lowercased()
    guard
      let item = try await find(friendlyName: reference, serial: serial, since: nil),
      let transaction = item["id"] as? String
    else {
      throw UpstreamProtocolError("HARICA has no certificate with serial \(serial)")
    }
    let session = try await current()
    let reasons = try await call(
      "api/OrganizationValidatorSmime/GetRevocationReasons", session: session,
      json: [String: String]())
    let listed =
      (try? JSONSerialization.jsonObject(with: reasons.body) as? [[String: Any]]) ?? []
    let answer = try await call(
      "api/OrganizationValidatorSmime/RevokeCertificate", session: session,
      json: [
        "transactionId": transaction, "name": Self.reasonCode(reason, listed: listed),
        "notes": "Revoked by Mailseal (\(reason))", "message": "",
      ])
    guard answer.status == 200 else {
      throw UpstreamProtocolError(
        "HARICA refused the revocation (HTTP \(answer.status)): "
          + String(decoding: answer.body.prefix(300), as: UTF8.self))
    }
  }

  /// HARICA's code for an RFC 5280 reason, by the words of its list;
  /// "unspecified" (4.9.1.1.1.1) otherwise.
  static func reasonCode(_ reason: RevocationReason, listed: [[String: Any]]) -> String {
    let words: String? =
      switch reason {
      case .keyCompromise: "compromise"
      case .affiliationChanged: "affiliation"
      case .superseded: "supersede"
      case .cessationOfOperation: "cessation"
      case .privilegeWithdrawn: "privilege"
      default: nil
      }
    if let words,
      let match = listed.first(where: {
        ($0["revocationMessage"] as? String)?.lowercased().contains(words) == true
      }), let name = match["name"] as? String
    {
      return name
    }
    return "4.9.1.1.1.1"
  }
}
