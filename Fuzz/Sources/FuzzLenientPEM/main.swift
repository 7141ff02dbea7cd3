import FuzzDriver

@testable import MailsealCA

/// The lenient PEM reader: whatever people paste.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
  _ = try? LenientPEM.decode(text)
  return 0
}

@_cdecl("FuzzLenientPEM_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
