import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import Synchronization
import Testing
import Vapor

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

/// An issuer that takes every order and finishes none yet (an upstream CA
/// that collects later), counting what it was asked.
final class WaitingIssuer: Issuer, Sendable {
  let asked = Mutex<[UUID]>([])
  var name: String { "waiting" }
  func ensureReady() async throws {}
  func issue(_ orders: [IssuanceOrder], now: Date, afterStoring: @escaping AfterStoring)
    async throws -> [IssuanceOutcome]
  {
    asked.withLock { $0 += orders.compactMap(\.requestID) }
    return orders.map { .pending(reference: "order-\($0.requestID?.uuidString ?? "?")") }
  }
}

/// A publisher that keeps what it is given, failing while told to.
final class KeepingPublisher: Publisher, Sendable {
  struct State {
    var applied: [PublicationChange] = []
    var failures = 0
    var permanent: String?
  }
  let state = Mutex(State())
  var name: String { "test" }

  func apply(_ change: PublicationChange) async throws {
    try state.withLock { state in
      if let reason = state.permanent, change.mailbox == reason {
        throw PublicationFailure("no entry for \(reason)", permanent: true)
      }
      if state.failures > 0 {
        state.failures -= 1
        throw PublicationFailure("directory unreachable", permanent: false)
      }
      state.applied.append(change)
    }
  }

  var applied: [PublicationChange] { state.withLock { $0.applied } }
}

/// The seams for what comes next: an ``Issuer`` (the embedded CA is one; an
/// upstream CA will be another) and a ``Publisher`` fed from a durable
/// queue.
@Suite("Seams: the issuer and the publisher")
struct SeamTests {
  @Test(
    "an issuer that finishes later: the request stays approved and claimed, nothing is stored, refused or mailed; asked again once the claim runs out"
  )
  func pendingOrders() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let issuer = WaitingIssuer()
      let worker = IssuanceWorker(
        database: app.db, configuration: app.mailseal, logger: app.logger, lease: 60,
        issuer: { issuer })
      let request = try await BackOfficeTests.request(
        app, mailbox: "zoe@example.edu", state: .approved, approvedAt: Date())
      let now = Date()
      #expect(try await worker.issueDue(now: now) == 0)
      #expect(issuer.asked.withLock { $0 } == [request.id!])
      // Claimed: not asked again while the claim holds …
      #expect(try await worker.issueDue(now: now.addingTimeInterval(30)) == 0)
      #expect(issuer.asked.withLock { $0.count } == 1)
      // … and again after it ran out (the issuer looks its order up).
      #expect(try await worker.issueDue(now: now.addingTimeInterval(90)) == 0)
      #expect(issuer.asked.withLock { $0.count } == 2)
      let stored = try #require(try await CertificateRequestRecord.find(request.id, on: app.db))
      #expect(stored.state == .approved && stored.certificateID == nil)
      #expect(try await CertificateRecord.query(on: app.db).count() == 0)
      #expect(try await OutboxMessageRecord.query(on: app.db).count() == 0)
    }
  }

  @Test("the embedded CA is an issuer: issued through the seam, the request marked issued")
  func embeddedIssuer() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let record = try await LifecycleTests.issue(app, mailbox: "zoe@example.edu")
      #expect(record.status == .active)
      let worker = try #require(app.issuanceWorker)
      #expect(try await worker.currentIssuer().name == "embedded")
    }
  }

  @Test(
    "publishing: issued → published, revoked → removed, in that order per address even while the directory is away; a change it cannot take is set aside, audited, and the address's later changes go on; expired certificates are removed"
  )
  func publishing() async throws {
    let publishing: (inout MailsealConfiguration) -> Void = {
      $0.publishes = true
      $0.directory.mode = .always
    }
    try await TestInstallation.withApp(adjust: publishing) { app in
      try await prepareToServe(app)
      let publisher = KeepingPublisher()
      let worker = PublicationWorker(database: app.db, publisher: publisher, logger: app.logger)
      // The directory is away for the first three attempts.
      publisher.state.withLock { $0.failures = 3 }
      let first = try await LifecycleTests.issue(app, mailbox: "zoe@example.edu")
      try await app.registrationAuthority.certificates.revoke(
        serial: first.serial, reason: .superseded, by: .commandLine)
      var now = Date()
      for _ in 0..<3 {
        #expect(try await worker.applyDue(now: now) == 0)
        now = now.addingTimeInterval(3600)
      }
      // Back: the publication first, then its removal, each once.
      #expect(try await worker.applyDue(now: now) == 1)
      #expect(try await worker.applyDue(now: now) == 1)
      #expect(try await worker.applyDue(now: now) == 0)
      #expect(publisher.applied.map(\.kind) == [.publish, .unpublish])
      #expect(publisher.applied.allSatisfy { $0.serial == first.serial })
      #expect(publisher.applied[0].certificate == Array(first.der))
      #expect(publisher.applied[0].mailbox == "zoe@example.edu")
      #expect(publisher.applied[0].sequence < publisher.applied[1].sequence)
      // Revoking a certificate that was never published queues nothing.
      let counts = try await PublicationQueue.counts(on: app.db)
      #expect(counts[.done] == 2 && counts[.queued] == nil)

      // An address with no entry: set aside, audited; its later change goes on.
      publisher.state.withLock { $0.permanent = "max@example.edu" }
      let second = try await LifecycleTests.issue(app, mailbox: "max@example.edu")
      #expect(try await worker.applyDue(now: now) == 0)
      let setAside = try await AuditTrail.search(
        actor: nil, action: AuditAction.publicationSetAside.rawValue, subject: nil, before: nil,
        limit: 5, on: app.db)
      #expect(setAside.count == 1 && setAside[0].subject == second.serial)
      publisher.state.withLock { $0.permanent = nil }
      // Expired (a year and more on): its removal is queued and applied.
      let later = second.notAfter.addingTimeInterval(86_400)
      #expect(try await PublicationQueue.enqueueExpired(on: app.db, now: later) == 1)
      #expect(try await worker.applyDue(now: later) == 1)
      #expect(publisher.applied.last?.kind == .unpublish)
      #expect(publisher.applied.last?.reason == "expired")
      #expect(try await PublicationQueue.enqueueExpired(on: app.db, now: later) == 0)
    }
  }

  @Test("without a publisher nothing is queued")
  func noPublisher() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let record = try await LifecycleTests.issue(app, mailbox: "zoe@example.edu")
      try await app.registrationAuthority.certificates.revoke(
        serial: record.serial, reason: .superseded, by: .commandLine)
      #expect(try await PublicationQueue.counts(on: app.db).isEmpty)
    }
  }
}
