/// Who a certificate is for, as the registration authority validated it.
///
/// This is the only source of the subject and subjectAltName of a
/// certificate: nothing is copied from the certificate signing request.
public struct ValidatedSubject: Hashable, Sendable {
  /// How the holder of the mailbox is named.
  public enum Identity: Hashable, Sendable {
    /// A person: given name and surname, verified against a photo ID.
    case person(givenName: SubjectName, surname: SubjectName)
    /// A role or group mailbox: a natural-language name such as
    /// "Secretariat of the Computing Centre".
    case pseudonym(SubjectName)
    /// Mailbox control only.
    case mailboxOnly
  }

  /// The mailbox, whose control was proven.
  public let mailbox: Mailbox
  /// How the holder is named.
  public let identity: Identity

  /// The profile the certificate is issued under.
  public var profile: CertificateProfile {
    switch identity {
    case .person: return .sponsorValidatedPersonal
    case .pseudonym: return .sponsorValidatedPseudonym
    case .mailboxOnly: return .mailboxValidated
    }
  }

  /// The common name: the personal name, the pseudonym or the address.
  public let commonName: String

  /// Creates a subject and checks that its common name fits.
  public init(mailbox: Mailbox, identity: Identity) throws(CAError) {
    self.mailbox = mailbox
    self.identity = identity
    switch identity {
    case .person(let given, let surname):
      commonName = "\(given.value) \(surname.value)"
      guard commonName.unicodeScalars.count <= SubjectNameBounds.commonName else {
        throw CAError(
          .invalidName,
          "Given name and surname together are \(commonName.unicodeScalars.count) characters long; the common name of a certificate allows at most \(SubjectNameBounds.commonName)."
        )
      }
    case .pseudonym(let name):
      commonName = name.value
    case .mailboxOnly:
      commonName = mailbox.address
      guard commonName.utf8.count <= SubjectNameBounds.commonName else {
        throw CAError(
          .invalidMailbox,
          "The address is \(commonName.utf8.count) characters long; a mailbox-validated certificate names it as the common name, which allows at most \(SubjectNameBounds.commonName)."
        )
      }
    }
  }

  /// Convenience: validates the raw strings of a personal mailbox.
  public static func person(mailbox: String, givenName: String, surname: String) throws(CAError)
    -> ValidatedSubject
  {
    try ValidatedSubject(
      mailbox: Mailbox(mailbox),
      identity: .person(
        givenName: SubjectName(
          givenName, field: "given name", maximumLength: SubjectNameBounds.givenName),
        surname: SubjectName(surname, field: "surname", maximumLength: SubjectNameBounds.surname)
      )
    )
  }

  /// Convenience: validates the raw strings of a role or group mailbox.
  public static func pseudonym(mailbox: String, name: String) throws(CAError) -> ValidatedSubject {
    try ValidatedSubject(
      mailbox: Mailbox(mailbox),
      identity: .pseudonym(
        SubjectName(name, field: "name of the mailbox", maximumLength: SubjectNameBounds.pseudonym))
    )
  }

  /// Convenience: a mailbox-validated subject.
  public static func mailboxOnly(_ mailbox: String) throws(CAError) -> ValidatedSubject {
    try ValidatedSubject(mailbox: Mailbox(mailbox), identity: .mailboxOnly)
  }
}
