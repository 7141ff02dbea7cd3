import Crypto
public import FluentKit
import Foundation
import MailsealCA
import MailsealStore
import SQLKit

/// One action for the audit trail: who did what to which thing.
public struct AuditEvent: Sendable, Hashable {
  /// `requester:<mailbox>`, `operator:<email>`, `ca`, `cli`.
  public var actor: String
  /// What happened, dotted: `request.submitted`, `certificate.revoked`, …
  public var action: String
  /// What it happened to: a request number, a serial, an address.
  public var subject: String
  /// The facts that matter, as text.
  public var details: [String: String]

  public init(
    actor: String, action: AuditAction, subject: String, details: [String: String] = [:]
  ) {
    self.actor = actor
    self.action = action.rawValue
    self.subject = subject
    self.details = details
  }

  /// The actor string of a requester signed in for `mailbox`.
  public static func requester(_ mailbox: String) -> String { "requester:\(mailbox)" }
  /// The actor string of a staff member.
  public static func staff(_ email: String) -> String { "operator:\(email)" }
  /// The CA itself (the issuance worker, the CRL publisher).
  public static let ca = "ca"
  /// An administrator at the command line.
  public static let commandLine = "cli"
  /// The organisation's OpenID provider (what its claims changed).
  public static let identityProvider = "identity-provider"
}

/// Every kind of audited event. The stored action is the raw value,
/// dotted and stable: auditors filter by it, exports carry it.
public enum AuditAction: String, Sendable, CaseIterable, Codable {
  case loginLinkSent = "login-link.sent"
  case loginLinkUsed = "login-link.used"
  case requestSubmitted = "request.submitted"
  case requestWithdrawn = "request.withdrawn"
  case evidenceRecorded = "evidence.recorded"
  case requestApproved = "request.approved"
  case requestRejected = "request.rejected"
  case issuanceHeld = "issuance.held"
  case issuanceRefused = "issuance.refused"
  case certificateIssued = "certificate.issued"
  case certificateRevoked = "certificate.revoked"
  case crlPublished = "crl.published"
  case ocspResponderIssued = "ocsp-responder.issued"
  case caCreated = "ca.created"
  case caImported = "ca.imported"
  case renewalReminded = "renewal.reminded"
  case noticeSet = "notice.set"
  case noticeCleared = "notice.cleared"
  case issuancePaused = "issuance.paused"
  case issuanceResumed = "issuance.resumed"
  case operatorAdded = "operator.added"
  case operatorEnrolled = "operator.enrolled"
  case operatorSignedIn = "operator.signed-in"
  case operatorSignInFailed = "operator.sign-in-failed"
  case operatorLocked = "operator.locked"
  case operatorRoleChanged = "operator.role-changed"
  case operatorAddressChanged = "operator.address-changed"
  case identityProviderSignedIn = "identity-provider.signed-in"
  case identityProviderRefused = "identity-provider.refused"
  case identityProviderLoggedOut = "identity-provider.logged-out"
  case auditExported = "audit.exported"
  case recoveryCertificateInstalled = "recovery-certificate.installed"
  case recoveryCertificateRemoved = "recovery-certificate.removed"
  case escrowExported = "escrow.exported"
  case escrowStopped = "escrow.stopped"
  case escrowResumed = "escrow.resumed"
  case publicationSetAside = "publication.set-aside"
  case recoveryRequested = "key-recovery.requested"
  case recoveryApproved = "key-recovery.approved"
  case recoveryDeclined = "key-recovery.declined"
  case recoveryEnvelopeDownloaded = "key-recovery.envelope-downloaded"
}

/// A stored audit record.
public struct AuditRecord: Sendable, Hashable, Codable {
  public let seq: Int64
  public let atMilliseconds: Int64
  public let actor: String
  public let action: String
  public let subject: String
  /// A JSON object with sorted keys.
  public let details: String
  public let previousHash: String
  public let hash: String

