public import FluentKit
import Foundation
import MailsealModel
import SQLKit

/// A certificate's status as OCSP and CRLs read it.
public struct StoredStatus: Sendable {
  public let serial: String
  public let issuerID: UUID
  /// When and why it was revoked; nil while it is active.
  public let revoked: (at: Date, reason: String)?
  public let notAfter: Date
  /// Its revocation's number in commit order (``RevocationSequence``).
  public let revocationNumber: Int64?
}

/// A CRL as stored: the last one made for an issuer.
public struct StoredCRL: Sendable {
  public let der: [UInt8]
  public let number: Int64
  public let thisUpdate: Date
  public let nextUpdate: Date
  public let entries: Int
  /// A revocation since it was made (the publisher makes a new one).
  public let staleSince: Date?
}

extension Certificates {
  static let statusColumns = [
    "serial", "issuer_id", "status", "revoked_at", "revocation_reason", "not_after",
  ]

  /// The statuses of the certificates of `issuerID` with these serials.
  public func statuses(serials: [String], issuerID: UUID) async throws -> [StoredStatus] {
    try await database.sql.select().columns(Self.statusColumns).from("certificates")
      .where("serial", .in, serials).where("issuer_id", .equal, issuerID).all()
      .map { try Self.status($0, numbered: false) }
  }

  /// The statuses of every certificate not expired at `now`.
  public func unexpiredStatuses(now: Date) async throws -> [StoredStatus] {
    try await database.sql.select().columns(Self.statusColumns).from("certificates")
      .where("not_after", .greaterThan, now).all().map { try Self.status($0, numbered: false) }
  }

  /// The number of the last revocation committed (0: none yet).
  public func lastRevocationNumber() async throws -> Int64 {
    try await database.sql.raw(
      "SELECT COALESCE(MAX(revocation_seq), 0) AS n FROM certificates WHERE revocation_seq IS NOT NULL"
    ).first()?.decode(column: "n", as: Int64.self) ?? 0
  }

  /// The revocations numbered after `number`, in order, at most `limit`.
  public func revocations(after number: Int64, limit: Int) async throws -> [StoredStatus] {
    try await database.sql.select().columns(Self.statusColumns + ["revocation_seq"])
      .from("certificates").where("revocation_seq", .greaterThan, number)
      .orderBy("revocation_seq").limit(limit).all().map { try Self.status($0, numbered: true) }
  }

  /// The revoked certificates of `issuerID` not expired at `date`, in the
  /// order they were revoked (a CRL's entries).
  public func revoked(issuer issuerID: UUID, unexpiredAt date: Date) async throws -> [(
    serial: String, revokedAt: Date, reason: String
  )] {
    try await database.sql.select().columns("serial", "revoked_at", "revocation_reason")
      .from("certificates")
      .where("issuer_id", .equal, issuerID).where("status", .equal, "revoked")
      .where("not_after", .greaterThan, date)
      .orderBy("revoked_at").all().map { row in
        (
          try row.decode(column: "serial", as: String.self),
          try row.decode(column: "revoked_at", as: Date.self),
          try row.decode(column: "revocation_reason", as: String.self)
        )
      }
  }

  static func status(_ row: any SQLRow, numbered: Bool) throws -> StoredStatus {
    let revoked = try row.decode(column: "status", as: String.self) == "revoked"
    return StoredStatus(
      serial: try row.decode(column: "serial", as: String.self),
      issuerID: try row.decode(column: "issuer_id", as: UUID.self),
      revoked: revoked
        ? (
          try row.decode(column: "revoked_at", as: Date.self),
          try row.decode(column: "revocation_reason", as: String?.self) ?? ""
        ) : nil,
      notAfter: try row.decode(column: "not_after", as: Date.self),
      revocationNumber: numbered ? try row.decode(column: "revocation_seq", as: Int64.self) : nil)
  }
}

/// The CRLs (one row per issuer: the last one made).
public struct CRLs: Sendable {
  let database: any Database

  /// The issuer's last CRL, if any.
  public func current(issuer issuerID: UUID) async throws -> StoredCRL? {
    guard
      let row = try await database.sql.select().columns(
        "der", "number", "this_update", "next_update", "entries", "stale_since"
      )
      .from("crls").where("issuer_id", .equal, issuerID).first()
    else { return nil }
    return StoredCRL(
      der: Array(try row.decode(column: "der", as: Data.self)),
      number: try row.decode(column: "number", as: Int64.self),
      thisUpdate: try row.decode(column: "this_update", as: Date.self),
      nextUpdate: try row.decode(column: "next_update", as: Date.self),
      entries: Int(try row.decode(column: "entries", as: Int64.self)),
      staleSince: try row.decode(column: "stale_since", as: Date?.self))
  }

  /// In the transaction that makes the issuer's next CRL: locks its row
  /// first (revocations committed after this mark it stale again) and
  /// returns the last number, nil when there is none yet.
  public func lockForNext(issuer issuerID: UUID) async throws -> Int64? {
    try await database.sql.raw(
      "UPDATE crls SET stale_since = stale_since WHERE issuer_id = \(bind: issuerID) RETURNING number"
    ).first()?.decode(column: "number", as: Int64.self)
  }

  /// Stores the issuer's new CRL (`replacing`: a row is there).
  public func save(
    issuer issuerID: UUID, number: Int64, thisUpdate: Date, nextUpdate: Date, der: [UInt8],
    entries: Int, replacing: Bool
  ) async throws {
    let sql = try database.sql
    if replacing {
      try await sql.update("crls").set("number", to: number).set("this_update", to: thisUpdate)
        .set("next_update", to: nextUpdate).set("der", to: Data(der))
        .set("entries", to: Int64(entries)).set("stale_since", to: SQLLiteral.null)
        .where("issuer_id", .equal, issuerID).run()
    } else {
      try await sql.insert(into: "crls").columns(
        "issuer_id", "number", "this_update", "next_update", "der", "entries", "stale_since"
      ).values(
        SQLBind(issuerID), SQLBind(number), SQLBind(thisUpdate), SQLBind(nextUpdate),
        SQLBind(Data(der)), SQLBind(Int64(entries)), SQLLiteral.null
      ).run()
    }
  }
}
