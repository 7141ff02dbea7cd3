public import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where a CA key lives, as stored beside its certificate: a URI whose
/// scheme names the custody backend (`file:issuing-….key.pem`,
/// `pkcs11:token=…;object=…`).
public struct KeyReference: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
  public let rawValue: String

  public init(rawValue: String) { self.rawValue = rawValue }

  /// The backend's name: the part before the first colon.
  public var scheme: String { String(rawValue.prefix { $0 != ":" }) }
  /// What the backend needs to find the key: the part after the colon.
  public var locator: String { String(rawValue.drop { $0 != ":" }.dropFirst()) }

  public var description: String { rawValue }
}

/// A custody backend: makes CA keys, imports them, and loads them for
/// signing. Backends are chosen by configuration; the rest of the system
/// sees only ``CASigningKey``.
public protocol KeyCustody: Sendable {
  /// The scheme of the references this backend hands out.
  var scheme: String { get }
  /// Makes a new key inside the custody.
  func generateKey(_ type: CAKeyType, label: String) throws -> (KeyReference, any CASigningKey)
  /// Takes over an existing key, given as an encrypted PKCS#8 file and the
  /// passphrase that opens it.
  func importKey(encryptedPKCS8: [UInt8], passphrase: [UInt8], label: String) throws -> (
    KeyReference, any CASigningKey
  )
  /// Loads a key for signing.
  func loadKey(_ reference: KeyReference) throws -> any CASigningKey
  /// Takes over a key that already lives in the custody (`ca import` of a
  /// key in a token): loads it as ``loadKey(_:)`` does, after the checks
  /// a key made elsewhere must pass once — which a key loaded again later
  /// has passed already.
  func adoptKey(_ reference: KeyReference) throws -> any CASigningKey
}

extension KeyCustody {
  /// A backend whose keys need no check beyond loading them.
  public func adoptKey(_ reference: KeyReference) throws -> any CASigningKey {
    try loadKey(reference)
  }

  /// Refuses a reference that belongs to another backend, naming it.
  func requireOwnScheme(_ reference: KeyReference) throws(CAError) {
    guard reference.scheme == scheme else {
      throw CAError(
        .keyCustody,
        "The CA key \(reference) is held by the “\(reference.scheme)” custody backend, but this installation is configured for “\(scheme)”; that backend is not built into this Mailseal."
      )
    }
  }
}

/// Keys in files: PKCS#8 encrypted with PBES2 (PBKDF2-HMAC-SHA256,
/// AES-256-CBC) under a passphrase that lives outside the database, in a
/// folder of their own with mode 0700 and files with mode 0600.
/// `openssl pkey -in FILE` opens them with the same passphrase.
public struct FileKeyCustody: KeyCustody {
  public let scheme = "file"
  /// The folder holding the key files.
  public let directory: URL
  let passphrase: [UInt8]
  let iterations: Int

  /// The shortest passphrase accepted for CA keys.
  public static let minimumPassphraseLength = 12

