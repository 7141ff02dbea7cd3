import Crypto
import Fluent
import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import SwiftASN1
import Synchronization
import Testing
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Issuance records the intent, signs once, stores; refusals leave nothing behind")
struct IssuanceServiceTests {
  static func service(_ app: Application) async throws -> IssuanceService {
    try await app.caInstallation.initialize(keyType: .p256, test: true)
    let (authority, issuerID) = try await app.caInstallation.loadActiveAuthority()
    return IssuanceService(authority: authority, issuerID: issuerID, database: app.db)
  }

  static func count(_ app: Application, _ table: String, where condition: String = "1=1")
    async throws -> Int
  {
    let row = try await app.db.sql.raw(
      "SELECT COUNT(*) AS n FROM \(unsafeRaw: table) WHERE \(unsafeRaw: condition)"
    ).first()
    return try row!.decode(column: "n", as: Int.self)
  }

  @Test("an issued certificate is stored with its names and its intent is closed")
  func issueOne() async throws {
    try await TestInstallation.withApp { app in
      let service = try await Self.service(app)
      let folder = try Run.temporaryDirectory()
      defer { try? FileManager.default.removeItem(at: folder) }
      let (csr, _) = try Run.csr(in: folder, name: "zoe")
      let subject = try ValidatedSubject.person(
        mailbox: "zoe@example.edu", givenName: "Zoë", surname: "Müller")
      let signed = try await service.issue(
        IssuanceOrder(request: Array(try Data(contentsOf: csr)), subject: subject))

      let record = try #require(
        try await CertificateRecord.query(on: app.db).filter(\.$serial == signed.prepared.serialHex)
          .first())
      #expect(Array(record.der) == signed.der)
      #expect(
        record.mailbox == "zoe@example.edu" && record.givenName == "Zoë"
          && record.surname == "Müller")
      #expect(record.commonName == "Zoë Müller" && record.pseudonym == nil)
      #expect(record.profile == CertificateProfile.sponsorValidatedPersonal.rawValue)
      #expect(record.status == .active && record.keyType == "rsa3072")
      let intent = try #require(
        try await IssuanceIntentRecord.find(signed.prepared.serialHex, on: app.db))
      #expect(intent.state == .signed && intent.completedAt != nil)
      // The intent holds exactly the to-be-signed bytes of the certificate.
      let certificate = try Certificate(derEncoded: signed.der)
      #expect(
        intent.tbsSHA256 == Array(SHA256.hash(data: certificate.tbsCertificateBytes)).hexString)
      #expect(intent.notAfter == certificate.notValidAfter)
      #expect(
        certificate.publicKey.isValidSignature(certificate.signature, for: certificate) == false)
      #expect(
        service.authority.certificate.publicKey.isValidSignature(
          certificate.signature, for: certificate))
    }
  }

  @Test(
    "a key certified for one mailbox is refused for another, also within one batch; the same mailbox may reuse it"
  )
  func keyReuse() async throws {
    try await TestInstallation.withApp { app in
      let service = try await Self.service(app)
      let folder = try Run.temporaryDirectory()
      defer { try? FileManager.default.removeItem(at: folder) }
      let (csr, _) = try Run.csr(in: folder, name: "shared", key: "ec:P-256")
      let request = Array(try Data(contentsOf: csr))
      let results = try await service.issue([
        IssuanceOrder(request: request, subject: try .mailboxOnly("a@example.edu")),
        IssuanceOrder(request: request, subject: try .mailboxOnly("b@example.edu")),
        IssuanceOrder(
          request: request, subject: try .pseudonym(mailbox: "a@example.edu", name: "Team A")),
      ])
      #expect((try? results[0].get()) != nil)
      #expect(results[1].failureCode == .keyAlreadyCertified)
      #expect((try? results[2].get()) != nil)
      let later = try await service.issue([
        IssuanceOrder(request: request, subject: try .mailboxOnly("c@example.edu"))
      ])
      #expect(later[0].failureCode == .keyAlreadyCertified)
      #expect(try await Self.count(app, "certificates") == 2)
      #expect(try await Self.count(app, "issuance_intents") == 2)
    }
  }

  @Test(
    "the key look-up sees another mailbox however often the key was certified for its own, in certificates and in intents"
  )
  func keyFactsAmongManyRows() async throws {
    try await TestInstallation.withApp { app in
      let service = try await Self.service(app)
      let folder = try Run.temporaryDirectory()
      defer { try? FileManager.default.removeItem(at: folder) }
      let (csr, _) = try Run.csr(in: folder, name: "renewed", key: "ec:P-256")
      let request = Array(try Data(contentsOf: csr))
      let fingerprint = try CertificateRequestCheck.check(request).keyFingerprint.hexString
      let mine = "m@example.edu"
      for _ in 0..<3 {
        let issued = try await service.issue([
          IssuanceOrder(request: request, subject: try .mailboxOnly(mine))
        ])
        #expect((try? issued[0].get()) != nil)
      }
      let store = Store(app.db).issuance
      var facts = try await store.keyFacts([fingerprint, "00"])
      #expect(facts.mailboxes == [fingerprint: [mine]])
      #expect(facts.refusal(of: fingerprint, for: mine) == nil)
      #expect(facts.refusal(of: fingerprint, for: "a@example.edu")?.code == .keyAlreadyCertified)
      #expect(facts.refusal(of: fingerprint, for: "z@example.edu")?.code == .keyAlreadyCertified)
      // An intent for another mailbox (below and above the certified
      // one): the key is refused for every mailbox, its own included.
      for other in ["a@example.edu", "z@example.edu"] {
        let prepared = try service.authority.prepare(
          try CertificateRequestCheck.check(request), for: try .mailboxOnly(other))
        try await IssuanceRecords.insertIntents(
          [prepared], on: app.db.sql, issuerID: service.issuerID, now: Date())
        facts = try await store.keyFacts([fingerprint])
        #expect(facts.mailboxes[fingerprint] == [mine, other])
        for mailbox in [mine, "a@example.edu", "n@example.edu", "z@example.edu"]
        where mailbox != other {
          #expect(facts.refusal(of: fingerprint, for: mailbox)?.code == .keyAlreadyCertified)
        }
        try await app.db.sql.raw("DELETE FROM issuance_intents WHERE mailbox = \(bind: other)")
          .run()
      }
    }
  }

  @Test("a blocked key is refused and refusals write nothing")
  func blockedAndRefused() async throws {
    try await TestInstallation.withApp { app in
      let service = try await Self.service(app)
      let folder = try Run.temporaryDirectory()
      defer { try? FileManager.default.removeItem(at: folder) }
      let (csr, _) = try Run.csr(in: folder, name: "compromised", key: "ec:P-384")
      let request = Array(try Data(contentsOf: csr))
      let checked = try CertificateRequestCheck.check(request)
      try await BlockedKeyRecord(
        keyFingerprint: checked.keyFingerprint.hexString, reason: "keyCompromise", createdAt: Date()
      ).create(on: app.db)
      let results = try await service.issue([
        IssuanceOrder(request: request, subject: try .mailboxOnly("x@example.edu")),
        IssuanceOrder(
          request: Array("not a request".utf8), subject: try .mailboxOnly("y@example.edu")),
      ])
      #expect(results[0].failureCode == .keyCompromised)
      #expect(results[1].failureCode == .csrMalformed)
      #expect(try await Self.count(app, "certificates") == 0)
      #expect(try await Self.count(app, "issuance_intents") == 0)
    }
  }

  @Test("a batch keeps the order of its orders and every certificate is recorded")
  func batch() async throws {
    try await TestInstallation.withApp { app in
      let service = try await Self.service(app)
      let orders = try Self.orders(40)
      let results = try await service.issue(orders)
      for (index, result) in results.enumerated() {
        let signed = try result.get()
        #expect(signed.prepared.subject.mailbox.address == "m\(index)@example.edu")
      }
      #expect(try await Self.count(app, "certificates") == 40)
      #expect(try await Self.count(app, "issuance_intents", where: "state = 'signed'") == 40)
    }
  }

  /// Orders for `count` mailboxes, each with a key of its own; every
  /// `malformedEvery`-th request is not a request at all.
  static func orders(_ count: Int, malformedEvery: Int = 0) throws -> [IssuanceOrder] {
    try (0..<count).map { index in
      if malformedEvery > 0 && index % malformedEvery == malformedEvery - 1 {
        return IssuanceOrder(
          request: Array("not a request".utf8), subject: try .mailboxOnly("m\(index)@example.edu"))
      }
      let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
      let csr = try CertificateSigningRequest(
        version: .v1, subject: DistinguishedName { CommonName("x") }, privateKey: key,
        attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256)
      var coder = DER.Serializer()
      try coder.serialize(csr)
      return IssuanceOrder(
        request: coder.serializedBytes, subject: try .mailboxOnly("m\(index)@example.edu"))
    }
  }

  @Test(
    "a batch of several chunks (recorded, signed and stored in overlapping rounds): each order answered in its place, each certificate stored once with its intent closed and its audit record"
  )
  func severalChunks() async throws {
    try await TestInstallation.withApp { app in
      var service = try await Self.service(app)
      let stored = Mutex<[String]>([])
      service.afterStoring = { _, certificates in
        stored.withLock { $0 += certificates.map(\.certificate.prepared.serialHex) }
      }
      let count = 2 * IssuanceService.chunkSize + 37
      let results = try await service.issue(try Self.orders(count, malformedEvery: 50))
      #expect(results.count == count)
      var serials: Set<String> = []
      for (index, result) in results.enumerated() {
        if index % 50 == 49 {
          #expect(result.failureCode == .csrMalformed)
        } else {
          let signed = try result.get()
          #expect(signed.prepared.subject.mailbox.address == "m\(index)@example.edu")
          serials.insert(signed.prepared.serialHex)
        }
      }
      let issued = count - count / 50
      #expect(serials.count == issued)
      let storedSerials = stored.withLock { $0 }
      #expect(storedSerials.count == issued && Set(storedSerials) == serials)
      #expect(try await Self.count(app, "certificates") == issued)
      #expect(try await Self.count(app, "issuance_intents", where: "state = 'signed'") == issued)
      #expect(try await Self.count(app, "issuance_intents") == issued)
      #expect(
        try await Self.count(app, "audit_events", where: "action = 'certificate.issued'") == issued)
    }
  }

  @Test(
    "a batch of several chunks that dies before its first store: the two chunks recorded are pending, nothing is stored"
  )
  func severalChunksDieBeforeStoring() async throws {
    try await TestInstallation.withApp { app in
      var service = try await Self.service(app)
      struct Crash: Error {}
      service.faultBeforeStoring = { throw Crash() }
      let orders = try Self.orders(2 * IssuanceService.chunkSize + 5)
      await #expect(throws: Crash.self) { _ = try await service.issue(orders) }
      #expect(try await Self.count(app, "certificates") == 0)
      // Chunk 0 recorded and signed, chunk 1 recorded; the commit that
      // would have stored chunk 0 never ran.
      #expect(
        try await Self.count(app, "issuance_intents", where: "state = 'pending'")
          == 2 * IssuanceService.chunkSize)
      #expect(try await Self.count(app, "issuance_intents") == 2 * IssuanceService.chunkSize)
    }
  }

  @Test(
    "a batch that dies after signing leaves every signed certificate's intent, with its exact TBS, behind"
  )
  func signedButNotStored() async throws {
    try await TestInstallation.withApp { app in
      var service = try await Self.service(app)
      struct Crash: Error {}
      service.faultBeforeStoring = { throw Crash() }
      let orders = try (0..<5).map { index in
        IssuanceOrder(
          request: Array(try PublicEndpointTests.csr().utf8),
          subject: try .mailboxOnly("p\(index)@example.edu"))
      }
      await #expect(throws: Crash.self) { _ = try await service.issue(orders) }
      #expect(try await Self.count(app, "certificates") == 0)
      let intents = try await IssuanceIntentRecord.query(on: app.db).all()
      #expect(intents.count == 5)
      #expect(intents.allSatisfy { $0.state == .pending && $0.tbsSHA256.count == 64 })
      // After the restart, they are closed as abandoned, serials kept.
      try await IssuanceService.recoverAbandonedIntents(
        on: app.db, logger: app.logger, now: Date().addingTimeInterval(600))
      #expect(try await Self.count(app, "issuance_intents", where: "state = 'abandoned'") == 5)
    }
  }

  @Test(
    "intents left pending by a dead process are marked abandoned at start-up, young ones are left alone"
  )
  func abandonedIntents() async throws {
    try await TestInstallation.withApp { app in
      let service = try await Self.service(app)
      let sql = try app.db.sql
      for (serial, age) in [("0a", 3600.0), ("0b", 10.0)] {
        try await sql.insert(into: "issuance_intents")
          .columns(
            "serial", "issuer_id", "tbs_sha256", "not_after", "mailbox", "key_fingerprint",
            "state", "created_at"
          )
          .values(
            SQLBind(serial), SQLBind(service.issuerID),
            SQLBind(String(repeating: "0", count: 64)), SQLBind(Date()),
            SQLBind("a@example.edu"), SQLBind("00"), SQLBind("pending"),
            SQLBind(Date().addingTimeInterval(-age))
          ).run()
      }
      try await IssuanceService.recoverAbandonedIntents(on: app.db, logger: app.logger)
      #expect(
        try await Self.count(
          app, "issuance_intents", where: "serial = '0a' AND state = 'abandoned'") == 1)
      #expect(
        try await Self.count(app, "issuance_intents", where: "serial = '0b' AND state = 'pending'")
          == 1)
    }
  }
}

extension Result where Failure == CAError {
  var failureCode: CAError.Code? {
    if case .failure(let error) = self { return error.code }
    return nil
  }
}
