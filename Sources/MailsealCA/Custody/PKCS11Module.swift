import CPKCS11
import Crypto
import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What a token says about itself (CK_TOKEN_INFO), blank padding removed.
public struct PKCS11TokenInfo: Sendable, Hashable {
  public let label: String
  public let manufacturer: String
  public let model: String
  public let serial: String
}

/// A Cryptoki call that returned something other than CKR_OK, or whose
/// answer cannot be used.
struct PKCS11Failure: Error, CustomStringConvertible {
  let function: String
  let value: CK_RV
  /// What was wrong when the return value alone does not say it (an
  /// attribute the token gave no usable value for): the message then names
  /// the attribute, so that an administrator knows what to look at.
  var detail: String? = nil

  var description: String {
    detail.map { "\(function): \($0)" } ?? "\(function) returned \(Self.name(of: value))"
  }

  /// The token, its session or the module is gone: whatever was asked may
  /// work again once the token is back, so the caller waits, retries, and
  /// reports the token unavailable meanwhile.
  var meansTokenGone: Bool {
    switch value {
    case CKR_DEVICE_REMOVED, CKR_DEVICE_ERROR, CKR_DEVICE_MEMORY, CKR_TOKEN_NOT_PRESENT,
      CKR_TOKEN_NOT_RECOGNIZED, CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED,
      CKR_USER_NOT_LOGGED_IN, CKR_CRYPTOKI_NOT_INITIALIZED, CKR_SLOT_ID_INVALID,
      CKR_GENERAL_ERROR, CKR_FUNCTION_FAILED, CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID,
      CKR_HOST_MEMORY:
      return true
    default:
      return false
    }
  }

  /// The PIN was refused: trying it again would only count towards the
  /// token's lockout.
  var meansPINRefused: Bool {
    switch value {
    case CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE, CKR_PIN_EXPIRED, CKR_PIN_LOCKED,
      CKR_USER_PIN_NOT_INITIALIZED:
      return true
    default:
      return false
    }
  }

  static func name(of value: CK_RV) -> String {
    let names: [CK_RV: String] = [
      CKR_HOST_MEMORY: "CKR_HOST_MEMORY", CKR_SLOT_ID_INVALID: "CKR_SLOT_ID_INVALID",
      CKR_GENERAL_ERROR: "CKR_GENERAL_ERROR", CKR_FUNCTION_FAILED: "CKR_FUNCTION_FAILED",
      CKR_ARGUMENTS_BAD: "CKR_ARGUMENTS_BAD", CKR_ATTRIBUTE_SENSITIVE: "CKR_ATTRIBUTE_SENSITIVE",
      CKR_ATTRIBUTE_TYPE_INVALID: "CKR_ATTRIBUTE_TYPE_INVALID",
      CKR_ATTRIBUTE_VALUE_INVALID: "CKR_ATTRIBUTE_VALUE_INVALID",
      CKR_DATA_LEN_RANGE: "CKR_DATA_LEN_RANGE", CKR_DEVICE_ERROR: "CKR_DEVICE_ERROR",
      CKR_DEVICE_MEMORY: "CKR_DEVICE_MEMORY", CKR_DEVICE_REMOVED: "CKR_DEVICE_REMOVED",
      CKR_FUNCTION_CANCELED: "CKR_FUNCTION_CANCELED",
      CKR_KEY_HANDLE_INVALID: "CKR_KEY_HANDLE_INVALID",
      CKR_KEY_TYPE_INCONSISTENT: "CKR_KEY_TYPE_INCONSISTENT",
      CKR_KEY_FUNCTION_NOT_PERMITTED: "CKR_KEY_FUNCTION_NOT_PERMITTED",
      CKR_MECHANISM_INVALID: "CKR_MECHANISM_INVALID",
      CKR_MECHANISM_PARAM_INVALID: "CKR_MECHANISM_PARAM_INVALID",
      CKR_OBJECT_HANDLE_INVALID: "CKR_OBJECT_HANDLE_INVALID",
      CKR_OPERATION_ACTIVE: "CKR_OPERATION_ACTIVE",
      CKR_OPERATION_NOT_INITIALIZED: "CKR_OPERATION_NOT_INITIALIZED",
      CKR_PIN_INCORRECT: "CKR_PIN_INCORRECT", CKR_PIN_INVALID: "CKR_PIN_INVALID",
      CKR_PIN_LEN_RANGE: "CKR_PIN_LEN_RANGE", CKR_PIN_EXPIRED: "CKR_PIN_EXPIRED",
      CKR_PIN_LOCKED: "CKR_PIN_LOCKED", CKR_SESSION_CLOSED: "CKR_SESSION_CLOSED",
      CKR_SESSION_COUNT: "CKR_SESSION_COUNT",
      CKR_SESSION_HANDLE_INVALID: "CKR_SESSION_HANDLE_INVALID",
      CKR_SESSION_READ_ONLY: "CKR_SESSION_READ_ONLY",
      CKR_TEMPLATE_INCOMPLETE: "CKR_TEMPLATE_INCOMPLETE",
      CKR_TEMPLATE_INCONSISTENT: "CKR_TEMPLATE_INCONSISTENT",
      CKR_TOKEN_NOT_PRESENT: "CKR_TOKEN_NOT_PRESENT",
      CKR_TOKEN_NOT_RECOGNIZED: "CKR_TOKEN_NOT_RECOGNIZED",
      CKR_TOKEN_WRITE_PROTECTED: "CKR_TOKEN_WRITE_PROTECTED",
      CKR_USER_ALREADY_LOGGED_IN: "CKR_USER_ALREADY_LOGGED_IN",
      CKR_USER_NOT_LOGGED_IN: "CKR_USER_NOT_LOGGED_IN",
      CKR_USER_PIN_NOT_INITIALIZED: "CKR_USER_PIN_NOT_INITIALIZED",
      CKR_USER_TYPE_INVALID: "CKR_USER_TYPE_INVALID", CKR_BUFFER_TOO_SMALL: "CKR_BUFFER_TOO_SMALL",
      CKR_CRYPTOKI_NOT_INITIALIZED: "CKR_CRYPTOKI_NOT_INITIALIZED",
      CKR_CRYPTOKI_ALREADY_INITIALIZED: "CKR_CRYPTOKI_ALREADY_INITIALIZED",
    ]
    return names[value] ?? "0x\(String(value, radix: 16))"
  }

