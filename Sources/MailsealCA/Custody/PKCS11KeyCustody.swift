import CPKCS11
import Crypto
import Foundation
import SwiftASN1
import Synchronization
public import X509
import _CryptoExtras

/// CA keys in a hardware security module, reached through its PKCS#11
/// module (loaded at run time, so a build without the module's package
/// runs as before).
///
/// Keys are made inside the token — CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE
/// true; CKA_EXTRACTABLE false — and named by RFC 7512 URIs. The PIN comes
/// from a file (`MAILSEAL_PKCS11_PIN_FILE`, or the URI's
/// `pin-source=file:…`), never from the URI itself, and never appears in a
/// message or a log.
public struct PKCS11KeyCustody: KeyCustody {
  public let scheme = "pkcs11"
  let module: PKCS11Module
  /// The PIN file used when a URI names none.
  let pinFile: String?
  /// Where new keys are made: the token's attributes (and a `pin-source`)
  /// that every new key's URI carries.
  let placement: PKCS11URI?

  /// Loads the module (once per process) at `modulePath`; new keys go into
  /// the token labelled `token` (`--token`, `MAILSEAL_PKCS11_TOKEN`).
  public init(modulePath: String, pinFile: String?, token: String? = nil) throws(CAError) {
    module = try PKCS11Module.load(modulePath)
    self.pinFile = pinFile
    self.placement = token.map { PKCS11URI(token: $0) }
  }

  init(module: PKCS11Module, pinFile: String?, placement: PKCS11URI?) {
    self.module = module
    self.pinFile = pinFile
    self.placement = placement
  }

  /// The custody that makes new keys where the key of `reference` is: the
  /// same token, found the same way, opened with the same PIN file (an
  /// OCSP responder's key beside its CA's).
  public func sibling(of reference: KeyReference) throws(CAError) -> PKCS11KeyCustody {
    let uri = try PKCS11URI(reference.rawValue)
    return PKCS11KeyCustody(
      module: module, pinFile: pinFile,
      placement: PKCS11URI(
        token: uri.token, manufacturer: uri.manufacturer, serial: uri.serial, model: uri.model,
        pinSource: uri.pinSource))
  }

  /// The module's path.
  public var modulePath: String { module.path }

