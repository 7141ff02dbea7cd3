import Foundation
import MailsealModel
import Testing

@testable import MailsealAdapters
@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("QR codes for TOTP enrolment")
struct QRCodeTests {
  /// zbarimg (Debian's zbar-tools) decodes what we draw.
  static func decode(_ code: QRCode) throws -> String {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("code.pbm")
    try code.pbm().write(to: file, atomically: true, encoding: .ascii)
    // zbarimg talks about D-Bus on standard error; only standard output counts.
    let result = try Run.program(
      "/bin/sh", ["-c", "exec /usr/bin/zbarimg --quiet --raw \"$0\" 2>/dev/null", file.path])
    return result.output.trimmingCharacters(in: .newlines)
  }

  @Test(
    "zbarimg reads back what we encode, in every version from 1 to 10",
    arguments: [1, 14, 20, 40, 60, 80, 100, 120, 150, 178, 213])
  func roundTrip(length: Int) throws {
    let alphabet = Array(
      "otpauth://totp/Mailseal:zoe%40example.edu?secret=JBSWY3DPEHPK3PXP&issuer=Mailseal-")
    let text = String((0..<length).map { alphabet[($0 * 7) % alphabet.count] })
    let code = try QRCode(text)
    #expect(code.size == 17 + 4 * code.version)
    #expect(try Self.decode(code) == text)
  }

  @Test("a real otpauth URI, and too much text is refused")
  func otpauth() throws {
    let uri =
      "otpauth://totp/Mailseal%20Service-Desk:anna.operator%40example.edu?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Mailseal%20Service-Desk&algorithm=SHA1&digits=6&period=30"
    let code = try QRCode(uri)
    #expect(try Self.decode(code) == uri)
    #expect(code.svg().hasPrefix("<svg"))
    #expect(throws: QRCode.TooLong.self) { try QRCode(String(repeating: "x", count: 214)) }
  }
}
