import Foundation
import Logging
import MailsealRA
import MailsealWeb
import Vapor

// The executable is thin: read the configuration, wire the app, run the
// command (`serve` by default).
var environment = try Environment.detect()
if ProcessInfo.processInfo.environment["MAILSEAL_LOG_FORMAT"]?.lowercased() == "json" {
  try LoggingSystem.bootstrap(from: &environment) { level in
    { label in JSONLogHandler(label: label, level: level) }
  }
} else {
  try LoggingSystem.bootstrap(from: &environment)
}

let configuration: MailsealConfiguration
do {
  configuration = try MailsealConfiguration.load()
} catch {
  FileHandle.standardError.write(Data((error.description + "\n").utf8))
  exit(78)  // EX_CONFIG
}

let app = try await Application.make(environment)
do {
  try await configure(app, with: configuration)
} catch {
  FileHandle.standardError.write(Data(("mailseal: \(String(describing: error))\n").utf8))
  try? await app.asyncShutdown()
  exit(1)
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
