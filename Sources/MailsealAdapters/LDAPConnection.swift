import Foundation
public import MailsealCA
public import MailsealRA
public import NIOCore
import NIOPosix
import NIOSSL

/// What went wrong talking to the directory.
public struct LDAPError: Error, CustomStringConvertible, Sendable {
  public let description: String
  /// The server's result, when it answered.
  public let result: LDAPResult?

  init(_ description: String, result: LDAPResult? = nil) {
    self.description = description
    self.result = result
  }
}

/// One connection to an LDAP server (RFC 4511): StartTLS or TLS, a simple
/// bind, then searches and modifications one at a time; every answer read
/// with ``LDAPMessage``'s bounded BER reader. Anything unexpected closes it
/// (the caller opens another).
public final class LDAPConnection: Sendable {
  let channel: any Channel
  let handler: NIOLoopBound<LDAPResponseHandler>
  let timeout: TimeAmount

  /// The longest a search answer may be, in entries.
  static let maximumEntries = 16

  private init(
    channel: any Channel, handler: NIOLoopBound<LDAPResponseHandler>, timeout: TimeAmount
  ) {
    self.channel = channel
    self.handler = handler
    self.timeout = timeout
  }

  /// Connects, protects and binds as `settings` say.
  public static func open(
    _ settings: LDAPSettings, group: any EventLoopGroup, timeout: TimeAmount = .seconds(30)
  ) async throws -> LDAPConnection {
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.minimumTLSVersion = .tlsv12
    if let file = settings.caFile { tls.trustRoots = .file(file) }
    let context = try NIOSSLContext(configuration: tls)
    // SNI takes no IP literal; the certificate is then checked against
    // the address (its IP subjectAltName).
    let serverName: String? =
      settings.host.contains(":") || settings.host.allSatisfy({ $0.isNumber || $0 == "." })
      ? nil : settings.host
    let channel: any Channel
    do {
      channel = try await ClientBootstrap(group: group)
        .connectTimeout(.seconds(10))
        .channelInitializer { channel in
          channel.eventLoop.makeCompletedFuture {
            if settings.security == .tls {
              try channel.pipeline.syncOperations.addHandler(
                NIOSSLClientHandler(context: context, serverHostname: serverName))
            }
            try channel.pipeline.syncOperations.addHandler(LDAPResponseHandler())
          }
        }
        .connect(host: settings.host, port: settings.port).get()
    } catch {
      throw LDAPError("cannot reach \(settings.host):\(settings.port): \(error)")
    }
    let handler = try await channel.eventLoop.submit {
      NIOLoopBound(
        try channel.pipeline.syncOperations.handler(type: LDAPResponseHandler.self),
        eventLoop: channel.eventLoop)
    }.get()
    let connection = LDAPConnection(channel: channel, handler: handler, timeout: timeout)
    do {
      if settings.security != .tls {
        let answer = try await connection.exchange(
          .extendedRequest(name: LDAPOperation.startTLS, value: nil))
        guard case .extendedResponse(let result, _) = answer.last else {
          throw LDAPError("the server answered StartTLS with something else")
        }
        if result.code == LDAPResult.success {
          try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(
              NIOSSLClientHandler(context: context, serverHostname: serverName),
              position: .first)
          }.get()
        } else if settings.security == .startTLS {
          throw LDAPError(
            "the server refused StartTLS (\(result)); the password is never sent unencrypted",
            result: result)
        }
      }
      let answer = try await connection.exchange(
        .bindRequest(name: settings.bindDN, password: settings.password))
      guard case .bindResponse(let result) = answer.last else {
        throw LDAPError("the server answered the bind with something else")
      }
      guard result.code == LDAPResult.success else {
        throw LDAPError("the bind as \(settings.bindDN) was refused: \(result)", result: result)
      }
    } catch {
      connection.close()
      throw error
    }
    return connection
  }

  /// Sends one request and returns every answer to it (a search's entries
  /// and its done; one answer otherwise).
  func exchange(_ operation: LDAPOperation) async throws -> [LDAPOperation] {
    let channel = self.channel
    let handler = self.handler
    let timeout = self.timeout
    let future: EventLoopFuture<[LDAPOperation]> = channel.eventLoop.flatSubmit {
      let promise = channel.eventLoop.makePromise(of: [LDAPOperation].self)
      let id = handler.value.begin(promise)
      let bytes: [UInt8]
      do {
        bytes = try LDAPMessage(id: id, operation).serialized()
      } catch {
        handler.value.fail(LDAPError("cannot write the request: \(error)"))
        return promise.futureResult
      }
      channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
      let deadline = channel.eventLoop.scheduleTask(in: timeout) {
        handler.value.fail(
          LDAPError("the server did not answer within \(timeout.nanoseconds / 1_000_000_000) s"))
        channel.close(promise: nil)
      }
      promise.futureResult.whenComplete { _ in deadline.cancel() }
      return promise.futureResult
    }
    do {
      return try await future.get()
    } catch {
      close()
      throw error
    }
  }

  /// Searches; the entries found (references are never followed).
  public func search(_ search: LDAPSearch) async throws -> (
    entries: [(name: String, attributes: [LDAPAttribute])], result: LDAPResult
  ) {
    let answers = try await exchange(.searchRequest(search))
    var entries: [(name: String, attributes: [LDAPAttribute])] = []
    for answer in answers {
      if case .searchEntry(let name, let attributes) = answer { entries.append((name, attributes)) }
    }
    guard case .searchDone(let result) = answers.last else {
      throw LDAPError("the search ended without its result")
    }
    return (entries, result)
  }

  /// Modifies an entry; the server's result.
  public func modify(_ name: String, _ changes: [LDAPChange]) async throws -> LDAPResult {
    let answers = try await exchange(.modifyRequest(name: name, changes: changes))
    guard case .modifyResponse(let result) = answers.last else {
      throw LDAPError("the server answered the modification with something else")
    }
    return result
  }

  /// Whether it can still be used.
  public var isActive: Bool { channel.isActive }

  /// Says goodbye (unbind) and closes.
  public func close() {
    let channel = self.channel
    let handler = self.handler
    channel.eventLoop.execute {
      if channel.isActive,
        let bytes = try? LDAPMessage(id: handler.value.nextID, .unbindRequest)
          .serialized()
      {
        channel.writeAndFlush(ByteBuffer(bytes: bytes)).whenComplete { _ in
          channel.close(promise: nil)
        }
      } else {
        channel.close(promise: nil)
      }
    }
  }
}

