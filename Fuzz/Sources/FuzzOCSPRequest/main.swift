import FuzzDriver

@testable import MailsealCA

/// An OCSP request as anyone may POST it (RFC 6960).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let request = try? OCSPRequest(derEncoded: bytes) {
    // What the responder reads of a request it accepted.
    _ = request.certIDs.map(\.serialHex)
    _ = request.nonce
  }
  return 0
}

@_cdecl("FuzzOCSPRequest_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