  /// The attribute's name as the specification writes it, for messages.
  static func name(ofAttribute type: CK_ATTRIBUTE_TYPE) -> String {
    let names: [CK_ATTRIBUTE_TYPE: String] = [
      CKA_CLASS: "CKA_CLASS", CKA_TOKEN: "CKA_TOKEN", CKA_PRIVATE: "CKA_PRIVATE",
      CKA_LABEL: "CKA_LABEL", CKA_VALUE: "CKA_VALUE", CKA_KEY_TYPE: "CKA_KEY_TYPE",
      CKA_ID: "CKA_ID", CKA_SENSITIVE: "CKA_SENSITIVE", CKA_ENCRYPT: "CKA_ENCRYPT",
      CKA_DECRYPT: "CKA_DECRYPT", CKA_WRAP: "CKA_WRAP", CKA_UNWRAP: "CKA_UNWRAP",
      CKA_SIGN: "CKA_SIGN", CKA_VERIFY: "CKA_VERIFY", CKA_DERIVE: "CKA_DERIVE",
      CKA_MODULUS: "CKA_MODULUS", CKA_MODULUS_BITS: "CKA_MODULUS_BITS",
      CKA_PUBLIC_EXPONENT: "CKA_PUBLIC_EXPONENT", CKA_PRIVATE_EXPONENT: "CKA_PRIVATE_EXPONENT",
      CKA_EXTRACTABLE: "CKA_EXTRACTABLE", CKA_NEVER_EXTRACTABLE: "CKA_NEVER_EXTRACTABLE",
      CKA_ALWAYS_SENSITIVE: "CKA_ALWAYS_SENSITIVE", CKA_EC_PARAMS: "CKA_EC_PARAMS",
      CKA_EC_POINT: "CKA_EC_POINT",
    ]
    return names[type] ?? "attribute 0x\(String(type, radix: 16))"
  }
}

/// Which token a reference means: the URI's token attributes.
struct PKCS11TokenSelector: Hashable, Sendable, CustomStringConvertible {
  var label: String?
  var manufacturer: String?
  var model: String?
  var serial: String?

  init(_ uri: PKCS11URI) {
    label = uri.token
    manufacturer = uri.manufacturer
    model = uri.model
    serial = uri.serial
  }

  init(label: String) { self.label = label }

  func matches(_ info: PKCS11TokenInfo) -> Bool {
    (label.map { $0 == info.label } ?? true)
      && (manufacturer.map { $0 == info.manufacturer } ?? true)
      && (model.map { $0 == info.model } ?? true) && (serial.map { $0 == info.serial } ?? true)
  }

  var description: String {
    let parts = [
      label.map { "“\($0)”" }, serial.map { "serial \($0)" },
      manufacturer.map { "by \($0)" },
    ].compactMap { $0 }
    return parts.isEmpty ? "(any token)" : parts.joined(separator: " ")
  }
}

/// A PKCS#11 module loaded with dlopen: one per module path per process,
/// initialised for threads (CKF_OS_LOCKING_OK), with a small pool of
/// logged-in sessions per token.
///
/// Faults: when a call says the token, its session or the module is gone
/// (CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID, CKR_TOKEN_NOT_PRESENT,
/// …) or the PIN is refused, the module remembers the fault for that
/// token, closes its sessions, and every later call for it fails at once
/// with that fault — until a recovery (at most once a second, and once at
/// once when a call finds a new fault) waits for the sessions in use,
/// finalises and initialises the module again, finds the token, and logs
/// in. A refused PIN is not tried again until the PIN file changes, so the
/// token's lockout counter is not run up.
final class PKCS11Module: @unchecked Sendable {
  let path: String
  private let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
  /// Sessions per token: enough for the issuance pipeline's signers and
  /// the OCSP responder to sign side by side.
  let sessionLimit: Int

  /// Everything below is guarded by `condition`.
  private let condition = NSCondition()
  private var initialized = false
  private var recovering = false
  private var inUse = 0
  /// Faults by token: a token that went away does not stop the others.
  private var faults: [PKCS11TokenSelector: CAError] = [:]
  private var lastRecovery: ContinuousClock.Instant?
  private var tokens: [PKCS11TokenSelector: TokenState] = [:]
  /// Private-key handles by canonical URI; valid until the next recovery.
  private var handles: [String: CK_OBJECT_HANDLE] = [:]
  /// PINs the token refused, by PIN file, so that an unchanged file is not
  /// offered again: each as an HMAC-SHA-256 under ``pinDigestKey``, never
  /// the PIN itself — a refused PIN is often a typo of the right one, and
  /// it would otherwise stay in memory for the life of the process.
  private var refusedPINs: [String: [UInt8]] = [:]
  /// Made afresh for each process and never stored or shown. A plain hash
  /// of a PIN of a few digits is undone by trying them all; under this key
  /// a digest that leaks alone (a partial dump, a debugger's view of the
  /// table) gives nothing to try against.
  private let pinDigestKey = SymmetricKey(size: .bits256)

