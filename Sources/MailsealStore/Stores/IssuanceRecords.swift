import Crypto
public import FluentKit
import Foundation
public import MailsealCA
import MailsealModel
package import SQLKit

/// A certificate the CA signed, to store: with its key type, the request
/// it answers (nil: the command line) and its key's purpose.
public struct StoredCertificate: Sendable {
  public let certificate: SignedCertificate
  public let keyType: SubscriberKeyType
  public let requestID: UUID?
  public var purpose: KeyPurpose = .dualUse

  public init(
    certificate: SignedCertificate, keyType: SubscriberKeyType, requestID: UUID?,
    purpose: KeyPurpose = .dualUse
  ) {
    self.certificate = certificate
    self.keyType = keyType
    self.requestID = requestID
    self.purpose = purpose
  }
}

/// The storage steps of issuance, in SQL so that a batch costs a handful of
/// statements: the key facts for the checks, the intents before signing,
/// the certificates after.
public struct IssuanceRecords: Sendable {
  let database: any Database
  var sql: any SQLDatabase { get throws { try database.sql } }

  /// What the store knows about some public keys: which mailboxes each is
  /// certified for (or about to be), and which are blocked.
  ///
  /// `mailboxes` holds, per key, the least and the greatest mailbox of its
  /// certificates and of its intents — not every one. That is all the rule
  /// needs: some mailbox differs from a given one exactly when the least or
  /// the greatest does (if both equal it, every one between them does).
  /// Each is one step down an index, however often the key was certified.
  public struct KeyFacts: Sendable {
    public var mailboxes: [String: Set<String>] = [:]
    public var blocked: Set<String> = []

    public init() {}

  }

  /// Looks up the facts for the given key fingerprints (hex): one query for
  /// the mailboxes (the least and greatest of certificates and of intents,
  /// see ``KeyFacts``) and one for blocked keys.
  public func keyFacts(_ fingerprints: [String]) async throws -> KeyFacts {
    var facts = KeyFacts()
    guard !fingerprints.isEmpty else { return facts }
    let bounds = ["certificates", "issuance_intents"].flatMap { table in
      ["min", "max"].map { function in
        "(SELECT \(function)(mailbox) FROM \(table) WHERE key_fingerprint = f.fingerprint)"
      }
    }
    for chunk in Array(Set(fingerprints)).chunked(into: BulkInsert.rowsPerStatement) {
      let rows = try await sql.raw(
        """
        WITH f(fingerprint) AS (\(SQLRowsOf(Array(chunk))))
        SELECT fingerprint, \(unsafeRaw: bounds.enumerated().map { "\($1) AS m\($0)" }.joined(separator: ", "))
        FROM f
        """
      ).all()
      for row in rows {
        let fingerprint = try row.decode(column: "fingerprint", as: String.self)
        for index in bounds.indices {
          if let mailbox = try row.decode(column: "m\(index)", as: String?.self) {
            facts.mailboxes[fingerprint, default: []].insert(mailbox)
          }
        }
      }
      for row in try await sql.select().column("key_fingerprint").from("blocked_keys")
        .where(SQLAmong("key_fingerprint", Array(chunk))).all()
      {
        facts.blocked.insert(try row.decode(column: "key_fingerprint", as: String.self))
      }
    }
    return facts
  }

  /// One durable transaction of the pipeline: stores the certificates of the
  /// previous chunk (closing their intents) and records the intents of the
  /// next one. Grouping the two halves the commits; the order of the
  /// pipeline still holds, since a chunk is signed only after the commit
  /// that recorded it, and stored only in a later one.
  public func commit(
    storing signed: [StoredCertificate],
    recording prepared: [PreparedCertificate],
    issuerID: UUID, now: Date,
    afterStoring: @escaping @Sendable (Store, [StoredCertificate]) async throws -> Void
  ) async throws {
    guard !signed.isEmpty || !prepared.isEmpty else { return }
    try await database.transaction { database in
      let sql = try database.sql
      try await Self.insertCertificates(signed, on: sql, issuerID: issuerID, now: now)
      if !signed.isEmpty { try await afterStoring(Store(database), signed) }
      try await Self.insertIntents(prepared, on: sql, issuerID: issuerID, now: now)
    }
  }

  /// Stores certificates another CA signed (an upstream's), in the
  /// caller's transaction: no intent precedes them.
  public func store(_ certificates: [StoredCertificate], issuerID: UUID, now: Date) async throws {
    try await Self.insertCertificates(certificates, on: sql, issuerID: issuerID, now: now)
  }

  package static func insertIntents(
    _ prepared: [PreparedCertificate], on sql: any SQLDatabase, issuerID: UUID, now: Date
  ) async throws {
    let count = prepared.count
    try await BulkInsert(into: "issuance_intents")
      .column("serial", .text(prepared.map(\.serialHex)))
      .column("issuer_id", .uuid(Array(repeating: issuerID, count: count)))
      .column(
        "tbs_sha256",
        .text(prepared.map { Array(SHA256.hash(data: $0.tbsCertificate)).hexString })
      )
      .column("not_after", .timestamp(prepared.map(\.notAfter)))
      .column("mailbox", .text(prepared.map(\.subject.mailbox.address)))
      .column("key_fingerprint", .text(prepared.map(\.keyFingerprint.hexString)))
      .column(
        "state",
        .text(Array(repeating: IssuanceIntentRecord.State.pending.rawValue, count: count))
      )
      .column("created_at", .timestamp(Array(repeating: now, count: count)))
      .run(on: sql)
  }