  /// Makes a key pair of `type` in the token: the private half sensitive,
  /// never extractable, kept in the token; both halves labelled `label`
  /// with the same random CKA_ID (a new one for each attempt, and a pair
  /// that fails a check after it was made is destroyed, so that a retry
  /// never leaves two keys of one name).
  public func generateKey(_ type: CAKeyType, label: String) throws -> (
    KeyReference, any CASigningKey
  ) {
    guard let placement,
      placement.token != nil || placement.serial != nil
    else {
      throw CAError(
        .keyCustody,
        "Name the token the CA keys are made in: --token LABEL or MAILSEAL_PKCS11_TOKEN.")
    }
    let selector = PKCS11TokenSelector(placement)
    let pinFile = placement.pinSource ?? self.pinFile
    let module = self.module
    let (id, publicKey) = try module.withSession(selector, pinFile: pinFile) {
      (session: CK_SESSION_HANDLE) throws(PKCS11Failure) -> Result<
        ([UInt8], Certificate.PublicKey), CAError
      > in
      var id = [UInt8](repeating: 0, count: 16)
      var generator = SystemRandomNumberGenerator()
      for index in id.indices { id[index] = UInt8.random(in: 0...255, using: &generator) }
      var publicTemplate = AttributeTemplate()
      publicTemplate.add(CKA_TOKEN, bool: true)
      publicTemplate.add(CKA_LABEL, bytes: Array(label.utf8))
      publicTemplate.add(CKA_ID, bytes: id)
      publicTemplate.add(CKA_VERIFY, bool: true)
      publicTemplate.add(CKA_ENCRYPT, bool: false)
      publicTemplate.add(CKA_WRAP, bool: false)
      var privateTemplate = AttributeTemplate()
      privateTemplate.add(CKA_TOKEN, bool: true)
      privateTemplate.add(CKA_LABEL, bytes: Array(label.utf8))
      privateTemplate.add(CKA_ID, bytes: id)
      privateTemplate.add(CKA_PRIVATE, bool: true)
      privateTemplate.add(CKA_SENSITIVE, bool: true)
      privateTemplate.add(CKA_EXTRACTABLE, bool: false)
      privateTemplate.add(CKA_SIGN, bool: true)
      privateTemplate.add(CKA_DECRYPT, bool: false)
      privateTemplate.add(CKA_UNWRAP, bool: false)
      privateTemplate.add(CKA_DERIVE, bool: false)
      let mechanism: CK_MECHANISM_TYPE
      switch type {
      case .rsa4096:
        mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN
        publicTemplate.add(CKA_MODULUS_BITS, ulong: 4096)
        publicTemplate.add(CKA_PUBLIC_EXPONENT, bytes: [0x01, 0x00, 0x01])
      case .p256, .p384, .p521:
        mechanism = CKM_EC_KEY_PAIR_GEN
        publicTemplate.add(CKA_EC_PARAMS, bytes: Self.curveParameters(type))
      }
      let (privateHandle, publicHandle) = try module.generateKeyPair(
        session, mechanism: mechanism, publicTemplate: publicTemplate,
        privateTemplate: privateTemplate)
      do throws(PKCS11Failure) {
        // The token must have kept what was asked: a key it would hand
        // out is destroyed, not used.
        let flags = try module.requiredAttributes(
          session, privateHandle, [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_TOKEN])
        guard try flags.bool(CKA_SENSITIVE), try !flags.bool(CKA_EXTRACTABLE),
          try flags.bool(CKA_TOKEN)
        else {
          module.destroy(session, privateHandle)
          module.destroy(session, publicHandle)
          return .failure(
            CAError(
              .keyCustody,
              "The token \(selector) did not keep the new key sensitive, unextractable and in the token; the key was destroyed."
            ))
        }
        return .success(
          (
            id,
            try Self.publicKey(
              type, module: module, session: session, privateKey: privateHandle,
              publicKey: publicHandle)
          ))
      } catch {
        module.destroy(session, privateHandle)
        module.destroy(session, publicHandle)
        throw error
      }
    }.get()
    let uri = PKCS11URI(
      token: placement.token, manufacturer: placement.manufacturer, serial: placement.serial,
      model: placement.model, object: label, id: id, type: "private",
      pinSource: placement.pinSource)
    let key = PKCS11SigningKey(
      module: module, uri: uri, pinFile: pinFile, keyType: type, publicKey: publicKey)
    return (KeyReference(rawValue: uri.description), key)
  }

  /// A key file cannot go into a token through Mailseal: the key would
  /// have been outside hardware, and a CA key that was must not be called
  /// hardware-protected.
  public func importKey(encryptedPKCS8: [UInt8], passphrase: [UInt8], label: String) throws -> (
    KeyReference, any CASigningKey
  ) {
    throw CAError(
      .keyCustody,
      "A key file cannot be imported into the token by Mailseal. Import it with the HSM's own tools (or make the key in the HSM), then give its URI: `mailseal ca import --key pkcs11:token=…;object=…`."
    )
  }

  /// Loads a key installed before (its URI stored beside its
  /// certificate) for signing. Whether it is sensitive and unextractable
  /// was checked when it was made or adopted, and a token cannot undo
  /// either (PKCS#11 lets CKA_SENSITIVE go only from false to true and
  /// CKA_EXTRACTABLE only from true to false), so it is not asked again.
  public func loadKey(_ reference: KeyReference) throws -> any CASigningKey {
    try load(reference, adopting: false)
  }

  /// Takes over a key already in the token (`ca import --key pkcs11:…`):
  /// loaded as by ``loadKey(_:)``, and refused unless the token says the
  /// private key is sensitive (CKA_SENSITIVE true) and cannot be extracted
  /// (CKA_EXTRACTABLE false) — as keys made by ``generateKey(_:label:)``
  /// are. A key the token would hand out, wrapped or in the clear, may
  /// already exist outside it, and a CA key kept in an HSM is trusted for
  /// never having left it.
  public func adoptKey(_ reference: KeyReference) throws -> any CASigningKey {
    try load(reference, adopting: true)
  }