  struct TokenState {
    var slot: CK_SLOT_ID
    var info: PKCS11TokenInfo
    /// Which pool this is: a session lent by an earlier pool of the token
    /// (closed after a fault) is closed when it comes back, not pooled.
    var generation: UInt64
    /// How many sessions the pool opens at most.
    var limit: Int
    var idle: [CK_SESSION_HANDLE] = []
    var open = 0
    var loggedIn = false
  }

  /// A session lent out, and the pool it came from.
  struct Lent {
    let session: CK_SESSION_HANDLE
    let generation: UInt64
  }

  private var generations: UInt64 = 0

  private static let loaded = Mutex<[String: PKCS11Module]>([:])

  /// The module at `path`, loaded and initialised once per process.
  static func load(_ path: String) throws(CAError) -> PKCS11Module {
    let canonical = URL(fileURLWithPath: path).standardizedFileURL.path
    let result: Result<PKCS11Module, CAError> = loaded.withLock { modules in
      if let module = modules[canonical] { return .success(module) }
      do throws(CAError) {
        let module = try PKCS11Module(path: canonical)
        modules[canonical] = module
        return .success(module)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }

  /// Every module loaded so far (for the health check).
  static var all: [PKCS11Module] { loaded.withLock { Array($0.values) } }

  private init(path: String) throws(CAError) {
    self.path = path
    guard FileManager.default.fileExists(atPath: path) else {
      throw CAError(.keyCustody, "The PKCS#11 module \(path) does not exist.")
    }
    guard let library = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
      let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
      throw CAError(.keyCustody, "The PKCS#11 module \(path) cannot be loaded: \(reason)")
    }
    guard let symbol = dlsym(library, "C_GetFunctionList") else {
      throw CAError(
        .keyCustody, "\(path) is not a PKCS#11 module: it has no C_GetFunctionList.")
    }
    let getFunctionList = unsafeBitCast(symbol, to: CK_C_GetFunctionList.self)
    var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
    let value = getFunctionList(&list)
    guard value == CKR_OK, let list else {
      throw CAError(
        .keyCustody,
        "The PKCS#11 module \(path) gave no function list (\(PKCS11Failure.name(of: value))).")
    }
    guard list.pointee.version.major >= 2 else {
      throw CAError(
        .keyCustody,
        "The PKCS#11 module \(path) speaks Cryptoki \(list.pointee.version.major).\(list.pointee.version.minor); 2.20 or later is needed."
      )
    }
    functions = list
    sessionLimit = min(8, max(2, ProcessInfo.processInfo.activeProcessorCount + 1))
  }

  /// The functions of the module.
  var f: CK_FUNCTION_LIST { functions.pointee }

  static func check(_ function: String, _ value: CK_RV) throws(PKCS11Failure) {
    guard value == CKR_OK else { throw PKCS11Failure(function: function, value: value) }
  }

  // MARK: - Sessions

  /// Runs `body` on a logged-in session of the token. A failure that means
  /// the token is gone marks the module faulty; one immediate recovery and
  /// retry follows (a session the module invalidated, a token back in
  /// place), then the fault is reported as ``CAError/Code/keyUnavailable``.
  func withSession<T>(
    _ token: PKCS11TokenSelector, pinFile: String?,
    _ body: (CK_SESSION_HANDLE) throws(PKCS11Failure) -> T
  ) throws(CAError) -> T {
    var forceRecovery = false
    while true {
      var fresh = false
      let lent: Lent
      do throws(CAError) {
        lent = try acquire(
          token, pinFile: pinFile, forceRecovery: forceRecovery, freshFault: &fresh)
      } catch {
        // A fault this call found (not one remembered from before): one
        // recovery at once — a token made or put back since the module
        // was initialised is found only after C_Initialize.
        if fresh && !forceRecovery {
          forceRecovery = true
          continue
        }
        throw error
      }
      do throws(PKCS11Failure) {
        let value = try body(lent.session)
        release(token, lent, usable: true)
        return value
      } catch {
        if error.meansTokenGone {
          let unavailable = Self.unavailable(token, error)
          releaseFaulty(token, lent, unavailable)
          if !forceRecovery {
            forceRecovery = true
            continue
          }
          throw unavailable
        }
        // The token is there; the request was not right (a mechanism, an
        // attribute). The session may hold half an operation: closed.
        release(token, lent, usable: false)
        throw CAError(.keyCustody, "The PKCS#11 token \(token) refused: \(error).")
      }
    }
  }

  static func unavailable(_ token: PKCS11TokenSelector, _ failure: PKCS11Failure) -> CAError {
    CAError(
      .keyUnavailable,
      "The PKCS#11 token \(token) is unavailable (\(failure)); nothing is signed until it is back.")
  }

  /// Gives back a session whose call found the token gone, and marks the
  /// token faulty — unless its pool was rebuilt since the session was lent
  /// (another caller met the same fault and a recovery followed): then the
  /// fault is old news, and the caller simply tries again.
  private func releaseFaulty(_ token: PKCS11TokenSelector, _ lent: Lent, _ error: CAError) {
    condition.lock()
    defer { condition.unlock() }
    inUse -= 1
    if initialized { _ = f.C_CloseSession?(lent.session) }
    if tokens[token]?.generation == lent.generation {
      tokens[token]!.open -= 1
      if faults[token] == nil { faults[token] = error }
      closeSessions(of: token)
    }
    condition.broadcast()
  }

  /// Under the lock: closes the idle sessions of a token and forgets its
  /// state and every cached handle (the module may have lost them
  /// already). Sessions in use are closed when they come back.
  private func closeSessions(of token: PKCS11TokenSelector) {
    if let state = tokens[token], initialized {
      for session in state.idle { _ = f.C_CloseSession?(session) }
    }
    tokens[token] = nil
    handles = [:]
  }

  /// Tests: ends the sessions of a token (and with them its login).
  func closeSessionsForTesting(of token: PKCS11TokenSelector) {
    condition.lock()
    defer { condition.unlock() }
    closeSessions(of: token)
  }

  /// Tests: what the module remembers of refused PINs, by PIN file.
  func refusedPINsForTesting() -> [String: [UInt8]] {
    condition.lock()
    defer { condition.unlock() }
    return refusedPINs
  }

  /// The HMAC of `pin` under this process's key: what ``refusedPINs`` keeps.
  func pinDigest(_ pin: [UInt8]) -> [UInt8] {
    Array(HMAC<SHA256>.authenticationCode(for: pin, using: pinDigestKey))
  }

  private func acquire(
    _ token: PKCS11TokenSelector, pinFile: String?, forceRecovery: Bool, freshFault: inout Bool
  ) throws(CAError) -> Lent {
    condition.lock()
    defer { condition.unlock() }
    var recovered = false
    func fail(_ failure: PKCS11Failure) -> CAError {
      freshFault = true
      let unavailable = Self.unavailable(token, failure)
      faults[token] = unavailable
      closeSessions(of: token)
      return unavailable
    }
    while true {
      if recovering {
        condition.wait()
        continue
      }
      if let fault = faults[token] {
        let now = ContinuousClock.now
        let due = lastRecovery.map { now - $0 >= .seconds(1) } ?? true
        guard (forceRecovery && !recovered) || due else { throw fault }
        recover()
        recovered = true
        lastRecovery = now
        continue
      }
      var state: TokenState
      do throws(PKCS11Failure) {
        if !initialized { try initialize() }
        if let known = tokens[token] {
          state = known
        } else {
          state = try findToken(token)
          generations += 1
          state.generation = generations
        }
      } catch {
        throw fail(error)
      }
      if let session = state.idle.popLast() {
        tokens[token] = state
        inUse += 1
        return Lent(session: session, generation: state.generation)
      }
      guard state.open < state.limit else {
        tokens[token] = state
        condition.wait()
        continue
      }
      var session: CK_SESSION_HANDLE = 0
      let opened = f.C_OpenSession!(
        state.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nil, nil, &session)
      if opened == CKR_SESSION_COUNT, state.open > 0 {
        // The token allows fewer sessions than asked for (others use it
        // too): wait for one of ours.
        state.limit = state.open
        tokens[token] = state
        condition.wait()
        continue
      }
      guard opened == CKR_OK else {
        throw fail(PKCS11Failure(function: "C_OpenSession", value: opened))
      }
      state.open += 1
      tokens[token] = state
      if !state.loggedIn {
        do {
          try login(session, token: token, pinFile: pinFile)
        } catch {
          freshFault = true
          _ = f.C_CloseSession?(session)
          closeSessions(of: token)
          throw error
        }
        tokens[token]?.loggedIn = true
      }
      inUse += 1
      return Lent(session: session, generation: state.generation)
    }
  }

  /// Under the lock: logs the user in with the PIN from `pinFile`.
  private func login(_ session: CK_SESSION_HANDLE, token: PKCS11TokenSelector, pinFile: String?)
    throws(CAError)
  {
    guard let pinFile else {
      let refusal = CAError(
        .keyUnavailable,
        "The PKCS#11 token \(token) needs a PIN: set MAILSEAL_PKCS11_PIN_FILE (or pin-source=file:… in the key's URI)."
      )
      faults[token] = refusal
      throw refusal
    }
    // The PIN lives in this one array, wiped on every way out; C_Login
    // reads it in place, so no copy is made.
    var pin = try Self.readPIN(pinFile)
    defer { Self.wipe(&pin) }
    let digest = pinDigest(pin)
    if let refused = refusedPINs[pinFile], refused == digest {
      let refusal = CAError(
        .keyUnavailable,
        "The PKCS#11 token \(token) refused the PIN in \(pinFile); it is not offered again until that file changes."
      )
      faults[token] = refusal
      throw refusal
    }
    let value = pin.withUnsafeMutableBufferPointer { buffer in
      f.C_Login!(session, CKU_USER, buffer.baseAddress, CK_ULONG(buffer.count))
    }
    if value == CKR_OK || value == CKR_USER_ALREADY_LOGGED_IN { return }
    let failure = PKCS11Failure(function: "C_Login", value: value)
    let refusal: CAError
    if failure.meansPINRefused {
      // A wrong PIN is not offered again unchanged; a locked or expired
      // one may work again as it is once the officer has acted.
      if [CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE].contains(value) {
        refusedPINs[pinFile] = digest
      }
      refusal = CAError(
        .keyUnavailable,
        "The PKCS#11 token \(token) refused the PIN in \(pinFile) (\(PKCS11Failure.name(of: value)))."
      )
    } else {
      refusal = Self.unavailable(token, failure)
    }
    faults[token] = refusal
    throw refusal
  }

  /// Reads a PIN file (this user's, mode 0600 or stricter): at most 256
  /// bytes, one line, trailing newline dropped. Its content never appears
  /// in a message. The file is read straight into the array returned (no
  /// Data or String in between that would keep a copy); the caller wipes
  /// it with ``wipe(_:)``; a file refused here (unreadable, too long) has
  /// what was read wiped before the error is thrown.
  static func readPIN(_ path: String) throws(CAError) -> [UInt8] {
    do {
      try FileKeyCustody.requirePrivate(path, what: "PKCS#11 PIN file", mode: 0o600)
    } catch {
      throw CAError(.keyUnavailable, error.message)
    }
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else {
      throw CAError(.keyUnavailable, "The PKCS#11 PIN file \(path) cannot be read.")
    }
    defer { close(fd) }
    // One byte more than allowed: a longer file is seen to be longer.
    var pin = [UInt8](repeating: 0, count: 257)
    var count = 0
    while count < pin.count {
      let got = pin.withUnsafeMutableBytes { buffer in
        read(fd, buffer.baseAddress! + count, buffer.count - count)
      }
      if got > 0 {
        count += got
      } else if got == 0 {
        break
      } else if errno != EINTR {
        wipe(&pin)
        throw CAError(.keyUnavailable, "The PKCS#11 PIN file \(path) cannot be read.")
      }
    }
    guard count <= 256 else {
      wipe(&pin)
      throw CAError(.keyUnavailable, "The PKCS#11 PIN file \(path) is longer than 256 bytes.")
    }
    // Shortening keeps the storage: the PIN stays in the bytes that are
    // wiped later, and what is cut off was never read or is a line end.
    pin.removeSubrange(count...)
    while let last = pin.last, last == 0x0a || last == 0x0d { pin.removeLast() }
    guard !pin.isEmpty else {
      throw CAError(.keyUnavailable, "The PKCS#11 PIN file \(path) is empty.")
    }
    return pin
  }

  /// Overwrites `bytes` with zeros. A loop of stores into an array that is
  /// not read again is a dead store the optimiser may drop; explicit_bzero
  /// (memset_s on Darwin) is specified never to be dropped, and the
  /// function is kept out of line so that no caller's optimisation sees
  /// through it. The array must be the only reference to its storage (a
  /// shared one would be copied first, and the copy wiped).
  @inline(never)
  static func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
      guard let base = buffer.baseAddress, buffer.count > 0 else { return }
      #if canImport(Darwin)
        _ = memset_s(base, buffer.count, 0, buffer.count)
      #else
        explicit_bzero(base, buffer.count)
      #endif
    }
  }

  private func release(_ token: PKCS11TokenSelector, _ lent: Lent, usable: Bool) {
    condition.lock()
    defer { condition.unlock() }
    inUse -= 1
    if tokens[token]?.generation == lent.generation {
      if usable {
        tokens[token]!.idle.append(lent.session)
      } else {
        if initialized { _ = f.C_CloseSession?(lent.session) }
        tokens[token]!.open -= 1
        // The login ends with the token's last session.
        if tokens[token]!.open == 0 { tokens[token]!.loggedIn = false }
      }
    } else if initialized {
      // Its pool was closed meanwhile (a fault, a recovery).
      _ = f.C_CloseSession?(lent.session)
    }
    condition.broadcast()
  }

  /// Under the lock: waits until no session is in use, then finalises and
  /// initialises the module again, so that a token that went away and came
  /// back is found afresh.
  private func recover() {
    recovering = true
    while inUse > 0 { condition.wait() }
    if initialized {
      for state in tokens.values { for session in state.idle { _ = f.C_CloseSession?(session) } }
      _ = f.C_Finalize?(nil)
    }
    tokens = [:]
    handles = [:]
    initialized = false
    faults = [:]
    recovering = false
    condition.broadcast()
  }

  /// Under the lock: C_Initialize for threads with the operating system's
  /// locks.
  private func initialize() throws(PKCS11Failure) {
    var arguments = CK_C_INITIALIZE_ARGS(
      CreateMutex: nil, DestroyMutex: nil, LockMutex: nil, UnlockMutex: nil,
      flags: CKF_OS_LOCKING_OK, pReserved: nil)
    let value = f.C_Initialize!(&arguments)
    guard value == CKR_OK || value == CKR_CRYPTOKI_ALREADY_INITIALIZED else {
      throw PKCS11Failure(function: "C_Initialize", value: value)
    }
    initialized = true
  }

  /// Under the lock: the slot holding the token.
  private func findToken(_ selector: PKCS11TokenSelector) throws(PKCS11Failure) -> TokenState {
    for (slot, info) in try presentTokens() where selector.matches(info) {
      return TokenState(slot: slot, info: info, generation: 0, limit: sessionLimit(for: slot))
    }
    throw PKCS11Failure(
      function: "C_GetTokenInfo (no token \(selector))", value: CKR_TOKEN_NOT_PRESENT)
  }

  /// Under the lock: the pool's size for a token — ours, or less if the
  /// token allows fewer read-write sessions.
  private func sessionLimit(for slot: CK_SLOT_ID) -> Int {
    var info = CK_TOKEN_INFO()
    guard f.C_GetTokenInfo!(slot, &info) == CKR_OK else { return sessionLimit }
    let allowed = info.ulMaxRwSessionCount
    // 0: no limit (CK_EFFECTIVELY_INFINITE); all ones: not known.
    guard allowed != 0, allowed != CK_UNAVAILABLE_INFORMATION else { return sessionLimit }
    return max(1, min(sessionLimit, Int(clamping: allowed)))
  }

  /// Under the lock: every slot with a token, and what the token says.
  private func presentTokens() throws(PKCS11Failure) -> [(CK_SLOT_ID, PKCS11TokenInfo)] {
    var count: CK_ULONG = 0
    try Self.check("C_GetSlotList", f.C_GetSlotList!(1, nil, &count))
    var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
    try Self.check("C_GetSlotList", f.C_GetSlotList!(1, &slots, &count))
    var found: [(CK_SLOT_ID, PKCS11TokenInfo)] = []
    for slot in slots.prefix(Int(count)) {
      var info = CK_TOKEN_INFO()
      guard f.C_GetTokenInfo!(slot, &info) == CKR_OK else { continue }
      // An uninitialised token (SoftHSM's spare slot) holds no keys.
      guard info.flags & CKF_TOKEN_INITIALIZED != 0 else { continue }
      found.append((slot, Self.tokenInfo(info)))
    }
    return found
  }

  static func tokenInfo(_ info: CK_TOKEN_INFO) -> PKCS11TokenInfo {
    func text<T>(_ tuple: T) -> String {
      withUnsafeBytes(of: tuple) { bytes in
        String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces.union(["\0"]))
      }
    }
    return PKCS11TokenInfo(
      label: text(info.label), manufacturer: text(info.manufacturerID), model: text(info.model),
      serial: text(info.serialNumber))
  }

  /// What the token of `selector` says about itself.
  func tokenInfo(_ selector: PKCS11TokenSelector, pinFile: String?) throws(CAError)
    -> PKCS11TokenInfo
  {
    try withSession(selector, pinFile: pinFile) {
      (_: CK_SESSION_HANDLE) throws(PKCS11Failure) -> PKCS11TokenInfo in
      condition.lock()
      defer { condition.unlock() }
      guard let info = tokens[selector]?.info else {
        throw PKCS11Failure(function: "C_GetTokenInfo", value: CKR_TOKEN_NOT_PRESENT)
      }
      return info
    }
  }

  /// The token behind a session is still listed (C_GetSlotList: SoftHSM2
  /// looks at its files again here) and answers C_GetTokenInfo.
  func checkToken(of session: CK_SESSION_HANDLE) throws(PKCS11Failure) {
    var count: CK_ULONG = 0
    try Self.check("C_GetSlotList", f.C_GetSlotList!(1, nil, &count))
    var sessionInfo = CK_SESSION_INFO()
    try Self.check("C_GetSessionInfo", f.C_GetSessionInfo!(session, &sessionInfo))
    var tokenInfo = CK_TOKEN_INFO()
    try Self.check("C_GetTokenInfo", f.C_GetTokenInfo!(sessionInfo.slotID, &tokenInfo))
  }

  // MARK: - Objects

  /// The private key's handle, found once per recovery.
  func privateKeyHandle(_ uri: PKCS11URI, session: CK_SESSION_HANDLE, fresh: Bool = false)
    throws(PKCS11Failure) -> CK_OBJECT_HANDLE
  {
    let key = uri.description
    if !fresh {
      condition.lock()
      let cached = handles[key]
      condition.unlock()
      if let cached { return cached }
    }
    let found = try findObjects(
      session, class: CKO_PRIVATE_KEY, label: uri.object, id: uri.id, limit: 2)
    guard found.count == 1 else {
      // Gone (a token whose files went away) or ambiguous: either way
      // nothing may be signed with a guess.
      throw PKCS11Failure(
        function: found.isEmpty
          ? "C_FindObjects (no private key \(uri.object ?? "with that id"))"
          : "C_FindObjects (several private keys match \(uri.object ?? "that id"))",
        value: found.isEmpty ? CKR_KEY_HANDLE_INVALID : CKR_ARGUMENTS_BAD)
    }
    condition.lock()
    handles[key] = found[0]
    condition.unlock()
    return found[0]
  }

  func findObjects(
    _ session: CK_SESSION_HANDLE, class objectClass: CK_OBJECT_CLASS, label: String?,
    id: [UInt8]?, limit: Int
  ) throws(PKCS11Failure) -> [CK_OBJECT_HANDLE] {
    var template = AttributeTemplate()
    template.add(CKA_CLASS, ulong: objectClass)
    if let label { template.add(CKA_LABEL, bytes: Array(label.utf8)) }
    if let id { template.add(CKA_ID, bytes: id) }
    var handles = [CK_OBJECT_HANDLE](repeating: 0, count: limit)
    var count: CK_ULONG = 0
    try template.withAttributes {
      (attributes: UnsafeMutablePointer<CK_ATTRIBUTE>?, length: CK_ULONG) throws(PKCS11Failure) in
      try Self.check("C_FindObjectsInit", f.C_FindObjectsInit!(session, attributes, length))
    }
    let found = f.C_FindObjects!(session, &handles, CK_ULONG(limit), &count)
    let finished = f.C_FindObjectsFinal!(session)
    try Self.check("C_FindObjects", found)
    try Self.check("C_FindObjectsFinal", finished)
    return Array(handles.prefix(Int(count)))
  }

  /// Reads attributes; an attribute the token will not give (sensitive,
  /// absent, or CK_UNAVAILABLE_INFORMATION) is nil: for attributes the
  /// caller can do without (a key's CKA_ID, where the label will do).
  func attributes(
    _ session: CK_SESSION_HANDLE, _ object: CK_OBJECT_HANDLE, _ types: [CK_ATTRIBUTE_TYPE]
  ) throws(PKCS11Failure) -> [CK_ATTRIBUTE_TYPE: [UInt8]] {
    try readAttributes(session, object, types, required: false)
  }

  /// Reads attributes Mailseal cannot decide without (a key's type, its
  /// public half, whether it is sensitive or extractable): one the token
  /// will not give — absent, sensitive, or CK_UNAVAILABLE_INFORMATION
  /// even with CKR_OK — is a failure that names it, never a guess.
  func requiredAttributes(
    _ session: CK_SESSION_HANDLE, _ object: CK_OBJECT_HANDLE, _ types: [CK_ATTRIBUTE_TYPE]
  ) throws(PKCS11Failure) -> AttributeValues {
    AttributeValues(values: try readAttributes(session, object, types, required: true))
  }

  /// The longest attribute value read: far more than a 4096-bit modulus or
  /// a P-521 point, far less than a length a broken module might claim.
  static let attributeLimit = 1 << 16

  private func readAttributes(
    _ session: CK_SESSION_HANDLE, _ object: CK_OBJECT_HANDLE, _ types: [CK_ATTRIBUTE_TYPE],
    required: Bool
  ) throws(PKCS11Failure) -> [CK_ATTRIBUTE_TYPE: [UInt8]] {
    var result: [CK_ATTRIBUTE_TYPE: [UInt8]] = [:]
    for type in types {
      var attribute = CK_ATTRIBUTE(type: type, pValue: nil, ulValueLen: 0)
      let sized = f.C_GetAttributeValue!(session, object, &attribute, 1)
      guard
        let length = try Self.valueLength(
          of: type, answer: sized, length: attribute.ulValueLen, required: required)
      else { continue }
      var value = [UInt8](repeating: 0, count: length)
      let read = value.withUnsafeMutableBytes { buffer in
        attribute.pValue = buffer.baseAddress
        attribute.ulValueLen = CK_ULONG(buffer.count)
        return f.C_GetAttributeValue!(session, object, &attribute, 1)
      }
      let given = try Self.readLength(
        of: type, answer: read, length: attribute.ulValueLen, capacity: length)
      result[type] = Array(value.prefix(given))
    }
    return result
  }

  /// What the first C_GetAttributeValue (no buffer) says about `type`: how
  /// many bytes to read, or nil when the token gives no value and the
  /// caller may do without one. CK_UNAVAILABLE_INFORMATION is never taken
  /// for a length (it is all ones: a trap in Int, or an allocation of
  /// everything), nor is anything longer than ``attributeLimit``.
  static func valueLength(
    of type: CK_ATTRIBUTE_TYPE, answer: CK_RV, length: CK_ULONG, required: Bool
  ) throws(PKCS11Failure) -> Int? {
    let name = PKCS11Failure.name(ofAttribute: type)
    if answer == CKR_ATTRIBUTE_SENSITIVE || answer == CKR_ATTRIBUTE_TYPE_INVALID {
      guard required else { return nil }
      throw PKCS11Failure(
        function: "C_GetAttributeValue", value: answer,
        detail: "the token gives no \(name) (\(PKCS11Failure.name(of: answer)))")
    }
    guard answer == CKR_OK else {
      throw PKCS11Failure(
        function: "C_GetAttributeValue", value: answer,
        detail: "reading \(name) returned \(PKCS11Failure.name(of: answer))")
    }
    if length == CK_UNAVAILABLE_INFORMATION {
      guard required else { return nil }
      throw PKCS11Failure(
        function: "C_GetAttributeValue", value: CKR_ATTRIBUTE_VALUE_INVALID,
        detail: "the token gives no value for \(name) (CKR_OK with CK_UNAVAILABLE_INFORMATION)")
    }
    guard length <= CK_ULONG(attributeLimit) else {
      throw PKCS11Failure(
        function: "C_GetAttributeValue", value: CKR_ATTRIBUTE_VALUE_INVALID,
        detail: "the token says \(name) is \(length) bytes long; at most \(attributeLimit) are read"
      )
    }
    return Int(length)
  }

  /// What the second C_GetAttributeValue (into `capacity` bytes) says: how
  /// many bytes of the buffer hold the value. A length beyond the buffer
  /// (CK_UNAVAILABLE_INFORMATION included) is a failure, not a read past
  /// its end.
  static func readLength(
    of type: CK_ATTRIBUTE_TYPE, answer: CK_RV, length: CK_ULONG, capacity: Int
  ) throws(PKCS11Failure) -> Int {
    let name = PKCS11Failure.name(ofAttribute: type)
    guard answer == CKR_OK else {
      throw PKCS11Failure(
        function: "C_GetAttributeValue", value: answer,
        detail: "reading \(name) returned \(PKCS11Failure.name(of: answer))")
    }
    guard length <= CK_ULONG(capacity) else {
      throw PKCS11Failure(
        function: "C_GetAttributeValue", value: CKR_ATTRIBUTE_VALUE_INVALID,
        detail:
          "the token gave \(name) a length (\(length)) beyond the \(capacity) bytes it announced"
      )
    }
    return Int(length)
  }

  /// Signs `data` (a digest, or a DigestInfo for RSA) with the mechanism.
  func sign(
    _ session: CK_SESSION_HANDLE, key: CK_OBJECT_HANDLE, mechanism: CK_MECHANISM_TYPE,
    data: [UInt8], maximumLength: Int
  ) throws(PKCS11Failure) -> [UInt8] {
    var mechanismValue = CK_MECHANISM(mechanism: mechanism, pParameter: nil, ulParameterLen: 0)
    try Self.check("C_SignInit", f.C_SignInit!(session, &mechanismValue, key))
    var input = data
    var signature = [UInt8](repeating: 0, count: maximumLength)
    var length = CK_ULONG(maximumLength)
    let value = input.withUnsafeMutableBufferPointer { input in
      signature.withUnsafeMutableBufferPointer { output in
        f.C_Sign!(session, input.baseAddress, CK_ULONG(input.count), output.baseAddress, &length)
      }
    }
    try Self.check("C_Sign", value)
    return Array(signature.prefix(Int(length)))
  }

  /// Generates a key pair in the token; returns the private key's handle
  /// and the public key's.
  func generateKeyPair(
    _ session: CK_SESSION_HANDLE, mechanism: CK_MECHANISM_TYPE, publicTemplate: AttributeTemplate,
    privateTemplate: AttributeTemplate
  ) throws(PKCS11Failure) -> (private: CK_OBJECT_HANDLE, public: CK_OBJECT_HANDLE) {
    var mechanismValue = CK_MECHANISM(mechanism: mechanism, pParameter: nil, ulParameterLen: 0)
    var publicHandle: CK_OBJECT_HANDLE = 0
    var privateHandle: CK_OBJECT_HANDLE = 0
    try publicTemplate.withAttributes {
      (publicAttributes: UnsafeMutablePointer<CK_ATTRIBUTE>?, publicCount: CK_ULONG)
        throws(PKCS11Failure) in
      try privateTemplate.withAttributes {
        (privateAttributes: UnsafeMutablePointer<CK_ATTRIBUTE>?, privateCount: CK_ULONG)
          throws(PKCS11Failure) in
        try Self.check(
          "C_GenerateKeyPair",
          f.C_GenerateKeyPair!(
            session, &mechanismValue, publicAttributes, publicCount, privateAttributes,
            privateCount, &publicHandle, &privateHandle))
      }
    }
    return (privateHandle, publicHandle)
  }

  func destroy(_ session: CK_SESSION_HANDLE, _ object: CK_OBJECT_HANDLE) {
    _ = f.C_DestroyObject?(session, object)
  }
}

