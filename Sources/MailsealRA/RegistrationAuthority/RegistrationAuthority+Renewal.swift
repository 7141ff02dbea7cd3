public import Foundation
import MailsealCA
public import MailsealModel
import MailsealStore

/// Renewal (S/MIME BR §4.2.1): a new certificate for the same mailbox and
/// names, with a new key made in the browser. The identity evidence of the
/// earlier request is reused while it is at most 825 days old, so no second
/// desk visit is needed; older evidence sends the requester to the desk.
extension Enrollment {
  /// What a renewal of a certificate may rest on.
  public struct RenewalBasis: Sendable {
    public let certificate: IssuedCertificate
    /// The request that holds the reusable evidence; nil when there is
    /// none young enough (or none at all: a certificate issued at the
    /// command line).
    public let evidenceRequestID: UUID?
    public let checkedBy: UUID?
    public let checkedAt: Date?
    /// The names on the document checked then (whose evidence it is).
    public var checkedGivenName: String? = nil
    public var checkedSurname: String? = nil
    /// When the evidence stops being reusable.
    public var reusableUntil: Date? {
      checkedAt?.addingTimeInterval(RequestRules.evidenceReuseLifetime)
    }
  }

  /// The renewal basis of a certificate of `mailbox` (another mailbox's
  /// certificate does not exist for the requester).
  public func renewalBasis(serial: String, mailbox: String, now: Date = Date()) async throws
    -> RenewalBasis
  {
    let certificate = try await authority.certificates.certificate(serial: serial)
    guard certificate.mailbox == mailbox else { throw MailsealError.notFound }
    // Revoked because the names or the entitlement changed: the desk
    // checks again.
    let withdrawn = [RevocationReason.affiliationChanged, .privilegeWithdrawn, .cACompromise]
      .map(\.name)
    guard let requestID = certificate.requestID,
      !withdrawn.contains(certificate.revocationReason ?? ""),
      let original = try await store.requests.find(requestID)
    else {
      return RenewalBasis(
        certificate: certificate, evidenceRequestID: nil, checkedBy: nil, checkedAt: nil)
    }
    let owner = original.evidenceRequestID ?? requestID
    guard
      let evidence = try await store.evidence.of(request: owner),
      now.timeIntervalSince(evidence.checkedAt) <= RequestRules.evidenceReuseLifetime
    else {
      return RenewalBasis(
        certificate: certificate, evidenceRequestID: nil, checkedBy: nil, checkedAt: nil)
    }
    return RenewalBasis(
      certificate: certificate, evidenceRequestID: owner, checkedBy: evidence.checkedBy,
      checkedAt: evidence.checkedAt, checkedGivenName: evidence.verifiedGivenName,
      checkedSurname: evidence.verifiedSurname)
  }

  /// Fills in a renewal request: the names must be the certificate's; with
  /// reusable evidence the request starts verified (or approved, when
  /// renewals are approved automatically), otherwise it waits for the desk
  /// like any other.
  func applyRenewal(
    _ record: inout CertificateRequest, serial: String, subject: ValidatedSubject,
    person: Person, now: Date
  ) async throws -> RenewalBasis {
    let basis = try await renewalBasis(serial: serial, mailbox: record.mailbox, now: now)
    let certificate = basis.certificate
    let same: Bool
    switch subject.identity {
    case .person(let given, let surname):
      same =
        certificate.givenName == given.value && certificate.surname == surname.value
        && certificate.pseudonym == nil
    case .pseudonym(let name):
      same = certificate.pseudonym == name.value
    case .mailboxOnly:
      same = false
    }
    guard same else {
      throw MailsealError(.renewalNamesChanged)
    }
    // New keys, all of them: with escrow, neither the signing nor the
    // encryption key may be one the renewed certificates hold.
    var earlierKeys: Set<String> = [certificate.keyFingerprint]
    if let requestID = certificate.requestID,
      let earlier = try await store.requests.find(requestID),
      let encryptionKey = earlier.encryptionKeyFingerprint
    {
      earlierKeys.insert(encryptionKey)
    }
    guard
      earlierKeys.isDisjoint(
        with: [record.keyFingerprint, record.encryptionKeyFingerprint].compactMap { $0 })
    else {
      throw MailsealError(.renewalNeedsNewKey)
    }
    record.renewalOf = certificate.id
    // The evidence is reused only for the person it was checked for: a
    // role mailbox whose responsible person changed goes to the desk.
    if let owner = basis.evidenceRequestID,
      person.isNamed(basis.checkedGivenName, basis.checkedSurname)
    {
      record.evidenceRequestID = owner
      record.verifiedBy = basis.checkedBy
      record.verifiedAt = basis.checkedAt
      if portal.renewalAutoApprove {
        record.state = .approved
        record.approvedAt = now
      } else {
        record.state = .verified
      }
    }
    return basis
  }
}
