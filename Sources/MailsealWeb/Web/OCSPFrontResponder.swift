import MailsealCA
import MailsealModel
import MailsealRA
import MailsealStatus
import NIOCore
import Vapor

/// The shortest path for OCSP: `POST /ocsp` and `GET /ocsp/<base64>`
/// answered from memory on the event loop that read the request — no
/// routing, no middleware, no hop to another executor — whenever the
/// responder has the answer at once (a response signed ahead). Nothing is
/// signed here: a request with a nonce, and any that needs the store or a
/// token, goes on to the portal's usual responder, which signs off the
/// event loop through the responder's gate.
struct OCSPFrontResponder: Responder {
  let ocsp: OCSPService
  let metrics: MailsealMetrics
  let next: any Responder

  static let postPath = "/" + PublicEndpoints.ocspPath
  static let getPrefix = "/" + PublicEndpoints.ocspPath + "/"

  func respond(to request: Request) -> EventLoopFuture<Response> {
    guard let (bytes, cacheable) = Self.ocspRequest(in: request),
      let answer = ocsp.immediateAnswer(to: bytes, client: PublicCAController.ocspClient(request))
    else { return next.respond(to: request) }
    metrics.ocspResponses[answer.outcome]?.increment()
    return request.eventLoop.makeSucceededFuture(
      PublicCAController.ocspResponse(answer, cacheable: cacheable))
  }

  /// The DER request of an OCSP POST whose body has arrived whole, or of
  /// an OCSP GET; and whether its answer may be cached (GET).
  static func ocspRequest(in request: Request) -> ([UInt8], Bool)? {
    let path = request.url.path
    switch request.method {
    case .POST where path == postPath:
      guard let body = request.body.data, body.readableBytes <= OCSPRequest.maximumSize else {
        return nil
      }
      return (Array(body.readableBytesView), false)
    case .GET where path.hasPrefix(getPrefix):
      return (PublicCAController.ocspGetRequest(path: path), true)
    default:
      return nil
    }
  }
}
