import ConsoleKit
import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
import X509

/// `mailseal ca …`: the CA ceremony and the administrator's tools.
struct CACommand: AsyncCommandGroup {
  var help: String { "Make, import, show the CA; issue a certificate directly." }
  var commands: [String: any AnyAsyncCommand] {
    [
      "init": CAInitCommand(),
      "import": CAImportCommand(),
      "show": CAShowCommand(),
      "issue": CAIssueCommand(),
      "revoke": CARevokeCommand(),
    ]
  }
}

/// Reads a file named on the command line, with a size limit and a clear error.
func readInputFile(_ path: String, what: String, limit: Int = 1 << 20) throws -> Data {
  guard let data = FileManager.default.contents(atPath: path) else {
    throw CommandFailure("The \(what) \(path) cannot be read.")
  }
  guard data.count <= limit else {
    throw CommandFailure("The \(what) \(path) is larger than \(limit) bytes.")
  }
  return data
}

/// A command that cannot do what was asked, with the reason.
struct CommandFailure: Error, CustomStringConvertible, LocalizedError {
  let description: String
  init(_ description: String) { self.description = description }
  var errorDescription: String? { description }
}

struct CAInitCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(
      name: "key-type",
      help: "Key type of the root and issuing CA: p384 (default), rsa4096, p256 or p521.")
    var keyType: String?
    @Flag(name: "test", help: "Name the CAs \"TEST — not trusted\" (the embedded test CA).")
    var test: Bool
    @Option(
      name: "custody",
      help:
        "Where the keys are made: file (encrypted files in the data folder) or pkcs11 (inside the HSM token; needs MAILSEAL_PKCS11_MODULE and a PIN file). Default: pkcs11 when MAILSEAL_PKCS11_TOKEN is set, else file."
    )
    var custody: String?
    @Option(
      name: "token",
      help: "With --custody pkcs11: the label of the token (default MAILSEAL_PKCS11_TOKEN).")
    var token: String?
    init() {}
  }

  var help: String {
    "Make a root CA and an issuing CA; keys go into custody (encrypted files or an HSM token), certificates into the database."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    let text = signature.keyType ?? CAKeyType.p384.rawValue
    guard let keyType = CAKeyType(rawValue: text) else {
      throw CommandFailure(
        "--key-type must be one of \(CAKeyType.allCases.map(\.rawValue).joined(separator: ", ")); “\(text)” is not."
      )
    }
    let app = try context.host
    let custody: MailsealConfiguration.Custody
    switch signature.custody {
    case nil:
      custody =
        signature.token.map { .pkcs11(token: $0) } ?? app.mailseal.defaultCustody
    case "file":
      guard signature.token == nil else {
        throw CommandFailure("--token belongs to --custody pkcs11.")
      }
      custody = .file
    case "pkcs11":
      custody = .pkcs11(token: signature.token)
    case let other?:
      throw CommandFailure("--custody must be file or pkcs11; “\(other)” is not.")
    }
    let (root, issuing) = try await app.caInstallation.initialize(
      keyType: keyType, test: signature.test, custody: custody)
    context.console.print("Made the root CA    \(root.subject)")
    context.console.print("Made the issuing CA \(issuing.subject)")
    if custody == .file {
      context.console.print("Keys (encrypted, \(keyType)): \(app.mailseal.keyDirectory.path)")
      if !signature.test {
        context.console.print(
          "Move the root key file \(root.keyReference ?? "") offline after the ceremony; it is needed only to sign new issuing CAs and the root CRL."
        )
      }
    } else {
      context.console.print(
        "Keys (\(keyType)) made inside the token: sensitive, not extractable.")
      if !signature.test {
        context.console.print(
          "The root key \(root.keyReference ?? "") is needed only to sign new issuing CAs and the root CRL: back up the token as its maker describes, and keep the root's token offline where the HSM allows it."
        )
      }
    }
    try await CAShowCommand.show(app: app, console: context.console)
  }
}

struct CAImportCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(
      name: "chain",
      help: "PEM file: the issuing CA certificate first, then each issuer up to the root.")
    var chain: String?
    @Option(
      name: "key",
      help:
        "The issuing CA key: a file of encrypted PKCS#8 PEM (openssl pkcs8 -topk8 -v2 aes-256-cbc), or the PKCS#11 URI of a key in the HSM (pkcs11:token=…;object=…)."
    )
    var key: String?
    @Option(
      name: "key-passphrase-file",
      help: "File with the passphrase of --key (default: the CA passphrase of this installation).")
    var keyPassphraseFile: String?
    init() {}
  }

  var help: String {
    "Take over an existing issuing CA (certificate chain and encrypted key) for production."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let chainPath = signature.chain, let keyPath = signature.key else {
      throw CommandFailure("Both --chain FILE and --key FILE are required.")
    }
    let chain = try readInputFile(chainPath, what: "chain file")
    let app = try context.host
    let imported: CAInstallation.ImportedKey
    if keyPath.lowercased().hasPrefix("pkcs11:") {
      guard signature.keyPassphraseFile == nil else {
        throw CommandFailure(
          "--key-passphrase-file belongs to a key file; a key in a token is opened with its PIN (MAILSEAL_PKCS11_PIN_FILE)."
        )
      }
      imported = .reference(KeyReference(rawValue: keyPath))
    } else {
      let key = try readInputFile(keyPath, what: "key file", limit: 64 * 1024)
      var passphrase = app.mailseal.passphrase
      if let path = signature.keyPassphraseFile {
        passphrase = Array(
          String(
            decoding: try readInputFile(path, what: "passphrase file", limit: 4096), as: UTF8.self
          ).trimmingCharacters(in: .newlines).utf8)
      }
      imported = .encryptedFile(Array(key), passphrase: passphrase)
    }
    let record = try await app.caInstallation.importIssuing(
      chainPEM: String(decoding: chain, as: UTF8.self), key: imported)
    context.console.print("Imported the issuing CA \(record.subject); it is now active.")
    try await CAShowCommand.show(app: app, console: context.console)
  }
}

