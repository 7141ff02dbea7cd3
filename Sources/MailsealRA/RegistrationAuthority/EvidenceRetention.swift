public import FluentKit
import Foundation
public import Logging
import MailsealModel
import MailsealStore

/// Deletes identity evidence whose retention ran out: two years (or the
/// configured time) after the certificate expired; for requests that never
/// led to a certificate, two years after the check.
public enum EvidenceRetention {
  @discardableResult
  public static func purge(on database: any Database, logger: Logger, now: Date = Date())
    async throws -> Int
  {
    let deleted = try await Store(database).evidence.purge(before: now)
    if deleted > 0 {
      logger.notice(
        "identity evidence purged after its retention", metadata: ["records": "\(deleted)"])
    }
    return deleted
  }
}
