import Crypto
public import Foundation
import _CryptoExtras

/// Why a sign-in through the identity provider is refused: a catalogue
/// reason (`problem_identity_provider_refused_<reason>`) and, for the log,
/// what exactly was seen. Never carries a token.
public struct OIDCRefusal: Error, Sendable, Equatable, CustomStringConvertible {
  public let reason: String
  public let detail: String

  public init(_ reason: String, _ detail: String = "") {
    self.reason = reason
    self.detail = detail
  }

  public var description: String { detail.isEmpty ? reason : "\(reason): \(detail)" }

  /// The application's error, for pages and the log.
  public var error: MailsealError {
    MailsealError(
      .identityProviderRefused,
      message: Message("problem_identity_provider_refused_\(Catalogue.idPart(reason))"))
  }
}

/// A JSON value as an ID token or a discovery document holds it.
enum JSONValue: Sendable, Equatable, Decodable {
  case string(String)
  case number(Double)
  case bool(Bool)
  case array([JSONValue])
  case object([String: JSONValue])
  case null

  /// Parses a JSON object; nil for anything else.
  static func object(_ data: Data) -> [String: JSONValue]? {
    guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
      return nil
    }
    return object
  }

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  var string: String? { if case .string(let value) = self { value } else { nil } }
  var number: Double? { if case .number(let value) = self { value } else { nil } }
  var bool: Bool? {
    switch self {
    case .bool(let value): return value
    // Some providers send "true" as a string.
    case .string(let value): return value == "true" ? true : value == "false" ? false : nil
    default: return nil
    }
  }
  /// A string, or the strings of an array.
  var strings: [String] {
    switch self {
    case .string(let value): return [value]
    case .array(let values): return values.compactMap(\.string)
    default: return []
    }
  }
}

/// Base64url without padding (RFC 7515 §2).
enum Base64URL {
  static func decode(_ text: Substring) -> Data? {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(
      of: "_", with: "/")
    guard !base64.contains("=") || text.isEmpty else { return nil }
    while base64.count % 4 != 0 { base64 += "=" }
    return Data(base64Encoded: base64)
  }

  static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
      .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
  }
}

/// What the portal takes from an OpenID provider's discovery document
/// (OpenID Connect Discovery 1.0 §3).
public struct OpenIDProvider: Sendable, Equatable {
  public let issuer: String
  public let authorizationEndpoint: URL
  public let tokenEndpoint: URL
  public let jwksURI: URL
  public let endSessionEndpoint: URL?
  /// The provider announces OpenID Connect Back-Channel Logout 1.0
  /// (`backchannel_logout_supported`).
  public let backchannelLogout: Bool

  /// Reads a discovery document; its issuer must be exactly the one
  /// configured (§4.3), and every endpoint must be https (or http on
  /// loopback when the issuer is) and — unless `allowForeignEndpoints` —
  /// on the issuer's host: a document that sends the token exchange or the
  /// keys somewhere else is refused.
  public init(discovery data: Data, expectedIssuer: String, allowForeignEndpoints: Bool = false)
    throws(OIDCRefusal)
  {
    guard let object = JSONValue.object(data) else {
      throw OIDCRefusal("provider-unusable", "the discovery document is not a JSON object")
    }
    guard let issuer = object["issuer"]?.string, issuer == expectedIssuer else {
      throw OIDCRefusal(
        "provider-unusable",
        "the discovery document names issuer \(object["issuer"]?.string ?? "none"), not \(expectedIssuer)"
      )
    }
    let loopback = OIDCSettings.isLoopbackHTTP(expectedIssuer)
    let issuerHost = URL(string: expectedIssuer)?.host?.lowercased()
    func endpoint(_ name: String, required: Bool = true) throws(OIDCRefusal) -> URL? {
      guard let text = object[name]?.string else {
        if required {
          throw OIDCRefusal("provider-unusable", "the discovery document has no \(name)")
        }
        return nil
      }
      guard let url = URL(string: text), url.host != nil,
        url.scheme == "https" || (loopback && url.scheme == "http")
      else {
        throw OIDCRefusal("provider-unusable", "\(name) \(text.prefix(200)) is not an https URL")
      }
      guard allowForeignEndpoints || url.host?.lowercased() == issuerHost else {
        throw OIDCRefusal(
          "provider-unusable",
          "\(name) \(text.prefix(200)) is not on the issuer's host \(issuerHost ?? "?") (MAILSEAL_OIDC_ALLOW_FOREIGN_ENDPOINTS=true allows it)"
        )
      }
      return url
    }
    self.issuer = issuer
    authorizationEndpoint = try endpoint("authorization_endpoint")!
    tokenEndpoint = try endpoint("token_endpoint")!
    jwksURI = try endpoint("jwks_uri")!
    endSessionEndpoint = try endpoint("end_session_endpoint", required: false)
    backchannelLogout = object["backchannel_logout_supported"]?.bool ?? false
  }
}

