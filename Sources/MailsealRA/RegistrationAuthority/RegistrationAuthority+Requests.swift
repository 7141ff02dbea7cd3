import FluentKit
public import Foundation
import MailsealCA
public import MailsealModel
import MailsealStore

/// What the request form posts (JSON). The CSR is PEM; nothing else of the
/// key ever reaches the server.
public struct RequestForm: Codable, Sendable {
  public var mailboxType: String
  public var givenName: String?
  public var surname: String?
  public var commonName: String?
  public var keyType: String
  public var csr: String
  /// For a renewal: the serial (hex) of the certificate it renews.
  public var renewalOf: String?
  /// Key escrow: the encryption key's request (PEM; `csr` is then the
  /// signing key's), the envelope the browser sealed that key in for the
  /// recovery certificates (base64 DER), and the requester's consent.
  public var encryptionCsr: String?
  public var escrowEnvelope: String?
  public var escrowConsent: Bool?
  /// `MAILSEAL_PUBLISH=consent`: whether the certificate may be published
  /// so that colleagues can send encrypted mail (missing: no).
  public var publishConsent: Bool?

  public init(
    mailboxType: String, givenName: String?, surname: String?, commonName: String?, keyType: String,
    csr: String, renewalOf: String? = nil, encryptionCsr: String? = nil,
    escrowEnvelope: String? = nil, escrowConsent: Bool? = nil, publishConsent: Bool? = nil
  ) {
    self.publishConsent = publishConsent
    self.renewalOf = renewalOf
    self.encryptionCsr = encryptionCsr
    self.escrowEnvelope = escrowEnvelope
    self.escrowConsent = escrowConsent
    self.mailboxType = mailboxType
    self.givenName = givenName
    self.surname = surname
    self.commonName = commonName
    self.keyType = keyType
    self.csr = csr
  }

  /// Field sizes the form accepts before anything else is looked at.
  static let maximumNameLength = 256
}

/// The person a request names, as checked names.
struct Person: Sendable {
  let givenName: SubjectName
  let surname: SubjectName

  /// Whether `given` and `surname` (as recorded from a document) are this
  /// person's names, compared as the subject compares them.
  func isNamed(_ given: String?, _ surname: String?) -> Bool {
    Self.same(given, givenName.value) && Self.same(surname, self.surname.value)
  }

  static func same(_ a: String?, _ b: String?) -> Bool {
    guard let a, let b, let x = try? SubjectName(a, field: "name", maximumLength: 64),
      let y = try? SubjectName(b, field: "name", maximumLength: 64)
    else { return false }
    return Array(x.value.unicodeScalars) == Array(y.value.unicodeScalars)
  }
}

/// The key types the portal offers, with the subscriber key each must be.
enum OfferedKeyType: String, CaseIterable {
  case rsa3072, rsa4096, p256

  func matches(_ key: SubscriberKeyType) -> Bool {
    switch (self, key) {
    case (.rsa3072, .rsa(3072)), (.rsa4096, .rsa(4096)), (.p256, .ecP256): return true
    default: return false
    }
  }
}

/// A request form that passed every check that needs no store.
struct ValidatedForm: Sendable {
  let type: CertificateRequestRecord.MailboxType
  let subject: ValidatedSubject
  /// The person whose photo ID the desk checks: the holder of a personal
  /// mailbox (the subject's names), or the person responsible for a role
  /// mailbox (recorded with the request, not in the certificate).
  let person: Person
  let keyType: OfferedKeyType
  let request: CheckedRequest
}

