import CPKCS11
import Crypto
import Foundation
import SoftHSMSupport
import Testing
import X509

@testable import MailsealCA

/// The PKCS#11 custody against SoftHSM2, with OpenSC's pkcs11-tool as the
/// independent judge of what the token holds.
@Suite("CA keys in a PKCS#11 token (SoftHSM2)")
struct PKCS11Tests {
  @Test("RFC 7512 URIs: read, written canonically, and refused with a reason")
  func uris() throws {
    let uri = try PKCS11URI(
      "pkcs11:token=Mailseal%20CA;object=issuing-1;id=%01%ff;type=private?pin-source=file:/etc/mailseal/pin"
    )
    #expect(uri.token == "Mailseal CA")
    #expect(uri.object == "issuing-1")
    #expect(uri.id == [0x01, 0xff])
    #expect(uri.pinSource == "/etc/mailseal/pin")
    #expect(
      uri.description
        == "pkcs11:token=Mailseal%20CA;object=issuing-1;id=%01%ff;type=private?pin-source=file:/etc/mailseal/pin"
    )
    #expect(try PKCS11URI(uri.description) == uri)
    let plain = PKCS11URI(token: "a;b", object: "ü", id: [0x41])
    #expect(plain.description == "pkcs11:token=a%3bb;object=%c3%bc;id=%41")
    #expect(try PKCS11URI(plain.description) == plain)

