public import SwiftASN1
public import X509

/// The certificate policies extension (RFC 5280 §4.2.1.4).
///
/// swift-certificates has no type for it, so it is written here on SwiftASN1
/// in that library's style. Only what the S/MIME Baseline Requirements need
/// is modelled: the policy identifiers. Qualifiers found while parsing are
/// kept as raw ASN.1 so that a lint can see them.
///
/// ```
/// certificatePolicies ::= SEQUENCE SIZE (1..MAX) OF PolicyInformation
///
/// PolicyInformation ::= SEQUENCE {
///      policyIdentifier   CertPolicyId,
///      policyQualifiers   SEQUENCE SIZE (1..MAX) OF
///                              PolicyQualifierInfo OPTIONAL }
///
/// CertPolicyId ::= OBJECT IDENTIFIER
/// ```
public struct CertificatePolicies: Hashable, Sendable {
  /// One policy the certificate was issued under.
  public struct PolicyInformation: Hashable, Sendable {
    /// The policy's object identifier.
    public var policyIdentifier: ASN1ObjectIdentifier
    /// The qualifiers, if any, undecoded.
    public var qualifiers: [ASN1Any]

    /// Creates a policy entry with no qualifiers.
    public init(_ policyIdentifier: ASN1ObjectIdentifier, qualifiers: [ASN1Any] = []) {
      self.policyIdentifier = policyIdentifier
      self.qualifiers = qualifiers
    }
  }

  /// The policies, in order.
  public var policies: [PolicyInformation]

  /// A hostile certificate could carry an unbounded list; no real one has
  /// more than a handful.
  static let maximumPolicies = 32

  /// Creates the extension value from policies.
  public init(_ policies: [PolicyInformation]) {
    self.policies = policies
  }

  /// Unwraps the extension from a certificate extension.
  public init(_ ext: Certificate.Extension) throws {
    guard ext.oid == .X509ExtensionID.certificatePolicies else {
      throw CertificateError.incorrectOIDForExtension(
        reason:
          "Expected \(ASN1ObjectIdentifier.X509ExtensionID.certificatePolicies), got \(ext.oid)"
      )
    }
    self = try CertificatePolicies(derEncoded: ext.value)
  }
}

extension CertificatePolicies: DERImplicitlyTaggable {
  public static var defaultIdentifier: ASN1Identifier { .sequence }

  public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
    self.policies = try DER.sequence(
      of: PolicyInformation.self, identifier: identifier, rootNode: rootNode)
    guard !policies.isEmpty, policies.count <= Self.maximumPolicies else {
      throw ASN1Error.invalidASN1Object(
        reason: "certificatePolicies must hold 1 to \(Self.maximumPolicies) policies")
    }
  }

  public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier)
    throws
  {
    try coder.serializeSequenceOf(policies, identifier: identifier)
  }
}

extension CertificatePolicies.PolicyInformation: DERImplicitlyTaggable {
  public static var defaultIdentifier: ASN1Identifier { .sequence }

  public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
    self = try DER.sequence(rootNode, identifier: identifier) { nodes in
      let oid = try ASN1ObjectIdentifier(derEncoded: &nodes)
      var qualifiers: [ASN1Any] = []
      if let node = nodes.next() {
        qualifiers = try DER.sequence(of: ASN1Any.self, identifier: .sequence, rootNode: node)
        guard !qualifiers.isEmpty, qualifiers.count <= CertificatePolicies.maximumPolicies else {
          throw ASN1Error.invalidASN1Object(reason: "policyQualifiers must hold 1 to 32 entries")
        }
      }
      return .init(oid, qualifiers: qualifiers)
    }
  }

  public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier)
    throws
  {
    try coder.appendConstructedNode(identifier: identifier) { coder in
      try coder.serialize(policyIdentifier)
      if !qualifiers.isEmpty {
        try coder.serializeSequenceOf(qualifiers)
      }
    }
  }
}

extension CertificatePolicies: CertificateExtensionConvertible {
  public func makeCertificateExtension() throws -> Certificate.Extension {
    var coder = DER.Serializer()
    try coder.serialize(self)
    return Certificate.Extension(
      oid: .X509ExtensionID.certificatePolicies, critical: false, value: coder.serializedBytes[...])
  }
}

extension ASN1ObjectIdentifier.X509ExtensionID {
  /// id-ce-certificatePolicies (RFC 5280 §4.2.1.4).
  public static let certificatePolicies: ASN1ObjectIdentifier = [2, 5, 29, 32]
  /// id-ce-cRLDistributionPoints (RFC 5280 §4.2.1.13).
  public static let cRLDistributionPoints: ASN1ObjectIdentifier = [2, 5, 29, 31]
}