extension Enrollment {
  /// Validates the form and the request, stores it as `submitted`, and
  /// queues the confirmation mail. Every field problem is reported at once.
  /// What the form must hold, checked without the store: the names for
  /// the mailbox type, a key type that is offered and matches the CSR, a
  /// CSR the CA core accepts. Every field problem is reported at once.
  static func validate(_ form: RequestForm, mailbox: Mailbox) throws -> ValidatedForm {
    var fields: [String: Message] = [:]
    func field(_ name: String, _ input: String?, label: String, bound: Int) -> SubjectName? {
      let labelled = ["label": "@\(label)"]
      guard let input, !input.trimmingCharacters(in: .whitespaces).isEmpty else {
        fields[name] = Message("field_name_missing", labelled)
        return nil
      }
      guard input.count <= RequestForm.maximumNameLength else {
        fields[name] = Message("field_name_too_long", labelled)
        return nil
      }
      do {
        return try SubjectName(
          input, field: Catalogue.text(label, .en).lowercased(), maximumLength: bound)
      } catch {
        fields[name] = Self.nameProblem(error, label: label, bound: bound)
        return nil
      }
    }

    var identity: ValidatedSubject.Identity?
    var person: Person?
    let type = CertificateRequestRecord.MailboxType(rawValue: form.mailboxType)
    if type != nil {
      // Both kinds name a person: the holder, or the one responsible.
      let given = field(
        "givenName", form.givenName, label: "label_given_name",
        bound: SubjectNameBounds.givenName)
      let surname = field(
        "surname", form.surname, label: "label_surname",
        bound: SubjectNameBounds.surname)
      if let given, let surname { person = Person(givenName: given, surname: surname) }
    }
    switch type {
    case .personal:
      if let person { identity = .person(givenName: person.givenName, surname: person.surname) }
    case .role:
      if let name = field(
        "commonName", form.commonName,
        label: "label_mailbox_name",
        bound: SubjectNameBounds.pseudonym)
      {
        identity = .pseudonym(name)
      }
    case nil:
      fields["mailboxType"] = Message("field_mailbox_type_choose")
    }
    var subject: ValidatedSubject?
    if let identity {
      do {
        subject = try ValidatedSubject(mailbox: mailbox, identity: identity)
      } catch {
        fields[type == .personal ? "surname" : "commonName"] = Message(
          "field_names_too_long_together", ["bound": "\(SubjectNameBounds.commonName)"])
      }
    }
    let offered = OfferedKeyType(rawValue: form.keyType)
    if offered == nil {
      fields["keyType"] = Message("field_key_type_choose")
    }
    guard fields.isEmpty, let type, let subject, let person, let offered else {
      throw MailsealError(.invalidForm, fields: fields)
    }

    let request = try CertificateRequestCheck.check(pem: form.csr)
    guard offered.matches(request.keyType) else {
      throw MailsealError(.keyTypeMismatch, ["keyType": offered.rawValue])
    }
    return ValidatedForm(
      type: type, subject: subject, person: person, keyType: offered, request: request)
  }

  public func submit(
    _ form: RequestForm, session: MailboxSession, language: Language, now: Date = Date()
  ) async throws
    -> CertificateRequest
  {
    let mailbox = try Mailbox(session.mailbox)
    let validated = try Self.validate(form, mailbox: mailbox)
    let (type, subject, offered, request) = (
      validated.type, validated.subject, validated.keyType, validated.request
    )
    let fingerprint = request.keyFingerprint.hexString
    // What the sign-in proved must cover the mailbox's type (S/MIME BR
    // §3.2.2): a role mailbox proves itself by its login link.
    if type == .role, !session.validation.coversRoleMailboxes {
      throw MailsealError(.roleMailboxNeedsLoginLink)
    }
    try await checkKeyIsFree(fingerprint, for: mailbox.address)
    let escrow = try await validateEscrow(form, keyType: offered, signing: request)
    if let escrow {
      try await checkKeyIsFree(escrow.request.keyFingerprint.hexString, for: mailbox.address)
    }

    var record = CertificateRequest(
      id: UUID(), number: "", mailbox: mailbox.address, mailboxType: type,
      keyType: offered.rawValue, keyFingerprint: fingerprint, csrDER: Data(request.der),
      state: .submitted, language: language.rawValue, mailboxValidatedAt: session.validatedAt,
      mailboxValidationMethod: session.validationMethod, createdAt: now, updatedAt: now)
    record.givenName = validated.person.givenName.value
    record.surname = validated.person.surname.value
    if case .pseudonym(let name) = subject.identity { record.pseudonym = name.value }
    if let escrow {
      record.encryptionCSRDER = Data(escrow.request.der)
      record.encryptionKeyFingerprint = escrow.request.keyFingerprint.hexString
      record.escrowEnvelope = Data(escrow.envelope.der)
      record.escrowConsentedAt = now
      record.escrowSealedTo = escrow.sealedTo.map(\.fingerprint.hexString).joined(separator: ",")
    }
    if configuration.directory.mode == .consent {
      record.publishConsent = form.publishConsent ?? false
      record.publishConsentAt = now
    }
    var renewal: RenewalBasis?
    if let serial = form.renewalOf, !serial.isEmpty {
      guard serial.count <= 64 else { throw MailsealError.notFound }
      renewal = try await applyRenewal(
        &record, serial: serial, subject: subject, person: validated.person, now: now)
    }
    var audit = [
      AuditEvent(
        actor: AuditEvent.requester(record.mailbox), action: .requestSubmitted,
        subject: "",
        details: [
          "mailboxType": record.mailboxType.rawValue, "keyType": record.keyType,
          "keyFingerprint": record.keyFingerprint,
          "renewalOf": renewal?.certificate.serial ?? "",
          "evidenceReused": record.evidenceRequestID == nil ? "false" : "true",
          "mailboxValidation": record.mailboxValidationMethod,
          "keyEscrow": escrow == nil ? "no" : "consented",
          "encryptionKeyFingerprint": record.encryptionKeyFingerprint ?? "",
          "publish": configuration.directory.mode == .consent
            ? (record.publishConsent == true ? "consented" : "declined")
            : configuration.directory.mode.rawValue,
        ])
    ]
    if record.state == .approved {
      audit.append(
        AuditEvent(
          actor: AuditEvent.ca, action: .requestApproved, subject: "",
          details: ["mailbox": record.mailbox, "automatic": "renewal with reused evidence"]))
    }
    for attempt in 1...5 {
      record.id = UUID()
      record.number = RequestNumber.make()
      do {
        let number = record.number
        let mail: MailMessage =
          if record.state == .submitted {
            MailTemplates.requestReceived(
              record, identityCheck: portal.identityCheckText[language.rawValue] ?? "",
              videoCallURL: portal.videoCallURL,
              portalURL: configuration.publicURL, from: configuration.mail.from, language: language)
          } else {
            MailTemplates.renewalReceived(
              record, automatic: record.state == .approved, portalURL: configuration.publicURL,
              from: configuration.mail.from, language: language)
          }
        let events = audit.map { event in
          var event = event
          event.subject = number
          return event
        }
        let submitted = record
        try await store.transaction { store in
          // The key's rule again, now that this transaction holds the audit
          // trail's head (every change takes it): two requests with one key
          // for two mailboxes, sent at the same moment, cannot both pass.
          try await AuditTrail.holdHead(on: store.database)
          try await Self.checkKeyIsFree(
            submitted.keyFingerprint, for: submitted.mailbox, in: store)
          if let encryptionKey = submitted.encryptionKeyFingerprint {
            try await Self.checkKeyIsFree(encryptionKey, for: submitted.mailbox, in: store)
          }
          try await store.requests.add(submitted)
          try await Outbox.enqueue(
            mail, on: store.database, messageDomain: configuration.mail.domain, now: now)
          try await AuditTrail.append(events, on: store.database, now: now)
        }
        break
      } catch is DuplicateEntry where attempt < 5 {
        continue  // a request number drawn twice: draw again
      }
    }
    mailQueued()
    logger.info(
      "certificate request submitted",
      metadata: ["number": "\(record.number)", "mailbox": "\(record.mailbox)"])
    return record
  }