/// A provider's signing keys (RFC 7517), for RS256, PS256, ES256 and
/// ES384 ID tokens.
public struct JSONWebKeySet: Sendable {
  enum Verifier: Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
  }

  struct Key: Sendable {
    let kid: String?
    let alg: String?
    let verifier: Verifier
  }

  let keys: [Key]

  /// Reads a JWK set; keys of other types, other uses or other curves are
  /// skipped, a set with no usable key is refused.
  public init(json data: Data) throws(OIDCRefusal) {
    guard let object = JSONValue.object(data), case .array(let entries)? = object["keys"] else {
      throw OIDCRefusal("provider-unusable", "the JWK set is not a JSON object with keys")
    }
    var keys: [Key] = []
    for case .object(let entry) in entries {
      if let use = entry["use"]?.string, use != "sig" { continue }
      func bytes(_ name: String) -> Data? {
        entry[name]?.string.flatMap { Base64URL.decode($0[...]) }
      }
      let verifier: Verifier?
      switch (entry["kty"]?.string, entry["crv"]?.string) {
      case ("RSA", _):
        verifier = bytes("n").flatMap { n in
          bytes("e").flatMap { e in
            (try? _RSA.Signing.PublicKey(n: n, e: e)).flatMap {
              $0.keySizeInBits >= 2048 ? .rsa($0) : nil
            }
          }
        }
      case ("EC", "P-256"):
        verifier = bytes("x").flatMap { x in
          bytes("y").flatMap { y in
            (try? P256.Signing.PublicKey(rawRepresentation: x + y)).map(Verifier.p256)
          }
        }
      case ("EC", "P-384"):
        verifier = bytes("x").flatMap { x in
          bytes("y").flatMap { y in
            (try? P384.Signing.PublicKey(rawRepresentation: x + y)).map(Verifier.p384)
          }
        }
      default:
        verifier = nil
      }
      if let verifier {
        keys.append(Key(kid: entry["kid"]?.string, alg: entry["alg"]?.string, verifier: verifier))
      }
    }
    guard !keys.isEmpty else {
      throw OIDCRefusal("provider-unusable", "the JWK set holds no RSA, P-256 or P-384 signing key")
    }
    self.keys = keys
  }

  /// The keys that may have made a signature with `alg` and `kid`.
  func candidates(kid: String?, alg: String) -> [Key] {
    keys.filter { key in
      (kid == nil || key.kid == nil || key.kid == kid) && (key.alg == nil || key.alg == alg)
        && {
          switch (key.verifier, alg) {
          case (.rsa, "RS256"), (.rsa, "PS256"), (.p256, "ES256"), (.p384, "ES384"): return true
          default: return false
          }
        }()
    }
  }
}

/// The claims of an ID token that passed every check.
public struct IDTokenClaims: Sendable {
  let values: [String: JSONValue]

