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
  var help: String { say("command_recovery_help") }
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
    @Option(name: "out", help: say("command_recovery_init_out_help"))
    var out: String?
    @Option(name: "split", help: say("command_recovery_init_split_help"))
    var split: Int?
    @Option(name: "threshold", help: say("command_recovery_init_threshold_help"))
    var threshold: Int?
    @Option(name: "organization", help: say("command_recovery_init_organization_help"))
    var organization: String?
    init() {}
  }

  var help: String { say("command_recovery_init_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let out = signature.out else {
      throw CommandFailure(say("command_recovery_out_required"))
    }
    let split: (count: Int, threshold: Int)?
    switch (signature.split, signature.threshold) {
    case (nil, nil): split = nil
    case (let count?, let threshold?):
      guard (2...SecretSharing.maximumShares).contains(count), (2...count).contains(threshold)
      else {
        throw CommandFailure(
          say(
            "command_recovery_init_split_range", ["maximum": "\(SecretSharing.maximumShares)"]))
      }
      split = (count, threshold)
    default:
      throw CommandFailure(say("command_recovery_init_split_with_threshold"))
    }
    if let organization = signature.organization,
      organization.isEmpty || organization.count > 64
    {
      throw CommandFailure(say("command_recovery_init_organization_length"))
    }
    let folder = try emptyFolder(out)

    let (key, certificate) = try RecoveryKey.generate(organization: signature.organization)
    try writeNew(Data(certificate.pemString.utf8), to: folder, "recovery-certificate.pem", 0o644)
    context.console.print(
      say(
        "command_recovery_init_certificate", ["path": "\(folder.path)/recovery-certificate.pem"]))
    context.console.print("  SHA-256 \(certificate.fingerprintText)")
    if let split {
      let shares = try RecoveryShare.split(
        key, certificate: certificate, count: split.count, threshold: split.threshold)
      for share in shares {
        let name = "recovery-share-\(share.share.index)-of-\(split.count).pem"
        try writeNew(Data(share.pemString.utf8), to: folder, name, 0o600)
        context.console.print(
          say(
            "command_recovery_init_share",
            ["index": "\(share.share.index)", "path": "\(folder.path)/\(name)"]))
      }
      context.console.print(
        say(
          "command_recovery_init_shares_advice",
          ["threshold": "\(split.threshold)", "count": "\(split.count)"]))
    } else {
      try writeNew(Data(key.pemString.utf8), to: folder, "recovery-key.pem", 0o600)
      context.console.print(
        say("command_recovery_init_key", ["path": "\(folder.path)/recovery-key.pem"]))
      context.console.print(say("command_recovery_init_key_advice"))
    }
    context.console.print(say("command_recovery_init_install_next"))
  }
}

/// A folder for what a command writes: new, or empty (nothing is
/// overwritten), mode 0700.
private func emptyFolder(_ path: String) throws -> URL {
  let folder = URL(fileURLWithPath: path)
  let existing = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
  guard existing.isEmpty else {
    throw CommandFailure(say("command_failure_folder_not_empty", ["path": path]))
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
  else { throw CommandFailure(say("command_failure_cannot_write", ["path": path])) }
}

struct RecoveryInstallCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "cert", help: say("command_recovery_install_cert_help"))
    var cert: String?
    init() {}
  }

  var help: String { say("command_recovery_install_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let path = signature.cert else {
      throw CommandFailure(say("command_recovery_install_cert_required"))
    }
    let bytes = try readInputFile(
      path, what: "command_file_recovery_certificate", limit: 64 * 1024)
    let certificates = try context.host.recoveryCertificates
    let installed: RecoveryCertificate
    switch try await certificates.install(Array(bytes)) {
    case .installed(let certificate):
      context.console.print(
        say(
          "command_recovery_install_installed", ["subject": "\(certificate.certificate.subject)"]))
      context.console.print("  SHA-256 \(certificate.fingerprintText)")
      installed = certificate
    case .alreadyInstalled(let certificate):
      context.console.print(
        say("command_recovery_install_already", ["fingerprint": certificate.fingerprintText]))
      installed = certificate
    }
    // What is installed is not yet in force: browsers seal only to the
    // certificates the configuration pins.
    let pins = try context.host.mailseal.recoveryPins
    guard !pins.fingerprints.contains(installed.fingerprint) else {
      context.console.print(say("command_recovery_install_pinned"))
      return
    }
    let pinned = (pins.fingerprints + [installed.fingerprint]).map(\.hexString)
    context.console.print(say("command_recovery_install_pin_it"))
    context.console.print("  MAILSEAL_RECOVERY_FINGERPRINTS=\(pinned.joined(separator: ","))")
    context.console.print(
      say(
        pins.isEmpty
          ? "command_recovery_install_escrow_off" : "command_recovery_install_not_sealed"))
  }
}

