import Crypto
public import Foundation
import MailsealCA
import MailsealModel
import MailsealStore
import _CryptoExtras

/// Operator passwords, hashed with scrypt (memory-hard): N = 2^15, r = 8,
/// p = 1 (32 MiB, about 0.1 s here), 16-byte salt, 32-byte result, stored as
/// `scrypt$N$r$p$salt$hash` (base64).
enum PasswordHash {
  static let n = 1 << 15
  static let r = 8
  static let p = 1

  static func make(_ password: String) throws -> String {
    var generator = SystemRandomNumberGenerator()
    let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let hash = try derive(password, salt: salt, n: n, r: r, p: p)
    return
      "scrypt$\(n)$\(r)$\(p)$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
  }

  static func verify(_ password: String, against stored: String) -> Bool {
    let parts = stored.split(separator: "$").map(String.init)
    guard parts.count == 6, parts[0] == "scrypt", let n = Int(parts[1]), let r = Int(parts[2]),
      let p = Int(parts[3]),
      n <= 1 << 20, r <= 32, p <= 4, let salt = Data(base64Encoded: parts[4]),
      let expected = Data(base64Encoded: parts[5]),
      let actual = try? derive(password, salt: Array(salt), n: n, r: r, p: p)
    else { return false }
    return SecretToken.constantTimeEquals(
      Data(actual).base64EncodedString(), expected.base64EncodedString())
  }

  static func derive(_ password: String, salt: [UInt8], n: Int, r: Int, p: Int) throws -> [UInt8] {
    let key = try KDF.Scrypt.deriveKey(
      from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: n, blockSize: r,
      parallelism: p)
    return key.withUnsafeBytes { Array($0) }
  }
}

/// Time-based one-time passwords (RFC 6238: HMAC-SHA1, six digits, 30 s):
/// the staff's second factor, and the code of an upstream's service
/// account (HARICA).
public enum OneTimePassword {
  static let interval = 30

  /// The time step of a moment.
  static func step(_ date: Date) -> Int { Int(date.timeIntervalSince1970) / interval }

  /// The code for `secret` now.
  public static func code(secret: [UInt8], at date: Date) -> String {
    code(secret: secret, step: step(date))
  }

  /// The code of a time step (RFC 4226 §5.3: HMAC of the big-endian step,
  /// dynamic truncation, the last six decimal digits).
  static func code(secret: [UInt8], step: Int) -> String {
    let counter = withUnsafeBytes(of: UInt64(step).bigEndian) { Array($0) }
    let mac = Array(
      HMAC<Insecure.SHA1>.authenticationCode(for: counter, using: SymmetricKey(data: secret)))
    let offset = Int(mac[mac.count - 1] & 0x0F)
    let value =
      (UInt32(mac[offset] & 0x7F) << 24) | (UInt32(mac[offset + 1]) << 16)
      | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
    let code = String(value % 1_000_000)
    return String(repeating: "0", count: 6 - code.count) + code
  }

  /// The step a code belongs to, accepting one step of clock drift either
  /// way and only steps after `lastUsed` (so that no code works twice).
  static func verify(_ code: String, secret: [UInt8], now: Date, lastUsed: Int) -> Int? {
    let typed = code.filter(\.isNumber)
    guard typed.count == 6 else { return nil }
    let current = step(now)
    return (current - 1...current + 1).first { candidate in
      candidate > lastUsed
        && SecretToken.constantTimeEquals(Self.code(secret: secret, step: candidate), typed)
    }
  }

  /// RFC 4648 base32 (upper or lower case, spaces and padding ignored);
  /// nil for anything else.
  static func base32(decoding text: String) -> [UInt8]? {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)
    var bits = 0
    var buffer = 0
    var bytes: [UInt8] = []
    for character in text.uppercased().utf8 where character != UInt8(ascii: " ") {
      if character == UInt8(ascii: "=") { continue }
      guard let index = alphabet.firstIndex(of: character) else { return nil }
      buffer = (buffer << 5) | index
      bits += 5
      if bits >= 8 {
        bits -= 8
        bytes.append(UInt8((buffer >> bits) & 0xFF))
      }
    }
    return bytes
  }

  /// RFC 4648 base32 without padding, as authenticator apps expect.
  static func base32(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    var output = ""
    var buffer = 0
    var bits = 0
    for byte in bytes {
      buffer = (buffer << 8) | Int(byte)
      bits += 8
      while bits >= 5 {
        output.append(alphabet[(buffer >> (bits - 5)) & 31])
        bits -= 5
      }
    }
    if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
    return output
  }

  /// The otpauth:// URI authenticator apps read from the QR code.
  static func uri(secret: [UInt8], account: String, issuer: String) -> String {
    func escape(_ text: String) -> String {
      text.addingPercentEncoding(
        withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
    return
      "otpauth://totp/\(escape(issuer)):\(escape(account))?secret=\(base32(secret))&issuer=\(escape(issuer))&algorithm=SHA1&digits=6&period=30"
  }
}

/// Seals operator secrets (TOTP keys) with AES-GCM under a key derived from
/// the installation's secret (the CA key passphrase), so that the database
/// alone does not reveal them.
struct SecretBox {
  let key: SymmetricKey

  init(installationSecret: [UInt8]) {
    key = HKDF<SHA256>.deriveKey(
      inputKeyMaterial: SymmetricKey(data: installationSecret),
      salt: Array("mailseal operator secrets".utf8),
      info: Array("totp-secret-v1".utf8), outputByteCount: 32)
  }

  func seal(_ secret: [UInt8]) throws -> Data {
    try AES.GCM.seal(secret, using: key).combined!
  }

  func open(_ sealed: Data) throws -> [UInt8] {
    Array(try AES.GCM.open(AES.GCM.SealedBox(combined: sealed), using: key))
  }
}