  public var subject: String { values["sub"]?.string ?? "" }
  public var email: String? { values["email"]?.string }
  /// `email_verified`: absent counts as not verified.
  public var emailVerified: Bool { values["email_verified"]?.bool ?? false }
  public var name: String? { values["name"]?.string }
  public var givenName: String? { values["given_name"]?.string }
  public var familyName: String? { values["family_name"]?.string }
  public var acr: String? { values["acr"]?.string }
  public var amr: [String] { values["amr"]?.strings ?? [] }
  /// A claim's strings (a string or an array of strings), e.g. groups.
  public func strings(_ claim: String) -> [String] { values[claim]?.strings ?? [] }
  /// A claim that is one string of at most 255 characters (`sid`, say).
  public func string(_ claim: String) -> String? {
    values[claim]?.string.flatMap { $0.isEmpty || $0.count > 255 ? nil : $0 }
  }
}

/// What a logout token (OpenID Connect Back-Channel Logout 1.0 §2.4) asks
/// to end: the sessions of an account at the provider (`sub`), or one
/// session there (`sid`), or both.
public struct LogoutRequest: Sendable, Equatable {
  public let subject: String?
  public let sessionID: String?
}

/// The checks of an ID token (OpenID Connect Core 1.0 §3.1.3.7).
public enum IDTokenCheck {
  /// How far the provider's clock may be from ours.
  public static let clockSkew: TimeInterval = 60
  /// How old an ID token may be when it arrives.
  public static let maximumAge: TimeInterval = 600
  static let maximumLength = 16 * 1024
  static let algorithms: Set<String> = ["RS256", "PS256", "ES256", "ES384"]

  /// Validates the signature and the claims; the claims when all hold.
  /// `OIDCRefusal.reason` is `unknown-key` when no key of `keys` has the
  /// token's `kid` (the caller fetches the keys again once: the provider
  /// may have rotated them).
  public static func validate(
    _ token: String, keys: JSONWebKeySet, issuer: String, clientID: String, nonce: String,
    now: Date
  ) throws(OIDCRefusal) -> IDTokenClaims {
    let claims = try signedClaims(token, keys: keys, issuer: issuer, clientID: clientID, now: now)
    guard let tokenNonce = claims["nonce"]?.string else {
      throw OIDCRefusal("nonce", "the ID token has no nonce")
    }
    guard SecretToken.constantTimeEquals(tokenNonce, nonce) else {
      throw OIDCRefusal("nonce", "the nonce is not the one this browser sent")
    }
    guard let subject = claims["sub"]?.string, !subject.isEmpty, subject.count <= 255 else {
      throw OIDCRefusal("malformed-token", "no sub")
    }
    return IDTokenClaims(values: claims)
  }

  /// The `events` member that makes a JWT a logout token.
  static let logoutEvent = "http://schemas.openid.net/event/backchannel-logout"

  /// Validates a logout token (OpenID Connect Back-Channel Logout 1.0
  /// §2.6): signed by the provider, for this client, recent, with the
  /// logout event, without a nonce (so an ID token is never taken for
  /// one), naming a subject or a session.
  public static func validateLogout(
    _ token: String, keys: JSONWebKeySet, issuer: String, clientID: String, now: Date
  ) throws(OIDCRefusal) -> LogoutRequest {
    let claims = try signedClaims(token, keys: keys, issuer: issuer, clientID: clientID, now: now)
    guard case .object(let events)? = claims["events"], case .object? = events[logoutEvent] else {
      throw OIDCRefusal("malformed-token", "no back-channel logout event")
    }
    guard claims["nonce"] == nil else {
      throw OIDCRefusal("malformed-token", "a logout token carries no nonce")
    }
    guard let jti = claims["jti"]?.string, !jti.isEmpty else {
      throw OIDCRefusal("malformed-token", "no jti")
    }
    let claimsValue = IDTokenClaims(values: claims)
    let request = LogoutRequest(
      subject: claimsValue.string("sub"), sessionID: claimsValue.string("sid"))
    guard request.subject != nil || request.sessionID != nil else {
      throw OIDCRefusal("malformed-token", "neither sub nor sid")
    }
    return request
  }

