import Crypto
import Foundation
import MailsealCA
import MailsealModel
import Testing
import VaporTesting
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Public endpoints: health and the CA certificates at the caIssuers URL")
struct PublicEndpointTests {
  @Test("/healthz says 503 without an issuing CA and 200 with one")
  func health() async throws {
    try await TestInstallation.withApp { app in
      try await app.testing().test(.GET, "healthz") { response in
        #expect(response.status == .serviceUnavailable)
        #expect(response.body.string.contains("no-issuer"))
      }
      try await prepareToServe(app)
      let issuer = try #require(try await app.caInstallation.activeIssuer())
      #expect(issuer.isTest)
      #expect(issuer.subject.contains("TEST — not trusted"))
      try await app.testing().test(.GET, "healthz") { response in
        #expect(response.status == .ok)
        #expect(response.headers.first(name: .cacheControl) == "no-store")
        #expect(response.body.string.contains("\"issuer\":\"\(issuer.slug)\""))
      }
    }
  }

  @Test(
    "the caIssuers URL of an issued certificate serves its issuer in DER as application/pkix-cert")
  func caIssuers() async throws {
    try await TestInstallation.withApp { app in
      try await prepareToServe(app)
      let (authority, _) = try await app.caInstallation.loadActiveAuthority()
      let subject = try ValidatedSubject.mailboxOnly("zoe@example.edu")
      let request = try CertificateRequestCheck.check(pem: try Self.csr())
      let certificate = try Certificate(
        derEncoded: authority.sign(authority.prepare(request, for: subject)).der)
      let aia = try #require(try certificate.extensions.authorityInformationAccess)
      let url = try #require(
        aia.compactMap { description -> String? in
          guard description.method == .issuingCA,
            case .uniformResourceIdentifier(let uri) = description.location
          else { return nil }
          return uri
        }.first)
      let path = try #require(URL(string: url)?.path)
      #expect(path == "/ca/\(authority.slug).cer")
      try await app.testing().test(.GET, path) { response in
        #expect(response.status == .ok)
        #expect(response.headers.contentType?.serialize() == "application/pkix-cert")
        #expect(Array(response.body.readableBytesView) == authority.certificate.derBytes)
      }
      for missing in ["/ca/0000000000000000.cer", "/ca/\(authority.slug).pem"] {
        try await app.testing().test(.GET, missing) { response in
          #expect(response.status == .notFound, "\(missing)")
          #expect(
            response.headers.contentType?.serialize().hasPrefix("application/problem+json") == true)
        }
      }
      try await app.testing().test(.GET, "/ca/../etc.cer") { response in
        #expect(response.status == .forbidden || response.status == .notFound)
      }
    }
  }

  static func csr() throws -> String {
    let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
    let csr = try CertificateSigningRequest(
      version: .v1, subject: DistinguishedName { CommonName("x") }, privateKey: key,
      attributes: .init(),
      signatureAlgorithm: .ecdsaWithSHA256)
    return try csr.serializeAsPEM().pemString
  }
}
