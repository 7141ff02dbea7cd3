import MailsealCA
import Vapor

/// Every route, in groups.
func routes(_ app: Application) throws {
  // Operations.
  app.get("healthz", use: PublicCAController.health)

  // The CA's publication point: what certificates name in AIA, CRL DP.
  app.get(
    .constant(PublicEndpoints.caCertificatePathPrefix), ":file",
    use: PublicCAController.caCertificate)
}
