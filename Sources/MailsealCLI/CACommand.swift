import ConsoleKit
import Foundation
import MailsealCA
import MailsealModel
import MailsealRA
import X509

/// `mailseal ca …`: the CA ceremony and the administrator's tools.
struct CACommand: AsyncCommandGroup {
  var help: String { say("command_ca_help") }
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

/// Reads a file named on the command line, with a size limit and a clear
/// error; `what` is the catalogue ID of the file's name (`command.file.…`).
func readInputFile(_ path: String, what: String, limit: Int = 1 << 20) throws -> Data {
  guard let data = FileManager.default.contents(atPath: path) else {
    throw CommandFailure(
      say("command_failure_file_unreadable", ["what": "@" + what, "path": path]))
  }
  guard data.count <= limit else {
    throw CommandFailure(
      say(
        "command_failure_file_too_large", ["what": "@" + what, "path": path, "limit": "\(limit)"]))
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
    @Option(name: "key-type", help: say("command_ca_init_key_type_help"))
    var keyType: String?
    @Flag(name: "test", help: say("command_ca_init_test_help"))
    var test: Bool
    @Option(name: "custody", help: say("command_ca_init_custody_help"))
    var custody: String?
    @Option(name: "token", help: say("command_ca_init_token_help"))
    var token: String?
    init() {}
  }

  var help: String { say("command_ca_init_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    let text = signature.keyType ?? CAKeyType.p384.rawValue
    guard let keyType = CAKeyType(rawValue: text) else {
      throw CommandFailure(
        say(
          "command_ca_init_key_type_invalid",
          [
            "choices": CAKeyType.allCases.map(\.rawValue).joined(separator: ", "), "value": text,
          ]))
    }
    let app = try context.host
    let custody: MailsealConfiguration.Custody
    switch signature.custody {
    case nil:
      custody =
        signature.token.map { .pkcs11(token: $0) } ?? app.mailseal.defaultCustody
    case "file":
      guard signature.token == nil else {
        throw CommandFailure(say("command_ca_init_token_without_pkcs11"))
      }
      custody = .file
    case "pkcs11":
      custody = .pkcs11(token: signature.token)
    case let other?:
      throw CommandFailure(say("command_ca_init_custody_invalid", ["value": other]))
    }
    let (root, issuing) = try await app.caInstallation.initialize(
      keyType: keyType, test: signature.test, custody: custody)
    context.console.print(say("command_ca_init_made_root", ["subject": "\(root.subject)"]))
    context.console.print(say("command_ca_init_made_issuing", ["subject": "\(issuing.subject)"]))
    if custody == .file {
      context.console.print(
        say(
          "command_ca_init_keys_in_files",
          ["keyType": "\(keyType)", "path": app.mailseal.keyDirectory.path]))
      if !signature.test {
        context.console.print(
          say("command_ca_init_root_key_offline", ["file": root.keyReference ?? ""]))
      }
    } else {
      context.console.print(say("command_ca_init_keys_in_token", ["keyType": "\(keyType)"]))
      if !signature.test {
        context.console.print(
          say("command_ca_init_root_key_in_token", ["reference": root.keyReference ?? ""]))
      }
    }
    try await CAShowCommand.show(app: app, console: context.console)
  }
}

struct CAImportCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "chain", help: say("command_ca_import_chain_help"))
    var chain: String?
    @Option(name: "key", help: say("command_ca_import_key_help"))
    var key: String?
    @Option(name: "key-passphrase-file", help: say("command_ca_import_key_passphrase_file_help"))
    var keyPassphraseFile: String?
    init() {}
  }

  var help: String { say("command_ca_import_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let chainPath = signature.chain, let keyPath = signature.key else {
      throw CommandFailure(say("command_ca_import_required"))
    }
    let chain = try readInputFile(chainPath, what: "command_file_chain")
    let app = try context.host
    let imported: CAInstallation.ImportedKey
    if keyPath.lowercased().hasPrefix("pkcs11:") {
      guard signature.keyPassphraseFile == nil else {
        throw CommandFailure(say("command_ca_import_passphrase_for_token"))
      }
      imported = .reference(KeyReference(rawValue: keyPath))
    } else {
      let key = try readInputFile(keyPath, what: "command_file_key", limit: 64 * 1024)
      var passphrase = app.mailseal.passphrase
      if let path = signature.keyPassphraseFile {
        passphrase = Array(
          String(
            decoding: try readInputFile(path, what: "command_file_passphrase", limit: 4096),
            as: UTF8.self
          ).trimmingCharacters(in: .newlines).utf8)
      }
      imported = .encryptedFile(Array(key), passphrase: passphrase)
    }
    let record = try await app.caInstallation.importIssuing(
      chainPEM: String(decoding: chain, as: UTF8.self), key: imported)
    context.console.print(say("command_ca_import_done", ["subject": "\(record.subject)"]))
    try await CAShowCommand.show(app: app, console: context.console)
  }
}

