import FuzzDriver

@testable import MailsealCA

/// An encrypted PKCS#8 key file (PEM or DER), as `ca import --key` reads
/// it. The PBKDF2 work is bounded (2,048 rounds) so that one input cannot
/// take seconds; the parser sees every shape.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  _ = try? EncryptedPrivateKeyInfo.decrypt(
    bytes, passphrase: Array("fuzzing passphrase".utf8), iterationLimit: 2_048)
  return 0
}

@_cdecl("FuzzPKCS8_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