struct RecoveryRemoveCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "fingerprint", help: say("command_recovery_remove_fingerprint_help"))
    var fingerprint: String?
    init() {}
  }

  var help: String { say("command_recovery_remove_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let fingerprint = signature.fingerprint,
      fingerprint.replacingOccurrences(of: ":", with: "").count == 64,
      fingerprint.replacingOccurrences(of: ":", with: "").allSatisfy(\.isHexDigit)
    else { throw CommandFailure(say("command_recovery_remove_fingerprint_invalid")) }
    let app = try context.host
    let wanted = fingerprint.replacingOccurrences(of: ":", with: "").lowercased()
    if app.mailseal.escrow.isOn,
      app.mailseal.recoveryPins.fingerprints.contains(where: { $0.hexString == wanted })
    {
      throw CommandFailure(say("command_recovery_remove_pinned"))
    }
    guard
      try await app.recoveryCertificates.remove(
        fingerprint: fingerprint, escrowOn: app.mailseal.escrow.isOn)
    else { throw CommandFailure(say("command_recovery_remove_not_found")) }
    context.console.print(say("command_recovery_remove_done"))
  }
}

struct RecoveryShowCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}

  var help: String { say("command_recovery_show_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    let installed = try await context.host.recoveryCertificates.installed()
    guard !installed.isEmpty else {
      context.console.print(say("command_recovery_show_none"))
      return
    }
    let pins = try context.host.mailseal.recoveryPins
    let column = LabelColumn([
      "command_recovery_show_fingerprint_label", "command_recovery_show_pinned_label",
      "command_recovery_show_valid_to_label", "command_recovery_show_installed_label",
    ])
    for (certificate, installedAt) in installed {
      context.console.print("\(certificate.certificate.subject)")
      context.console.print(
        column.line("command_recovery_show_fingerprint_label", certificate.fingerprintText))
      context.console.print(
        column.line(
          "command_recovery_show_pinned_label",
          say(
            pins.fingerprints.contains(certificate.fingerprint)
              ? "command_recovery_show_pinned" : "command_recovery_show_not_pinned")))
      context.console.print(
        column.line(
          "command_recovery_show_valid_to_label",
          UTCDateFields(certificate.certificate.notValidAfter).internetDateTime))
      context.console.print(
        column.line(
          "command_recovery_show_installed_label", UTCDateFields(installedAt).internetDateTime))
    }
  }
}

