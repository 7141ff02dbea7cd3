import FuzzDriver

@testable import MailsealCA

/// A CMP answer as an upstream CA (or anyone between) may send it: read,
/// its protection checked with a shared secret, written again and read
/// again (what the connector does with every answer).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let message = try? CMPMessage(derEncoded: bytes) else { return 0 }
  _ = try? CMPProtection.verify(message, secret: Array("fuzzing secret".utf8))
  _ = message.body.name
  if case .certResponse(_, _, let responses) = message.body {
    _ = responses.map { $0.status.summary }
  }
  if let again = try? message.reencoded().serialized() {
    _ = try? CMPMessage(derEncoded: again)
  }
  return 0
}

@_cdecl("FuzzCMPMessage_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