    func refusal(_ text: String) -> String {
      do {
        _ = try PKCS11URI(text)
        return "accepted"
      } catch {
        return error.message
      }
    }
    #expect(refusal("pkcs11:object=k?pin-value=1234").contains("pin-value is refused"))
    #expect(!refusal("pkcs11:object=k?pin-value=1234").contains("1234"))
    // Whatever else is wrong, a PIN in the query never reaches a message.
    #expect(!refusal("pkcs11:object=k;bogus=1?pin-value=4711").contains("4711"))
    #expect(!refusal("pkcs11:object=k?foo=1&pin-value=4711").contains("4711"))
    #expect(!refusal("pkcs11:object=%zz?pin-value=4711").contains("4711"))
    // RFC 7512: "/" is written encoded in a path value, plain in a query.
    #expect(
      PKCS11URI(object: "a/b=c", pinSource: "/p?q").description
        == "pkcs11:object=a%2fb=c?pin-source=file:/p?q")
    #expect(refusal("pkcs11:object=k?module-path=/tmp/evil.so").contains("MAILSEAL_PKCS11_MODULE"))
    #expect(refusal("pkcs11:token=t").contains("names no object"))
    #expect(refusal("pkcs11:object=k;color=red").contains("color is unknown"))
    #expect(refusal("pkcs11:object=k;object=l").contains("appears twice"))
    #expect(refusal("pkcs11:object=%zz").contains("percent-encoded"))
    #expect(refusal("pkcs11:object=k;type=cert").contains("names a cert object"))
    #expect(refusal("file:issuing.key.pem").contains("must start with pkcs11:"))
    #expect(refusal("pkcs11:object=" + String(repeating: "a", count: 2000)).contains("longer"))
  }

  @Test(
    "keys made in the token are sensitive and never extractable: pkcs11-tool lists them so, and reading CKA_VALUE fails",
    arguments: [CAKeyType.p384, .rsa4096])
  func keysStayInTheToken(type: CAKeyType) throws {
    let (custody, token) = try TestCustody.tokenCustody()
    let label = "judge-\(type.rawValue)-\(UInt32.random(in: 0...UInt32.max))"
    let (reference, key) = try custody.generateKey(type, label: label)
    #expect(reference.scheme == "pkcs11")
    #expect(reference.rawValue.contains("object=\(label)"))
    #expect(!reference.rawValue.contains(token.pin))

    // The module itself will not give the private value: C_GetAttributeValue
    // of CKA_VALUE (and of the RSA private exponent) is refused as sensitive.
    let loaded = try #require(try custody.loadKey(reference) as? PKCS11SigningKey)
    #expect(loaded.publicKey == key.publicKey)
    let module = loaded.module
    let answers = try module.withSession(PKCS11TokenSelector(loaded.uri), pinFile: token.pinFile) {
      (session: CK_SESSION_HANDLE) throws(PKCS11Failure) -> [CK_RV] in
      let handle = try module.privateKeyHandle(loaded.uri, session: session, fresh: true)
      return [CKA_VALUE, CKA_PRIVATE_EXPONENT].map { type in
        var buffer = [UInt8](repeating: 0, count: 1024)
        return buffer.withUnsafeMutableBytes { bytes in
          var attribute = CK_ATTRIBUTE(
            type: type, pValue: bytes.baseAddress, ulValueLen: CK_ULONG(bytes.count))
          return module.f.C_GetAttributeValue!(session, handle, &attribute, 1)
        }
      }
    }
    if type == .rsa4096 {
      // An RSA private key has no CKA_VALUE; its secret is the exponent.
      #expect(answers[0] == CKR_ATTRIBUTE_TYPE_INVALID, "CKA_VALUE: \(answers[0])")
      #expect(answers[1] == CKR_ATTRIBUTE_SENSITIVE, "CKA_PRIVATE_EXPONENT: \(answers[1])")
    } else {
      #expect(answers[0] == CKR_ATTRIBUTE_SENSITIVE, "CKA_VALUE: \(answers[0])")
    }
    let flags = try module.withSession(PKCS11TokenSelector(loaded.uri), pinFile: token.pinFile) {
      (session: CK_SESSION_HANDLE) throws(PKCS11Failure) -> [CK_ATTRIBUTE_TYPE: [UInt8]] in
      let handle = try module.privateKeyHandle(loaded.uri, session: session, fresh: true)
      return try module.attributes(
        session, handle, [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_NEVER_EXTRACTABLE, CKA_TOKEN])
    }
    #expect(flags[CKA_SENSITIVE] == [1])
    #expect(flags[CKA_EXTRACTABLE] == [0])
    #expect(flags[CKA_NEVER_EXTRACTABLE] == [1])
    #expect(flags[CKA_TOKEN] == [1])

    // The independent judge: OpenSC's pkcs11-tool lists the key (its
    // --label does not filter a listing: the key's own block is read).
    let listing = try SoftHSM.run(
      "pkcs11-tool",
      [
        "--module", SoftHSM.modulePath, "--token-label", token.label, "--login", "--pin",
        token.pin, "--list-objects", "--type", "privkey",
      ], environment: SoftHSM.shared.environment)
    let block = try #require(
      listing.components(separatedBy: "Private Key Object").first {
        $0.contains("label:      \(label)\n")
      }, "\(listing)")
    let access = try #require(block.split(separator: "\n").first { $0.contains("Access:") })
    #expect(access.contains("sensitive"), "\(access)")
    #expect(access.contains("never extractable"), "\(access)")
    #expect(!access.replacingOccurrences(of: "never extractable", with: "").contains("extractable"))

    // A signature through the token verifies with the public key.
    let message = Array("to be signed".utf8)
    let signature = try loaded.sign(message[...])
    #expect(
      key.publicKey.isValidSignature(
        signature, for: message, signatureAlgorithm: type.signatureAlgorithm))
  }

  @Test("the pool of sessions signs from many threads at once; every signature verifies")
  func concurrentSignatures() async throws {
    let (custody, _) = try TestCustody.tokenCustody()
    let (_, key) = try custody.generateKey(
      .p256, label: "parallel-\(UInt32.random(in: 0...UInt32.max))")
    let results = try await withThrowingTaskGroup(of: Bool.self) { group in
      for task in 0..<16 {
        group.addTask {
          var good = true
          for index in 0..<40 {
            let message = Array("message \(task) \(index)".utf8)
            let signature = try key.sign(message[...])
            good =
              good
              && key.publicKey.isValidSignature(
                signature, for: message, signatureAlgorithm: .ecdsaWithSHA256)
          }
          return good
        }
      }
      return try await group.reduce(into: [Bool]()) { $0.append($1) }
    }
    #expect(results.count == 16)
    #expect(results.allSatisfy { $0 })
  }

  @Test(
    "a token whose files are removed: every signature and check fails as key-unavailable; put back, the key signs again without a restart"
  )
  func tokenGoneAndBack() async throws {
    let token = try SoftHSM.shared.token("mailseal-ca-fault")
    let custody = try PKCS11KeyCustody(
      modulePath: SoftHSM.modulePath, pinFile: token.pinFile, token: token.label)
    let (reference, key) = try custody.generateKey(.p384, label: "fault")
    _ = try key.sign([1, 2, 3])

    let away = SoftHSM.shared.folder.appendingPathComponent(
      "away-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.moveItem(at: token.directory, to: away)
    do {
      try key.ensureAvailable()
      Issue.record("the key was found with its token's files gone")
    } catch {
      #expect(error.code == .keyUnavailable, "\(error)")
    }
    #expect(throws: CAError.self) { _ = try key.sign([1, 2, 3]) }
    #expect(throws: CAError.self) { _ = try custody.loadKey(reference) }

    try FileManager.default.moveItem(at: away, to: token.directory)
    // Recovery is tried at most once a second: wait (bounded) until it is.
    guard try await Self.eventually({ (try? key.ensureAvailable()) != nil }) else {
      Issue.record("the token was not found again")
      return
    }
    let message: [UInt8] = Array("after the token came back".utf8)
    let signature = try key.sign(message[...])
    #expect(
      key.publicKey.isValidSignature(signature, for: message, signatureAlgorithm: .ecdsaWithSHA384))
  }

  @Test(
    "a wrong PIN: key-unavailable naming the file (never the PIN), not offered again unchanged; the right PIN in the file, and it works"
  )
  func wrongPIN() async throws {
    let token = try SoftHSM.shared.token("mailseal-ca-pin")
    let good = try PKCS11KeyCustody(
      modulePath: SoftHSM.modulePath, pinFile: token.pinFile, token: token.label)
    let (reference, _) = try good.generateKey(.p256, label: "pin")
    // Another process would start with a wrong PIN; here the module is
    // shared, so a second custody reads a PIN file with a wrong PIN.
    let wrongFile = SoftHSM.shared.folder.appendingPathComponent("wrong-\(UUID()).pin").path
    #expect(
      FileManager.default.createFile(
        atPath: wrongFile, contents: Data("99999999\n".utf8), attributes: [.posixPermissions: 0o600]
      ))
    let wrong = try PKCS11KeyCustody(
      modulePath: SoftHSM.modulePath, pinFile: wrongFile, token: token.label)
    // End the token's sessions (and so its login) so that the PIN is asked.
    good.module.closeSessionsForTesting(of: PKCS11TokenSelector(label: token.label))
    do {
      _ = try wrong.loadKey(reference)
      Issue.record("a wrong PIN opened the token")
    } catch let error as CAError {
      #expect(error.code == .keyUnavailable)
      #expect(error.message.contains("refused the PIN"), "\(error.message)")
      #expect(error.message.contains(wrongFile))
      #expect(!error.message.contains("99999999"))
    }
    // The right PIN, in the same file: found again without a restart.
    try "\(token.pin)\n".write(toFile: wrongFile, atomically: false, encoding: .utf8)
    #expect(
      try await Self.eventually({ (try? wrong.loadKey(reference)) != nil }),
      "the right PIN was not taken")
  }

  @Test(
    "a key taken over from the token (ca import --key pkcs11:…) is refused when it is extractable or not sensitive, naming the attribute; a sensitive, never extractable one is taken"
  )
  func adoptionRequiresAKeptKey() throws {
    let token = try SoftHSM.shared.token("mailseal-ca-adopt")
    let custody = try PKCS11KeyCustody(
      modulePath: SoftHSM.modulePath, pinFile: token.pinFile, token: token.label)
    let tag = UInt32.random(in: 0...UInt32.max)
    func reference(_ label: String) -> KeyReference {
      KeyReference(
        rawValue: PKCS11URI(token: token.label, object: label, type: "private").description)
    }
    // Keys made by OpenSC's pkcs11-tool, as an administrator would.
    func keypair(_ label: String, id: String, _ flags: [String]) throws {
      try SoftHSM.run(
        "pkcs11-tool",
        [
          "--module", SoftHSM.modulePath, "--token-label", token.label, "--login", "--pin",
          token.pin, "--keypairgen", "--key-type", "EC:secp384r1", "--label", label, "--id", id,
          "--usage-sign",
        ] + flags, environment: SoftHSM.shared.environment)
    }
    func refusal(_ reference: KeyReference) -> CAError? {
      do {
        _ = try custody.adoptKey(reference)
        return nil
      } catch {
        return error as? CAError
      }
    }

    let extractable = "extractable-\(tag)"
    try keypair(extractable, id: "e1", ["--sensitive", "--extractable"])
    let refused = try #require(refusal(reference(extractable)), "an extractable key was taken")
    #expect(refused.code == .caMaterialInvalid)
    #expect(refused.message.contains("is extractable (CKA_EXTRACTABLE true)"), "\(refused)")
    #expect(!refused.message.contains("CKA_SENSITIVE false"), "\(refused)")
    // Only taking a key over judges it: loading one installed before signs.
    _ = try custody.loadKey(reference(extractable)).sign([1, 2, 3])

    // pkcs11-tool (OpenSC 0.23) cannot ask for CKA_SENSITIVE false, and
    // SoftHSM2 makes keys sensitive unless told otherwise: the module is
    // told so here.
    let exposed = "not-sensitive-\(tag)"
    let module = custody.module
    try module.withSession(PKCS11TokenSelector(label: token.label), pinFile: token.pinFile) {
      (session: CK_SESSION_HANDLE) throws(PKCS11Failure) -> Void in
      var publicTemplate = AttributeTemplate()
      publicTemplate.add(CKA_TOKEN, bool: true)
      publicTemplate.add(CKA_LABEL, bytes: Array(exposed.utf8))
      publicTemplate.add(CKA_ID, bytes: [0xe2])
      publicTemplate.add(CKA_VERIFY, bool: true)
      publicTemplate.add(CKA_EC_PARAMS, bytes: PKCS11KeyCustody.curveParameters(.p384))
      var privateTemplate = AttributeTemplate()
      privateTemplate.add(CKA_TOKEN, bool: true)
      privateTemplate.add(CKA_LABEL, bytes: Array(exposed.utf8))
      privateTemplate.add(CKA_ID, bytes: [0xe2])
      privateTemplate.add(CKA_PRIVATE, bool: true)
      privateTemplate.add(CKA_SENSITIVE, bool: false)
      privateTemplate.add(CKA_EXTRACTABLE, bool: false)
      privateTemplate.add(CKA_SIGN, bool: true)
      _ = try module.generateKeyPair(
        session, mechanism: CKM_EC_KEY_PAIR_GEN, publicTemplate: publicTemplate,
        privateTemplate: privateTemplate)
    }
    let plain = try #require(refusal(reference(exposed)), "a key that is not sensitive was taken")
    #expect(plain.code == .caMaterialInvalid)
    #expect(plain.message.contains("is not sensitive (CKA_SENSITIVE false)"), "\(plain)")
    #expect(!plain.message.contains("CKA_EXTRACTABLE true"), "\(plain)")

    let kept = "kept-\(tag)"
    try keypair(kept, id: "e3", ["--sensitive"])
    let key = try custody.adoptKey(reference(kept))
    #expect(key.keyType == .p384)
    let message = Array("taken over".utf8)
    #expect(
      key.publicKey.isValidSignature(
        try key.sign(message[...]), for: message, signatureAlgorithm: .ecdsaWithSHA384))
  }

  @Test(
    "a template's values each start where a CK_ULONG may be read, a CK_BBOOL before them or not")
  func templateValuesAreAligned() throws {
    var template = AttributeTemplate()
    template.add(CKA_TOKEN, bool: true)
    template.add(CKA_MODULUS_BITS, ulong: 4096)
    template.add(CKA_LABEL, bytes: Array("abc".utf8))
    template.add(CKA_CLASS, ulong: CKO_PRIVATE_KEY)
    template.add(CKA_SENSITIVE, bool: false)
    let (aligned, values) = try template.withAttributes {
      (attributes: UnsafeMutablePointer<CK_ATTRIBUTE>?, count: CK_ULONG) throws(PKCS11Failure)
        -> ([Bool], [[UInt8]]) in
      let all = UnsafeBufferPointer(start: attributes, count: Int(count))
      return (
        all.map { Int(bitPattern: $0.pValue) % MemoryLayout<CK_ULONG>.alignment == 0 },
        all.map { Array(UnsafeRawBufferPointer(start: $0.pValue, count: Int($0.ulValueLen))) }
      )
    }
    #expect(aligned == [true, true, true, true, true])
    func ulong(_ bytes: [UInt8]) -> CK_ULONG? {
      bytes.count == MemoryLayout<CK_ULONG>.size
        ? bytes.withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) } : nil
    }
    #expect(values[0] == [1])
    #expect(ulong(values[1]) == 4096)
    #expect(values[2] == Array("abc".utf8))
    #expect(ulong(values[3]) == CKO_PRIVATE_KEY)
    #expect(values[4] == [0])
  }

  @Test("a template's layout: each value at the next multiple of CK_ULONG's alignment")
  func templateLayout() {
    let size = MemoryLayout<CK_ULONG>.size
    #expect(MemoryLayout<CK_ULONG>.alignment == size)
    #expect(
      AttributeTemplate.layout(lengths: [1, size, 3, size, 1])
        == ([0, size, 2 * size, 3 * size, 4 * size], 4 * size + 1))
    #expect(AttributeTemplate.layout(lengths: [0, 0, size]) == ([0, 0, 0], size))
    #expect(AttributeTemplate.layout(lengths: []) == ([], 0))
  }

  @Test(
    "attribute answers: CK_UNAVAILABLE_INFORMATION with CKR_OK, an absent or sensitive attribute, an absurd length — a failure naming a required attribute, nil for one that may be missing; a CK_ULONG is read from any offset"
  )
  func attributeAnswers() throws {
    /// The failure's message, or nil when there was none.
    func failure(_ body: () throws -> Any?) -> String? {
      do {
        _ = try body()
        return nil
      } catch {
        return "\(error)"
      }
    }
    let unavailable = failure {
      try PKCS11Module.valueLength(
        of: CKA_EC_POINT, answer: CKR_OK, length: CK_UNAVAILABLE_INFORMATION, required: true)
    }
    #expect(unavailable?.contains("CKA_EC_POINT") == true, "\(unavailable ?? "no failure")")
    #expect(unavailable?.contains("CK_UNAVAILABLE_INFORMATION") == true)
    #expect(
      try PKCS11Module.valueLength(
        of: CKA_ID, answer: CKR_OK, length: CK_UNAVAILABLE_INFORMATION, required: false) == nil)
    for answer in [CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID] {
      let refused = failure {
        try PKCS11Module.valueLength(of: CKA_SENSITIVE, answer: answer, length: 0, required: true)
      }
      #expect(refused?.contains("CKA_SENSITIVE") == true, "\(refused ?? "no failure")")
      #expect(
        try PKCS11Module.valueLength(of: CKA_ID, answer: answer, length: 0, required: false) == nil)
    }
    let huge = failure {
      try PKCS11Module.valueLength(
        of: CKA_MODULUS, answer: CKR_OK, length: CK_ULONG(1 << 40), required: false)
    }
    #expect(huge?.contains("CKA_MODULUS") == true, "\(huge ?? "no failure")")
    #expect(
      failure {
        try PKCS11Module.valueLength(
          of: CKA_EC_POINT, answer: CKR_DEVICE_REMOVED, length: 0, required: false)
      }?.contains("CKR_DEVICE_REMOVED") == true)
    #expect(
      try PKCS11Module.valueLength(of: CKA_EC_POINT, answer: CKR_OK, length: 99, required: true)
        == 99)
    // The second call: a length beyond the buffer is not read.
    for length in [CK_UNAVAILABLE_INFORMATION, 100] {
      let beyond = failure {
        try PKCS11Module.readLength(of: CKA_EC_POINT, answer: CKR_OK, length: length, capacity: 99)
      }
      #expect(beyond?.contains("CKA_EC_POINT") == true, "\(beyond ?? "no failure")")
    }
    #expect(
      try PKCS11Module.readLength(of: CKA_EC_POINT, answer: CKR_OK, length: 97, capacity: 99) == 97)

    // Decoding: a CK_ULONG from an odd offset; wrong sizes name the attribute.
    let number: CK_ULONG = 0x0102_0304
    let bytes = [0xee] + withUnsafeBytes(of: number) { Array($0) }
    #expect(AttributeValues.ulong(bytes.dropFirst()) == number)
    let values = AttributeValues(values: [
      CKA_KEY_TYPE: [3], CKA_SIGN: [1], CKA_EXTRACTABLE: [0, 0], CKA_SENSITIVE: [0],
    ])
    #expect(try values.bool(CKA_SIGN))
    #expect(try !values.bool(CKA_SENSITIVE))
    #expect(failure { try values.ulong(CKA_KEY_TYPE) }?.contains("CKA_KEY_TYPE") == true)
    #expect(failure { try values.bool(CKA_EXTRACTABLE) }?.contains("CKA_EXTRACTABLE") == true)
    #expect(failure { try values.bytes(CKA_EC_POINT) }?.contains("CKA_EC_POINT") == true)
  }

  @Test(
    "a refused PIN is remembered only as a keyed digest, never its bytes; unchanged it is not offered again, changed it is tried again"
  )
  func refusedPINIsNotKept() async throws {
    let token = try SoftHSM.shared.token("mailseal-ca-pin-memory")
    let good = try PKCS11KeyCustody(
      modulePath: SoftHSM.modulePath, pinFile: token.pinFile, token: token.label)
    let (reference, _) = try good.generateKey(.p256, label: "pin-memory")
    let wrongFile = SoftHSM.shared.folder.appendingPathComponent("memory-\(UUID()).pin").path
    let firstPIN = "97531864"
    #expect(
      FileManager.default.createFile(
        atPath: wrongFile, contents: Data("\(firstPIN)\n".utf8),
        attributes: [.posixPermissions: 0o600]))
    let wrong = try PKCS11KeyCustody(
      modulePath: SoftHSM.modulePath, pinFile: wrongFile, token: token.label)
    func refusal() -> String {
      do {
        _ = try wrong.loadKey(reference)
        return "opened"
      } catch {
        return "\(error)"
      }
    }
    /// Whether `haystack` holds `needle` as a run of bytes.
    func holds(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
      haystack.count >= needle.count
        && (0...(haystack.count - needle.count)).contains {
          Array(haystack[$0..<($0 + needle.count)]) == needle
        }
    }
    good.module.closeSessionsForTesting(of: PKCS11TokenSelector(label: token.label))
    // The token refuses the PIN; the call's one immediate recovery finds
    // the same PIN in the file and does not offer it again.
    let first = refusal()
    #expect(first.contains("refused the PIN in \(wrongFile)"), "\(first)")
    #expect(first.contains("not offered again"), "\(first)")
    let remembered = try #require(good.module.refusedPINsForTesting()[wrongFile])
    #expect(remembered != Array(firstPIN.utf8))
    #expect(!holds(remembered, Array(firstPIN.utf8)))
    #expect(!holds(remembered, Array(firstPIN.utf8.prefix(4))))
    #expect(remembered.count == 32)
    #expect(remembered == good.module.pinDigest(Array(firstPIN.utf8)))

    // Changed — to another wrong PIN — it is tried (a refusal is what
    // records a digest), and again only its digest is kept.
    let secondPIN = "86420975"
    try "\(secondPIN)\n".write(toFile: wrongFile, atomically: false, encoding: .utf8)
    #expect(
      try await Self.eventually({
        _ = refusal()
        return good.module.refusedPINsForTesting()[wrongFile] != remembered
      }), "the changed PIN file was not tried: \(refusal())")
    let again = try #require(good.module.refusedPINsForTesting()[wrongFile])
    #expect(again == good.module.pinDigest(Array(secondPIN.utf8)))
    #expect(!holds(again, Array(secondPIN.utf8)))
    #expect(refusal().contains("not offered again"))
    // And the right PIN opens the token.
    try "\(token.pin)\n".write(toFile: wrongFile, atomically: false, encoding: .utf8)
    #expect(
      try await Self.eventually({ (try? wrong.loadKey(reference)) != nil }),
      "the right PIN was not taken")
  }

  @Test("a PIN file is read without its line end and wiped in place")
  func pinFileAndWipe() throws {
    let path = SoftHSM.shared.folder.appendingPathComponent("read-\(UUID()).pin").path
    #expect(
      FileManager.default.createFile(
        atPath: path, contents: Data("1234abcd\r\n".utf8), attributes: [.posixPermissions: 0o600])
    )
    var pin = try PKCS11Module.readPIN(path)
    #expect(pin == Array("1234abcd".utf8))
    PKCS11Module.wipe(&pin)
    #expect(pin == [UInt8](repeating: 0, count: 8))
    try String(repeating: "7", count: 257).write(toFile: path, atomically: false, encoding: .utf8)
    #expect(throws: CAError.self) { _ = try PKCS11Module.readPIN(path) }
    try String(repeating: "7", count: 256).write(toFile: path, atomically: false, encoding: .utf8)
    #expect(try PKCS11Module.readPIN(path).count == 256)
    try "\n".write(toFile: path, atomically: false, encoding: .utf8)
    #expect(throws: CAError.self) { _ = try PKCS11Module.readPIN(path) }
  }

  /// Whether `condition` comes to hold within 20 s, looking every 100 ms
  /// (a recovery is tried at most once a second).
  static func eventually(_ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(20)
    while !condition() {
      guard ContinuousClock.now < deadline else { return false }
      try await Task.sleep(for: .milliseconds(100))
    }
    return true
  }
}
