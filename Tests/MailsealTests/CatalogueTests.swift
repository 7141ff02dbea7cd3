import Foundation
import MailsealCA
import MailsealModel
import Testing

@testable import MailsealCLI
@testable import MailsealRA
@testable import MailsealStore
@testable import MailsealWeb

@Suite("The catalogue of words: every message in German and English, every ID used is there")
struct CatalogueTests {
  @Test("every entry has both languages, and both name the same placeholders")
  func bothLanguages() {
    for (id, text) in Catalogue.entries {
      #expect(!text.de.trimmingCharacters(in: .whitespaces).isEmpty, "\(id) has no German")
      #expect(!text.en.trimmingCharacters(in: .whitespaces).isEmpty, "\(id) has no English")
      #expect(
        Catalogue.placeholders(in: text.de) == Catalogue.placeholders(in: text.en),
        "\(id): the languages name different placeholders")
    }
  }

  @Test("no two parts of the catalogue use one ID")
  func partsAreDisjoint() {
    let parts = [Catalogue.pages, Catalogue.problems, Catalogue.mails, Catalogue.commands]
    #expect(Catalogue.entries.count == parts.map(\.count).reduce(0, +))
  }

  @Test("one ID scheme: every ID is one identifier of lower-case letters, digits and underscores")
  func oneScheme() throws {
    let identifier = try Regex(#"^[a-z][a-z0-9_]*$"#)
    let others = Catalogue.entries.keys.filter { $0.wholeMatch(of: identifier) == nil }
    #expect(others.isEmpty, "\(others.sorted())")
    #expect(Catalogue.idPart("key-already-certified") == "key_already_certified")
    #expect(Catalogue.idPart("keyCompromise") == "keycompromise")
  }

  @Test("every error code has its sentence")
  func everyCodeHasASentence() {
    for code in MailsealError.Code.allCases {
      let id = "problem_\(Catalogue.idPart(code.rawValue))"
      #expect(Catalogue.entries[id] != nil, "\(id)")
    }
  }

  @Test("every revocation reason has its words")
  func everyReasonHasWords() {
    for reason in RevocationReason.allCases {
      #expect(Catalogue.entries[reason.labelID] != nil, "\(reason.labelID)")
      #expect(reason.label(.de) != reason.labelID && reason.label(.en) != reason.labelID)
    }
  }

  @Test("every message ID in the sources and every word of the templates is in the catalogue")
  func everyUsedIDExists() throws {
    var missing: [String] = []
    var checked = 0
    let sources = Run.packageRoot.appendingPathComponent("Sources")
    let literal = try Regex(
      #""@?((?:problem|field|label|mail|identity_check|command|reason)_[a-z0-9_]*[a-z0-9])""#)
    let word = try Regex(#"\bt\.([A-Za-z0-9_]+)"#)
    for file in try Self.files(under: sources) {
      let text = try String(contentsOf: file, encoding: .utf8)
      if file.pathExtension == "swift", !file.lastPathComponent.hasPrefix("Catalogue") {
        for match in text.matches(of: literal) {
          let id = String(text[match.output[1].range!])
          checked += 1
          // Built from a code or a field name at run time, checked above.
          guard Catalogue.entries[id] == nil, !Self.notCatalogueLiterals.contains(id) else {
            continue
          }
          missing.append("\(file.lastPathComponent): \(id)")
        }
      }
      if file.pathExtension == "leaf" {
        for match in text.matches(of: word) {
          let id = String(text[match.output[1].range!])
          if Catalogue.entries[id] == nil { missing.append("\(file.lastPathComponent): \(id)") }
        }
      }
    }
    #expect(missing.isEmpty, "\(missing)")
    #expect(checked > 200, "the scan found only \(checked) IDs")
  }

  @Test("the commands speak German when the locale says German, English otherwise")
  func commandLanguage() {
    #expect(CommandWords.language(in: ["LANG": "de_DE.UTF-8"]) == .de)
    #expect(CommandWords.language(in: [:]) == .en)
    #expect(CommandWords.language(in: ["LANG": "C.UTF-8"]) == .en)
    #expect(CommandWords.language(in: ["LANG": "en_GB.UTF-8"]) == .en)
    // The first one set decides; an empty one does not count.
    #expect(CommandWords.language(in: ["LC_ALL": "", "LC_MESSAGES": "de_AT", "LANG": "C"]) == .de)
    #expect(CommandWords.language(in: ["LC_ALL": "en_US.UTF-8", "LANG": "de_DE.UTF-8"]) == .en)
    #expect(
      Catalogue.text("command_audit_intact", .de, ["records": "3"])
        == "Prüfprotokoll intakt: 3 Einträge, jede Verkettung hält")
    #expect(
      Catalogue.text("command_audit_intact", .en, ["records": "3"])
        == "audit trail intact: 3 records, every link holds")
  }

  /// The IDs the sources build at run time (`"state_\(state)"`), each
  /// family with every value it can take.
  static func dynamicFamilies() throws -> [String: [String]] {
    let sources = Run.packageRoot.appendingPathComponent("Sources")
    var refusals: Set<String> = []
    var mails: Set<String> = []
    let refusal = try Regex(#"OIDCRefusal\(\s*"([a-z-]+)""#)
    let mail = try Regex(#"MailComposer\.compose\(\s*"([a-z-]+)""#)
    for file in try Self.files(under: sources) where file.pathExtension == "swift" {
      let text = try String(contentsOf: file, encoding: .utf8)
      for match in text.matches(of: refusal) {
        refusals.insert(String(text[match.output[1].range!]))
      }
      for match in text.matches(of: mail) { mails.insert(String(text[match.output[1].range!])) }
    }
    #expect(refusals.count >= 10 && mails.count >= 10, "the scan found \(refusals) and \(mails)")
    return [
      "problem_": MailsealError.Code.allCases.map { Catalogue.idPart($0.rawValue) },
      "reason_": RevocationReason.allCases.map { Catalogue.idPart($0.name) },
      "state_": CertificateRequest.State.allCases.map(\.rawValue) + [
        "approved_held", "approved_paused", "approved_upstream", "approved_upstream_held",
      ],
      "certificate_": ["active", "revoked", "expired", "revocation_requested"],
      "upstream_order_": UpstreamOrder.State.allCases.map { Catalogue.idPart($0.rawValue) },
      "purpose_": KeyPurpose.allCases.filter { $0 != .dualUse }.map(\.rawValue),
      "recovery_state_": KeyRecovery.State.allCases.map(\.rawValue),
      "field_notice_": ["de_missing", "en_missing"],
      "directory_change_": PublicationChange.Kind.allCases.map(\.rawValue),
      "problem_identity_provider_refused_": refusals.sorted().map(Catalogue.idPart),
      "mail_": mails.sorted().map(Catalogue.idPart).flatMap { ["\($0)_subject", "\($0)_title"] },
    ]
  }

  @Test(
    "every ID built at run time exists for every value, and every kind of built ID is known here")
  func dynamicIDs() throws {
    let families = try Self.dynamicFamilies()
    for (prefix, values) in families {
      for value in values {
        #expect(Catalogue.entries[prefix + value] != nil, "\(prefix + value) is missing")
      }
    }
    for name in families["mail_"]!.filter({ $0.hasSuffix("_subject") }) {
      let body = "mail_" + name.dropLast("_subject".count) + "_body"
      #expect(MailComposer.templates[body] != nil, "\(body) is missing")
    }
    // A string literal that starts like an ID and goes on with an
    // interpolation builds one at run time: its family must be above.
    let built = try Regex(#""([a-z][a-z0-9_-]*(?:[._][a-z0-9_-]+)*[._])\\\("#)
    var unknown: [String] = []
    let sources = Run.packageRoot.appendingPathComponent("Sources")
    for file in try Self.files(under: sources) where file.pathExtension == "swift" {
      let text = try String(contentsOf: file, encoding: .utf8)
      for match in text.matches(of: built) {
        let prefix = String(text[match.output[1].range!])
        if families[prefix] == nil, !Self.notCatalogueIDs.contains(prefix) {
          unknown.append("\(file.lastPathComponent): \(prefix)…")
        }
      }
    }
    #expect(unknown.isEmpty, "IDs built at run time that this test does not know: \(unknown)")
  }

  /// Literals that look like IDs and are not: the Prometheus metrics'
  /// names.
  static let notCatalogueLiterals: Set<String> = ["mail_delivered", "mail_failures", "mail_queue"]

  /// Literals built the same way that are not catalogue IDs (rate-limit
  /// keys, file names, log labels).
  static let notCatalogueIDs: Set<String> = []

  @Test("a label inside a field's problem is the label's sentence in the same language")
  func nestedLabels() {
    let message = Message("field_name_missing", ["label": "@label_given_name"])
    #expect(Catalogue.text(message, .de) == "Der Vorname fehlt.")
    #expect(Catalogue.text(message, .en) == "The given name is missing.")
  }

  @Test("values go into a mail once: a name that looks like a placeholder stays as typed")
  func valuesFilledOnce() {
    let mail = MailTemplates.loginLink(
      url: "https://portal.example.edu/login?t={minutes}", minutes: 15,
      to: "{url}@example.edu", from: "portal@example.edu", language: .en)
    #expect(mail.text.contains("https://portal.example.edu/login?t={minutes}"))
    #expect(mail.text.contains("{url}@example.edu"))
    #expect(mail.html.contains("href=\"https://portal.example.edu/login?t={minutes}\""))
    #expect(!mail.text.contains("{mailbox}") && !mail.html.contains("{mailbox}"))
    #expect(Catalogue.substitute("{a} {{b}} {c", { ["a": "{b}", "b": "B"][$0] }) == "{b} {B} {c")
  }

  static func files(under folder: URL) throws -> [URL] {
    guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
    else { return [] }
    return walker.compactMap { $0 as? URL }.filter {
      ["swift", "leaf", "js"].contains($0.pathExtension)
    }
  }
}