  private func load(_ reference: KeyReference, adopting: Bool) throws -> any CASigningKey {
    try requireOwnScheme(reference)
    let uri = try PKCS11URI(reference.rawValue)
    let pinFile = uri.pinSource ?? self.pinFile
    let (type, publicKey) = try module.withSession(PKCS11TokenSelector(uri), pinFile: pinFile) {
      (session: CK_SESSION_HANDLE) throws(PKCS11Failure) -> Result<
        (CAKeyType, Certificate.PublicKey), CAError
      > in
      let handle = try module.privateKeyHandle(uri, session: session, fresh: true)
      if adopting {
        // Asked first: nothing is signed with a key that is refused.
        let custody = try module.requiredAttributes(
          session, handle, [CKA_SENSITIVE, CKA_EXTRACTABLE])
        if let refusal = Self.custodyRefusal(
          uri, sensitive: try custody.bool(CKA_SENSITIVE),
          extractable: try custody.bool(CKA_EXTRACTABLE))
        {
          return .failure(refusal)
        }
      }
      let facts = try module.requiredAttributes(session, handle, [CKA_KEY_TYPE, CKA_SIGN])
      guard try facts.bool(CKA_SIGN) else {
        return .failure(
          CAError(.keyCustody, "The key \(uri) may not sign (CKA_SIGN is false)."))
      }
      let type: CAKeyType
      switch try facts.ulong(CKA_KEY_TYPE) {
      case CKK_RSA:
        let modulus = try module.requiredAttributes(session, handle, [CKA_MODULUS])
        guard Self.bitLength(try modulus.bytes(CKA_MODULUS)) == 4096 else {
          return .failure(
            CAError(
              .caMaterialInvalid,
              "The RSA key \(uri) is not 4096 bits; CA keys must have 4096 (S/MIME BR §6.1.5)."))
        }
        type = .rsa4096
      case CKK_EC:
        let parameters = try module.requiredAttributes(session, handle, [CKA_EC_PARAMS])
          .bytes(CKA_EC_PARAMS)
        guard
          let curve = CAKeyType.allCases.first(where: {
            $0 != .rsa4096 && Self.curveParameters($0) == parameters
          })
        else {
          return .failure(
            CAError(.caMaterialInvalid, "The EC key \(uri) is not on P-256, P-384 or P-521."))
        }
        type = curve
      default:
        return .failure(
          CAError(.caMaterialInvalid, "The key \(uri) is neither an RSA nor an EC key."))
      }
      return .success(
        (
          type,
          try Self.publicKey(type, module: module, session: session, privateKey: handle, uri: uri)
        ))
    }.get()
    let key = PKCS11SigningKey(
      module: module, uri: uri, pinFile: pinFile, keyType: type, publicKey: publicKey)
    // The public key was read from an object of its own (EC): one
    // signature proves that it belongs to the private key.
    let probe = Array("Mailseal: does this public key belong to the private key?".utf8)
    let signature = try key.sign(probe[...])
    guard
      publicKey.isValidSignature(signature, for: probe, signatureAlgorithm: type.signatureAlgorithm)
    else {
      throw CAError(
        .caMaterialInvalid,
        "The public key found beside \(uri) does not belong to its private key; give the key pair one CKA_ID."
      )
    }
    return key
  }

  /// Why a key that is to be adopted is refused, naming each attribute
  /// that is wrong; nil when it is sensitive and unextractable.
  static func custodyRefusal(_ uri: PKCS11URI, sensitive: Bool, extractable: Bool) -> CAError? {
    let faults = [
      extractable ? "is extractable (CKA_EXTRACTABLE true)" : nil,
      sensitive ? nil : "is not sensitive (CKA_SENSITIVE false)",
    ].compactMap { $0 }
    guard !faults.isEmpty else { return nil }
    return CAError(
      .caMaterialInvalid,
      "The key \(uri) \(faults.joined(separator: " and ")): the token would hand out its private value, so it may exist outside the HSM and is not taken over as a CA key held there. Make a key in the token with CKA_SENSITIVE true and CKA_EXTRACTABLE false (as `mailseal ca init --custody pkcs11` does), certify it, and import that."
    )
  }

  /// What the token holding `reference` says about itself (for `ca show`).
  public func tokenInfo(_ reference: KeyReference) throws(CAError) -> PKCS11TokenInfo {
    let uri = try PKCS11URI(reference.rawValue)
    return try module.tokenInfo(PKCS11TokenSelector(uri), pinFile: uri.pinSource ?? pinFile)
  }