/// Attribute values a token gave for ``PKCS11Module/requiredAttributes(_:_:_:)``,
/// decoded by type; a value of the wrong size is a failure that names its
/// attribute.
struct AttributeValues {
  let values: [CK_ATTRIBUTE_TYPE: [UInt8]]

  subscript(_ type: CK_ATTRIBUTE_TYPE) -> [UInt8]? { values[type] }

  func bytes(_ type: CK_ATTRIBUTE_TYPE) throws(PKCS11Failure) -> [UInt8] {
    guard let value = values[type] else { throw Self.malformed(type, "was not read") }
    return value
  }

  /// A CK_BBOOL: one byte, zero for false.
  func bool(_ type: CK_ATTRIBUTE_TYPE) throws(PKCS11Failure) -> Bool {
    let value = try bytes(type)
    guard let flag = Self.bool(value) else {
      throw Self.malformed(type, "is \(value.count) bytes long, not one (a CK_BBOOL)")
    }
    return flag
  }

  /// A CK_ULONG in the machine's byte order.
  func ulong(_ type: CK_ATTRIBUTE_TYPE) throws(PKCS11Failure) -> CK_ULONG {
    let value = try bytes(type)
    guard let number = Self.ulong(value) else {
      throw Self.malformed(
        type, "is \(value.count) bytes long, not \(MemoryLayout<CK_ULONG>.size) (a CK_ULONG)")
    }
    return number
  }

