public import SwiftASN1
public import X509

/// The CRL distribution points extension (RFC 5280 §4.2.1.13).
///
/// Modelled as far as a certificate authority that publishes its CRLs over
/// HTTP needs: each distribution point is a full name made of general names
/// (in practice one URI). Reasons and cRLIssuer are refused when parsing,
/// because the S/MIME Baseline Requirements forbid them (§7.1.2.3 b).
///
/// ```
/// CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
///
/// DistributionPoint ::= SEQUENCE {
///      distributionPoint       [0]     DistributionPointName OPTIONAL,
///      reasons                 [1]     ReasonFlags OPTIONAL,
///      cRLIssuer               [2]     GeneralNames OPTIONAL }
///
/// DistributionPointName ::= CHOICE {
///      fullName                [0]     GeneralNames,
///      nameRelativeToCRLIssuer [1]     RelativeDistinguishedName }
/// ```
public struct CRLDistributionPoints: Hashable, Sendable {
  /// One distribution point: the names at which the CRL can be fetched.
  public struct DistributionPoint: Hashable, Sendable {
    /// The full name of the distribution point.
    public var fullName: [GeneralName]

    /// Creates a distribution point from general names.
    public init(fullName: [GeneralName]) {
      self.fullName = fullName
    }
  }

  /// The distribution points, in order.
  public var points: [DistributionPoint]

  static let maximumEntries = 16

  /// Creates the extension with one HTTP URL per distribution point.
  public init(urls: [String]) {
    self.points = urls.map { DistributionPoint(fullName: [.uniformResourceIdentifier($0)]) }
  }

  /// Creates the extension from distribution points.
  public init(_ points: [DistributionPoint]) {
    self.points = points
  }

  /// Every URI named by any distribution point.
  public var uris: [String] {
    points.flatMap { point in
      point.fullName.compactMap { name -> String? in
        if case .uniformResourceIdentifier(let uri) = name { return uri }
        return nil
      }
    }
  }

  /// Unwraps the extension from a certificate extension.
  public init(_ ext: Certificate.Extension) throws {
    guard ext.oid == .X509ExtensionID.cRLDistributionPoints else {
      throw CertificateError.incorrectOIDForExtension(
        reason:
          "Expected \(ASN1ObjectIdentifier.X509ExtensionID.cRLDistributionPoints), got \(ext.oid)"
      )
    }
    self = try CRLDistributionPoints(derEncoded: ext.value)
  }
}

extension CRLDistributionPoints: DERImplicitlyTaggable {
  public static var defaultIdentifier: ASN1Identifier { .sequence }

  public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
    self.points = try DER.sequence(
      of: DistributionPoint.self, identifier: identifier, rootNode: rootNode)
    guard !points.isEmpty, points.count <= Self.maximumEntries else {
      throw ASN1Error.invalidASN1Object(
        reason: "cRLDistributionPoints must hold 1 to \(Self.maximumEntries) entries")
    }
  }

  public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier)
    throws
  {
    try coder.serializeSequenceOf(points, identifier: identifier)
  }
}

extension CRLDistributionPoints.DistributionPoint: DERImplicitlyTaggable {
  public static var defaultIdentifier: ASN1Identifier { .sequence }

  static let distributionPointTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
  static let fullNameTag = ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)

  public init(derEncoded rootNode: ASN1Node, withIdentifier identifier: ASN1Identifier) throws {
    self = try DER.sequence(rootNode, identifier: identifier) { nodes in
      // distributionPoint is a CHOICE, so its [0] tag is explicit.
      guard let pointNode = nodes.next(), pointNode.identifier == Self.distributionPointTag,
        case .constructed(let inner) = pointNode.content, Array(inner).count == 1,
        let nameNode = Array(inner).first
      else {
        throw ASN1Error.invalidASN1Object(
          reason: "a distribution point must carry a distributionPoint name")
      }
      guard nameNode.identifier == Self.fullNameTag else {
        throw ASN1Error.invalidASN1Object(
          reason: "only fullName distribution point names are supported")
      }
      let names = try DER.sequence(
        of: GeneralName.self, identifier: Self.fullNameTag, rootNode: nameNode)
      guard nodes.next() == nil else {
        throw ASN1Error.invalidASN1Object(
          reason: "reasons and cRLIssuer are not allowed in a distribution point")
      }
      guard !names.isEmpty, names.count <= CRLDistributionPoints.maximumEntries else {
        throw ASN1Error.invalidASN1Object(reason: "a fullName must hold 1 to 16 names")
      }
      return .init(fullName: names)
    }
  }

  public func serialize(into coder: inout DER.Serializer, withIdentifier identifier: ASN1Identifier)
    throws
  {
    try coder.appendConstructedNode(identifier: identifier) { coder in
      try coder.appendConstructedNode(identifier: Self.distributionPointTag) { coder in
        try coder.appendConstructedNode(identifier: Self.fullNameTag) { coder in
          for name in fullName { try coder.serialize(name) }
        }
      }
    }
  }
}

extension CRLDistributionPoints: CertificateExtensionConvertible {
  public func makeCertificateExtension() throws -> Certificate.Extension {
    var coder = DER.Serializer()
    try coder.serialize(self)
    return Certificate.Extension(
      oid: .X509ExtensionID.cRLDistributionPoints, critical: false,
      value: coder.serializedBytes[...])
  }
}
