import FuzzDriver

@testable import MailsealCA

/// What a directory server (or anyone between, before StartTLS) sends:
/// framed, read, written again and read again, as the publisher's client
/// will.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let length = try? LDAPMessage.frameLength(bytes) else { return 0 }
  guard let message = try? LDAPMessage(berEncoded: Array(bytes.prefix(length))) else { return 0 }
  if let again = try? message.serialized() {
    _ = try? LDAPMessage(berEncoded: again)
  }
  return 0
}

@_cdecl("FuzzLDAPMessage_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