  public var at: Date { Date(timeIntervalSince1970: Double(atMilliseconds) / 1000) }

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
    return Array(hasher.finalize()).hexString
  }

  var expectedHash: String {
    Self.hash(
      seq: seq, atMilliseconds: atMilliseconds, actor: actor, action: action, subject: subject,
      details: details, previousHash: previousHash)
  }

  enum CodingKeys: String, CodingKey {
    case seq
    case atMilliseconds = "at_ms"
    case actor, action, subject, details
    case previousHash = "previous_hash"
    case hash
  }
}

/// The audit trail: append-only, each record holding the hash of the one
/// before it, appended in the transaction of the action it records, so
/// that an action and its record are stored together or not at all.
public enum AuditTrail {
  /// The "previous hash" of the first record.
  public static let genesisHash = AuditChain.genesisHash

  static let maximumField = 1_000

  /// Takes the chain head's row lock for the rest of the caller's
  /// transaction (every audited change takes it), so that what the
  /// transaction checks next sees every change committed before it.
  static func holdHead(on database: any Database) async throws {
    try await database.sql.raw("UPDATE audit_head SET seq = seq WHERE id = 1").run()
  }

  /// Appends events (in order) in the caller's transaction, or in one of
  /// its own. Appends from all instances are serialised on the chain's
  /// head row.
  public static func append(
    _ events: [AuditEvent], on database: any Database, now: Date = Date()
  ) async throws {
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
        let actor = String(event.actor.prefix(maximumField))
        let subject = String(event.subject.prefix(maximumField))
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

  /// Appends one event.
  public static func append(_ event: AuditEvent, on database: any Database, now: Date = Date())
    async throws
  {
    try await append([event], on: database, now: now)
  }

  /// Details as a JSON object with sorted keys, values cut to 1,000
  /// characters.
  /// Written here, byte for byte what JSONEncoder gives with
  /// `[.sortedKeys, .withoutEscapingSlashes]`, without its cost (the CA
  /// appends one record per certificate inside the issuance transaction).
  static func json(_ details: [String: String]) -> String {
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

  /// What `verify` found.
  public struct Verification: Sendable, Equatable {
    /// How many records were checked.
    public var records: Int64
    /// The first record that does not hold, and why; nil when the chain
    /// holds from the first record to the head.
    public var firstBroken: (seq: Int64, reason: String)?

    public static func == (lhs: Verification, rhs: Verification) -> Bool {
      lhs.records == rhs.records && lhs.firstBroken?.seq == rhs.firstBroken?.seq
        && lhs.firstBroken?.reason == rhs.firstBroken?.reason
    }
  }

  /// Checks the whole chain: every record's hash over its own fields,
  /// every link to the record before, no gap in the numbers, and the head
  /// equal to the last record. Reads in pages of 5,000.
  public static func verify(on database: any Database) async throws -> Verification {
    let sql = try database.sql
    var expectedSeq: Int64 = 1
    var previous = genesisHash
    var checked: Int64 = 0
    while true {
      let rows = try await sql.select().column("*").from("audit_events")
        .where("seq", .greaterThanOrEqual, expectedSeq).orderBy("seq").limit(5_000).all()
      if rows.isEmpty { break }
      for row in rows {
        let record = try row.decode(model: AuditRecord.self, keyDecodingStrategy: .useDefaultKeys)
        if record.seq != expectedSeq {
          return Verification(
            records: checked,
            firstBroken: (expectedSeq, "record \(expectedSeq) is missing (next is \(record.seq))"))
        }
        if record.previousHash != previous {
          return Verification(
            records: checked,
            firstBroken: (
              record.seq, "its previous hash is not the hash of record \(record.seq - 1)"
            ))
        }
        if record.hash != record.expectedHash {
          return Verification(
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
      return Verification(
        records: checked,
        firstBroken: (
          checked + 1,
          "the chain ends at record \(checked) but its head says \(headSeq): records after \(checked) were removed"
        ))
    }
    return Verification(records: checked, firstBroken: nil)
  }

  /// Records matching the filters, newest first.
  public static func search(
    actor: String?, action: String?, subject: String?, before: Int64?, limit: Int,
    on database: any Database
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
  public static func exportJSONLines(
    on database: any Database, write: (String) async throws -> Void
  ) async throws {
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
