import ConsoleKit
import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
import SwiftASN1
import X509

/// `mailseal recovery …`: the recovery keys of key escrow. `init` and
/// `open` run on the offline machine and touch no data folder or database;
/// `install` and `show` run where the portal runs and touch only
/// certificates.
struct RecoveryCommand: AsyncCommandGroup {
  var help: String {
    "Recovery keys for escrowed encryption keys: make one offline, install its certificate, open an envelope."
  }
  var commands: [String: any AnyAsyncCommand] {
    [
      "init": RecoveryInitCommand(),
      "install": RecoveryInstallCommand(),
      "show": RecoveryShowCommand(),
      "remove": RecoveryRemoveCommand(),
      "open": RecoveryOpenCommand(),
      "export": RecoveryExportCommand(),
      "check": RecoveryCheckCommand(),
    ]
  }

}

/// The arguments with an option given several times (`--share a --share
/// b`) made into one comma-separated value (`--share a,b`), the form the
/// command line parser takes.
public func joiningRepeatedOption(_ option: String, in arguments: [String]) -> [String] {
  var values: [String] = []
  var rest: [String] = []
  var index = arguments.startIndex
  while index < arguments.endIndex {
    if arguments[index] == option, index + 1 < arguments.endIndex {
      values.append(arguments[index + 1])
      index += 2
    } else {
      rest.append(arguments[index])
      index += 1
    }
  }
  return values.isEmpty ? arguments : rest + [option, values.joined(separator: ",")]
}

struct RecoveryInitCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .offline }
  struct Signature: CommandSignature {
    @Option(name: "out", help: "A new or empty folder for the certificate and the key or shares.")
    var out: String?
    @Option(
      name: "split",
      help:
        "Split the private key into this many shares (2–255), one file per officer; no key file is written."
    )
    var split: Int?
    @Option(
      name: "threshold", help: "With --split: how many shares open an envelope (2 to --split).")
    var threshold: Int?
    @Option(name: "organization", help: "The organisation's name in the certificate (optional).")
    var organization: String?
    init() {}
  }

  var help: String {
    "On the offline machine: make an RSA-4096 recovery key and its certificate; with --split N --threshold M, shares instead of a key file."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let out = signature.out else { throw CommandFailure("--out FOLDER is required.") }
    let split: (count: Int, threshold: Int)?
    switch (signature.split, signature.threshold) {
    case (nil, nil): split = nil
    case (let count?, let threshold?):
      guard (2...SecretSharing.maximumShares).contains(count), (2...count).contains(threshold)
      else {
        throw CommandFailure(
          "--split must be 2 to \(SecretSharing.maximumShares), and --threshold 2 to --split.")
      }
      split = (count, threshold)
    default:
      throw CommandFailure("--split and --threshold go together.")
    }
    if let organization = signature.organization,
      organization.isEmpty || organization.count > 64
    {
      throw CommandFailure("--organization must have 1 to 64 characters.")
    }
    let folder = try emptyFolder(out)

    let (key, certificate) = try RecoveryKey.generate(organization: signature.organization)
    try writeNew(Data(certificate.pemString.utf8), to: folder, "recovery-certificate.pem", 0o644)
    context.console.print("Recovery certificate: \(folder.path)/recovery-certificate.pem")
    context.console.print("  SHA-256 \(certificate.fingerprintText)")
    if let split {
      let shares = try RecoveryShare.split(
        key, certificate: certificate, count: split.count, threshold: split.threshold)
      for share in shares {
        let name = "recovery-share-\(share.share.index)-of-\(split.count).pem"
        try writeNew(Data(share.pemString.utf8), to: folder, name, 0o600)
        context.console.print("Share \(share.share.index): \(folder.path)/\(name)")
      }
      context.console.print(
        "Any \(split.threshold) of the \(split.count) shares open an envelope; fewer tell nothing. Give each share to one officer, on its own medium, and delete it from this machine."
      )
    } else {
      try writeNew(Data(key.pemString.utf8), to: folder, "recovery-key.pem", 0o600)
      context.console.print("Recovery key: \(folder.path)/recovery-key.pem")
      context.console.print(
        "The key file is not encrypted: keep it on removable media in a safe, never on a networked machine (or use --split)."
      )
    }
    context.console.print(
      "Install only the certificate in the portal: mailseal recovery install --cert recovery-certificate.pem"
    )
  }
}