struct CAShowCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .readOnly }
  struct Signature: CommandSignature {}

  var help: String { say("command_ca_show_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    try await Self.show(app: try context.host, console: context.console)
  }

  static func show(app: any CommandHost, console: any Console) async throws {
    let installation = app.caInstallation
    guard let active = try await installation.activeIssuer() else {
      console.print(say("command_ca_show_none"))
      return
    }
    let endpoints = app.mailseal.endpoints
    let formatter = ISO8601DateFormatter()
    let column = LabelColumn([
      "command_ca_show_subject_label", "command_ca_show_issuer_label",
      "command_ca_show_serial_label", "command_ca_show_fingerprint_label",
      "command_ca_show_key_type_label", "command_ca_show_valid_label", "command_ca_show_key_label",
      "command_ca_show_token_label", "command_ca_show_certificate_label",
      "command_ca_show_crl_label", "command_ca_show_ocsp_label",
    ])
    for (position, record) in try await installation.chain(of: active).enumerated() {
      let certificate = try Certificate(derEncoded: Array(record.certificateDER))
      let title = say(
        position == 0
          ? "command_ca_show_issuing_active"
          : record.role == .root ? "command_ca_show_root" : "command_ca_show_intermediate")
      console.print(record.isTest ? say("command_ca_show_test", ["title": title]) : title)
      console.print(column.line("command_ca_show_subject_label", "\(certificate.subject)"))
      console.print(column.line("command_ca_show_issuer_label", "\(certificate.issuer)"))
      console.print(column.line("command_ca_show_serial_label", certificate.serialNumber.hex))
      console.print(column.line("command_ca_show_fingerprint_label", record.sha256Fingerprint))
      console.print(
        column.line(
          "command_ca_show_key_type_label",
          say(
            "command_ca_show_key_type",
            [
              "keyType": CAKeyType(rawValue: record.keyType)?.description ?? record.keyType,
              "algorithm": "\(certificate.signatureAlgorithm)",
            ])))
      console.print(
        column.line(
          "command_ca_show_valid_label",
          "\(formatter.string(from: certificate.notValidBefore)) … \(formatter.string(from: certificate.notValidAfter))"
        ))
      console.print(
        column.line(
          "command_ca_show_key_label", record.keyReference ?? say("command_ca_show_key_not_held")))
      if let reference = record.keyReference.map(KeyReference.init(rawValue:)),
        reference.scheme == "pkcs11"
      {
        do {
          let info = try app.mailseal.pkcs11KeyCustody().tokenInfo(reference)
          console.print(
            column.line(
              "command_ca_show_token_label",
              say(
                "command_ca_show_token",
                [
                  "label": info.label, "manufacturer": info.manufacturer, "model": info.model,
                  "serial": info.serial,
                ])))
        } catch {
          console.print(
            column.line(
              "command_ca_show_token_label",
              say("command_ca_show_token_unreachable", ["reason": error.message])))
        }
      }
      console.print(
        column.line(
          "command_ca_show_certificate_label",
          "\(endpoints.caCertificateURL(issuerSlug: record.slug))"))
      if position == 0 {
        console.print(
          column.line("command_ca_show_crl_label", "\(endpoints.crlURL(issuerSlug: record.slug))"))
        console.print(column.line("command_ca_show_ocsp_label", "\(endpoints.ocspURL)"))
      }
    }
  }
}

