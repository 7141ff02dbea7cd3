import AsyncHTTPClient
public import Foundation
public import MailsealCA
public import MailsealRA
public import NIOCore
import NIOFoundationCompat
public import NIOHTTP1
import NIOPosix
import NIOSSL

/// HTTP(S) to an upstream certificate authority's API: its own client
/// (TLS with the system's roots, or only `MAILSEAL_UPSTREAM_CA_FILE`'s;
/// no redirects, no cookies of its own), every answer read up to a limit,
/// every exchange bounded in time.
///
/// What cannot be had from the upstream — no connection, a timeout, a
/// connection closed before the whole answer, 5xx, 429 (with its
/// `Retry-After`) — is ``UpstreamUnavailable``: the order stays as it is
/// and is asked after later (looked up, when its answer was lost).
public final class UpstreamHTTP: Sendable {
  let client: HTTPClient
  /// The largest answer read (a ZIP of a certificate and its chain is a
  /// few KiB).
  public static let limit = 1024 * 1024
  let timeout: TimeAmount

  public init(caFile: String?, timeout: TimeAmount = .seconds(60)) throws {
    var tls = TLSConfiguration.makeClientConfiguration()
    if let caFile { tls.trustRoots = .file(caFile) }
    var configuration = HTTPClient.Configuration(
      tlsConfiguration: tls, redirectConfiguration: .disallow,
      timeout: .init(connect: .seconds(10), read: timeout))
    configuration.httpVersion = .http1Only
    client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    self.timeout = timeout
  }

  /// Ends the client (at shutdown).
  public func shutdown() async throws {
    try await client.shutdown()
  }

  /// An answer: its status, headers and body.
  public struct Answer: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: Data
  }

  /// Sends a request and reads the answer; 5xx and 429 are
  /// ``UpstreamUnavailable``.
  public func send(
    _ method: HTTPMethod, _ url: URL, headers: [(String, String)] = [], body: Data? = nil
  ) async throws -> Answer {
    var request = HTTPClientRequest(url: url.absoluteString)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(data: body)) }
    let answer: Answer
    do {
      let response = try await client.execute(request, deadline: .now() + timeout)
      if let length = response.headers.first(name: "Content-Length").flatMap(Int.init),
        length > Self.limit
      {
        throw UpstreamProtocolError("an answer of \(length) bytes (at most \(Self.limit))")
      }
      let collected = try await response.body.collect(upTo: Self.limit)
      answer = Answer(
        status: Int(response.status.code), headers: response.headers,
        body: Data(collected.readableBytesView))
    } catch let error as UpstreamProtocolError {
      throw error
    } catch is NIOTooManyBytesError {
      throw UpstreamProtocolError("an answer over \(Self.limit) bytes")
    } catch {
      throw UpstreamUnavailable(
        "\(url.host ?? "the upstream") could not be reached: \(error)",
        nothingTaken: Self.noConnection(error))
    }
    if answer.status == 429 || answer.status >= 500 {
      // 429 and 503 say the request was not processed (RFC 6585 §4, RFC
      // 9110 §15.6.4); another 5xx may come after the upstream acted.
      throw UpstreamUnavailable(
        "\(url.host ?? "the upstream") answered HTTP \(answer.status)",
        retryAfter: Self.retryAfter(answer.headers.first(name: "Retry-After")),
        nothingTaken: answer.status == 429 || answer.status == 503)
    }
    return answer
  }

  /// Whether `error` means no connection was made (so nothing was sent).
  static func noConnection(_ error: any Error) -> Bool {
    if error is NIOConnectionError { return true }
    if let error = error as? HTTPClientError, error == .connectTimeout { return true }
    if let error = error as? ChannelError, case .connectTimeout = error { return true }
    if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return true }
    return false
  }

  /// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3).
  static func retryAfter(_ value: String?) -> TimeInterval? {
    guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else {
      return nil
    }
    if let seconds = Int(value), seconds >= 0 { return TimeInterval(seconds) }
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
    return formatter.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
  }
}

/// CMP over HTTP (RFC 6712): a POST of `application/pkixcmp` to the CA's
/// URL; the answer must be 200 and `application/pkixcmp`.
public struct HTTPCMPTransport: CMPTransport {
  let http: UpstreamHTTP
  let url: URL

  public init(http: UpstreamHTTP, url: URL) {
    self.http = http
    self.url = url
  }

  public func exchange(_ request: [UInt8]) async throws -> [UInt8] {
    let answer = try await http.send(
      .POST, url, headers: [("Content-Type", "application/pkixcmp")], body: Data(request))
    guard answer.status == 200 else {
      throw UpstreamProtocolError("the CA answered HTTP \(answer.status)")
    }
    guard
      answer.headers.first(name: "Content-Type")?.lowercased()
        .hasPrefix("application/pkixcmp") == true
    else {
      throw UpstreamProtocolError("the CA's answer is not application/pkixcmp")
    }
    guard answer.body.count <= CMPMessage.maximumSize else {
      throw UpstreamProtocolError("a CMP answer over \(CMPMessage.maximumSize) bytes")
    }
    return Array(answer.body)
  }
}

/// The connector for the configured upstream.
public enum UpstreamConnectors {
  public static func make(_ settings: UpstreamSettings, http: UpstreamHTTP) throws
    -> any UpstreamConnector
  {
    switch settings.connector {
    case .cmp(let reference, let secret, let recipient):
      return CMPConnector(
        client: CMPClient(
          reference: Array(reference.utf8), secret: secret, recipient: recipient,
          transport: HTTPCMPTransport(http: http, url: settings.url)))
    case .sectigo(
      let customerURI, let login, let password, let organizationID, let personalType, let roleType,
      let termDays):
      return SectigoConnector(
        http: http, base: settings.url, customerURI: customerURI, login: login,
        password: password, organizationID: organizationID, personalType: personalType,
        roleType: roleType, termDays: termDays)
    case .harica(let email, let password, let totpSecret, let organization):
      return HaricaConnector(
        http: http, base: settings.url, email: email, password: password, totpSecret: totpSecret,
        organization: organization)
    }
  }
}