/// A folder for what a command writes: new, or empty (nothing is
/// overwritten), mode 0700.
private func emptyFolder(_ path: String) throws -> URL {
  let folder = URL(fileURLWithPath: path)
  let existing = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
  guard existing.isEmpty else {
    throw CommandFailure("\(path) is not empty; nothing is overwritten.")
  }
  try FileManager.default.createDirectory(
    at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
  return folder
}

/// Writes a file that must not exist yet, with the given permissions.
private func writeNew(_ data: Data, to folder: URL, _ name: String, _ permissions: Int) throws {
  let path = folder.appendingPathComponent(name).path
  guard
    FileManager.default.createFile(
      atPath: path, contents: data, attributes: [.posixPermissions: permissions])
  else { throw CommandFailure("\(path) cannot be written.") }
}

struct RecoveryInstallCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "cert", help: "The recovery certificate (PEM or DER) made by `recovery init`.")
    var cert: String?
    init() {}
  }

  var help: String {
    "Install a recovery certificate (only the certificate): every escrow envelope is made for all installed ones."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let path = signature.cert else { throw CommandFailure("--cert FILE is required.") }
    let bytes = try readInputFile(path, what: "recovery certificate", limit: 64 * 1024)
    let certificates = try context.host.recoveryCertificates
    let installed: RecoveryCertificate
    switch try await certificates.install(Array(bytes)) {
    case .installed(let certificate):
      context.console.print("Installed recovery certificate \(certificate.certificate.subject)")
      context.console.print("  SHA-256 \(certificate.fingerprintText)")
      installed = certificate
    case .alreadyInstalled(let certificate):
      context.console.print(
        "Recovery certificate \(certificate.fingerprintText) is installed already; nothing changed."
      )
      installed = certificate
    }
    // What is installed is not yet in force: browsers seal only to the
    // certificates the configuration pins.
    let pins = try context.host.mailseal.recoveryPins
    guard !pins.fingerprints.contains(installed.fingerprint) else {
      context.console.print("It is pinned: MAILSEAL_RECOVERY_FINGERPRINTS names it.")
      return
    }
    let pinned = (pins.fingerprints + [installed.fingerprint]).map(\.hexString)
    context.console.print("To put it in force, pin it and restart the portals:")
    context.console.print("  MAILSEAL_RECOVERY_FINGERPRINTS=\(pinned.joined(separator: ","))")
    context.console.print(
      pins.isEmpty
        ? "Warning: key escrow stays off until MAILSEAL_RECOVERY_FINGERPRINTS names it."
        : "Warning: envelopes are not sealed to it until MAILSEAL_RECOVERY_FINGERPRINTS names it.")
  }
}

struct RecoveryRemoveCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "fingerprint", help: "The SHA-256 fingerprint `recovery show` prints.")
    var fingerprint: String?
    init() {}
  }

  var help: String {
    "Remove an installed recovery certificate (install its successor first); envelopes made before still open with its key."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let fingerprint = signature.fingerprint,
      fingerprint.replacingOccurrences(of: ":", with: "").count == 64,
      fingerprint.replacingOccurrences(of: ":", with: "").allSatisfy(\.isHexDigit)
    else { throw CommandFailure("--fingerprint must be a SHA-256 fingerprint (64 hex digits).") }
    let app = try context.host
    let wanted = fingerprint.replacingOccurrences(of: ":", with: "").lowercased()
    if app.mailseal.escrow.isOn,
      app.mailseal.recoveryPins.fingerprints.contains(where: { $0.hexString == wanted })
    {
      throw CommandFailure(
        "It is pinned: remove it from MAILSEAL_RECOVERY_FINGERPRINTS and restart the portals first (escrow would stop while a pinned certificate is missing)."
      )
    }
    guard
      try await app.recoveryCertificates.remove(
        fingerprint: fingerprint, escrowOn: app.mailseal.escrow.isOn)
    else { throw CommandFailure("No installed recovery certificate has that fingerprint.") }
    context.console.print(
      "Removed; new envelopes are not made for it. Keep its key or shares: older envelopes need them."
    )
  }
}

