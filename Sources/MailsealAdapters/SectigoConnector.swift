public import Foundation
public import MailsealCA
public import MailsealRA
import SwiftASN1
import Synchronization
public import X509

/// Sectigo Certificate Manager's S/MIME REST API (v1), as its
/// documentation and its public clients call it: the `login`, `password`
/// and `customerUri` headers on every call; `POST /smime/v1/enroll` →
/// `backendCertId`; `GET /smime/v1/collect/{id}` until collectable (400
/// with code -183: not yet); `GET /smime/v1?email=` to find an order
/// whose answer was lost; `POST /smime/v1/revoke/order/{id}`.
///
/// `MAILSEAL_UPSTREAM_URL` is the API's base, with `/api`
/// (`https://cert-manager.com/api`). Sectigo takes the names and the
/// address from the order (the validated ones), not from the CSR.
public final class SectigoConnector: UpstreamConnector {
  let http: UpstreamHTTP
  let base: URL
  let customerURI: String
  let login: String
  let password: String
  let organizationID: Int
  let personalType: Int
  let roleType: Int
  let termDays: Int
  /// Set once the account and the types were checked.
  let checked = Mutex(false)

  public init(
    http: UpstreamHTTP, base: URL, customerURI: String, login: String, password: String,
    organizationID: Int, personalType: Int, roleType: Int, termDays: Int
  ) {
    self.http = http
    self.base = base
    self.customerURI = customerURI
    self.login = login
    self.password = password
    self.organizationID = organizationID
    self.personalType = personalType
    self.roleType = roleType
    self.termDays = termDays
  }

  public var name: String { "sectigo" }
  public var signsIn: Bool { true }

  var headers: [(String, String)] {
    [
      ("login", login), ("password", password), ("customerUri", customerURI),
      ("Accept", "application/json"),
    ]
  }

