import Foundation
import MailsealCA
import MailsealModel
import Testing

@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("Configuration is read once and every problem is named")
struct ConfigurationTests {
  func folder() throws -> URL { try Run.temporaryDirectory() }

  @Test("embedded defaults: SQLite in the data folder, a generated passphrase file with mode 0600")
  func defaults() throws {
    let data = try folder().appendingPathComponent("data")
    let configuration = try MailsealConfiguration.load(from: ["MAILSEAL_DATA_DIR": data.path])
    #expect(
      configuration.database == .sqlite(path: data.appendingPathComponent("mailseal.sqlite").path))
    #expect(configuration.publicURL == "http://127.0.0.1:8080")
    #expect(configuration.endpoints.baseURL == "http://127.0.0.1:8080")
    #expect(configuration.certificateDays == 365)
    #expect(configuration.organizationIsDefault)
    let passphraseFile = data.appendingPathComponent("ca-passphrase").path
    #expect(configuration.passphraseSource == .generated(path: passphraseFile))
    let attributes = try FileManager.default.attributesOfItem(atPath: passphraseFile)
    #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    #expect(configuration.passphrase.count >= 40)
    // The same passphrase is read back next time.
    let again = try MailsealConfiguration.load(from: ["MAILSEAL_DATA_DIR": data.path])
    #expect(again.passphrase == configuration.passphrase)
  }

  @Test(
    "the wait for a database connection: 10 s on SQLite, 5 s on PostgreSQL, MAILSEAL_DB_WAIT_SECONDS for both"
  )
  func databaseWait() throws {
    let data = try folder()
    let sqlite = ["MAILSEAL_DATA_DIR": data.path]
    let postgres = sqlite.merging(["DATABASE_URL": "postgres://mailseal@127.0.0.1/mailseal"]) { $1 }
    #expect(try MailsealConfiguration.load(from: sqlite).databaseWait == 10)
    #expect(try MailsealConfiguration.load(from: postgres).databaseWait == 5)
    for environment in [sqlite, postgres] {
      let set = environment.merging(["MAILSEAL_DB_WAIT_SECONDS": "30"]) { $1 }
      #expect(try MailsealConfiguration.load(from: set).databaseWait == 30)
      for wrong in ["0", "121", "ten"] {
        let error = #expect(throws: ConfigurationError.self) {
          try MailsealConfiguration.load(
            from: environment.merging(["MAILSEAL_DB_WAIT_SECONDS": wrong]) { $1 })
        }
        #expect(error?.problems.map(\.variable) == ["MAILSEAL_DB_WAIT_SECONDS"])
      }
    }
  }

  @Test("every malformed variable is named in one error")
  func everyProblemNamed() throws {
    let data = try folder()
    do {
      _ = try MailsealConfiguration.load(from: [
        "MAILSEAL_DATA_DIR": data.path,
        "DATABASE_URL": "mysql://x",
        "MAILSEAL_PUBLIC_URL": "ftp://portal",
        "MAILSEAL_ORG_ID": "ACMEDE-1",
        "MAILSEAL_ORG_COUNTRY": "Germany",
        "MAILSEAL_CERT_DAYS": "900",
        "MAILSEAL_CA_PASSPHRASE": "short",
        "MAILSEAL_TIME_ZONE": "Mitteleuropa",
      ])
      Issue.record("a malformed configuration was accepted")
    } catch {
      let named = Set(error.problems.map(\.variable))
      #expect(
        named == [
          "DATABASE_URL", "MAILSEAL_PUBLIC_URL", "MAILSEAL_ORG_ID", "MAILSEAL_ORG_COUNTRY",
          "MAILSEAL_CERT_DAYS", "MAILSEAL_CA_PASSPHRASE", "MAILSEAL_TIME_ZONE",
        ])
      #expect(
        error.description.contains(
          "MAILSEAL_CERT_DAYS: “900” is not a number of days from 1 to 825"))
    }
  }

  @Test("the PKI URLs are plain http even when the portal is behind https")
  func pkiURL() throws {
    let data = try folder()
    let configuration = try MailsealConfiguration.load(from: [
      "MAILSEAL_DATA_DIR": data.path, "MAILSEAL_PUBLIC_URL": "https://smime.example.edu/",
      "MAILSEAL_CA_PASSPHRASE": "a-long-enough-passphrase",
    ])
    #expect(configuration.publicURL == "https://smime.example.edu")
    #expect(configuration.endpoints.ocspURL == "http://smime.example.edu/ocsp")
    do {
      _ = try MailsealConfiguration.load(from: [
        "MAILSEAL_DATA_DIR": data.path, "MAILSEAL_PKI_URL": "https://pki.example.edu",
        "MAILSEAL_CA_PASSPHRASE": "a-long-enough-passphrase",
      ])
      Issue.record("an https PKI URL was accepted")
    } catch {
      #expect(error.problems.map(\.variable) == ["MAILSEAL_PKI_URL"])
    }
  }

  @Test("PostgreSQL URLs, passphrase files, and both passphrase sources at once")
  func sources() throws {
    let data = try folder()
    let file = data.appendingPathComponent("passphrase")
    try "from-a-file-passphrase\n".write(to: file, atomically: true, encoding: .utf8)
    let configuration = try MailsealConfiguration.load(from: [
      "MAILSEAL_DATA_DIR": data.path,
      "DATABASE_URL": "postgres://u:secret@db.example.edu:5432/mailseal",
      "MAILSEAL_CA_PASSPHRASE_FILE": file.path,
    ])
    #expect(
      configuration.database == .postgres(url: "postgres://u:secret@db.example.edu:5432/mailseal"))
    #expect(configuration.passphrase == Array("from-a-file-passphrase".utf8))
    #expect(
      MailsealConfiguration.redacted("postgres://u:secret@db.example.edu/m").contains("secret")
        == false)
    do {
      _ = try MailsealConfiguration.load(from: [
        "MAILSEAL_DATA_DIR": data.path, "MAILSEAL_CA_PASSPHRASE": "a-long-enough-passphrase",
        "MAILSEAL_CA_PASSPHRASE_FILE": file.path,
      ])
      Issue.record("two passphrase sources were accepted")
    } catch {
      #expect(error.problems.map(\.variable) == ["MAILSEAL_CA_PASSPHRASE_FILE"])
    }
  }
}