struct RecoveryShowCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}

  var help: String { "Print the installed recovery certificates with their fingerprints." }

  func run(using context: CommandContext, signature: Signature) async throws {
    let installed = try await context.host.recoveryCertificates.installed()
    guard !installed.isEmpty else {
      context.console.print("No recovery certificate is installed.")
      return
    }
    let pins = try context.host.mailseal.recoveryPins
    for (certificate, installedAt) in installed {
      context.console.print("\(certificate.certificate.subject)")
      context.console.print("  SHA-256    \(certificate.fingerprintText)")
      context.console.print(
        "  pinned     \(pins.fingerprints.contains(certificate.fingerprint) ? "yes" : "no (not in force until MAILSEAL_RECOVERY_FINGERPRINTS names it)")"
      )
      context.console.print(
        "  valid to   \(UTCDateFields(certificate.certificate.notValidAfter).internetDateTime)")
      context.console.print("  installed  \(UTCDateFields(installedAt).internetDateTime)")
    }
  }
}

struct RecoveryOpenCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .offline }
  struct Signature: CommandSignature {
    @Option(name: "envelope", help: "The escrow envelope (DER) an officer downloaded.")
    var envelope: String?
    @Option(name: "key", help: "The recovery key file (or give the shares).")
    var key: String?
    @Option(
      name: "share",
      help:
        "A share file; give --share once per share (as many as the threshold), or the files separated by commas."
    )
    var share: String?
    @Option(name: "certificate", help: "The person's encryption certificate (PEM or DER).")
    var certificate: String?
    @Option(name: "out", help: "Where to write the PKCS#12 file (must not exist).")
    var out: String?
    init() {}
  }

  var help: String {
    "On the offline machine: open an escrow envelope with the recovery key or shares, check the key against the certificate, write a PKCS#12 under a fresh password."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let envelopePath = signature.envelope, let certificatePath = signature.certificate,
      let out = signature.out
    else {
      throw CommandFailure(
        "--envelope, --certificate and --out are required, and --key or --share.")
    }
    let key = try recoveryKey(key: signature.key, shares: signature.share)
    let envelope = try KeyEnvelope(
      derEncoded: Array(
        try readInputFile(envelopePath, what: "envelope", limit: KeyEnvelope.maximumSize)))
    let certificate = try readCertificate(certificatePath)
    let privateKeyInfo = try envelope.open(with: key)
    guard SubscriberKeyMatch.matches(privateKeyInfo: privateKeyInfo, certificate: certificate)
    else {
      throw CAError(
        .recoveredKeyMismatch,
        "The key in the envelope is not the key of \(certificate.subject): nothing was written. Run `mailseal recovery check` and report the envelope."
      )
    }
    guard !FileManager.default.fileExists(atPath: out) else {
      throw CommandFailure("\(out) exists; nothing is overwritten.")
    }
    let password = RecoveryPassword.make()
    let commonName = certificate.subject.lazy.flatMap { $0 }
      .first { $0.type == .RDNAttributeType.commonName }
      .map { String(describing: $0.value) }
    let name = commonName ?? certificate.subject.description
    let pfx = try PKCS12.make(
      privateKeyInfo: privateKeyInfo, certificate: certificate, password: password,
      friendlyName: "\(name.prefix(60)) (recovered)")
    guard
      FileManager.default.createFile(
        atPath: out, contents: Data(pfx), attributes: [.posixPermissions: 0o600])
    else { throw CommandFailure("\(out) cannot be written.") }
    context.console.print("Wrote \(out): the key of \(certificate.subject) and its certificate.")
    context.console.print("Its password (shown once, not stored anywhere):")
    context.console.print(password)
  }
}

/// The recovery key from its file, or put together from shares (`--share`
/// given once per share, joined by commas before parsing).
func recoveryKey(key path: String?, shares text: String?) throws -> RecoveryKey {
  let shares = (text ?? "").split(separator: ",").map(String.init)
  switch (path, shares.isEmpty) {
  case (let path?, true):
    return try RecoveryKey(Array(try readInputFile(path, what: "recovery key", limit: 64 * 1024)))
  case (nil, false):
    return try RecoveryShare.combine(
      try shares.map {
        try RecoveryShare(Array(try readInputFile($0, what: "share", limit: 64 * 1024)))
      })
  default:
    throw CommandFailure("Give either --key or --share (once per share), not both.")
  }
}

