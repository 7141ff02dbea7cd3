import Crypto
public import FluentKit
import Foundation
public import MailsealModel
import SQLKit

/// The audit trail's records: append-only, each holding the hash of the
/// one before it, appended in the transaction of the action it records.
/// Appends from all instances are serialised on the chain's head row.
public struct AuditLog: Sendable {
  let database: any Database

  /// The "previous hash" of the first record.
  public static let genesisHash = AuditChain.genesisHash

  /// Longest actor, subject and detail value kept.
  static let maximumField = 1_000

  /// Takes the chain head's row lock for the rest of the caller's
  /// transaction (every audited change takes it), so that what the
  /// transaction checks next sees every change committed before it.
  public func holdHead() async throws {
    try await database.sql.raw("UPDATE audit_head SET seq = seq WHERE id = 1").run()
  }

  /// Appends events (in order) in the caller's transaction, or in one of
  /// its own. Appends from all instances are serialised on the chain's
  /// head row.
  public func append(_ events: [AuditEvent], now: Date) async throws {
    guard !events.isEmpty else { return }
    try await database.transaction { database in
      let sql = try database.sql
      // The UPDATE takes the head's row lock first (PostgreSQL) or the
      // write lock (SQLite), so two appends never chain from one head.
      guard
        let head = try await sql.raw(
          "UPDATE audit_head SET seq = seq + \(bind: Int64(events.count)) WHERE id = 1 RETURNING seq, hash"
        ).first()
      else { throw AuditTrailMissing() }
      let last = try head.decode(column: "seq", as: Int64.self)
      var previous = try head.decode(column: "hash", as: String.self)
      var seq = last - Int64(events.count)
      let milliseconds = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
      var records: [AuditRecord] = []
      for event in events {
        seq += 1
        let details = Self.json(event.details)
        let actor = String(event.actor.prefix(Self.maximumField))
        let subject = String(event.subject.prefix(Self.maximumField))
        let hash = AuditRecord.hash(
          seq: seq, atMilliseconds: milliseconds, actor: actor, action: event.action,
          subject: subject, details: details, previousHash: previous)
        records.append(
          AuditRecord(
            seq: seq, atMilliseconds: milliseconds, actor: actor, action: event.action,
            subject: subject, details: details, previousHash: previous, hash: hash))
        previous = hash
      }
      try await BulkInsert(into: "audit_events")
        .column("seq", .integer(records.map(\.seq)))
        .column("at_ms", .integer(records.map(\.atMilliseconds)))
        .column("actor", .text(records.map(\.actor)))
        .column("action", .text(records.map(\.action)))
        .column("subject", .text(records.map(\.subject)))
        .column("details", .text(records.map(\.details)))
        .column("previous_hash", .text(records.map(\.previousHash)))
        .column("hash", .text(records.map(\.hash)))
        .run(on: sql)
      try await sql.update("audit_head").set("hash", to: previous).where("id", .equal, 1).run()
    }
  }

  /// Details as a JSON object with sorted keys, values cut to 1,000
  /// characters.
  /// Written here, byte for byte what JSONEncoder gives with
  /// `[.sortedKeys, .withoutEscapingSlashes]`, without its cost (the CA
  /// appends one record per certificate inside the issuance transaction).
  package static func json(_ details: [String: String]) -> String {
    var text: [UInt8] = [UInt8(ascii: "{")]
    for (index, key) in details.keys.sorted().enumerated() {
      if index > 0 { text.append(UInt8(ascii: ",")) }
      appendJSONString(key, to: &text)
      text.append(UInt8(ascii: ":"))
      appendJSONString(String(details[key]!.prefix(maximumField)), to: &text)
    }
    text.append(UInt8(ascii: "}"))
    return String(decoding: text, as: UTF8.self)
  }

  /// A JSON string (RFC 8259 §7): quote, backslash and control
  /// characters escaped, everything else as UTF-8.
  static func appendJSONString(_ string: String, to text: inout [UInt8]) {
    text.append(UInt8(ascii: "\""))
    for byte in string.utf8 {
      switch byte {
      case UInt8(ascii: "\""): text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
      case UInt8(ascii: "\\"): text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
      case 0x0A: text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
      case 0x0D: text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
      case 0x09: text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
      case 0x08: text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
      case 0x0C: text.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
      case 0..<0x20:
        let digits = Array("0123456789abcdef".utf8)
        text.append(contentsOf: Array("\\u00".utf8))
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
      default: text.append(byte)
      }
    }
    text.append(UInt8(ascii: "\""))
  }