  static func bool(_ value: [UInt8]) -> Bool? {
    value.count == 1 ? value[0] != 0 : nil
  }

  /// Loaded without assuming alignment: an array's bytes, or a slice of
  /// them, need not start where a CK_ULONG may be read directly.
  static func ulong<Bytes: Collection<UInt8>>(_ value: Bytes) -> CK_ULONG? {
    guard value.count == MemoryLayout<CK_ULONG>.size else { return nil }
    return Array(value).withUnsafeBytes { $0.loadUnaligned(as: CK_ULONG.self) }
  }

  static func malformed(_ type: CK_ATTRIBUTE_TYPE, _ what: String) -> PKCS11Failure {
    PKCS11Failure(
      function: "C_GetAttributeValue", value: CKR_ATTRIBUTE_VALUE_INVALID,
      detail: "\(PKCS11Failure.name(ofAttribute: type)) \(what)")
  }
}

/// A template of attributes whose values live as long as the template.
struct AttributeTemplate {
  private var entries: [(CK_ATTRIBUTE_TYPE, [UInt8])] = []

  mutating func add(_ type: CK_ATTRIBUTE_TYPE, bytes: [UInt8]) { entries.append((type, bytes)) }

  mutating func add(_ type: CK_ATTRIBUTE_TYPE, bool: Bool) {
    entries.append((type, [bool ? 1 : 0]))
  }

