import Fluent
import Foundation
import MailsealCA
import MailsealModel
import SQLKit
import Testing
import X509

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("The CA ceremony and import store certificates in the database and keys outside it")
struct CAInstallationTests {
  @Test(
    "ca init: root and issuing CA, keys encrypted in custody that openssl pkey opens",
    arguments: [CAKeyType.p384, .rsa4096])
  func ceremony(keyType: CAKeyType) async throws {
    try await TestInstallation.withApp { app in
      let (root, issuing) = try await app.caInstallation.initialize(keyType: keyType, test: false)
      #expect(issuing.isActive && !root.isActive)
      #expect(issuing.parentID == root.id)
      #expect(root.keyType == keyType.rawValue)
      let chain = try await app.caInstallation.chain(of: issuing)
      #expect(chain.map(\.id) == [issuing.id, root.id])

      // The keys are files, encrypted; openssl opens them with the passphrase.
      for record in [root, issuing] {
        let reference = try #require(record.keyReference.map { KeyReference(rawValue: $0) })
        #expect(reference.scheme == "file")
        let file = app.mailseal.keyDirectory.appendingPathComponent(reference.locator)
        let pem = try String(contentsOf: file, encoding: .utf8)
        #expect(pem.hasPrefix("-----BEGIN \(EncryptedPrivateKeyInfo.pemLabel)-----"))
        let opened = try Run.openssl([
          "pkey", "-in", file.path, "-passin", "pass:\(TestInstallation.passphrase)", "-pubout",
        ])
        #expect(opened.status == 0, "\(opened.output)")
        let certificate = try Certificate(derEncoded: Array(record.certificateDER))
        #expect(opened.output.contains(try certificate.publicKey.serializeAsPEM().pemString))
        let wrong = try Run.openssl([
          "pkey", "-in", file.path, "-passin", "pass:wrong-passphrase", "-noout",
        ])
        #expect(wrong.status != 0)
      }

      // No private key material lies in the database.
      let sql = try app.db.sql
      for table in ["issuers", "certificates", "issuance_intents"] {
        let rows = try await sql.raw("SELECT * FROM \(unsafeRaw: table)").all()
        for row in rows {
          for column in row.allColumns {
            if let text = try? row.decode(column: column, as: String.self) {
              #expect(!text.contains("PRIVATE KEY"))
            }
          }
        }
      }

      // The chain verifies strictly, with the CA profile OpenSSL expects.
      let folder = try Run.temporaryDirectory()
      defer { try? FileManager.default.removeItem(at: folder) }
      let rootFile = folder.appendingPathComponent("root.pem")
      let issuingFile = folder.appendingPathComponent("issuing.pem")
      try Certificate(derEncoded: Array(root.certificateDER)).pemString.write(
        to: rootFile, atomically: true, encoding: .utf8)
      try Certificate(derEncoded: Array(issuing.certificateDER)).pemString.write(
        to: issuingFile, atomically: true, encoding: .utf8)
      let verify = try Run.openssl([
        "verify", "-x509_strict", "-CAfile", rootFile.path, issuingFile.path,
      ])
      #expect(verify.status == 0, "\(verify.output)")

      // A second ceremony is refused.
      await #expect(throws: CAError.self) {
        try await app.caInstallation.initialize(keyType: keyType, test: false)
      }
    }
  }

  @Test(
    "ca import takes an existing issuing CA and its encrypted key; wrong passphrase and wrong key are refused"
  )
  func importCA() async throws {
    let folder = try Run.temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: folder) }
    // An existing CA, made elsewhere: here by the ceremony in another installation.
    var chainPEM = ""
    var keyPEM = Data()
    var otherKeyPEM = Data()
    try await TestInstallation.withApp { app in
      let (root, issuing) = try await app.caInstallation.initialize(keyType: .p384, test: false)
      chainPEM = try [issuing, root].map {
        try Certificate(derEncoded: Array($0.certificateDER)).pemString
      }.joined(separator: "\n")
      keyPEM = try Data(
        contentsOf: app.mailseal.keyDirectory.appendingPathComponent(
          KeyReference(rawValue: issuing.keyReference!).locator))
      otherKeyPEM = try Data(
        contentsOf: app.mailseal.keyDirectory.appendingPathComponent(
          KeyReference(rawValue: root.keyReference!).locator))
    }
    try await TestInstallation.withApp { app in
      let installation = app.caInstallation
      await #expect(throws: CAError(.wrongPassphrase, "The passphrase does not open the key file."))
      {
        try await installation.importIssuing(
          chainPEM: chainPEM, encryptedKey: Array(keyPEM),
          keyPassphrase: Array("not-the-passphrase".utf8))
      }
      do {
        try await installation.importIssuing(
          chainPEM: chainPEM, encryptedKey: Array(otherKeyPEM),
          keyPassphrase: Array(TestInstallation.passphrase.utf8))
        Issue.record("a key that is not the CA's was imported")
      } catch let error as CAError {
        #expect(error.code == .caMaterialInvalid)
      }
      let parts = chainPEM.components(separatedBy: "-----END CERTIFICATE-----").filter {
        $0.contains("BEGIN")
      }
      let reversed = parts.reversed().map { $0 + "-----END CERTIFICATE-----\n" }.joined()
      do {
        try await installation.importIssuing(
          chainPEM: reversed, encryptedKey: Array(keyPEM),
          keyPassphrase: Array(TestInstallation.passphrase.utf8))
        Issue.record("a chain in the wrong order was imported")
      } catch let error as CAError {
        #expect(error.code == .caMaterialInvalid && error.message.contains("out of order"))
      }
      let record = try await installation.importIssuing(
        chainPEM: chainPEM, encryptedKey: Array(keyPEM),
        keyPassphrase: Array(TestInstallation.passphrase.utf8))
      #expect(record.isActive && record.keyReference != nil)
      let chain = try await installation.chain(of: record)
      #expect(chain.count == 2 && chain[1].keyReference == nil)
      // And it signs.
      let (authority, _) = try await installation.loadActiveAuthority()
      #expect(authority.certificate.derBytes == Array(record.certificateDER))
    }
  }
}