extension CAIssueCommand {
  /// Orders at the upstream and waits up to `--wait` seconds (default 60)
  /// for the certificate; `--order ID` goes on with an order a run before
  /// left waiting.
  static func order(
    _ order: IssuanceOrder, from upstream: UpstreamIssuer, signature: Signature,
    console: any Console
  ) async throws -> SignedCertificate {
    let wait = signature.wait ?? 60
    guard (0...3_600).contains(wait) else {
      throw CommandFailure(say("command_ca_issue_wait_range"))
    }
    var order = order
    if let given = signature.order {
      guard let id = UUID(uuidString: given) else {
        throw CommandFailure(say("command_ca_issue_order_invalid"))
      }
      order.upstreamOrderID = id
    } else {
      order.upstreamOrderID = UUID()
    }
    let id = order.upstreamOrderID!.uuidString.lowercased()
    let deadline = Date().addingTimeInterval(TimeInterval(wait))
    try await upstream.ensureReady()
    while true {
      let outcome = try await upstream.issue([order], now: Date()) { _, _ in }[0]
      switch outcome {
      case .issued(let certificate):
        return certificate
      case .refused(let error):
        throw CommandFailure(say("command_ca_issue_refused", ["reason": error.message]))
      case .held(let reason):
        throw CommandFailure(say("command_ca_issue_held", ["order": id, "reason": reason]))
      case .pending(let reference, let retryAt):
        let next = retryAt ?? Date().addingTimeInterval(5)
        guard next <= deadline else {
          throw CommandFailure(
            say(
              "command_ca_issue_waiting",
              ["order": id, "reference": reference, "upstream": upstream.name]))
        }
        console.print(say("command_ca_issue_pending", ["upstream": upstream.name]))
        try await Task.sleep(for: .seconds(max(0.1, next.timeIntervalSinceNow)))
      }
    }
  }
}

struct CAIssueCommand: AsyncCommand, DeclaresAccess {
  var access: CommandAccess { .writes }
  struct Signature: CommandSignature {
    @Option(name: "csr", help: say("command_ca_issue_csr_help"))
    var csr: String?
    @Option(name: "email", help: say("command_ca_issue_email_help"))
    var email: String?
    @Option(name: "given-name", help: say("command_ca_issue_given_name_help"))
    var givenName: String?
    @Option(name: "surname", help: say("command_ca_issue_surname_help"))
    var surname: String?
    @Option(name: "pseudonym", help: say("command_ca_issue_pseudonym_help"))
    var pseudonym: String?
    @Flag(name: "mailbox-only", help: say("command_ca_issue_mailbox_only_help"))
    var mailboxOnly: Bool
    @Option(name: "out", help: say("command_ca_issue_out_help"))
    var out: String?
    @Option(name: "wait", help: say("command_ca_issue_wait_help"))
    var wait: Int?
    @Option(name: "order", help: say("command_ca_issue_order_help"))
    var order: String?
    init() {}
  }

  var help: String { say("command_ca_issue_help") }

  func run(using context: CommandContext, signature: Signature) async throws {
    guard let csrPath = signature.csr, let email = signature.email else {
      throw CommandFailure(say("command_ca_issue_required"))
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
      throw CommandFailure(say("command_ca_issue_name_one_way"))
    }
    let request = try readInputFile(
      csrPath, what: "command_file_certificate_request", limit: CertificateRequestCheck.maximumSize)
    let app = try context.host
    let certificate: SignedCertificate
    if let upstream = app.upstreamIssuer {
      // Through the same issuer as the portal's requests: recorded before
      // it is sent, never sent twice, checked as validated.
      certificate = try await Self.order(
        IssuanceOrder(request: Array(request), subject: subject), from: upstream,
        signature: signature, console: context.console)
    } else {
      let (authority, issuerID) = try await app.caInstallation.loadActiveAuthority()
      let service = app.issuanceService(authority: authority, issuerID: issuerID)
      certificate = try await service.issue(
        IssuanceOrder(request: Array(request), subject: subject))
    }
    app.logger.notice(
      "Issued a certificate from the command line",
      metadata: [
        "serial": .string(certificate.prepared.serialHex),
        "mailbox": .string(subject.mailbox.address),
      ])
    if let out = signature.out {
      guard FileManager.default.createFile(atPath: out, contents: Data(certificate.pem.utf8)) else {
        throw CommandFailure(
          say(
            "command_ca_issue_not_written",
            ["serial": certificate.prepared.serialHex, "path": out]))
      }
      context.console.print(
        say("command_ca_issue_done", ["serial": certificate.prepared.serialHex, "path": out]))
    } else {
      context.console.output(certificate.pem.consoleText())
      context.console.print()
    }
  }
}