struct RecoveryOpenCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .offline }
  struct Signature: CommandSignature {
    @Option(name: "envelope", help: say("command_recovery_open_envelope_help"))
    var envelope: String?
    @Option(name: "key", help: say("command_recovery_key_help"))
    var key: String?
    @Option(name: "share", help: say("command_recovery_open_share_help"))
    var share: String?
    @Option(name: "certificate", help: say("command_recovery_open_certificate_help"))
    var certificate: String?
    @Option(name: "out", help: say("command_recovery_open_out_help"))
    var out: String?
    init() {}
  }

  var help: String { say("command_recovery_open_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let envelopePath = signature.envelope, let certificatePath = signature.certificate,
      let out = signature.out
    else {
      throw CommandFailure(say("command_recovery_open_required"))
    }
    let key = try recoveryKey(key: signature.key, shares: signature.share)
    let envelope = try KeyEnvelope(
      derEncoded: Array(
        try readInputFile(
          envelopePath, what: "command_file_envelope", limit: KeyEnvelope.maximumSize)))
    let certificate = try readCertificate(certificatePath)
    let privateKeyInfo = try envelope.open(with: key)
    guard SubscriberKeyMatch.matches(privateKeyInfo: privateKeyInfo, certificate: certificate)
    else {
      throw CAError(
        .recoveredKeyMismatch,
        say("command_recovery_open_key_mismatch", ["subject": "\(certificate.subject)"]))
    }
    guard !FileManager.default.fileExists(atPath: out) else {
      throw CommandFailure(say("command_failure_exists", ["path": out]))
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
    else { throw CommandFailure(say("command_failure_cannot_write", ["path": out])) }
    context.console.print(
      say("command_recovery_open_written", ["path": out, "subject": "\(certificate.subject)"]))
    context.console.print(say("command_recovery_open_password"))
    context.console.print(password)
  }
}

/// The recovery key from its file, or put together from shares (`--share`
/// given once per share, joined by commas before parsing).
func recoveryKey(key path: String?, shares text: String?) throws -> RecoveryKey {
  let shares = (text ?? "").split(separator: ",").map(String.init)
  switch (path, shares.isEmpty) {
  case (let path?, true):
    return try RecoveryKey(
      Array(try readInputFile(path, what: "command_file_recovery_key", limit: 64 * 1024)))
  case (nil, false):
    return try RecoveryShare.combine(
      try shares.map {
        try RecoveryShare(
          Array(try readInputFile($0, what: "command_file_share", limit: 64 * 1024)))
      })
  default:
    throw CommandFailure(say("command_recovery_key_or_shares"))
  }
}

/// Reads a certificate, PEM or DER.
func readCertificate(_ path: String) throws -> Certificate {
  let bytes = try readInputFile(path, what: "command_file_certificate", limit: 64 * 1024)
  do {
    return bytes.first == 0x30
      ? try Certificate(derEncoded: Array(bytes))
      : try Certificate(pemEncoded: String(decoding: bytes, as: UTF8.self))
  } catch {
    throw CommandFailure(
      say("command_failure_file_unreadable", ["what": "@command_file_certificate", "path": path]))
  }
}

struct RecoveryExportCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "out", help: say("command_recovery_export_out_help"))
    var out: String?
    @Option(name: "serial", help: say("command_recovery_export_serial_help"))
    var serial: String?
    init() {}
  }

  var help: String { say("command_recovery_export_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let out = signature.out else {
      throw CommandFailure(say("command_recovery_out_required"))
    }
    if let serial = signature.serial,
      serial.isEmpty || serial.count > 64 || !serial.allSatisfy(\.isHexDigit)
    {
      throw CommandFailure(say("command_recovery_export_serial_invalid"))
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
    context.console.print(
      say("command_recovery_export_done", ["count": "\(entries.count)", "path": out]))
  }
}

struct RecoveryCheckCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .offline }
  struct Signature: CommandSignature {
    @Option(name: "export", help: say("command_recovery_check_export_help"))
    var export: String?
    @Option(name: "key", help: say("command_recovery_key_help"))
    var key: String?
    @Option(name: "share", help: say("command_recovery_check_share_help"))
    var share: String?
    init() {}
  }

  var help: String { say("command_recovery_check_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let export = signature.export else {
      throw CommandFailure(say("command_recovery_check_required"))
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
              folder.appendingPathComponent(name).path, what: "command_file_envelope",
              limit: KeyEnvelope.maximumSize)))
        let certificate = try readCertificate(
          folder.appendingPathComponent("\(serial).certificate.pem").path)
        let privateKeyInfo = try envelope.open(with: key)
        if !SubscriberKeyMatch.matches(privateKeyInfo: privateKeyInfo, certificate: certificate) {
          faults.append("\(serial): \(say("command_recovery_check_key_mismatch"))")
        }
      } catch {
        faults.append("\(serial): \(error)")
      }
    }
    for fault in faults {
      context.console.print(say("command_recovery_check_fault", ["fault": fault]))
    }
    context.console.print(
      say(
        "command_recovery_check_summary",
        [
          "count": "\(names.count)", "good": "\(names.count - faults.count)",
          "faulty": "\(faults.count)",
        ]))
    if !faults.isEmpty {
      throw CommandFailure(say("command_recovery_check_failed", ["faulty": "\(faults.count)"]))
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
