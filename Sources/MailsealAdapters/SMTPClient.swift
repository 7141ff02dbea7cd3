import Foundation
public import MailsealRA
public import NIOCore
import NIOPosix
import NIOSSL

/// What went wrong talking SMTP; the message names the server's answer.
public struct SMTPError: Error, CustomStringConvertible, Sendable {
  public let description: String
  /// Whether trying again later may help (4xx replies, network errors).
  public let isTransient: Bool
}

/// A small SMTP client on SwiftNIO: EHLO, STARTTLS, AUTH PLAIN or LOGIN,
/// one message to one or more recipients.
public enum SMTPClient {
  /// Sends `message` (CRLF line ends) from `sender` to `recipients`.
  public static func send(
    message: String, from sender: String, to recipients: [String], settings: SMTPSettings,
    heloName: String, group: any EventLoopGroup, timeout: TimeAmount = .seconds(60)
  ) async throws {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.minimumTLSVersion = .tlsv12
    if let file = settings.trustedCertificatesFile { tls.trustRoots = .file(file) }
    let tlsContext = try NIOSSLContext(configuration: tls)
    let channel = try await ClientBootstrap(group: group)
      .connectTimeout(.seconds(15))
      .channelOption(.socketOption(.so_reuseaddr), value: 1)
      .connect(host: settings.host, port: settings.port) { channel in
        channel.eventLoop.makeCompletedFuture {
          if settings.implicitTLS {
            try channel.pipeline.syncOperations.addHandler(
              NIOSSLClientHandler(context: tlsContext, serverHostname: settings.host))
          }
          return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
        }
      }
    let deadline = channel.channel.eventLoop.scheduleTask(in: timeout) {
      channel.channel.close(promise: nil)
    }
    defer { deadline.cancel() }
    try await channel.executeThenClose { inbound, outbound in
      var session = Session(inbound: inbound.makeAsyncIterator(), outbound: outbound)
      try await session.expect(220)
      var capabilities = try await session.command("EHLO \(heloName)", expect: 250)
      if !settings.implicitTLS {
        if capabilities.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) {
          _ = try await session.command("STARTTLS", expect: 220)
          // The handler is made on the channel's loop: it is not Sendable.
          let host = settings.host
          try await channel.channel.eventLoop.submit {
            try channel.channel.pipeline.syncOperations.addHandler(
              NIOSSLClientHandler(context: tlsContext, serverHostname: host), position: .first)
          }.get()
          capabilities = try await session.command("EHLO \(heloName)", expect: 250)
        } else if settings.username != nil {
          throw SMTPError(
            description:
              "\(settings.host) offers no STARTTLS; the SMTP password is never sent unencrypted",
            isTransient: false)
        }
      }
      if let username = settings.username {
        let password = settings.password ?? ""
        let auth = capabilities.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased() ?? ""
        if auth.contains("PLAIN") || !auth.contains("LOGIN") {
          let token = Data(([0] + Array(username.utf8) + [0] + Array(password.utf8)))
            .base64EncodedString()
          _ = try await session.command(
            "AUTH PLAIN \(token)", expect: 235, redacted: "AUTH PLAIN ***")
        } else {
          _ = try await session.command("AUTH LOGIN", expect: 334)
          _ = try await session.command(
            Data(username.utf8).base64EncodedString(), expect: 334, redacted: "***")
          _ = try await session.command(
            Data(password.utf8).base64EncodedString(), expect: 235, redacted: "***")
        }
      }
      _ = try await session.command("MAIL FROM:<\(sender)>", expect: 250)
      for recipient in recipients {
        _ = try await session.command("RCPT TO:<\(recipient)>", expect: 250, alsoAccept: [251])
      }
      _ = try await session.command("DATA", expect: 354)
      try await session.write(dotStuffed(message) + ".\r\n")
      try await session.expect(250)
      _ = try? await session.command("QUIT", expect: 221)
    }
  }

  /// Lines starting with "." get another "." (RFC 5321 §4.5.2); the
  /// message ends with CRLF.
  static func dotStuffed(_ message: String) -> String {
    var text = message.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(
      of: "\n", with: "\r\n")
    if !text.hasSuffix("\r\n") { text += "\r\n" }
    if text.hasPrefix(".") { text = "." + text }
    return text.replacingOccurrences(of: "\r\n.", with: "\r\n..")
  }

  /// One conversation: commands out, (multi-line) replies in.
  struct Session {
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var pending: [UInt8] = []

    mutating func write(_ text: String) async throws {
      try await outbound.write(ByteBuffer(string: text))
    }

    /// Reads one reply: its code and the text of each line.
    mutating func reply() async throws -> (Int, [String]) {
      var lines: [String] = []
      while true {
        let line = try await readLine()
        guard line.count >= 3, let code = Int(line.prefix(3)) else {
          throw SMTPError(
            description: "the server sent an unreadable reply: \(line.prefix(100))",
            isTransient: true)
        }
        lines.append(String(line.dropFirst(4)))
        if line.count == 3 || line[line.index(line.startIndex, offsetBy: 3)] != "-" {
          return (code, lines)
        }
        guard lines.count < 100 else {
          throw SMTPError(description: "the server's reply is too long", isTransient: true)
        }
      }
    }

    mutating func readLine() async throws -> String {
      while true {
        if let end = pending.firstIndex(of: 0x0A) {
          var line = Array(pending[..<end])
          pending.removeSubrange(...end)
          if line.last == 0x0D { line.removeLast() }
          return String(decoding: line, as: UTF8.self)
        }
        guard pending.count < 8192 else {
          throw SMTPError(description: "the server sent a line that is too long", isTransient: true)
        }
        guard var buffer = try await inbound.next() else {
          throw SMTPError(description: "the server closed the connection", isTransient: true)
        }
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
      }
    }

    mutating func expect(
      _ code: Int, alsoAccept: Set<Int> = [], after command: String = "the greeting"
    ) async throws {
      let (got, lines) = try await reply()
      guard got == code || alsoAccept.contains(got) else {
        throw SMTPError(
          description:
            "after \(command) the server answered \(got) \(lines.joined(separator: " / ").prefix(200))",
          isTransient: (400..<500).contains(got))
      }
    }

    /// Sends a command and expects a reply code; returns the reply lines.
    mutating func command(
      _ text: String, expect code: Int, alsoAccept: Set<Int> = [], redacted: String? = nil
    ) async throws -> [String] {
      try await write(text + "\r\n")
      let (got, lines) = try await reply()
      guard got == code || alsoAccept.contains(got) else {
        throw SMTPError(
          description:
            "after \(redacted ?? text) the server answered \(got) \(lines.joined(separator: " / ").prefix(200))",
          isTransient: (400..<500).contains(got))
      }
      return lines
    }
  }
}