/// Reads a certificate, PEM or DER.
func readCertificate(_ path: String) throws -> Certificate {
  let bytes = try readInputFile(path, what: "certificate", limit: 64 * 1024)
  do {
    return bytes.first == 0x30
      ? try Certificate(derEncoded: Array(bytes))
      : try Certificate(pemEncoded: String(decoding: bytes, as: UTF8.self))
  } catch {
    throw CommandFailure("The certificate \(path) cannot be read.")
  }
}

struct RecoveryExportCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "out", help: "A new or empty folder for the envelopes and their certificates.")
    var out: String?
    @Option(name: "serial", help: "Only this encryption certificate's envelope (serial, hex).")
    var serial: String?
    init() {}
  }

  var help: String {
    "Write escrowed envelopes with their encryption certificates to a folder, for the offline machine (recovery open, recovery check). Audited."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let out = signature.out else { throw CommandFailure("--out FOLDER is required.") }
    if let serial = signature.serial,
      serial.isEmpty || serial.count > 64 || !serial.allSatisfy(\.isHexDigit)
    {
      throw CommandFailure("--serial must be the certificate's serial number in hex.")
    }
    let folder = try emptyFolder(out)
    let entries = try await context.host.escrowedKeys.export(
      serial: signature.serial, actor: AuditEvent.commandLine)
    for entry in entries {
      try writeNew(entry.envelope, to: folder, "\(entry.serial).envelope.der", 0o600)
      let pem =
        PEMDocument(type: "CERTIFICATE", derBytes: Array(entry.certificateDER)).pemString + "\n"
      try writeNew(Data(pem.utf8), to: folder, "\(entry.serial).certificate.pem", 0o600)
    }
    context.console.print("Wrote \(entries.count) envelope(s) with their certificates to \(out).")
  }
}

struct RecoveryCheckCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .offline }
  struct Signature: CommandSignature {
    @Option(name: "export", help: "A folder written by `mailseal recovery export`.")
    var export: String?
    @Option(name: "key", help: "The recovery key file (or give the shares).")
    var key: String?
    @Option(
      name: "share",
      help: "A share file; give --share once per share, or the files separated by commas.")
    var share: String?
    init() {}
  }

  var help: String {
    "On the offline machine: open every envelope of an export and report each whose key is not its certificate's (a faulty browser)."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let export = signature.export else {
      throw CommandFailure("--export FOLDER is required, and --key or --share.")
    }
    let key = try recoveryKey(key: signature.key, shares: signature.share)
    let folder = URL(fileURLWithPath: export)
    let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
      .filter { $0.hasSuffix(".envelope.der") }.sorted()
    var faults: [String] = []
    for name in names {
      let serial = String(name.dropLast(".envelope.der".count))
      do {
        let envelope = try KeyEnvelope(
          derEncoded: Array(
            try readInputFile(
              folder.appendingPathComponent(name).path, what: "envelope",
              limit: KeyEnvelope.maximumSize)))
        let certificate = try readCertificate(
          folder.appendingPathComponent("\(serial).certificate.pem").path)
        let privateKeyInfo = try envelope.open(with: key)
        if !SubscriberKeyMatch.matches(privateKeyInfo: privateKeyInfo, certificate: certificate) {
          faults.append("\(serial): the key in the envelope is not the certificate's key")
        }
      } catch {
        faults.append("\(serial): \(error)")
      }
    }
    for fault in faults { context.console.print("FAULT \(fault)") }
    context.console.print(
      "\(names.count) envelope(s) checked, \(names.count - faults.count) good, \(faults.count) faulty."
    )
    if !faults.isEmpty {
      throw CommandFailure("\(faults.count) envelope(s) would not recover their key.")
    }
  }
}

/// A fresh password for a recovered PKCS#12: 24 characters of an alphabet
/// without look-alikes (≈ 124 bits), in groups of four for reading aloud.
enum RecoveryPassword {
  static let alphabet = Array("abcdefghjkmnpqrstuvwxyzACDEFGHJKMNPQRSTUVWXYZ23456789")

  static func make() -> String {
    var generator = SystemRandomNumberGenerator()
    let characters = (0..<24).map { _ in alphabet.randomElement(using: &generator)! }
    return stride(from: 0, to: 24, by: 4).map { String(characters[$0..<$0 + 4]) }
      .joined(separator: "-")
  }
}
