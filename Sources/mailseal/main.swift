import Foundation
import Logging
import MailsealAdapters
import MailsealCLI
import MailsealModel
import MailsealRA
import MailsealStore
import MailsealWeb
import Vapor

// The executable is thin: read the configuration, wire the app, run the
// command (`serve` by default).
var environment = try Environment.detect()
if LogFormat.from(ProcessInfo.processInfo.environment) == .json {
  try LoggingSystem.bootstrap(from: &environment) { level in
    { label in JSONLogHandler(label: label, level: level) }
  }
} else {
  try LoggingSystem.bootstrap(from: &environment)
}

// Help needs no configuration, no data folder and no database: it touches
// nothing.
let arguments = Array(CommandLine.arguments.dropFirst())
if asksForHelp(arguments) {
  let app = try await Application.make(environment)
  registerCommands(app)
  try await app.execute()
  try await app.asyncShutdown()
  exit(0)
}
// The offline commands (`recovery init`, `open`, `check`) run on a machine
// with no data folder, no configuration and no network: no web framework
// and no database are started for them.
let access = MailsealCommands.access(of: arguments)
if access == .offline {
  exit(await MailsealCommands.runOffline(arguments))
}
let readOnly = access == .readOnly

let configuration: MailsealConfiguration
do {
  configuration = try MailsealConfiguration.load(readOnly: readOnly)
} catch {
  FileHandle.standardError.write(Data((error.description + "\n").utf8))
  exit(error.exitStatus)
}

let app = try await Application.make(environment)
do {
  try await configure(app, with: configuration, readOnly: readOnly)
} catch {
  FileHandle.standardError.write(Data(("mailseal: \(String(describing: error))\n").utf8))
  try? await app.asyncShutdown()
  // A refusal to start carries its exit status; a database that cannot be
  // opened or written is a configuration problem (EX_CONFIG) too.
  if let failure = error as? StartupFailure { exit(failure.exitStatus) }
  exit(StoreUnavailable.classify(error) == nil ? 1 : StartupFailure.configurationStatus)
}
do {
  try await app.execute()
  try await app.asyncShutdown()
} catch {
  // `execute` has reported the error in the log already, unless the log
  // level hides warnings.
  if app.logger.logLevel > .warning {
    FileHandle.standardError.write(Data(("mailseal: \(String(describing: error))\n").utf8))
  }
  try? await app.asyncShutdown()
  exit(1)
}
