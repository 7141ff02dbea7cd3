import Crypto
import FluentKit
import Foundation
import Logging
import MailsealCA
import MailsealModel
import StoreTestSupport
import X509

@testable import MailsealRA
@testable import MailsealStore

/// An installation without the web: its own data folder and database
/// (SQLite, or PostgreSQL in the PostgreSQL run), opened as the store
/// opens it for anyone (`StoreConnection`), and the registration authority
/// on it.
struct RAInstallation {
  let configuration: MailsealConfiguration
  let database: any Database
  let authority: RegistrationAuthority

  static let logger = Logger(label: "mailseal.ra-tests")

  /// Runs `body` with a fresh installation; everything is removed
  /// afterwards.
  static func with(
    environment extra: [String: String] = [:], _ body: (RAInstallation) async throws -> Void
  ) async throws {
    let folder = try TestDatabase.temporaryDirectory()
    let store = try await TestDatabase.make(in: folder)
    defer { try? FileManager.default.removeItem(at: folder) }
    let environment = [
      "MAILSEAL_DATA_DIR": folder.appendingPathComponent("data").path,
      "DATABASE_URL": store.url,
      "MAILSEAL_CA_PASSPHRASE": "test-ca-passphrase-not-secret",
      "MAILSEAL_PUBLIC_URL": "https://smime.example.edu",
      "MAILSEAL_ORG_NAME": "Universität Beispielstadt",
      "MAILSEAL_ORG_ID": "NTRDE-DEB1101.HRB123456",
      "MAILSEAL_ORG_COUNTRY": "DE",
    ].merging(extra) { $1 }
    var configuration = try MailsealConfiguration.load(from: environment)
    configuration.keyIterations = 1_000
    try FileManager.default.createDirectory(
      at: configuration.dataDirectory, withIntermediateDirectories: true)
    let connection = try await StoreConnection.open(
      configuration.database, waitSeconds: 30, logger: logger)
    let installation = RAInstallation(
      configuration: configuration, database: connection.database,
      authority: RegistrationAuthority(
        database: connection.database, configuration: configuration, logger: logger))
    do {
      try await body(installation)
    } catch {
      await connection.close()
      await store.drop()
      throw error
    }
    await connection.close()
    await store.drop()
  }

  /// A test CA, made by the ceremony.
  func makeTestCA() async throws {
    _ = try await CAInstallation(database: database, configuration: configuration)
      .initialize(keyType: .p256, test: true)
  }

  /// A staff account of `role` as a principal.
  func staff(_ email: String, role: OperatorRecord.Role = .operator) async throws -> Principal {
    let (record, _) = try await OperatorDirectory(
      database: database, configuration: configuration, logger: Self.logger
    ).add(email: email, name: email.components(separatedBy: "@")[0], role: role)
    return .staff(record)
  }

  /// A requester's request for `mailbox`, as the form sends it.
  func submit(_ mailbox: String) async throws -> CertificateRequest {
    let session = MailboxSession(
      id: UUID(), csrfHash: "", mailbox: mailbox, validatedAt: Date(),
      validationMethod: MailboxValidation.loginLink.rawValue, createdAt: Date(),
      expiresAt: Date().addingTimeInterval(3600))
    let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
    let csr = try CertificateSigningRequest(
      version: .v1, subject: DistinguishedName { CommonName("x") }, privateKey: key,
      attributes: .init(), signatureAlgorithm: .ecdsaWithSHA256)
    let form = RequestForm(
      mailboxType: "personal", givenName: "Zoë", surname: "Müller", commonName: nil,
      keyType: "p256", csr: try csr.serializeAsPEM().pemString)
    return try await authority.enrollment.submit(form, session: session, language: .en)
  }

  static func evidence() -> EvidenceForm {
    EvidenceForm(
      method: "in-person", documentType: "identity-card",
      issuingAuthority: "Stadt Beispielstadt, DE", documentNumber: "L01X00T47",
      documentExpiry: "2035-01-31", verifiedGivenName: "Zoë", verifiedSurname: "Müller")
  }
}
