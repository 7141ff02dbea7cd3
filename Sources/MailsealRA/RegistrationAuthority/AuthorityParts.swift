import FluentKit
import Logging
import MailsealStore

/// The registration authority's parts. `RegistrationAuthority` holds what
/// they share (the database, the configuration, the workers' doorbells)
/// and hands out one part per concern; each part's methods are the rules
/// of that concern, and every part reaches the others through the
/// authority.
protocol AuthorityPart: Sendable {
  var authority: RegistrationAuthority { get }
}

extension AuthorityPart {
  var database: any Database { authority.database }
  var store: Store { authority.store }
  var configuration: MailsealConfiguration { authority.configuration }
  var logger: Logger { authority.logger }
  var portal: PortalSettings { authority.portal }
  var mailQueued: @Sendable () -> Void { authority.mailQueued }
  var revocationRecorded: @Sendable (RevocationNotice) -> Void { authority.revocationRecorded }
  var issuanceResumed: @Sendable () -> Void { authority.issuanceResumed }
}

/// Signing in by a login link sent to the mailbox; the requester's session.
public struct MailboxSignIn: AuthorityPart {
  let authority: RegistrationAuthority
}

/// Requests: the form's checks, submission (with renewal and key escrow),
/// the requester's own requests, withdrawal.
public struct Enrollment: AuthorityPart {
  let authority: RegistrationAuthority
}

/// The service desk: the identity check, approval, rejection, what a
/// viewer may do with a request, the search.
public struct Desk: AuthorityPart {
  let authority: RegistrationAuthority
}

/// Issued certificates: look-up and revocation.
public struct CertificateService: AuthorityPart {
  let authority: RegistrationAuthority
}

/// The pickup of an issued certificate.
public struct PickupService: AuthorityPart {
  let authority: RegistrationAuthority
}

/// Recovery of escrowed keys: asked, approved by two officers, declined,
/// downloaded.
public struct KeyRecoveryService: AuthorityPart {
  let authority: RegistrationAuthority
}

/// The service's controls: the notice, the issuance pause, the audit
/// trail, the administrators' pages.
public struct ServiceControl: AuthorityPart {
  let authority: RegistrationAuthority
}

extension RegistrationAuthority {
  public var mailboxSignIn: MailboxSignIn { MailboxSignIn(authority: self) }
  public var enrollment: Enrollment { Enrollment(authority: self) }
  public var desk: Desk { Desk(authority: self) }
  public var certificates: CertificateService { CertificateService(authority: self) }
  public var pickups: PickupService { PickupService(authority: self) }
  public var recovery: KeyRecoveryService { KeyRecoveryService(authority: self) }
  public var service: ServiceControl { ServiceControl(authority: self) }
}