  /// The checks an ID token and a logout token share: the compact JWS and
  /// its signature by a key of the provider, the issuer, the audience
  /// (and `azp`), `exp` and `iat`. The claims when all hold.
  static func signedClaims(
    _ token: String, keys: JSONWebKeySet, issuer: String, clientID: String, now: Date
  ) throws(OIDCRefusal) -> [String: JSONValue] {
    guard token.utf8.count <= maximumLength else {
      throw OIDCRefusal("malformed-token", "longer than \(maximumLength) bytes")
    }
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3, let headerData = Base64URL.decode(parts[0]),
      let header = JSONValue.object(headerData), let payloadData = Base64URL.decode(parts[1]),
      let claims = JSONValue.object(payloadData), let signature = Base64URL.decode(parts[2])
    else {
      throw OIDCRefusal("malformed-token", "not a compact JWS with JSON header and claims")
    }
    guard let alg = header["alg"]?.string, algorithms.contains(alg) else {
      throw OIDCRefusal(
        "bad-signature", "algorithm \(header["alg"]?.string ?? "none") is not accepted")
    }
    if header["crit"] != nil {
      throw OIDCRefusal("malformed-token", "a critical header extension is not understood")
    }
    let candidates = keys.candidates(kid: header["kid"]?.string, alg: alg)
    guard !candidates.isEmpty else {
      throw OIDCRefusal("unknown-key", "no key \(header["kid"]?.string ?? "(no kid)") for \(alg)")
    }
    let signingInput = Data((parts[0] + "." + parts[1]).utf8)
    guard candidates.contains(where: { verify(signature, signingInput, alg: alg, $0.verifier) })
    else {
      throw OIDCRefusal("bad-signature", "the signature does not verify with the provider's key")
    }

    guard claims["iss"]?.string == issuer else {
      throw OIDCRefusal("wrong-issuer", "iss is \(claims["iss"]?.string ?? "missing")")
    }
    let audiences = claims["aud"]?.strings ?? []
    guard audiences.contains(clientID) else {
      throw OIDCRefusal("wrong-audience", "aud is \(audiences), not \(clientID)")
    }
    let azp = claims["azp"]?.string
    if audiences.count > 1 || azp != nil {
      guard azp == clientID else {
        throw OIDCRefusal("wrong-audience", "azp is \(azp ?? "missing"), not \(clientID)")
      }
    }
    guard let exp = claims["exp"]?.number else {
      throw OIDCRefusal("malformed-token", "no exp")
    }
    guard now.timeIntervalSince1970 < exp + clockSkew else {
      throw OIDCRefusal(
        "expired", "exp \(Int(exp)) is before now \(Int(now.timeIntervalSince1970))")
    }
    guard let iat = claims["iat"]?.number else {
      throw OIDCRefusal("malformed-token", "no iat")
    }
    guard iat <= now.timeIntervalSince1970 + clockSkew,
      iat >= now.timeIntervalSince1970 - maximumAge - clockSkew
    else {
      throw OIDCRefusal(
        "expired", "iat \(Int(iat)) is not near now \(Int(now.timeIntervalSince1970))")
    }
    return claims
  }

  static func verify(
    _ signature: Data, _ input: Data, alg: String, _ verifier: JSONWebKeySet.Verifier
  ) -> Bool {
    switch (verifier, alg) {
    case (.rsa(let key), "RS256"):
      return key.isValidSignature(
        _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: input),
        padding: .insecurePKCS1v1_5)
    case (.rsa(let key), "PS256"):
      return key.isValidSignature(
        _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: input),
        padding: .PSS)
    case (.p256(let key), "ES256"):
      guard let value = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else {
        return false
      }
      return key.isValidSignature(value, for: SHA256.hash(data: input))
    case (.p384(let key), "ES384"):
      guard let value = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else {
        return false
      }
      return key.isValidSignature(value, for: SHA384.hash(data: input))
    default:
      return false
    }
  }
}
