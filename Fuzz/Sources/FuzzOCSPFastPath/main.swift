import FuzzDriver
import MailsealCA

/// The OCSP responder's fast path reads a request's sole CertID by hand
/// (`OCSPRequest.soleCertID`), before and instead of the full reader: it
/// must never crash, and whenever both read a request they must agree —
/// one CertID, these very bytes, no nonce.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ input: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  guard let data = input else { return 0 }
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let certID = OCSPRequest.soleCertID(in: bytes) else { return 0 }
  if let request = try? OCSPRequest(derEncoded: bytes) {
    precondition(request.certIDs.count == 1, "the fast path saw one CertID, the reader several")
    precondition(request.certIDs[0].encoded == Array(certID), "the two read different CertIDs")
    precondition(request.nonce == nil, "the fast path took a request with a nonce")
  }
  return 0
}

@_cdecl("FuzzOCSPFastPath_main")
func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
  runFuzzer(argc, argv, { fuzz($0, $1) })
}
