import FuzzDriver

@testable import MailsealCA

/// Key escrow's envelope as a browser (or anyone signed in) posts it, and
/// the share files the offline machine reads.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let envelope = try? KeyEnvelope(derEncoded: bytes) {
    // What the portal does with an envelope it accepted (against no
    // installed certificate: a global one would be reported as a leak).
    _ = try? envelope.checkRecipients([])
    _ = envelope.recipients.map(\.identifier)
  }
  _ = try? RecoveryShare(bytes)
  return 0
}

@_cdecl("FuzzKeyEnvelope_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
