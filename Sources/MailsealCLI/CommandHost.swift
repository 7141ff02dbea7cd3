public import ConsoleKit
public import Foundation
public import Logging
public import MailsealCA
public import MailsealRA

/// What the administrator's commands need of the installation they run in:
/// the registration authority and its parts, the CA installation, the
/// configuration. The composition (`MailsealWeb`'s `configure`) provides
/// it; the commands know no web framework and no database.
public protocol CommandHost: Sendable {
  var registrationAuthority: RegistrationAuthority { get }
  var operatorDirectory: OperatorDirectory { get }
  var caInstallation: CAInstallation { get }
  /// The configuration the installation runs with.
  var mailseal: MailsealConfiguration { get }
  var recoveryCertificates: RecoveryCertificates { get }
  var escrowedKeys: EscrowedKeys { get }
  var logger: Logger { get }
  /// Issuance by `authority` (`ca issue`).
  func issuanceService(authority: CertificateAuthority, issuerID: UUID) -> IssuanceService
  /// The upstream CA that issues, when `MAILSEAL_UPSTREAM` names one.
  var upstreamIssuer: UpstreamIssuer? { get }
  /// The directory certificates are published to, and the worker that
  /// applies its queue, when `MAILSEAL_LDAP_URL` names one.
  var publisher: (any Publisher)? { get }
  var publicationWorker: PublicationWorker? { get }
  /// Publishes the CRL of the issuer with this id now (a command ends
  /// before the publisher's debounce).
  func publishCRL(issuerID: UUID) async throws
  /// Writes a backup of the installation to `path` (a new file).
  func backup(to path: String) async throws -> InstallationBackup.Written
}

extension CommandContext {
  /// The installation the command runs in; none for the offline commands.
  var host: any CommandHost {
    get throws {
      guard let host = userInfo["application"] as? any CommandHost else {
        throw CommandFailure(say("command_failure_needs_installation"))
      }
      return host
    }
  }
}

/// How much of the installation a command touches, declared on the
/// command: start-up makes and migrates nothing for a read-only one, and
/// needs no configuration, data folder or database for an offline one.
public enum CommandAccess: Sendable {
  /// Runs without an installation started: the offline recovery commands,
  /// and `restore` (which makes the installation it runs in).
  case offline
  /// Reads the installation, changes nothing.
  case readOnly
  /// May change the installation.
  case writes
}

/// A command of ours that declares its access.
protocol DeclaresAccess {
  var access: CommandAccess { get }
}

/// The administrator's commands, by name.
public enum MailsealCommands {
  /// Every command group (`mailseal ca …`, …).
  public static var all: [String: any AnyAsyncCommand] {
    [
      "ca": CACommand(), "operator": OperatorCommand(), "issuance": IssuanceCommand(),
      "audit": AuditCommand(), "notice": NoticeCommand(), "recovery": RecoveryCommand(),
      "directory": DirectoryCommand(), "backup": BackupCommand(), "restore": RestoreCommand(),
    ]
  }

  /// The access of the command `arguments` name (`ca show` → read-only);
  /// `writes` for anything not declared, not found or not ours (`serve`).
  public static func access(of arguments: [String]) -> CommandAccess {
    let words = commandWords(arguments)
    guard let first = words.first, let group = all[first] else { return .writes }
    if let declared = group as? any DeclaresAccess { return declared.access }
    guard words.count == 2, let group = group as? any AsyncCommandGroup,
      let command = group.commands[words[1]] as? any DeclaresAccess
    else { return .writes }
    return command.access
  }

  /// Runs an offline command (``access(of:)`` is `offline`) with a bare
  /// terminal: no web framework, no configuration, no database. Returns
  /// the exit status.
  public static func runOffline(_ arguments: [String]) async -> Int32 {
    let console = Terminal()
    let input = CommandInput(
      arguments: ["mailseal"] + joiningRepeatedOption("--share", in: arguments))
    do {
      try await console.run(AsyncCommands(commands: all).group(), input: input)
      return 0
    } catch let error as BackupFailure where error.isConfiguration {
      FileHandle.standardError.write(Data("mailseal: \(error)\n".utf8))
      return StartupFailure.configurationStatus
    } catch let error as ConfigurationError {
      FileHandle.standardError.write(Data("\(error)\n".utf8))
      return StartupFailure.configurationStatus
    } catch {
      FileHandle.standardError.write(Data("mailseal: \(error)\n".utf8))
      return 1
    }
  }
}

/// The command and subcommand named by `arguments` (`ca show`), lowercased.
func commandWords(_ arguments: [String]) -> [String] {
  arguments.filter { !$0.hasPrefix("-") }.prefix(2).map { $0.lowercased() }
}

/// Whether `arguments` only ask for help.
public func asksForHelp(_ arguments: [String]) -> Bool {
  arguments.contains("--help") || arguments.contains("-h") || arguments.first == "help"
}