  mutating func add(_ type: CK_ATTRIBUTE_TYPE, ulong: CK_ULONG) {
    entries.append((type, withUnsafeBytes(of: ulong) { Array($0) }))
  }

  /// Where each value starts in the one buffer, and how long the buffer
  /// is: every value at a multiple of CK_ULONG's alignment, because a
  /// module may read a CK_ULONG value (CKA_CLASS, CKA_MODULUS_BITS) through
  /// a CK_ULONG pointer, which traps or misreads on some machines when the
  /// value follows a one-byte CK_BBOOL unpadded.
  static func layout(lengths: [Int]) -> (offsets: [Int], total: Int) {
    let alignment = MemoryLayout<CK_ULONG>.alignment
    var offsets: [Int] = []
    var total = 0
    for length in lengths {
      total = (total + alignment - 1) / alignment * alignment
      offsets.append(total)
      total += length
    }
    return (offsets, total)
  }

  /// Calls `body` with a CK_ATTRIBUTE array pointing into one buffer
  /// that holds every value until `body` returns, each value aligned as
  /// ``layout(lengths:)`` says.
  func withAttributes<T>(
    _ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) throws(PKCS11Failure) -> T
  ) throws(PKCS11Failure) -> T {
    let (offsets, total) = Self.layout(lengths: entries.map { $0.1.count })
    let storage = UnsafeMutableRawBufferPointer.allocate(
      byteCount: max(total, 1), alignment: max(16, MemoryLayout<CK_ULONG>.alignment))
    defer { storage.deallocate() }
    var attributes: [CK_ATTRIBUTE] = []
    for ((type, value), offset) in zip(entries, offsets) {
      let start = storage.baseAddress! + offset
      value.withUnsafeBytes { bytes in
        if let base = bytes.baseAddress { start.copyMemory(from: base, byteCount: bytes.count) }
      }
      attributes.append(CK_ATTRIBUTE(type: type, pValue: start, ulValueLen: CK_ULONG(value.count)))
    }
    let count = CK_ULONG(attributes.count)
    let result: Result<T, PKCS11Failure> = attributes.withUnsafeMutableBufferPointer { buffer in
      do throws(PKCS11Failure) {
        return .success(try body(buffer.baseAddress, count))
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }
}
