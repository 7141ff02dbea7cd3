public import FluentKit
import Foundation
package import MailsealCA
import MailsealModel
import MailsealStore
public import Prometheus

/// The portal's metrics in Prometheus' text format (`GET /metrics`):
/// counters and histograms kept by the process, and gauges read from the
/// database at each scrape, so that every instance reports the same
/// queue lengths.
public final class MailsealMetrics: Sendable {
  public let registry = PrometheusCollectorRegistry()

  /// Certificates issued by this process, and requests the worker refused.
  let issued: Counter
  let issuanceRefused: Counter
  /// A worker batch, claim to commit.
  let issuanceBatch: DurationHistogram
  /// From approval to the stored certificate, per request.
  let issuanceLatency: DurationHistogram
  let mailDelivered: Counter
  let mailRetried: Counter
  let mailGivenUp: Counter
  package let revocations: [RevocationReason: Counter]
  package let ocspResponses: [OCSPOutcome: Counter]
  package let crlPublished: Counter
  let requestsByState: [CertificateRequestRecord.State: Gauge]
  let mailQueue: Gauge
  let mailFailed: Gauge
  let certificatesActive: Gauge
  let certificatesRevoked: Gauge

  /// `mailseal_<name>_<unit>` with its help text.
  static func name(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
    MetricNameDescriptor(namespace: "mailseal", metricName: name, unitName: unit, helpText: help)
  }

  public init() {
    let latencyBuckets: [Duration] = [
      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
      .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
      .seconds(3_600), .seconds(86_400),
    ]
    issued = registry.makeCounter(
      descriptor: Self.name(
        "certificates_issued", "total", "Certificates issued by this process."))
    issuanceRefused = registry.makeCounter(
      descriptor: Self.name(
        "issuance_refused", "total",
        "Approved requests the worker refused (the CSR no longer passes)."))
    issuanceBatch = registry.makeDurationHistogram(
      descriptor: Self.name(
        "issuance_batch_duration", "seconds",
        "One batch of the issuance worker, from claim to commit."),
      buckets: [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
      ])
    issuanceLatency = registry.makeDurationHistogram(
      descriptor: Self.name(
        "issuance_latency", "seconds", "From approval to the stored certificate, per request."),
      buckets: latencyBuckets)
    mailDelivered = registry.makeCounter(
      descriptor: Self.name("mail_delivered", "total", "Mails handed to the transport."))
    let failures = Self.name("mail_failures", "total", "Mail delivery failures.")
    mailRetried = registry.makeCounter(descriptor: failures, labels: [("outcome", "retry")])
    mailGivenUp = registry.makeCounter(descriptor: failures, labels: [("outcome", "given_up")])
    var revocations: [RevocationReason: Counter] = [:]
    let revoked = Self.name("revocations", "total", "Certificates revoked through this process.")
    for reason in RevocationReason.allCases {
      revocations[reason] = registry.makeCounter(
        descriptor: revoked, labels: [("reason", reason.name)])
    }
    self.revocations = revocations
    var ocsp: [OCSPOutcome: Counter] = [:]
    let answers = Self.name(
      "ocsp_responses", "total", "OCSP responses by certificate status or error.")
    for outcome in OCSPOutcome.allCases {
      ocsp[outcome] = registry.makeCounter(
        descriptor: answers, labels: [("status", outcome.rawValue)])
    }
    ocspResponses = ocsp
    crlPublished = registry.makeCounter(
      descriptor: Self.name("crls_published", "total", "CRLs signed by this process."))
    var states: [CertificateRequestRecord.State: Gauge] = [:]
    let requests = Self.name("requests", "", "Certificate requests by state (all instances).")
    for state in CertificateRequestRecord.State.allCases {
      states[state] = registry.makeGauge(descriptor: requests, labels: [("state", state.rawValue)])
    }
    requestsByState = states
    let queue = Self.name("mail_queue", "", "Mails in the outbox by state (all instances).")
    mailQueue = registry.makeGauge(descriptor: queue, labels: [("state", "queued")])
    mailFailed = registry.makeGauge(descriptor: queue, labels: [("state", "failed")])
    let certificates = Self.name(
      "certificates", "", "Unexpired certificates by status (all instances).")
    certificatesActive = registry.makeGauge(
      descriptor: certificates, labels: [("status", "active")])
    certificatesRevoked = registry.makeGauge(
      descriptor: certificates, labels: [("status", "revoked")])
  }

  /// Reads the gauges from the database and writes every metric.
  public func scrape(_ database: any Database, now: Date = Date()) async throws -> [UInt8] {
    let store = Store(database)
    let counts = try await store.requests.countByState()
    for (state, gauge) in requestsByState { gauge.set(Double(counts[state.rawValue] ?? 0)) }
    let mail = try await store.outbox.countUnsentByState()
    mailQueue.set(Double(mail["queued"] ?? 0))
    mailFailed.set(Double(mail["failed"] ?? 0))
    let certificates = try await store.certificates.countValidByStatus(now: now)
    certificatesActive.set(Double(certificates["active"] ?? 0))
    certificatesRevoked.set(Double(certificates["revoked"] ?? 0))
    return registry.emitToBuffer()
  }
}