struct CAShowCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}

  var help: String { "Print the CA chain: subjects, fingerprints, key types, validity, URLs." }

  func run(using context: CommandContext, signature: Signature) async throws {
    try await Self.show(app: try context.host, console: context.console)
  }

  static func show(app: any CommandHost, console: any Console) async throws {
    let installation = app.caInstallation
    guard let active = try await installation.activeIssuer() else {
      console.print(
        "No issuing CA yet: run `mailseal ca init` or `mailseal ca import` (or `mailseal serve`, which makes a test CA)."
      )
      return
    }
    let endpoints = app.mailseal.endpoints
    let formatter = ISO8601DateFormatter()
    for (position, record) in try await installation.chain(of: active).enumerated() {
      let certificate = try Certificate(derEncoded: Array(record.certificateDER))
      console.print(
        position == 0
          ? "Issuing CA (active)\(record.isTest ? " — TEST, not trusted" : "")"
          : "\(record.role == .root ? "Root CA" : "CA")\(record.isTest ? " — TEST, not trusted" : "")"
      )
      console.print("  subject      \(certificate.subject)")
      console.print("  issuer       \(certificate.issuer)")
      console.print("  serial       \(certificate.serialNumber.hex)")
      console.print("  SHA-256      \(record.sha256Fingerprint)")
      console.print(
        "  key type     \(CAKeyType(rawValue: record.keyType)?.description ?? record.keyType), signs with \(certificate.signatureAlgorithm)"
      )
      console.print(
        "  valid        \(formatter.string(from: certificate.notValidBefore)) … \(formatter.string(from: certificate.notValidAfter))"
      )
      console.print("  key          \(record.keyReference ?? "not held by this installation")")
      if let reference = record.keyReference.map(KeyReference.init(rawValue:)),
        reference.scheme == "pkcs11"
      {
        do {
          let info = try app.mailseal.pkcs11KeyCustody().tokenInfo(reference)
          console.print(
            "  token        “\(info.label)”, made by \(info.manufacturer) (\(info.model)), serial \(info.serial)"
          )
        } catch {
          console.print("  token        cannot be reached: \(error.message)")
        }
      }
      console.print("  certificate  \(endpoints.caCertificateURL(issuerSlug: record.slug))")
      if position == 0 {
        console.print("  CRL          \(endpoints.crlURL(issuerSlug: record.slug))")
        console.print("  OCSP         \(endpoints.ocspURL)")
      }
    }
  }
}

struct CAIssueCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "csr", help: "The PKCS#10 request, PEM or DER.")
    var csr: String?
    @Option(name: "email", help: "The mailbox the certificate is for.")
    var email: String?
    @Option(name: "given-name", help: "Personal mailbox: the given name (with --surname).")
    var givenName: String?
    @Option(name: "surname", help: "Personal mailbox: the surname (with --given-name).")
    var surname: String?
    @Option(name: "pseudonym", help: "Role or group mailbox: its name in natural language.")
    var pseudonym: String?
    @Flag(
      name: "mailbox-only", help: "Mailbox-validated certificate: the common name is the address.")
    var mailboxOnly: Bool
    @Option(name: "out", help: "Write the PEM certificate to this file instead of standard output.")
    var out: String?
    init() {}
  }

  var help: String {
    "Issue a certificate from a CSR directly (for administrators and tests); it is recorded like any other."
  }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let csrPath = signature.csr, let email = signature.email else {
      throw CommandFailure("--csr FILE and --email ADDRESS are required.")
    }
    let subject: ValidatedSubject
    switch (signature.givenName, signature.surname, signature.pseudonym, signature.mailboxOnly) {
    case (let given?, let surname?, nil, false):
      subject = try .person(mailbox: email, givenName: given, surname: surname)
    case (nil, nil, let pseudonym?, false):
      subject = try .pseudonym(mailbox: email, name: pseudonym)
    case (nil, nil, nil, true):
      subject = try .mailboxOnly(email)
    default:
      throw CommandFailure(
        "Name the holder in exactly one way: --given-name and --surname (personal), --pseudonym (role or group mailbox), or --mailbox-only."
      )
    }
    let request = try readInputFile(
      csrPath, what: "certificate request", limit: CertificateRequestCheck.maximumSize)
    let app = try context.host
    let (authority, issuerID) = try await app.caInstallation.loadActiveAuthority()
    let service = app.issuanceService(authority: authority, issuerID: issuerID)
    let certificate = try await service.issue(
      IssuanceOrder(request: Array(request), subject: subject))
    app.logger.notice(
      "Issued a certificate from the command line",
      metadata: [
        "serial": .string(certificate.prepared.serialHex),
        "mailbox": .string(subject.mailbox.address),
      ])
    if let out = signature.out {
      guard FileManager.default.createFile(atPath: out, contents: Data(certificate.pem.utf8)) else {
        throw CommandFailure(
          "The certificate was issued (serial \(certificate.prepared.serialHex)) but \(out) cannot be written; `mailseal ca show` and the database hold it."
        )
      }
      context.console.print("Issued serial \(certificate.prepared.serialHex) to \(out)")
    } else {
      context.console.output(certificate.pem.consoleText())
      context.console.print()
    }
  }
}
