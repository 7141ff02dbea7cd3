public import Foundation
public import MailsealRA
public import NIOCore

/// The embedded default: every message becomes an `.eml` file in a folder,
/// so that the portal works without a mail server.
public struct FolderMailTransport: MailTransport {
  public let directory: URL

  public init(directory: URL) throws {
    self.directory = directory
    try FileManager.default.createDirectory(
      at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
  }

  public var description: String { "folder \(directory.path)" }

  public func deliver(message: String, from sender: String, to recipient: String, id: UUID)
    async throws
  {
    let stamp = Int(Date().timeIntervalSince1970)
    let safeRecipient = recipient.map {
      $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" ? $0 : "_"
    }
    let file = directory.appendingPathComponent(
      "\(stamp)-\(String(safeRecipient))-\(id.uuidString.lowercased()).eml")
    do {
      try Data(message.utf8).write(to: file, options: [.atomic])
    } catch {
      throw MailDeliveryError(
        description: "cannot write \(file.path): \(error.localizedDescription)", isTransient: true)
    }
  }
}

/// Delivery by SMTP (STARTTLS or implicit TLS, AUTH PLAIN/LOGIN).
public struct SMTPMailTransport: MailTransport {
  public let settings: SMTPSettings
  public let heloName: String
  let group: any EventLoopGroup

  public init(settings: SMTPSettings, heloName: String, group: any EventLoopGroup) {
    self.settings = settings
    self.heloName = heloName
    self.group = group
  }

  public var description: String {
    "\(settings.implicitTLS ? "smtps" : "smtp")://\(settings.host):\(settings.port)"
  }

  public func deliver(message: String, from sender: String, to recipient: String, id: UUID)
    async throws
  {
    do {
      try await SMTPClient.send(
        message: message, from: sender, to: [recipient], settings: settings, heloName: heloName,
        group: group)
    } catch let error as SMTPError {
      throw MailDeliveryError(description: error.description, isTransient: error.isTransient)
    } catch {
      // Connection refused, TLS failures, timeouts: the server may come back.
      throw MailDeliveryError(description: "\(description): \(error)", isTransient: true)
    }
  }
}
