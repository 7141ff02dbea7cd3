import FuzzDriver

@testable import MailsealCA

/// What an upstream CA sends back as certificates (HARICA's PKCS#7 in its
/// ZIP, Sectigo's PEM chain or PKCS#7): read as the connectors read it.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  if let certificates = try? CertificateBundle.certificates(bytes) {
    _ = certificates.map(\.serialNumber)
  }
  return 0
}

@_cdecl("FuzzCertificateBundle_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
