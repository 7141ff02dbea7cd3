import Foundation
import Logging
import MailsealModel
import MailsealRA
import MailsealStatus
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Vapor

/// A listener for OCSP alone (`MAILSEAL_OCSP_LISTEN`), beside the portal's:
/// HTTP/1.1 straight on SwiftNIO, without the web framework's request
/// objects, router or middleware — what a relying party's query costs here
/// is reading the request, looking its answer up in memory and writing it.
/// `POST /ocsp` and `GET /ocsp/<base64>` are answered exactly as on the
/// portal's port (``OCSPService``, the same headers); anything else is 404.
/// A reverse proxy sends the PKI host's `/ocsp` here (README,
/// "Production").
final class OCSPListener: Sendable {
  let ocsp: OCSPService
  let metrics: MailsealMetrics
  let trustForwardedFor: Bool
  let logger: Logger
  private let channel = Mutex<(any Channel)?>(nil)

  init(ocsp: OCSPService, metrics: MailsealMetrics, trustForwardedFor: Bool, logger: Logger) {
    self.ocsp = ocsp
    self.metrics = metrics
    self.trustForwardedFor = trustForwardedFor
    self.logger = logger
  }

  /// Binds and starts answering; returns the bound address.
  @discardableResult
  func start(host: String, port: Int, group: any EventLoopGroup) async throws -> SocketAddress? {
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { [self] channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: true, withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(
            OCSPHTTPHandler(
              ocsp: ocsp, metrics: metrics, trustForwardedFor: trustForwardedFor))
        }
      }
    let bound = try await bootstrap.bind(host: host, port: port).get()
    channel.withLock { $0 = bound }
    logger.notice("OCSP listener on \(bound.localAddress.map { "\($0)" } ?? "\(host):\(port)")")
    return bound.localAddress
  }

  /// Stops accepting and closes the listening socket.
  func stop() async {
    let bound = channel.withLock { channel -> (any Channel)? in
      defer { channel = nil }
      return channel
    }
    try? await bound?.close()
  }
}

/// One connection's OCSP requests, one at a time (the pipeline handler
/// holds the next until this one's answer is written).
final class OCSPHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  let ocsp: OCSPService
  let metrics: MailsealMetrics
  let trustForwardedFor: Bool
  private var head: HTTPRequestHead?
  private var body: ByteBuffer?
  private var tooLarge = false
  /// The headers of the last cacheable answer, by its thisUpdate: the
  /// responses signed ahead in one round share it, so a connection's GET
  /// answers rarely format a date.
  private var cachedHeaders: (thisUpdate: Date, headers: HTTPHeaders)?

  /// As on the portal's port: up to 64 KiB is read, so that an oversized
  /// request still gets an OCSP answer (malformedRequest).
  static let maximumBody = 64 * 1024

  init(ocsp: OCSPService, metrics: MailsealMetrics, trustForwardedFor: Bool) {
    self.ocsp = ocsp
    self.metrics = metrics
    self.trustForwardedFor = trustForwardedFor
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let requestHead):
      head = requestHead
      body = nil
      tooLarge = false
    case .body(var chunk):
      guard !tooLarge else { return }
      if (body?.readableBytes ?? 0) + chunk.readableBytes > Self.maximumBody {
        tooLarge = true
        body = nil
      } else if body == nil {
        body = chunk
      } else {
        body!.writeBuffer(&chunk)
      }
    case .end:
      guard let requestHead = head else { return }
      head = nil
      answer(requestHead, context: context)
    }
  }

  private func answer(_ requestHead: HTTPRequestHead, context: ChannelHandlerContext) {
    // The path's bytes, up to a query (read as bytes: the request line is
    // ASCII, and this runs for every query).
    let uri = requestHead.uri.utf8
    let path = uri[..<(uri.firstIndex(of: UInt8(ascii: "?")) ?? uri.endIndex)]
    let bytes: [UInt8]
    let cacheable: Bool
    switch requestHead.method {
    case .POST where path.elementsEqual(PublicCAController.postPathBytes):
      bytes = tooLarge ? [] : body.map { Array($0.readableBytesView) } ?? []
      cacheable = false
    case .GET
    where path.starts(with: PublicCAController.getPrefixBytes)
      || path.elementsEqual(PublicCAController.postPathBytes):
      bytes = PublicCAController.ocspGetRequest(pathBytes: path)
      cacheable = true
    default:
      write(
        status: .notFound, headers: HTTPHeaders(), body: [], keepAlive: requestHead.isKeepAlive,
        context: context)
      return
    }
    body = nil
    let keepAlive = requestHead.isKeepAlive
    if let answer = ocsp.immediateAnswer(
      to: bytes, client: clientAddress(requestHead, context: context))
    {
      send(answer, cacheable: cacheable, keepAlive: keepAlive, context: context)
      return
    }
    let client = clientAddress(requestHead, context: context)
    // The store, a signature (off the event loop) or a token: answered
    // when it is ready, on this connection's event loop.
    let promise = context.eventLoop.makePromise(of: OCSPService.Answer.self)
    let ocsp = self.ocsp
    promise.completeWithTask { await ocsp.respond(to: bytes, client: client) }
    let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
    promise.futureResult.whenSuccess { answer in
      let (handler, context) = loopBound.value
      handler.send(answer, cacheable: cacheable, keepAlive: keepAlive, context: context)
    }
  }

  private func send(
    _ answer: OCSPService.Answer, cacheable: Bool, keepAlive: Bool, context: ChannelHandlerContext
  ) {
    metrics.ocspResponses[answer.outcome]?.increment()
    let headers: HTTPHeaders
    if cacheable, let thisUpdate = answer.thisUpdate, let cached = cachedHeaders,
      cached.thisUpdate == thisUpdate,
      answer.nextUpdate.map({ $0.timeIntervalSinceNow > 3600 }) == true
    {
      headers = cached.headers
    } else {
      headers = PublicCAController.ocspHeaders(answer, cacheable: cacheable)
      if cacheable, let thisUpdate = answer.thisUpdate { cachedHeaders = (thisUpdate, headers) }
    }
    write(
      status: .ok, headers: headers, body: answer.der, keepAlive: keepAlive, context: context)
  }

  private func write(
    status: HTTPResponseStatus, headers: HTTPHeaders, body: [UInt8], keepAlive: Bool,
    context: ChannelHandlerContext
  ) {
    var headers = headers
    headers.add(name: "Content-Length", value: String(body.count))
    if !keepAlive { headers.add(name: "Connection", value: "close") }
    context.write(
      wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
      promise: nil)
    if !body.isEmpty {
      var buffer = context.channel.allocator.buffer(capacity: body.count)
      buffer.writeBytes(body)
      context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }
    let done = context.writeAndFlushAndGetFuture(wrapOutboundOut(.end(nil)))
    if !keepAlive {
      let channel = context.channel
      done.whenComplete { _ in channel.close(promise: nil) }
    }
  }

  /// Who asks, for the signing gate: as on the portal's port.
  private func clientAddress(_ requestHead: HTTPRequestHead, context: ChannelHandlerContext)
    -> String
  {
    if trustForwardedFor,
      let forwarded = RequesterSession.forwardedClient(requestHead.headers["X-Forwarded-For"])
    {
      return forwarded
    }
    return context.channel.remoteAddress?.ipAddress ?? "unknown"
  }
}

extension ChannelHandlerContext {
  fileprivate func writeAndFlushAndGetFuture(_ data: NIOAny) -> EventLoopFuture<Void> {
    let promise = eventLoop.makePromise(of: Void.self)
    writeAndFlush(data, promise: promise)
    return promise.futureResult
  }
}
