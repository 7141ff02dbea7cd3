import Foundation
import FuzzDriver
import MailsealCA

@testable import MailsealRA

/// The JSON the browser posts to /api/v1/requests: decoded as the web layer
/// decodes it, then every check that needs no database (names, key type,
/// the CSR).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Data(UnsafeBufferPointer(start: data, count: size))
  guard let form = try? JSONDecoder().decode(RequestForm.self, from: bytes),
    let mailbox = try? Mailbox("fuzz@example.edu")
  else { return 0 }
  _ = try? Enrollment.validate(form, mailbox: mailbox)
  return 0
}

@_cdecl("FuzzRequestJSON_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
