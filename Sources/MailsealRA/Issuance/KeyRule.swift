import MailsealCA
import MailsealStore

extension IssuanceRecords.KeyFacts {
  /// The one rule for a subscriber key, applied when a request is made
  /// and again when it is issued: never certified (or about to be) for
  /// another mailbox, never again once blocked after a key compromise.
  /// `also`: facts not stored yet (the batch being issued).
  func refusal(of fingerprint: String, for mailbox: String, also: Self? = nil) -> CAError? {
    if blocked.contains(fingerprint) || also?.blocked.contains(fingerprint) == true {
      return CAError(
        .keyCompromised,
        "This key was revoked for key compromise and can never be certified again; make a new key."
      )
    }
    if mailboxes[fingerprint, default: []].contains(where: { $0 != mailbox })
      || also?.mailboxes[fingerprint, default: []].contains(where: { $0 != mailbox }) == true
    {
      return CAError(
        .keyAlreadyCertified,
        "This key is already certified or requested for another mailbox; make a new key for this one."
      )
    }
    return nil
  }
}
