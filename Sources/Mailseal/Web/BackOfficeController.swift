import Fluent
import Foundation
import Vapor

/// The service desk: the queue of requests, a request, the identity check,
/// approval and rejection.
enum BackOfficeController {
  struct QueueRow: Encodable {
    let number: String
    let mailbox: String
    let name: String
    let mailboxType: String
    let keyType: String
    let state: String
    let stateLabel: String
    let created: String
  }

  struct QueuePage: Encodable {
    let query: String
    let state: String
    let rows: [QueueRow]
    let nextPage: Int?
    let states: [String]
  }

  static let pageSize = 50

  /// `GET /operator/queue?q=&state=&page=`: open requests oldest first, or
  /// what a search finds (number, address, name).
  @Sendable
  static func queue(_ request: Request) async throws -> Response {
    _ = try await OperatorSession.require(request)
    let query = String((request.query[String.self, at: "q"] ?? "").prefix(200)).trimmingCharacters(
      in: .whitespaces)
    let stateText = request.query[String.self, at: "state"] ?? ""
    let page = max(0, min(request.query[Int.self, at: "page"] ?? 0, 10_000))
    let language = Language.of(request)
    let records = try await request.application.registrationAuthority.searchRequests(
      query: query, state: CertificateRequestRecord.State(rawValue: stateText),
      offset: page * pageSize,
      limit: pageSize + 1)
    let rows = records.prefix(pageSize).map { record in
      let row = RequesterController.row(record, language: language)
      return QueueRow(
        number: record.number, mailbox: record.mailbox, name: row.name,
        mailboxType: record.mailboxType.rawValue,
        keyType: record.keyType, state: record.state.rawValue, stateLabel: row.stateLabel,
        created: row.created)
    }
    return try await Pages.render(
      "queue",
      QueuePage(
        query: query, state: stateText, rows: Array(rows),
        nextPage: records.count > pageSize ? page + 1 : nil,
        states: CertificateRequestRecord.State.allCases.map(\.rawValue)),
      for: request)
  }
}