  /// Checks the whole chain: every record's hash over its own fields,
  /// every link to the record before, no gap in the numbers, and the head
  /// equal to the last record. Reads in pages of 5,000.
  public func verify() async throws -> AuditVerification {
    let sql = try database.sql
    var expectedSeq: Int64 = 1
    var previous = Self.genesisHash
    var checked: Int64 = 0
    while true {
      let rows = try await sql.select().column("*").from("audit_events")
        .where("seq", .greaterThanOrEqual, expectedSeq).orderBy("seq").limit(5_000).all()
      if rows.isEmpty { break }
      for row in rows {
        let record = try row.decode(model: AuditRecord.self, keyDecodingStrategy: .useDefaultKeys)
        if record.seq != expectedSeq {
          return AuditVerification(
            records: checked,
            firstBroken: (expectedSeq, "record \(expectedSeq) is missing (next is \(record.seq))"))
        }
        if record.previousHash != previous {
          return AuditVerification(
            records: checked,
            firstBroken: (
              record.seq, "its previous hash is not the hash of record \(record.seq - 1)"
            ))
        }
        if record.hash != record.expectedHash {
          return AuditVerification(
            records: checked,
            firstBroken: (record.seq, "its contents do not match its hash"))
        }
        previous = record.hash
        expectedSeq += 1
        checked += 1
      }
    }
    guard
      let head = try await sql.select().columns("seq", "hash").from("audit_head")
        .where("id", .equal, 1).first()
    else { throw AuditTrailMissing() }
    let headSeq = try head.decode(column: "seq", as: Int64.self)
    let headHash = try head.decode(column: "hash", as: String.self)
    if headSeq != checked || headHash != previous {
      return AuditVerification(
        records: checked,
        firstBroken: (
          checked + 1,
          "the chain ends at record \(checked) but its head says \(headSeq): records after \(checked) were removed"
        ))
    }
    return AuditVerification(records: checked, firstBroken: nil)
  }

  /// Records matching the filters, newest first.
  public func search(
    actor: String?, action: String?, subject: String?, before: Int64?, limit: Int
  ) async throws -> [AuditRecord] {
    let sql = try database.sql
    var query = sql.select().column("*").from("audit_events")
    if let actor, !actor.isEmpty { query = query.where("actor", .equal, actor) }
    if let action, !action.isEmpty { query = query.where("action", .equal, action) }
    if let subject, !subject.isEmpty { query = query.where("subject", .equal, subject) }
    if let before { query = query.where("seq", .lessThan, before) }
    return try await query.orderBy("seq", .descending).limit(limit).all().map {
      try $0.decode(model: AuditRecord.self, keyDecodingStrategy: .useDefaultKeys)
    }
  }

  /// Every record in order, as JSON lines, a page at a time.
  public func exportJSONLines(write: (String) async throws -> Void) async throws {
    let sql = try database.sql
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    var after: Int64 = 0
    while true {
      let rows = try await sql.select().column("*").from("audit_events")
        .where("seq", .greaterThan, after).orderBy("seq").limit(5_000).all()
      if rows.isEmpty { break }
      var page = ""
      for row in rows {
        let record = try row.decode(model: AuditRecord.self, keyDecodingStrategy: .useDefaultKeys)
        page += String(decoding: try encoder.encode(record), as: UTF8.self) + "\n"
        after = record.seq
      }
      try await write(page)
    }
  }

  struct AuditTrailMissing: Error, CustomStringConvertible {
    var description: String { "the audit trail's head row is missing; run `mailseal migrate`" }
  }
}

extension AuditRecord {
  /// The hash of a record: SHA-256 over its fields and the previous hash,
  /// each field length-prefixed so that no two records share an input.
  static func hash(
    seq: Int64, atMilliseconds: Int64, actor: String, action: String, subject: String,
    details: String, previousHash: String
  ) -> String {
    var hasher = SHA256()
    for field in [
      "\(seq)", "\(atMilliseconds)", actor, action, subject, details, previousHash,
    ] {
      let bytes = Array(field.utf8)
      hasher.update(data: Array("\(bytes.count):".utf8))
      hasher.update(data: bytes)
    }
    return Self.hex(hasher.finalize())
  }

  /// Lower-case hex of a digest.
  static func hex(_ digest: SHA256.Digest) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(64)
    for byte in digest {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
  }

  var expectedHash: String {
    Self.hash(
      seq: seq, atMilliseconds: atMilliseconds, actor: actor, action: action, subject: subject,
      details: details, previousHash: previousHash)
  }
}