/// Splits the stream into messages and hands the answers of the one
/// request in flight to its promise (on the channel's loop).
final class LDAPResponseHandler: ChannelInboundHandler {
  typealias InboundIn = ByteBuffer

  private var pending: [UInt8] = []
  private var waiting: (id: Int, promise: EventLoopPromise<[LDAPOperation]>)?
  private var answers: [LDAPOperation] = []
  private(set) var nextID = 1

  /// Starts a request: its message id.
  func begin(_ promise: EventLoopPromise<[LDAPOperation]>) -> Int {
    if let waiting { waiting.promise.fail(LDAPError("another request was started")) }
    let id = nextID
    nextID += 1
    waiting = (id, promise)
    answers = []
    return id
  }

  func fail(_ error: any Error) {
    guard let waiting else { return }
    self.waiting = nil
    answers = []
    waiting.promise.fail(error)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    var buffer = unwrapInboundIn(data)
    pending += buffer.readBytes(length: buffer.readableBytes) ?? []
    do {
      while let length = try LDAPMessage.frameLength(pending) {
        guard pending.count >= length else { break }
        let message = try LDAPMessage(berEncoded: Array(pending[..<length]))
        pending.removeFirst(length)
        try deliver(message)
      }
    } catch {
      fail(LDAPError("the server sent a message that cannot be read: \(error)"))
      context.close(promise: nil)
    }
  }

  private func deliver(_ message: LDAPMessage) throws {
    if message.id == 0 {
      // A Notice of Disconnection (RFC 4511 §4.4.1).
      var words = "the server ended the connection"
      if case .extendedResponse(let result, _) = message.operation { words += ": \(result)" }
      throw LDAPError(words)
    }
    guard let waiting, message.id == waiting.id else {
      throw LDAPError("the server answered message \(message.id), which was not asked")
    }
    switch message.operation {
    case .searchEntry, .searchReference:
      answers.append(message.operation)
      guard answers.count <= LDAPConnection.maximumEntries else {
        throw LDAPError("the search found more than \(LDAPConnection.maximumEntries) entries")
      }
    default:
      answers.append(message.operation)
      self.waiting = nil
      let done = answers
      answers = []
      waiting.promise.succeed(done)
    }
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    fail(LDAPError("the connection failed: \(error)"))
    context.close(promise: nil)
  }

  func channelInactive(context: ChannelHandlerContext) {
    fail(LDAPError("the server closed the connection"))
    context.fireChannelInactive()
  }
}
