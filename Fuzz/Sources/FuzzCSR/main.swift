import FuzzDriver

@testable import MailsealCA

/// A certificate request as the portal receives it: DER bytes, and the same
/// bytes read as PEM text (the lenient reader, then DER).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  _ = try? CertificateRequestCheck.check(bytes)
  _ = try? CertificateRequestCheck.check(pem: String(decoding: bytes, as: UTF8.self))
  return 0
}

@_cdecl("FuzzCSR_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
