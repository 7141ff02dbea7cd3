/// An error raised by the certificate authority core.
///
/// Every error carries a stable ``Code`` that callers (the registration
/// authority, the web layer, the command line) map to their own answers, and
/// a message written for the person who has to act on it. Messages never
/// contain key material.
public struct CAError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The stable kind of an error; its raw value is part of the public API
  /// (it appears in problem documents and logs) and never changes meaning.
  public enum Code: String, Hashable, Sendable, CaseIterable {
    // Certificate signing requests.
    case csrMalformed = "csr-malformed"
    case csrTooLarge = "csr-too-large"
    case csrBadSignature = "csr-bad-signature"
    case csrKeyNotAllowed = "csr-key-not-allowed"
    case csrRSAKeyTooSmall = "csr-rsa-key-too-small"
    case csrRSAModulusNotByteAligned = "csr-rsa-modulus-not-byte-aligned"
    case csrRSAExponentNotAllowed = "csr-rsa-exponent-not-allowed"
    case csrCurveNotAllowed = "csr-curve-not-allowed"
    case csrWeakKey = "csr-weak-key"
    case keyAlreadyCertified = "key-already-certified"
    case keyCompromised = "key-compromised"
    // The validated subject.
    case invalidMailbox = "invalid-mailbox"
    case invalidName = "invalid-name"
    // Issuer policy and configuration.
    case invalidIssuerPolicy = "invalid-issuer-policy"
    case issuerNotValid = "issuer-not-valid"
    // Pre-issuance linting.
    case lintFailed = "lint-failed"
    // Key custody and CA material.
    case keyCustody = "key-custody"
    /// The key's custody cannot sign now (a token that went away, a PIN
    /// refused): nothing is signed, and it may work again by itself.
    case keyUnavailable = "key-unavailable"
    case wrongPassphrase = "wrong-passphrase"
    case caMaterialInvalid = "ca-material-invalid"
    case signatureMismatch = "signature-mismatch"
    // Key escrow: the envelope a browser made, the offline recovery key.
    case envelopeMalformed = "envelope-malformed"
    case envelopeTooLarge = "envelope-too-large"
    /// The envelope is not made for exactly the installed recovery
    /// certificates.
    case envelopeRecipientsWrong = "envelope-recipients-wrong"
    /// A recovery certificate, key or share that cannot be read or used.
    case recoveryMaterialInvalid = "recovery-material-invalid"
    /// The recovery key (or the shares) does not open this envelope.
    case recoveryKeyMismatch = "recovery-key-mismatch"
    /// The key in the envelope is not the key of the certificate.
    case recoveredKeyMismatch = "recovered-key-mismatch"
    // An upstream certificate authority.
    /// The upstream CA refused the order (its answer is the message).
    case upstreamRefused = "upstream-refused"
  }

  /// The stable kind of this error.
  public var code: Code
  /// A sentence for a person: what is wrong and, where it helps, what to do.
  public var message: String
  /// For ``Code/lintFailed``: the identifier of every lint rule that failed.
  public var failedRules: [String]

  /// Creates an error of the given kind.
  public init(_ code: Code, _ message: String, failedRules: [String] = []) {
    self.code = code
    self.message = message
    self.failedRules = failedRules
  }

  public var description: String { "\(code.rawValue): \(message)" }

  /// Whether the error is the CA key's custody failing (not the request):
  /// what was to be signed waits, it is not refused.
  public var isCustodyFault: Bool {
    code == .keyCustody || code == .keyUnavailable || code == .wrongPassphrase
  }
}
