import FluentKit
import Foundation
import MailsealCA
import SQLKit

/// The storage steps of issuance, in SQL so that a batch costs a handful of
/// statements: the key facts for the checks, the intents before signing,
/// the certificates after.
struct IssuanceStore {
  let database: any Database
  var sql: any SQLDatabase { database as! any SQLDatabase }

  /// What the store knows about some public keys: for which mailboxes each
  /// is certified (or about to be), and which are blocked.
  struct KeyFacts {
    var mailboxes: [String: Set<String>] = [:]
    var blocked: Set<String> = []
  }

  /// Looks up the facts for the given key fingerprints (hex).
  func keyFacts(_ fingerprints: [String]) async throws -> KeyFacts {
    var facts = KeyFacts()
    guard !fingerprints.isEmpty else { return facts }
    for chunk in Array(Set(fingerprints)).chunked(into: 500) {
      let binds = Array(chunk)
      let certified = try await sql.select().column("key_fingerprint").column("mailbox").from(
        "certificates"
      )
      .where("key_fingerprint", .in, binds).all()
      let intended = try await sql.select().column("key_fingerprint").column("mailbox").from(
        "issuance_intents"
      )
      .where("key_fingerprint", .in, binds).where("state", .notEqual, "signed").all()
      for row in certified + intended {
        let fingerprint = try row.decode(column: "key_fingerprint", as: String.self)
        facts.mailboxes[fingerprint, default: []].insert(
          try row.decode(column: "mailbox", as: String.self))
      }
      for row in try await sql.select().column("key_fingerprint").from("blocked_keys").where(
        "key_fingerprint", .in, binds
      ).all() {
        facts.blocked.insert(try row.decode(column: "key_fingerprint", as: String.self))
      }
    }
    return facts
  }

  /// Records the intents durably, in one transaction, before any signature.
  func recordIntents(_ prepared: [PreparedCertificate], issuerID: UUID, now: Date) async throws {
    guard !prepared.isEmpty else { return }
    try await database.transaction { database in
      let sql = database as! any SQLDatabase
      for chunk in prepared.chunked(into: 500) {
        var insert = sql.insert(into: "issuance_intents")
          .columns(
            "id", "issuer_id", "serial", "tbs_der", "mailbox", "key_fingerprint", "state",
            "created_at")
        for item in chunk {
          insert = insert.values(
            SQLBind(UUID()), SQLBind(issuerID), SQLBind(item.serialHex),
            SQLBind(Data(item.tbsCertificate)),
            SQLBind(item.subject.mailbox.address), SQLBind(item.keyFingerprint.hexString),
            SQLBind(IssuanceIntentRecord.State.pending.rawValue), SQLBind(now)
          )
        }
        try await insert.run()
      }
    }
  }

  /// Stores the signed certificates and closes their intents, in one
  /// transaction.
  func storeCertificates(
    _ signed: [(SignedCertificate, SubscriberKeyType)], issuerID: UUID, now: Date
  ) async throws {
    guard !signed.isEmpty else { return }
    try await database.transaction { database in
      let sql = database as! any SQLDatabase
      for chunk in signed.chunked(into: 400) {
        var insert = sql.insert(into: "certificates").columns(
          "id", "issuer_id", "serial", "der", "mailbox", "profile", "common_name", "given_name",
          "surname",
          "pseudonym", "key_fingerprint", "key_type", "not_before", "not_after", "status",
          "created_at"
        )
        for (certificate, keyType) in chunk {
          let prepared = certificate.prepared
          let subject = prepared.subject
          var given: String?
          var surname: String?
          var pseudonym: String?
          switch subject.identity {
          case .person(let g, let s):
            given = g.value
            surname = s.value
          case .pseudonym(let p):
            pseudonym = p.value
          case .mailboxOnly:
            break
          }
          insert = insert.values(
            SQLBind(UUID()), SQLBind(issuerID), SQLBind(prepared.serialHex),
            SQLBind(Data(certificate.der)),
            SQLBind(subject.mailbox.address), SQLBind(subject.profile.rawValue),
            SQLBind(subject.commonName),
            SQLBind(given), SQLBind(surname), SQLBind(pseudonym),
            SQLBind(prepared.keyFingerprint.hexString),
            SQLBind(keyType.storageName), SQLBind(prepared.notBefore), SQLBind(prepared.notAfter),
            SQLBind(CertificateRecord.Status.active.rawValue), SQLBind(now)
          )
        }
        try await insert.run()
        try await sql.update("issuance_intents")
          .set("state", to: IssuanceIntentRecord.State.signed.rawValue)
          .set("completed_at", to: now)
          .where("serial", .in, chunk.map { $0.0.prepared.serialHex })
          .run()
      }
    }
  }

  /// Marks intents abandoned that have been pending for longer than any
  /// batch takes (another instance may be signing younger ones right now)
  /// and returns their serials. Should such a certificate still be stored,
  /// the store sets its intent to signed.
  func abandonPendingIntents(olderThan cutoff: Date, now: Date) async throws -> [String] {
    let rows = try await sql.select().column("serial").from("issuance_intents")
      .where("state", .equal, IssuanceIntentRecord.State.pending.rawValue)
      .where("created_at", .lessThan, cutoff)
      .all()
    let serials = try rows.map { try $0.decode(column: "serial", as: String.self) }
    guard !serials.isEmpty else { return [] }
    try await sql.update("issuance_intents")
      .set("state", to: IssuanceIntentRecord.State.abandoned.rawValue)
      .set("completed_at", to: now)
      .where("serial", .in, serials)
      .run()
    return serials
  }
}

extension SubscriberKeyType {
  /// How the key type is stored: `rsa2048`, `p256`, …
  var storageName: String {
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
  func chunked(into size: Int) -> [ArraySlice<Element>] {
    stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
  }
}
