import Crypto
import Foundation
import Testing
import X509

@testable import MailsealCA
@testable import MailsealRA

/// `MAILSEAL_UPSTREAM*`: every missing or malformed value named at start.
@Suite("Upstream CA settings")
struct UpstreamSettingsTests {
  /// A folder with a chain file and secret files.
  struct Files {
    let folder: URL
    let chain: String
    let secret: String

    init() throws {
      folder = FileManager.default.temporaryDirectory.appendingPathComponent(
        "mailseal-upstream-\(UUID().uuidString)")
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      let key = P256.Signing.PrivateKey()
      let name = try DistinguishedName { CommonName("Upstream Root") }
      let root = try Certificate(
        version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
        notValidBefore: Date() - 60, notValidAfter: Date() + 86_400, issuer: name, subject: name,
        signatureAlgorithm: .ecdsaWithSHA256,
        extensions: try Certificate.Extensions {
          Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
        }, issuerPrivateKey: .init(key))
      chain = folder.appendingPathComponent("chain.pem").path
      try root.serializeAsPEM().pemString.write(toFile: chain, atomically: true, encoding: .utf8)
      secret = try Self.write("s3cret\n", to: folder.appendingPathComponent("secret").path)
    }

    static func write(_ text: String, to path: String, mode: Int = 0o600) throws -> String {
      _ = FileManager.default.createFile(
        atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
      return path
    }

    func cleanUp() { try? FileManager.default.removeItem(at: folder) }
  }

  func load(_ environment: [String: String]) -> (UpstreamSettings?, [String]) {
    var problems: [ConfigurationError.Problem] = []
    let settings = UpstreamSettings.load({ environment[$0] }, problems: &problems)
    return (settings, problems.map { "\($0.variable): \($0.message)" })
  }

  @Test("embedded by default; an upstream's variable without MAILSEAL_UPSTREAM is named")
  func embedded() {
    let (none, problems) = load([:])
    #expect(none == nil && problems.isEmpty)
    let (_, stray) = load(["MAILSEAL_CMP_REFERENCE": "1234"])
    #expect(stray.count == 1 && stray[0].hasPrefix("MAILSEAL_CMP_REFERENCE"))
    let (_, unknown) = load(["MAILSEAL_UPSTREAM": "digicert"])
    #expect(unknown.count == 1 && unknown[0].hasPrefix("MAILSEAL_UPSTREAM:"))
  }

  @Test("CMP: URL, chain, reference, secret file and recipient read; the name in RFC 4514 order")
  func cmp() throws {
    let files = try Files()
    defer { files.cleanUp() }
    let (settings, problems) = load([
      "MAILSEAL_UPSTREAM": "cmp", "MAILSEAL_UPSTREAM_URL": "http://127.0.0.1:8080/pkix/",
      "MAILSEAL_UPSTREAM_CHAIN_FILE": files.chain, "MAILSEAL_CMP_REFERENCE": "1234",
      "MAILSEAL_CMP_SECRET_FILE": files.secret,
      "MAILSEAL_CMP_RECIPIENT": #"CN=Issuing CA\, Europe,O=Example,C=DE"#,
    ])
    #expect(problems.isEmpty, "\(problems)")
    let upstream = try #require(settings)
    #expect(upstream.concurrency == 8)
    guard case .cmp(let reference, let secret, let recipient) = upstream.connector else {
      Issue.record("not CMP")
      return
    }
    #expect(reference == "1234" && secret == Array("s3cret".utf8))
    #expect(
      recipient.description == "C=DE,O=Example,CN=Issuing CA\\, Europe" || recipient.count == 3)
    #expect(Array(recipient).first?.first?.type == .RDNAttributeType.countryName)
    #expect(upstream.trust.roots.count == 1)
  }