  func url(_ path: String, _ query: [(String, String)] = []) -> URL {
    var components = URLComponents(
      url: base.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
    if !query.isEmpty { components.queryItems = query.map { URLQueryItem(name: $0, value: $1) } }
    return components.url!
  }

  /// The account is accepted and both certificate types are offered: once.
  public func ensureReady() async throws {
    if checked.withLock({ $0 }) { return }
    let answer = try await http.send(.GET, url("smime/v1/types"), headers: headers)
    try Self.refuseAccount(answer)
    guard answer.status == 200,
      let types = try? JSONSerialization.jsonObject(with: answer.body) as? [[String: Any]]
    else {
      throw UpstreamUnavailable(
        "Sectigo's certificate types could not be read (HTTP \(answer.status))")
    }
    let offered = Set(types.compactMap { ($0["id"] as? NSNumber)?.intValue })
    for (variable, id) in [
      ("MAILSEAL_SECTIGO_CERT_TYPE", personalType), ("MAILSEAL_SECTIGO_ROLE_CERT_TYPE", roleType),
    ] where !offered.contains(id) {
      throw UpstreamUnavailable(
        "Sectigo offers this account no certificate type \(id) (\(variable)); it offers \(offered.sorted())"
      )
    }
    checked.withLock { $0 = true }
  }

  /// 401/403: the account is refused — nothing was taken; the admin must
  /// fix the settings.
  static func refuseAccount(_ answer: UpstreamHTTP.Answer) throws {
    if answer.status == 401 || answer.status == 403 {
      throw UpstreamUnavailable(
        "Sectigo refused the API account (HTTP \(answer.status)): check MAILSEAL_SECTIGO_LOGIN, MAILSEAL_SECTIGO_PASSWORD_FILE and MAILSEAL_SECTIGO_CUSTOMER_URI",
        nothingTaken: true)
    }
  }

  public func prepare(_ order: UpstreamOrderRequest) -> (reference: String?, progress: Data?) {
    (nil, nil)
  }

  public func place(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    var body: [String: Any] = [
      "orgId": organizationID, "csr": order.csrPEM, "term": termDays,
      "email": order.subject.mailbox.address, "commonName": order.subject.commonName,
      "secondaryEmails": [String](),
    ]
    switch order.subject.identity {
    case .person(let given, let surname):
      body["certType"] = personalType
      body["firstName"] = given.value
      body["lastName"] = surname.value
    case .pseudonym, .mailboxOnly:
      body["certType"] = roleType
    }
    let answer = try await http.send(
      .POST, url("smime/v1/enroll"), headers: headers + [("Content-Type", "application/json")],
      body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
    try Self.refuseAccount(answer)
    guard answer.status == 200 else {
      return .refused("Sectigo refused the order: " + Self.problem(answer))
    }
    guard let object = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any],
      let id = Self.identifier(object["backendCertId"] ?? object["orderNumber"])
    else {
      throw UpstreamProtocolError("Sectigo's answer to the order names no backendCertId")
    }
    return .pending(reference: id, progress: nil, retryAfter: Self.firstCollect)
  }

  /// Sectigo issues within seconds; the first collect comes after this.
  static let firstCollect: TimeInterval = 2

  /// Collects by the recorded backendCertId; an order whose answer was
  /// lost is found by its address and its key.
  public func resume(_ order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    if let id = order.record.reference {
      return try await collect(id, order: order)
    }
    let answer = try await http.send(
      .GET,
      url(
        "smime/v1",
        [("size", "200"), ("position", "0"), ("email", order.subject.mailbox.address)]),
      headers: headers)
    try Self.refuseAccount(answer)
    guard answer.status == 200,
      let items = try? JSONSerialization.jsonObject(with: answer.body) as? [[String: Any]]
    else {
      throw UpstreamProtocolError("Sectigo's search by address answered HTTP \(answer.status)")
    }
    var waiting = false
    for item in items {
      let state = (item["state"] as? String) ?? ""
      guard !["revoked", "rejected", "expired", "pre_revoked"].contains(state),
        let id = Self.identifier(item["backendCertId"] ?? item["orderNumber"])
      else { continue }
      switch try await collect(id, order: order) {
      case .certificate(let der, let reference, let progress):
        if let certificate = try? Certificate(derEncoded: der),
          certificate.publicKey == (try? CertificateRequestCheck.check(order.csrDER))?.publicKey
        {
          return .certificate(der, reference: reference, progress: progress)
        }
      case .pending:
        waiting = true
      default:
        continue
      }
    }
    // An order not collectable yet may be ours: asked again later, then
    // held when it never shows (the issuer's limit). None at all: not taken.
    return waiting
      ? .pending(reference: nil, progress: nil, retryAfter: Self.retry(order)) : .absent
  }

  func collect(_ id: String, order: UpstreamOrderRequest) async throws -> UpstreamProgress {
    let answer = try await http.send(
      .GET, url("smime/v1/collect/\(id)", [("format", "x509")]), headers: headers)
    try Self.refuseAccount(answer)
    if answer.status == 200 {
      let certificates: [Certificate]
      do {
        certificates = try CertificateBundle.certificates(Array(answer.body))
      } catch {
        throw UpstreamProtocolError("Sectigo's collect answer: \(error)")
      }
      return .certificate(try order.leaf(of: certificates), reference: id, progress: nil)
    }
    let code = Self.code(answer)
    if code == -183 {
      return .pending(reference: id, progress: nil, retryAfter: Self.retry(order))
    }
    if code == -192 {
      return .unknown("Sectigo's order \(id) was revoked before it was collected")
    }
    if answer.status == 404 {
      return .unknown("Sectigo has no order \(id)")
    }
    throw UpstreamProtocolError("Sectigo's collect of \(id): " + Self.problem(answer))
  }

  /// 2 s, doubling per attempt, at most 5 minutes.
  static func retry(_ order: UpstreamOrderRequest) -> TimeInterval {
    min(300, firstCollect * pow(2, Double(min(order.record.attempts, 8))))
  }

  public func revoke(_ certificate: Certificate, reference: String?, reason: RevocationReason)
    async throws
  {
    let path =
      reference.map { "smime/v1/revoke/order/\($0)" }
      ?? "smime/v1/revoke/serial/\(certificate.serialNumber.hex)"
    let answer = try await http.send(
      .POST, url(path), headers: headers + [("Content-Type", "application/json")],
      body: try JSONSerialization.data(withJSONObject: ["reason": "\(reason)"]))
    try Self.refuseAccount(answer)
    guard answer.status == 204 || answer.status == 200 else {
      throw UpstreamProtocolError("Sectigo refused the revocation: " + Self.problem(answer))
    }
  }

  static func identifier(_ value: Any?) -> String? {
    switch value {
    case let text as String where !text.isEmpty && text.count <= 64: text
    case let number as NSNumber: number.stringValue
    default: nil
    }
  }

  static func code(_ answer: UpstreamHTTP.Answer) -> Int? {
    ((try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["code"]
      as? NSNumber)?.intValue
  }

  /// Sectigo's `{code, description}`, or the status.
  static func problem(_ answer: UpstreamHTTP.Answer) -> String {
    let object = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
    let description = (object?["description"] as? String).map { String($0.prefix(300)) }
    let code = (object?["code"] as? NSNumber)?.intValue
    return (description ?? "HTTP \(answer.status)") + (code.map { " (code \($0))" } ?? "")
  }
}