  /// Creates the backend; the folder is made if missing.
  public init(
    directory: URL, passphrase: [UInt8], iterations: Int = EncryptedPrivateKeyInfo.defaultIterations
  ) throws(CAError) {
    guard passphrase.count >= Self.minimumPassphraseLength else {
      throw CAError(
        .keyCustody,
        "The CA key passphrase must be at least \(Self.minimumPassphraseLength) characters long."
      )
    }
    // Files written with more iterations than the reader accepts could
    // never be opened again.
    guard (1_000...EncryptedPrivateKeyInfo.maximumIterations).contains(iterations) else {
      throw CAError(
        .keyCustody,
        "PBKDF2 iterations must be 1000 to \(EncryptedPrivateKeyInfo.maximumIterations), not \(iterations)."
      )
    }
    self.directory = directory
    self.passphrase = passphrase
    self.iterations = iterations
    do {
      try FileManager.default.createDirectory(
        at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700]
      )
    } catch {
      throw CAError(
        .keyCustody,
        "The CA key folder \(directory.path) cannot be created: \(error.localizedDescription)")
    }
    try Self.requirePrivate(directory.path, what: "CA key folder", mode: 0o700)
  }

  /// Refuses a folder or file that another user owns or that group or
  /// others may read: encrypted or not, CA keys are nobody else's business.
  package static func requirePrivate(_ path: String, what: String, mode: Int) throws(CAError) {
    var status = stat()
    guard lstat(path, &status) == 0 else {
      throw CAError(.keyCustody, "The \(what) \(path) cannot be examined.")
    }
    guard (status.st_mode & S_IFMT) != S_IFLNK else {
      throw CAError(
        .keyCustody,
        "The \(what) \(path) is a symbolic link; CA keys are read only from real files.")
    }
    guard status.st_uid == geteuid() else {
      throw CAError(.keyCustody, "The \(what) \(path) belongs to another user.")
    }
    guard Int(status.st_mode) & 0o077 == 0 else {
      throw CAError(
        .keyCustody,
        "The \(what) \(path) may be read by others (mode \(String(Int(status.st_mode) & 0o777, radix: 8))); run `chmod \(String(mode, radix: 8)) \(path)`."
      )
    }
  }

  public func generateKey(_ type: CAKeyType, label: String) throws -> (
    KeyReference, any CASigningKey
  ) {
    let key = try SoftwareSigningKey.generate(type)
    return (try store(key, label: label), key)
  }

  public func importKey(
    encryptedPKCS8: [UInt8], passphrase importPassphrase: [UInt8], label: String
  ) throws -> (KeyReference, any CASigningKey) {
    let der = try EncryptedPrivateKeyInfo.decrypt(encryptedPKCS8, passphrase: importPassphrase)
    let key = try SoftwareSigningKey(privateKeyInfo: der)
    return (try store(key, label: label), key)
  }

  public func loadKey(_ reference: KeyReference) throws -> any CASigningKey {
    try requireOwnScheme(reference)
    let url = try fileURL(for: reference.locator)
    try Self.requirePrivate(url.path, what: "CA key file", mode: 0o600)
    guard let contents = FileManager.default.contents(atPath: url.path) else {
      throw CAError(.keyCustody, "The CA key file \(url.path) cannot be read.")
    }
    let der = try EncryptedPrivateKeyInfo.decrypt(Array(contents), passphrase: passphrase)
    return try SoftwareSigningKey(privateKeyInfo: der)
  }

  func fileURL(for name: String) throws(CAError) -> URL {
    guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."),
      name.allSatisfy({
        $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".")
      })
    else {
      throw CAError(.keyCustody, "“\(name.prefix(80))” is not a key file name of this custody.")
    }
    return directory.appendingPathComponent(name)
  }

  /// Writes the key encrypted, with mode 0600, never over an existing file,
  /// and durably (fsync before the rename that makes it visible).
  func store(_ key: SoftwareSigningKey, label: String) throws -> KeyReference {
    let pem = try EncryptedPrivateKeyInfo.encrypt(
      privateKeyInfo: key.privateKeyInfo, passphrase: passphrase, iterations: iterations
    )
    let name = "\(label).key.pem"
    let url = try fileURL(for: name)
    let temporary = directory.appendingPathComponent(
      ".\(name).\(UInt64.random(in: 0...UInt64.max))")
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else {
      throw CAError(.keyCustody, "The CA key file \(temporary.path) cannot be created.")
    }
    let bytes = Array(pem.utf8)
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let synced = fsync(fd)
    close(fd)
    guard written == bytes.count, synced == 0 else {
      unlink(temporary.path)
      throw CAError(.keyCustody, "The CA key file \(url.path) could not be written completely.")
    }
    guard link(temporary.path, url.path) == 0 else {
      let reason = errno
      unlink(temporary.path)
      if reason == EEXIST {
        throw CAError(
          .keyCustody, "The CA key file \(url.path) already exists; it is never overwritten.")
      }
      throw CAError(
        .keyCustody,
        "The CA key file \(url.path) cannot be made: \(String(cString: strerror(reason))).")
    }
    unlink(temporary.path)
    let dirFD = open(directory.path, O_RDONLY)
    if dirFD >= 0 {
      fsync(dirFD)
      close(dirFD)
    }
    return KeyReference(rawValue: "\(scheme):\(name)")
  }
}