  @Test(
    "every missing or malformed value is named: http on a public host, a chain without root, a secret others may read, a bad recipient"
  )
  func problems() throws {
    let files = try Files()
    defer { files.cleanUp() }
    let open = try Files.write(
      "s3cret", to: files.folder.appendingPathComponent("open").path, mode: 0o644)
    let noChain = try Files.write(
      "no certificate", to: files.folder.appendingPathComponent("bad.pem").path)
    let (settings, problems) = load([
      "MAILSEAL_UPSTREAM": "cmp", "MAILSEAL_UPSTREAM_URL": "http://cmp.example.edu/pkix/",
      "MAILSEAL_UPSTREAM_CHAIN_FILE": noChain, "MAILSEAL_UPSTREAM_CONCURRENCY": "0",
      "MAILSEAL_CMP_SECRET_FILE": open, "MAILSEAL_CMP_RECIPIENT": "Issuing CA",
    ])
    #expect(settings == nil)
    for variable in [
      "MAILSEAL_UPSTREAM_URL", "MAILSEAL_UPSTREAM_CHAIN_FILE", "MAILSEAL_UPSTREAM_CONCURRENCY",
      "MAILSEAL_CMP_REFERENCE", "MAILSEAL_CMP_SECRET_FILE", "MAILSEAL_CMP_RECIPIENT",
    ] {
      #expect(problems.contains { $0.hasPrefix(variable + ":") }, "\(variable) in \(problems)")
    }
  }

  @Test("HARICA and Sectigo: their variables required, the TOTP secret base32")
  func haricaAndSectigo() throws {
    let files = try Files()
    defer { files.cleanUp() }
    let totp = try Files.write(
      "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n", to: files.folder.appendingPathComponent("totp").path)
    let common = [
      "MAILSEAL_UPSTREAM_URL": "https://cm.harica.gr", "MAILSEAL_UPSTREAM_CHAIN_FILE": files.chain,
    ]
    let (harica, haricaProblems) = load(
      common.merging([
        "MAILSEAL_UPSTREAM": "harica", "MAILSEAL_HARICA_EMAIL": "svc@example.edu",
        "MAILSEAL_HARICA_PASSWORD_FILE": files.secret, "MAILSEAL_HARICA_TOTP_SECRET_FILE": totp,
        "MAILSEAL_HARICA_ORGANIZATION": "Universität Beispielstadt",
      ]) { $1 })
    #expect(haricaProblems.isEmpty, "\(haricaProblems)")
    if case .harica(_, let password, let secret, _)? = harica?.connector {
      #expect(password == "s3cret" && secret?.count == 20)
    } else {
      Issue.record("not HARICA")
    }
    let (_, sectigoProblems) = load(common.merging(["MAILSEAL_UPSTREAM": "sectigo"]) { $1 })
    for variable in [
      "MAILSEAL_SECTIGO_CUSTOMER_URI", "MAILSEAL_SECTIGO_LOGIN", "MAILSEAL_SECTIGO_PASSWORD_FILE",
      "MAILSEAL_SECTIGO_ORG_ID", "MAILSEAL_SECTIGO_CERT_TYPE", "MAILSEAL_SECTIGO_ROLE_CERT_TYPE",
    ] {
      #expect(sectigoProblems.contains { $0.hasPrefix(variable + ":") }, "\(variable)")
    }
  }

  @Test("RFC 4514 names: escapes, hex, multi-valued parts; nonsense refused")
  func names() throws {
    let name = try #require(DistinguishedName(rfc4514: #"CN=A\+B\2C C+UID=x,O=Ex\"ample"#))
    let rdns = Array(name)
    #expect(rdns.count == 2)
    #expect(rdns.last?.count == 2)
    #expect(rdns.last?.first.flatMap { String($0.value) } == "A+B, C")
    for bad in ["", "CN", "CN=", "XX=y", #"CN=a\q"#, "CN=a;O=b"] {
      #expect(DistinguishedName(rfc4514: bad) == nil, "\(bad)")
    }
  }
}