  /// Refuses a key that is certified, or requested, for another mailbox, or
  /// that is blocked.
  func checkKeyIsFree(_ fingerprint: String, for mailbox: String) async throws {
    try await Self.checkKeyIsFree(fingerprint, for: mailbox, in: store)
  }

  static func checkKeyIsFree(_ fingerprint: String, for mailbox: String, in store: Store)
    async throws
  {
    var facts = try await store.issuance.keyFacts([fingerprint])
    // Requests not yet issued hold their key too (either key of an
    // escrowing request).
    for other in try await store.requests.keyHolders(of: fingerprint, otherThan: mailbox) {
      facts.mailboxes[fingerprint, default: []].insert(other)
    }
    if let refusal = facts.refusal(of: fingerprint, for: mailbox) { throw refusal }
  }

  /// What is wrong with a name the core refused, for the field `label`
  /// (a catalogue ID) names.
  static func nameProblem(_ error: CAError, label: String, bound: Int) -> Message {
    let message = error.message
    let labelled = ["label": "@\(label)"]
    if message.contains("control character") {
      return Message("field_name_control_character", labelled)
    }
    if message.contains("at least one letter") {
      return Message("field_name_needs_letter", labelled)
    }
    if message.contains("at most") {
      return Message("field_name_too_long_at_most", ["label": "@\(label)", "bound": "\(bound)"])
    }
    return Message("field_name_invalid", labelled)
  }

  /// The requests of a mailbox, newest first.
  public func requests(of mailbox: String) async throws -> [CertificateRequest] {
    try await store.requests.of(mailbox: mailbox)
  }

  /// One request of the session's mailbox; another mailbox's request is
  /// "not found", so that its existence is not revealed.
  public func request(number: String, session: MailboxSession) async throws
    -> CertificateRequest
  {
    let record = try await authority.desk.request(number: number)
    guard record.mailbox == session.mailbox else { throw MailsealError.notFound }
    return record
  }

  /// Withdraws a request that is not yet approved.
  public func withdraw(number: String, session: MailboxSession, now: Date = Date()) async throws
    -> CertificateRequest
  {
    var record = try await request(number: number, session: session)
    guard record.state == .submitted || record.state == .verified else {
      throw MailsealError(.cannotWithdraw)
    }
    try await store.transaction { [record] store in
      guard try await store.requests.withdraw(record.id, now: now) else {
        throw MailsealError(.cannotWithdraw)
      }
      try await AuditTrail.append(
        AuditEvent(
          actor: AuditEvent.requester(record.mailbox), action: .requestWithdrawn,
          subject: record.number), on: store.database, now: now)
    }
    record.state = .withdrawn
    record.updatedAt = now
    logger.info("certificate request withdrawn", metadata: ["number": "\(record.number)"])
    return record
  }
}
