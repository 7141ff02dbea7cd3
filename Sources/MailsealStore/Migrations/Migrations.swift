public import FluentKit

/// Every migration, in order. Add new ones at the end; never edit or
/// reorder a released one.
public enum MailsealMigrations {
  public static let all: [any Migration] = [
    M0001_CreateIssuers(),
    M0002_CreateCertificates(),
    M0003_CreateIssuanceIntents(),
    M0004_CreateBlockedKeys(),
    M0005_CreateOutbox(),
    M0006_CreateLoginLinks(),
    M0007_CreateSessions(),
    M0008_CreateCertificateRequests(),
    M0009_CreateOperators(),
    M0010_CreateIdentityEvidence(),
    M0011_RequestSearchKeys(),
    M0012_Revocation(),
    M0013_AuditTrail(),
    M0014_Renewal(),
    M0015_IssuanceHeld(),
    M0016_RateLimits(),
    M0017_RequestSearchTerms(),
    M0018_IdentityProvider(),
    M0019_RevocationSequence(),
    M0020_RecoveryCertificates(),
    M0021_KeyEscrow(),
    M0022_KeyRecoveries(),
    M0023_EscrowSealedTo(),
    M0024_OperatorAddresses(),
    M0025_ProviderSessionIDs(),
    M0026_Publications(),
    M0027_UpstreamOrders(),
    M0028_PublishConsent(),
  ]
}
