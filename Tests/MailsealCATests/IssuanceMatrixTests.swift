import Foundation
import Testing
import X509

@testable import MailsealCA

/// The certificates the CA issues, judged by tools that are not ours:
/// pkilint (the CA/Browser Forum S/MIME linter) and OpenSSL.
@Suite("Issued certificates pass the independent judges")
struct IssuanceMatrixTests {
  static let subjects: [(String, ValidatedSubject)] = [
    (
      "personal",
      try! .person(
        mailbox: "zoe.mueller@example.edu", givenName: "Zoë", surname: "Müller-Lüdenscheidt")
    ),
    (
      "pseudonym",
      try! .pseudonym(mailbox: "sekretariat@cs.example.edu", name: "Sekretariat des Rechenzentrums")
    ),
    ("mailbox", try! .mailboxOnly("helpdesk@example.edu")),
  ]

  @Test(
    "every profile × subscriber key × CA key (in memory and in a SoftHSM2 token) lints clean with pkilint and verifies with OpenSSL",
    arguments: [CAKeyType.p384, .rsa4096], TestCustody.allCases)
  func matrix(caKey: CAKeyType, custody: TestCustody) throws {
    let pki = try TestPKI.make(caKey, custody: custody)
    let folder = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(folder) }
    let chain = folder.appendingPathComponent("chain.pem")
    try (pki.authority.certificate.pemString + "\n").write(
      to: chain, atomically: true, encoding: .utf8)
    let root = folder.appendingPathComponent("root.pem")
    try (pki.root.pemString + "\n").write(to: root, atomically: true, encoding: .utf8)

    for key in TestSubscriberKey.allCases {
      for (label, subject) in Self.subjects {
        let request = try CertificateRequestCheck.check(pem: TestCSR.pem(try key.privateKey()))
        let prepared = try pki.authority.prepare(request, for: subject)
        let signed = try pki.authority.sign(prepared)
        let file = folder.appendingPathComponent("\(caKey)-\(custody)-\(key)-\(label).pem")
        try signed.pem.write(to: file, atomically: true, encoding: .utf8)

        let report = try PkilintReport.lint(file, type: subject.profile.lintType)
        #expect(
          report.atWarningOrAbove.isEmpty,
          "pkilint on \(caKey)/\(custody)/\(key)/\(label): \(report.atWarningOrAbove)")

        let verify = try ExternalTool.openssl([
          "verify", "-x509_strict", "-purpose", "smimesign", "-CAfile", root.path, "-untrusted",
          chain.path, file.path,
        ])
        #expect(
          verify.status == 0 && verify.output.contains(": OK"),
          "openssl verify on \(caKey)/\(custody)/\(key)/\(label): \(verify.output)")
      }
    }
  }
}

extension IssuanceMatrixTests {
  @Test(
    "signing-only and encryption-only certificates (key escrow), RSA and EC keys, every profile: pkilint clean, keyUsage as the purpose asks",
    arguments: [KeyPurpose.signing, .encryption])
  func separateKeys(purpose: KeyPurpose) throws {
    let pki = try TestPKI.make(.p384, custody: .file)
    let folder = try ExternalTool.temporaryDirectory()
    defer { ExternalTool.cleanUp(folder) }
    for key in TestSubscriberKey.allCases {
      for (label, subject) in Self.subjects {
        let request = try CertificateRequestCheck.check(pem: TestCSR.pem(try key.privateKey()))
        let signed = try pki.authority.sign(
          pki.authority.prepare(request, for: subject, purpose: purpose))
        let certificate = try Certificate(derEncoded: signed.der)
        let usage = try #require(try certificate.extensions.keyUsage)
        #expect(usage == purpose.keyUsage(for: request.keyType))
        #expect(usage.digitalSignature == (purpose == .signing))
        let file = folder.appendingPathComponent("\(purpose)-\(key)-\(label).pem")
        try signed.pem.write(to: file, atomically: true, encoding: .utf8)
        let report = try PkilintReport.lint(file, type: subject.profile.lintType)
        #expect(
          report.atWarningOrAbove.isEmpty,
          "pkilint on \(purpose)/\(key)/\(label): \(report.atWarningOrAbove)")
      }
    }
  }
}

/// pkilint's report, read from its JSON output. Its exit code counts INFO
/// findings too, so the severity is read from each finding; output that is
/// not a report (a usage error, a crash) fails the test instead of passing
/// as "no findings".
struct PkilintReport {
  struct Finding: CustomStringConvertible {
    let severity: String
    let code: String
    let message: String?
    let path: String
    var description: String { "\(severity) \(code) @ \(path)\(message.map { ": " + $0 } ?? "")" }
  }

  let findings: [Finding]

  init(_ output: String) throws {
    guard let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
      let results = object["results"] as? [[String: Any]]
    else {
      throw ReportError(output: output)
    }
    findings = results.flatMap { result in
      (result["finding_descriptions"] as? [[String: Any]] ?? []).map {
        Finding(
          severity: $0["severity"] as? String ?? "?",
          code: $0["code"] as? String ?? "?",
          message: $0["message"] as? String,
          path: result["node_path"] as? String ?? "?"
        )
      }
    }
  }

  struct ReportError: Error, CustomStringConvertible {
    let output: String
    var description: String { "pkilint did not produce a report:\n\(output)" }
  }

  var atWarningOrAbove: [Finding] {
    findings.filter { ["WARNING", "ERROR", "FATAL"].contains($0.severity) }
  }

  /// Lints a PEM file as the given S/MIME certificate type.
  static func lint(_ file: URL, type: String) throws -> PkilintReport {
    let result = try ExternalTool.run(
      ExternalTool.pkilintSMIME, ["lint", "-t", type, "-s", "WARNING", "-f", "JSON", file.path])
    return try PkilintReport(result.output)
  }

  /// Lints a DER CRL (`CRL`) or ARL (`ARL`) under the CA/Browser Forum
  /// profile.
  static func lintCRL(_ file: URL, type: String) throws -> PkilintReport {
    let result = try ExternalTool.run(
      ExternalTool.pkilint("lint_crl"),
      ["lint", "-t", type, "-p", "BR", "-s", "WARNING", "-f", "JSON", file.path])
    return try PkilintReport(result.output)
  }

  /// Lints a DER OCSP response.
  static func lintOCSP(_ file: URL) throws -> PkilintReport {
    let result = try ExternalTool.run(
      ExternalTool.pkilint("lint_ocsp_response"),
      ["lint", "-s", "WARNING", "-f", "JSON", file.path])
    return try PkilintReport(result.output)
  }
}
