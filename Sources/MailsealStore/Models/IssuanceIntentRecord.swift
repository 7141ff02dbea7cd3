public import FluentKit
import Foundation

/// The durable record, written before the CA key signs, of what it is about
/// to sign: serial, mailbox, key, validity and a hash of the exact
/// to-be-signed bytes. A certificate can
/// therefore never exist without a record, even if the process dies between
/// signing and storing it.
public final class IssuanceIntentRecord: Model, @unchecked Sendable {
  public static let schema = "issuance_intents"

  /// Where the intent stands.
  public enum State: String, Codable, Sendable {
    /// Recorded; the signature may or may not have happened.
    case pending
    /// Signed and the certificate stored.
    case signed
    /// Found pending after a restart: the certificate may have been
    /// signed but was never stored. Its serial is kept for the CRL.
    case abandoned
    /// The CA key's custody refused to sign (a token that went away): no
    /// signature exists, and the request is issued again later under a new
    /// serial.
    case unsigned
  }

  /// The serial number in lowercase hex: the intent's identity.
  @ID(custom: "serial", generatedBy: .user) public var id: String?
  @Parent(key: "issuer_id") public var issuer: IssuerRecord
  /// SHA-256 of the exact to-be-signed bytes, lowercase hex: whatever
  /// certificate turns up with this serial can be matched to it.
  @Field(key: "tbs_sha256") public var tbsSHA256: String
  @Field(key: "not_after") public var notAfter: Date
  @Field(key: "mailbox") public var mailbox: String
  @Field(key: "key_fingerprint") public var keyFingerprint: String
  @Field(key: "state") public var state: State
  @Field(key: "created_at") public var createdAt: Date
  @OptionalField(key: "completed_at") public var completedAt: Date?

  public init() {}
}
