import Foundation
import MailsealCA
import MailsealModel
import SwiftASN1
import Testing
import Vapor
import X509

@testable import MailsealRA
@testable import MailsealStatus
@testable import MailsealStore
@testable import MailsealWeb

/// OCSP signing that a client cannot turn against the portal: responses
/// signed ahead kept per certificate and hash algorithm (no sequence of
/// CertID encodings evicts them), signatures for single requests only
/// through the gate and never on the event loop, and revocations read
/// while a signing round takes its time.
@Suite("OCSP: signed-ahead answers per certificate, a gate for single signatures")
struct OCSPGateTests {
  /// An OCSP request for one CertID (`SEQUENCE { SEQUENCE { SEQUENCE {
  /// SEQUENCE { CertID } } } }`), with the hash algorithm's parameters
  /// NULL or absent, and optionally a nonce extension.
  static func request(
    _ responder: OCSPResponder, serial: [UInt8], hash: OCSPHashAlgorithm, nullParameters: Bool,
    nonce: [UInt8]? = nil
  ) throws -> [UInt8] {
    let made = responder.certID(serialNumber: serial, hashAlgorithm: hash)
    var coder = DER.Serializer()
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        try coder.appendConstructedNode(identifier: .sequence) { coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(Self.oid(hash))
                if nullParameters { try coder.serialize(ASN1Null()) }
              }
              try coder.serialize(ASN1OctetString(contentBytes: made.issuerNameHash[...]))
              try coder.serialize(ASN1OctetString(contentBytes: made.issuerKeyHash[...]))
              coder.appendPrimitiveNode(identifier: .integer) { $0.append(contentsOf: serial) }
            }
          }
        }
        if let nonce {
          // requestExtensions [2] EXPLICIT Extensions: id-pkix-ocsp-nonce.
          try coder.serialize(explicitlyTaggedWithTagNumber: 2, tagClass: .contextSpecific) {
            coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.appendConstructedNode(identifier: .sequence) { coder in
                try coder.serialize(ASN1ObjectIdentifier("1.3.6.1.5.5.7.48.1.2"))
                var inner = DER.Serializer()
                try inner.serialize(ASN1OctetString(contentBytes: nonce[...]))
                try coder.serialize(ASN1OctetString(contentBytes: inner.serializedBytes[...]))
              }
            }
          }
        }
      }
    }
    return coder.serializedBytes
  }

  static func oid(_ hash: OCSPHashAlgorithm) -> ASN1ObjectIdentifier {
    switch hash {
    case .sha1: [1, 3, 14, 3, 2, 26]
    case .sha256: [2, 16, 840, 1, 101, 3, 4, 2, 1]
    case .sha384: [2, 16, 840, 1, 101, 3, 4, 2, 2]
    case .sha512: [2, 16, 840, 1, 101, 3, 4, 2, 3]
    }
  }

  static func responder(_ service: OCSPService) async throws -> OCSPResponder {
    try #require(try await service.loadResponders(now: Date()).first).responder
  }

  static func contains(_ bytes: [UInt8], _ part: [UInt8]) -> Bool {
    guard part.count <= bytes.count else { return false }
    return (0...(bytes.count - part.count)).contains { Array(bytes[$0..<$0 + part.count]) == part }
  }

  @Test(
    "every CertID encoding of a certificate (four hash algorithms, NULL parameters or none) is answered from one set signed once; cycling through them evicts nothing"
  )
  func perCertificate() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let issued = try await LifecycleTests.issue(app, mailbox: "anna@example.edu")
      let service = app.ocspService
      let serial = try #require([UInt8](hexString: issued.serial))
      try await OCSPBoardTests.running([service]) {
        let responder = try await Self.responder(service)
        var requests: [(OCSPHashAlgorithm, [UInt8])] = []
        for hash in OCSPHashAlgorithm.allCases {
          for null in [true, false] {
            requests.append(
              (
                hash,
                try Self.request(responder, serial: serial, hash: hash, nullParameters: null)
              ))
          }
        }
        // The signed-ahead SHA-1 answer is there before anyone asks.
        #expect(
          try await OCSPBoardTests.eventually {
            service.immediateAnswer(to: requests[0].1)?.outcome == .good
          })
        var first: [OCSPHashAlgorithm: [UInt8]] = [:]
        for (hash, request) in requests {
          let answer = await service.respond(to: request)
          #expect(answer.outcome == .good)
          if let known = first[hash] {
            #expect(answer.der == known, "\(hash): the same response for both encodings")
          } else {
            first[hash] = answer.der
          }
        }
        #expect(first.count == 4)
        // An ECDSA signature differs each time it is made: equal bytes
        // mean nothing was signed again, nothing evicted.
        for round in 0..<20 {
          for (hash, request) in requests.shuffled() {
            let answer = try #require(
              service.immediateAnswer(to: request), "\(hash) from memory in round \(round)")
            #expect(answer.der == first[hash], "\(hash) in round \(round)")
          }
        }
        let entry = try #require(
          service.board.withLock { board in
            board.entries.values.first { _ in true }
          })
        #expect(entry.signed.count == 4)
        // Each encoding is known by its bytes; no more than two per
        // algorithm for the certificate.
        #expect(service.board.withLock { $0.index.count } == 8)
      }
    }
  }

  @Test(
    "a nonce is signed only through the gate, never on the event loop; beyond it the nonce is ignored and the response signed ahead is sent; several CertIDs get tryLater"
  )
  func gate() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let issued = try await LifecycleTests.issue(app, mailbox: "anna@example.edu")
      let serial = try #require([UInt8](hexString: issued.serial))
      // Two signatures per client, one at a time.
      let service = OCSPService(
        database: app.db, configuration: app.mailseal, logger: app.logger,
        gate: OCSPSigningGate(limit: 1, ratePerClient: 0.001, burstPerClient: 2))
      try await OCSPBoardTests.running([service]) {
        let responder = try await Self.responder(service)
        let plain = try Self.request(responder, serial: serial, hash: .sha1, nullParameters: true)
        #expect(
          try await OCSPBoardTests.eventually { service.immediateAnswer(to: plain) != nil })
        let signedAhead = try #require(service.immediateAnswer(to: plain)).der
        func nonceRequest(_ nonce: UInt8) throws -> [UInt8] {
          try Self.request(
            responder, serial: serial, hash: .sha1, nullParameters: true,
            nonce: [UInt8](repeating: nonce, count: 16))
        }
        // The event loop never signs: a nonce the gate would admit goes on.
        #expect(service.immediateAnswer(to: try nonceRequest(1), client: "192.0.2.1") == nil)
        for nonce: UInt8 in [1, 2] {
          let answer = await service.respond(to: try nonceRequest(nonce), client: "192.0.2.1")
          #expect(answer.outcome == .good)
          #expect(Self.contains(answer.der, [UInt8](repeating: nonce, count: 16)))
        }
        // The client's bucket is empty: answered from memory, on the event
        // loop, with the response signed ahead (no nonce).
        let ignored = try #require(
          service.immediateAnswer(to: try nonceRequest(3), client: "192.0.2.1"))
        #expect(ignored.der == signedAhead)
        #expect(
          await service.respond(to: try nonceRequest(4), client: "192.0.2.1").der == signedAhead)
        // Another client has its own bucket.
        let other = await service.respond(to: try nonceRequest(5), client: "192.0.2.2")
        #expect(Self.contains(other.der, [UInt8](repeating: 5, count: 16)))
        // The gate full (a signature in flight): nobody gets one now.
        #expect(service.gate.admit("192.0.2.9"))
        let full = await service.respond(to: try nonceRequest(6), client: "192.0.2.3")
        #expect(full.der == signedAhead)
        service.gate.release()
        #expect(service.gate.inFlight == 0)
        // Several CertIDs beyond the gate: tryLater.
        let pair = Self.pairRequest(responder, serial: serial)
        #expect(await service.respond(to: pair, client: "192.0.2.1").outcome == .tryLater)
        #expect(await service.respond(to: pair, client: "192.0.2.4").outcome == .good)
      }
    }
  }

  /// A request for the same certificate twice (two CertIDs).
  static func pairRequest(_ responder: OCSPResponder, serial: [UInt8]) -> [UInt8] {
    let certID = responder.certID(serialNumber: serial).encoded
    var coder = DER.Serializer()
    coder.appendConstructedNode(identifier: .sequence) { coder in
      coder.appendConstructedNode(identifier: .sequence) { coder in
        coder.appendConstructedNode(identifier: .sequence) { coder in
          for _ in 0..<2 {
            coder.appendConstructedNode(identifier: .sequence) { $0.serializeRawBytes(certID) }
          }
        }
      }
    }
    return coder.serializedBytes
  }

  @Test(
    "while a round of signing ahead takes its time, revocations of another process are read and the board stays current"
  )
  func catchUpBesideSigning() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let issued = try await LifecycleTests.issue(app, mailbox: "anna@example.edu")
      let (held, release) = AsyncStream<Void>.makeStream()
      let service = OCSPService(
        database: app.db, configuration: app.mailseal, logger: app.logger, listens: false,
        beforeSigningAhead: { for await _ in held {} })
      try await OCSPBoardTests.running([service]) {
        // Loaded, and the first signing round is held.
        #expect(try await OCSPBoardTests.eventually { service.board.withLock { $0.loaded } })
        // Revoked by another process: nothing here is told.
        let elsewhere = RegistrationAuthority(
          database: app.db, configuration: app.mailseal, logger: app.logger)
        _ = try await elsewhere.certificates.revoke(
          serial: issued.serial, reason: .keyCompromise, by: .commandLine)
        let key = OCSPService.SerialKey(
          issuerID: issued.$issuer.id, serial: try #require([UInt8](hexString: issued.serial)))
        #expect(
          try await OCSPBoardTests.eventually {
            service.board.withLock { board in
              if case .revoked = board.entries[key]?.status {
                return board.isCurrent(Date(), freshness: service.freshness)
              }
              return false
            }
          })
        release.finish()
      }
    }
  }
}