  /// Why the keys of `references` cannot sign now, or nil when they can:
  /// each PKCS#11 key among them that this process has loaded is looked up
  /// afresh in its token (a recovery is tried at most once a second), so
  /// that `/healthz` sees a token go and come back even while nothing is
  /// signed. Keys in files, and keys not loaded here, are not asked.
  public static func currentFault(references: [KeyReference]) -> CAError? {
    for reference in references where reference.scheme == "pkcs11" {
      guard let uri = try? PKCS11URI(reference.rawValue),
        let key = PKCS11SigningKey.loaded(uri)
      else { continue }
      do {
        try key.ensureAvailable()
      } catch {
        return error
      }
    }
    return nil
  }

  /// Checks a PIN file without keeping the PIN: a real file of this user
  /// that nobody else may read, one line of at most 256 bytes.
  public static func checkPINFile(_ path: String) throws(CAError) {
    var pin = try PKCS11Module.readPIN(path)
    PKCS11Module.wipe(&pin)
  }

  // MARK: - Encodings

  /// CKA_EC_PARAMS: the DER of the curve's object identifier.
  static func curveParameters(_ type: CAKeyType) -> [UInt8] {
    switch type {
    case .p256: return [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]
    case .p384: return [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]
    case .p521: return [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]
    case .rsa4096: return []
    }
  }

  static func bitLength(_ bigEndian: [UInt8]) -> Int {
    guard let first = bigEndian.firstIndex(where: { $0 != 0 }) else { return 0 }
    return (bigEndian.count - first) * 8 - bigEndian[first].leadingZeroBitCount
  }

  /// The public half: RSA from the private key's modulus and exponent; EC
  /// from the public key object beside it (same CKA_ID, else same label).
  static func publicKey(
    _ type: CAKeyType, module: PKCS11Module, session: CK_SESSION_HANDLE,
    privateKey: CK_OBJECT_HANDLE, publicKey: CK_OBJECT_HANDLE? = nil, uri: PKCS11URI? = nil
  ) throws(PKCS11Failure) -> Certificate.PublicKey {
    let malformed = PKCS11Failure(
      function: "C_GetAttributeValue (public key unreadable)", value: CKR_ATTRIBUTE_VALUE_INVALID)
    switch type {
    case .rsa4096:
      let facts = try module.requiredAttributes(
        session, privateKey, [CKA_MODULUS, CKA_PUBLIC_EXPONENT])
      let modulus = try facts.bytes(CKA_MODULUS)
      let exponent = try facts.bytes(CKA_PUBLIC_EXPONENT)
      do {
        let key = try _RSA.Signing.PublicKey(
          n: Data(modulus.drop { $0 == 0 }), e: Data(exponent.drop { $0 == 0 }))
        return Certificate.PublicKey(key)
      } catch {
        throw malformed
      }
    case .p256, .p384, .p521:
      var handle = publicKey
      if handle == nil, let uri {
        let ids = try module.attributes(session, privateKey, [CKA_ID])
        var found: [CK_OBJECT_HANDLE] = []
        if let id = ids[CKA_ID], !id.isEmpty {
          found = try module.findObjects(
            session, class: CKO_PUBLIC_KEY, label: nil, id: id, limit: 2)
        }
        if found.count != 1 {
          found = try module.findObjects(
            session, class: CKO_PUBLIC_KEY, label: uri.object, id: uri.id, limit: 2)
        }
        guard found.count == 1 else {
          throw PKCS11Failure(
            function: "C_FindObjects (no public key object beside the private key)",
            value: CKR_KEY_HANDLE_INVALID)
        }
        handle = found[0]
      }
      guard let handle else { throw malformed }
      let encoded = try module.requiredAttributes(session, handle, [CKA_EC_POINT]).bytes(
        CKA_EC_POINT)
      // CKA_EC_POINT is the DER of an OCTET STRING holding the point;
      // some tokens give the point itself.
      var point = encoded
      if let node = try? DER.parse(encoded), let octets = try? ASN1OctetString(derEncoded: node) {
        point = Array(octets.bytes)
      }
      do {
        switch type {
        case .p256:
          return Certificate.PublicKey(try P256.Signing.PublicKey(x963Representation: point))
        case .p384:
          return Certificate.PublicKey(try P384.Signing.PublicKey(x963Representation: point))
        default: return Certificate.PublicKey(try P521.Signing.PublicKey(x963Representation: point))
        }
      } catch {
        throw malformed
      }
    }
  }
}