  static func insertCertificates(
    _ signed: [StoredCertificate], on sql: any SQLDatabase, issuerID: UUID,
    now: Date
  ) async throws {
    guard !signed.isEmpty else { return }
    let count = signed.count
    var (given, surname, pseudonym) = ([String?](), [String?](), [String?]())
    for item in signed {
      var names: (given: String?, surname: String?, pseudonym: String?) = (nil, nil, nil)
      switch item.certificate.prepared.subject.identity {
      case .person(let g, let s): (names.given, names.surname) = (g.value, s.value)
      case .pseudonym(let p): names.pseudonym = p.value
      case .mailboxOnly: break
      }
      given.append(names.given)
      surname.append(names.surname)
      pseudonym.append(names.pseudonym)
    }
    let prepared = signed.map(\.certificate.prepared)
    try await BulkInsert(into: "certificates")
      .column("id", .uuid((0..<count).map { _ in UUID() }))
      .column("issuer_id", .uuid(Array(repeating: issuerID, count: count)))
      .column("serial", .text(prepared.map(\.serialHex)))
      .column("der", .bytes(signed.map { Data($0.certificate.der) }))
      .column("mailbox", .text(prepared.map(\.subject.mailbox.address)))
      .column("profile", .text(prepared.map(\.subject.profile.rawValue)))
      .column("common_name", .text(prepared.map(\.subject.commonName)))
      .column("given_name", .optionalText(given))
      .column("surname", .optionalText(surname))
      .column("pseudonym", .optionalText(pseudonym))
      .column("key_fingerprint", .text(prepared.map(\.keyFingerprint.hexString)))
      .column("key_type", .text(signed.map(\.keyType.storageName)))
      .column("not_before", .timestamp(prepared.map(\.notBefore)))
      .column("not_after", .timestamp(prepared.map(\.notAfter)))
      .column(
        "status", .text(Array(repeating: CertificateRecord.Status.active.rawValue, count: count))
      )
      .column("created_at", .timestamp(Array(repeating: now, count: count)))
      .column("request_id", .optionalUUID(signed.map(\.requestID)))
      .column("key_purpose", .text(signed.map(\.purpose.rawValue)))
      .run(on: sql)
    for chunk in prepared.chunked(into: BulkInsert.rowsPerStatement) {
      try await sql.update("issuance_intents")
        .set("state", to: IssuanceIntentRecord.State.signed.rawValue)
        .set("completed_at", to: now)
        .where(SQLAmong("serial", chunk.map(\.serialHex)))
        .run()
    }
  }

  /// Closes the intents whose signature the key's custody refused: no
  /// certificate exists with these serials.
  public func markUnsigned(_ serials: [String], now: Date) async throws {
    for chunk in serials.chunked(into: BulkInsert.rowsPerStatement) {
      try await sql.update("issuance_intents")
        .set("state", to: IssuanceIntentRecord.State.unsigned.rawValue)
        .set("completed_at", to: now)
        .where(SQLAmong("serial", Array(chunk)))
        .where("state", .equal, IssuanceIntentRecord.State.pending.rawValue)
        .run()
    }
  }

  /// Marks intents abandoned that have been pending for longer than any
  /// batch takes (another instance may be signing younger ones right now)
  /// and returns their serials. Should such a certificate still be stored,
  /// the store sets its intent to signed.
  public func abandonPendingIntents(olderThan cutoff: Date, now: Date) async throws -> [String] {
    let rows = try await sql.select().column("serial").from("issuance_intents")
      .where("state", .equal, IssuanceIntentRecord.State.pending.rawValue)
      .where("created_at", .lessThan, cutoff)
      .all()
    let serials = try rows.map { try $0.decode(column: "serial", as: String.self) }
    guard !serials.isEmpty else { return [] }
    for chunk in serials.chunked(into: BulkInsert.rowsPerStatement) {
      try await sql.update("issuance_intents")
        .set("state", to: IssuanceIntentRecord.State.abandoned.rawValue)
        .set("completed_at", to: now)
        .where(SQLAmong("serial", Array(chunk)))
        .run()
    }
    return serials
  }
}

extension SubscriberKeyType {
  /// How the key type is stored: `rsa2048`, `p256`, …
  package var storageName: String {
    switch self {
    case .rsa(let bits): return "rsa\(bits)"
    case .ecP256: return "p256"
    case .ecP384: return "p384"
    case .ecP521: return "p521"
    }
  }
}

extension Array {
  /// Consecutive slices of at most `size` elements.
  package func chunked(into size: Int) -> [ArraySlice<Element>] {
    stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
  }
}