/// A CA key in a token. Signing hashes here and has the token sign the
/// digest: CKM_ECDSA (the raw r‖s it returns becomes a DER ECDSA-Sig-Value)
/// or CKM_RSA_PKCS over the DigestInfo (PKCS#1 v1.5).
public struct PKCS11SigningKey: CASigningKey {
  let module: PKCS11Module
  let uri: PKCS11URI
  let pinFile: String?
  public let keyType: CAKeyType
  public let publicKey: Certificate.PublicKey

  init(
    module: PKCS11Module, uri: PKCS11URI, pinFile: String?, keyType: CAKeyType,
    publicKey: Certificate.PublicKey
  ) {
    self.module = module
    self.uri = uri
    self.pinFile = pinFile
    self.keyType = keyType
    self.publicKey = publicKey
    Self.register(self)
  }

  /// The key's URI.
  public var reference: KeyReference { KeyReference(rawValue: uri.description) }

  /// A signature waits for a session and for the token.
  public var signsInProcess: Bool { false }

  /// The DigestInfo prefix of SHA-256 (RFC 8017 §9.2, note 1).
  static let sha256DigestInfo: [UInt8] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
  ]

  public func sign(_ message: ArraySlice<UInt8>) throws -> [UInt8] {
    let (mechanism, data, length): (CK_MECHANISM_TYPE, [UInt8], Int)
    switch keyType {
    case .p256: (mechanism, data, length) = (CKM_ECDSA, Array(SHA256.hash(data: message)), 64)
    case .p384: (mechanism, data, length) = (CKM_ECDSA, Array(SHA384.hash(data: message)), 96)
    case .p521: (mechanism, data, length) = (CKM_ECDSA, Array(SHA512.hash(data: message)), 132)
    case .rsa4096:
      (mechanism, data, length) = (
        CKM_RSA_PKCS, Self.sha256DigestInfo + Array(SHA256.hash(data: message)), 512
      )
    }
    let module = self.module
    let uri = self.uri
    let raw = try module.withSession(PKCS11TokenSelector(uri), pinFile: pinFile) {
      (session: CK_SESSION_HANDLE) throws(PKCS11Failure) -> [UInt8] in
      let handle = try module.privateKeyHandle(uri, session: session)
      return try module.sign(
        session, key: handle, mechanism: mechanism, data: data, maximumLength: length)
    }
    do {
      switch keyType {
      case .p256:
        return Array(try P256.Signing.ECDSASignature(rawRepresentation: raw).derRepresentation)
      case .p384:
        return Array(try P384.Signing.ECDSASignature(rawRepresentation: raw).derRepresentation)
      case .p521:
        return Array(try P521.Signing.ECDSASignature(rawRepresentation: raw).derRepresentation)
      case .rsa4096:
        guard raw.count == 512 else { throw CAError(.keyCustody, "short RSA signature") }
        return raw
      }
    } catch {
      throw CAError(
        .keyCustody, "The token \(uri.token ?? "") returned a malformed \(keyType) signature.")
    }
  }

  /// Asks the token how it is (C_GetTokenInfo) and finds the key again
  /// (not from the handle cache): a token whose device or files went away
  /// fails here even while a session opened before would still sign from
  /// the module's memory (SoftHSM2 does).
  public func ensureAvailable() throws(CAError) {
    let module = self.module
    let uri = self.uri
    try module.withSession(PKCS11TokenSelector(uri), pinFile: pinFile) {
      (session: CK_SESSION_HANDLE) throws(PKCS11Failure) -> Void in
      try module.checkToken(of: session)
      _ = try module.privateKeyHandle(uri, session: session, fresh: true)
    }
  }

  // MARK: - The keys in service, for the health check

  private static let registered = Mutex<[PKCS11URI: PKCS11SigningKey]>([:])

  static func register(_ key: PKCS11SigningKey) {
    registered.withLock { $0[key.uri] = key }
  }

  /// The key of `uri` as loaded in this process, if it was.
  static func loaded(_ uri: PKCS11URI) -> PKCS11SigningKey? {
    registered.withLock { $0[uri] }
  }
}
