import Foundation
import SwiftASN1
public import X509

extension Linter {
  /// The rules for S/MIME subscriber certificates: one per fact of the
  /// Baseline Requirements that the profiles rest on.
  public static let subscriber = Linter(rules: [
    LintRule("smime.version.v3", "Certificates are X.509 version 3 (RFC 5280 §4.1.2.1).") {
      context in
      context.certificate.version == .v3 ? nil : "version is \(context.certificate.version)"
    },
    LintRule(
      "smime.serial.random_positive",
      "The serial number is positive, at most 20 octets, and carries at least 64 random bits: 16 octets from the CSPRNG (S/MIME BR §7.1)."
    ) { context in
      let bytes = Array(context.certificate.serialNumber.bytes)
      guard let first = bytes.first, first & 0x80 == 0, bytes.count <= 20 else {
        return "serial is not a positive number of at most 20 octets"
      }
      guard bytes.count == 16, first & 0x40 != 0 else {
        return "serial is \(bytes.count) octets, not the 16 random octets issued"
      }
      return nil
    },
    LintRule(
      "smime.signature_algorithm.matches_issuer",
      "The signature algorithm is one the S/MIME BR allow, matching the issuing key (§7.1.3.2)."
    ) { context in
      let expected = context.issuerFacts.signatureAlgorithm
      return context.certificate.signatureAlgorithm == expected
        ? nil
        : "signature algorithm \(context.certificate.signatureAlgorithm) does not match the issuer key"
    },
    LintRule(
      "smime.issuer.matches_ca_subject",
      "The issuer name is the issuing CA's subject (RFC 5280 §4.1.2.4)."
    ) { context in
      // Byte for byte (S/MIME BR §7.1.4.1), not merely equal by meaning.
      context.issuerNameDER == context.issuerFacts.subjectDER
        ? nil : "issuer \(context.certificate.issuer) is not byte for byte the CA's subject"
    },
    LintRule(
      "smime.validity.at_most_825_days",
      "The validity period is at most 825 days and lies within the issuing CA's validity (S/MIME BR §6.3.2)."
    ) { context in
      let certificate = context.certificate
      let seconds = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore) + 1
      guard seconds > 0 else { return "notAfter is before notBefore" }
      guard seconds <= Double(IssuerPolicy.maximumValidityDays) * 86_400 else {
        return
          "validity is \(Int(seconds / 86_400)) days, more than \(IssuerPolicy.maximumValidityDays)"
      }
      guard certificate.notValidBefore >= context.issuer.notValidBefore,
        certificate.notValidAfter <= context.issuer.notValidAfter
      else {
        return "validity reaches outside the issuing CA's validity"
      }
      return nil
    },
    LintRule(
      "smime.subscriber_key.allowed",
      "The subscriber key is RSA of at least 2048 bits with a modulus a multiple of 8, or ECDSA on P-256, P-384 or P-521 (S/MIME BR §6.1.5)."
    ) { context in
      switch context.certificateKeyType {
      case .success: return nil
      case .failure(let error): return error.message
      }
    },
    LintRule(
      "smime.subject.profile_attributes",
      "The subject holds exactly the attributes of the profile, each single-valued, from the validated data: C (PrintableString), O, organizationIdentifier, givenName and surname or pseudonym, CN — or only CN = the address for mailbox-validated (S/MIME BR §7.1.4.2.2)."
    ) { context in
      try SubjectLint.check(context)
    },
    LintRule(
      "smime.san.rfc822_mailbox",
      "subjectAltName is present, not critical, and holds the validated mailbox as its only rfc822Name and nothing else (S/MIME BR §7.1.2.3 h, §7.1.4.2.1)."
    ) { context in
      guard let ext = context.certificate.extensions[oid: .X509ExtensionID.subjectAlternativeName]
      else { return "subjectAltName is missing" }
      guard !ext.critical else {
        return "subjectAltName is critical although the subject is not empty"
      }
      let names = Array(try SubjectAlternativeNames(ext))
      guard names == [.rfc822Name(context.subject.mailbox.address)] else {
        return "subjectAltName is \(names), not the mailbox alone"
      }
      return nil
    },
    LintRule(
      "smime.subject.addresses_in_san",
      "Every mail address in the subject is repeated in subjectAltName as an rfc822Name (S/MIME BR §7.1.4.2.1)."
    ) { context in
      let san = Set(
        (try context.certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames())
          .compactMap { name -> String? in
            if case .rfc822Name(let address) = name { return address.lowercased() }
            return nil
          })
      for attribute in try context.subjectAttributes.get()
      where attribute.type == .RDNAttributeType.emailAddress
        || (attribute.type == .RDNAttributeType.commonName && attribute.value.contains("@"))
      {
        if !san.contains(attribute.value.lowercased()) {
          return "subject address \(attribute.value) is not in subjectAltName"
        }
      }
      return nil
    },
    LintRule(
      "smime.policy.single_reserved_strict",
      "certificatePolicies holds exactly one policy: the reserved strict OID 2.23.140.1.5.T.3 of the profile (S/MIME BR §7.1.6.1)."
    ) { context in
      guard let ext = context.certificate.extensions[oid: .X509ExtensionID.certificatePolicies]
      else { return "certificatePolicies is missing" }
      guard !ext.critical else { return "certificatePolicies is critical" }
      let policies = try CertificatePolicies(ext).policies.map(\.policyIdentifier)
      let expected = context.subject.profile.policyIdentifier
      return policies == [expected] ? nil : "policies are \(policies), expected only \(expected)"
    },
    LintRule(
      "smime.eku.email_protection_only",
      "extKeyUsage is present, not critical, and holds only id-kp-emailProtection (S/MIME BR §7.1.2.3 f, strict)."
    ) { context in
      guard let ext = context.certificate.extensions[oid: .X509ExtensionID.extendedKeyUsage] else {
        return "extKeyUsage is missing"
      }
      guard !ext.critical else { return "extKeyUsage is critical" }
      let usages = Array(try ExtendedKeyUsage(ext))
      return usages == [.emailProtection]
        ? nil : "extKeyUsage is \(usages), expected only emailProtection"
    },
    LintRule(
      "smime.key_usage.matches_key_type",
      "keyUsage is critical and exactly what the key type and purpose call for: dual use digitalSignature with keyEncipherment (RSA) or keyAgreement (EC); signing only digitalSignature; encryption only keyEncipherment (RSA) or keyAgreement (EC) (S/MIME BR §7.1.2.3 e)."
    ) { context in
      guard let ext = context.certificate.extensions[oid: .X509ExtensionID.keyUsage] else {
        return "keyUsage is missing"
      }
      guard ext.critical else { return "keyUsage is not critical" }
      let usage = try KeyUsage(ext)
      // The key type is read from the certificate's own key, not taken
      // from the request.
      let keyType = try context.certificateKeyType.get()
      let expected = context.purpose.keyUsage(for: keyType)
      return usage == expected
        ? nil : "keyUsage is \(usage), expected \(expected) (\(context.purpose.rawValue))"
    },
    LintRule(
      "smime.crldp.http",
      "cRLDistributionPoints is present, not critical, and names the CA's CRL by an http:// URL (S/MIME BR §7.1.2.3 b)."
    ) { context in
      guard let ext = context.certificate.extensions[oid: .X509ExtensionID.cRLDistributionPoints]
      else { return "cRLDistributionPoints is missing" }
      guard !ext.critical else { return "cRLDistributionPoints is critical" }
      let uris = try CRLDistributionPoints(ext).uris
      guard !uris.isEmpty, uris.allSatisfy({ $0.hasPrefix("http://") }) else {
        return "CRL URLs \(uris) are not all http://"
      }
      return nil
    },
    LintRule(
      "smime.aia.ocsp_and_ca_issuers_http",
      "authorityInformationAccess is present, not critical, with an OCSP and a caIssuers http:// URL and nothing else (S/MIME BR §7.1.2.3 c)."
    ) { context in
      guard
        let ext = context.certificate.extensions[oid: .X509ExtensionID.authorityInformationAccess]
      else { return "authorityInformationAccess is missing" }
      guard !ext.critical else { return "authorityInformationAccess is critical" }
      var sawOCSP = false
      var sawIssuer = false
      for description in try AuthorityInformationAccess(ext) {
        guard case .uniformResourceIdentifier(let uri) = description.location,
          uri.hasPrefix("http://")
        else {
          return "access location \(description.location) is not an http:// URL"
        }
        switch description.method {
        case .ocspServer: sawOCSP = true
        case .issuingCA: sawIssuer = true
        default: return "unexpected access method \(description.method)"
        }
      }
      return sawOCSP && sawIssuer ? nil : "an OCSP or caIssuers URL is missing"
    },
    LintRule(
      "smime.aki.key_identifier_only",
      "authorityKeyIdentifier is present, not critical, with only the keyIdentifier, equal to the issuing CA's subjectKeyIdentifier (S/MIME BR §7.1.2.3 g)."
    ) { context in
      guard let ext = context.certificate.extensions[oid: .X509ExtensionID.authorityKeyIdentifier]
      else { return "authorityKeyIdentifier is missing" }
      guard !ext.critical else { return "authorityKeyIdentifier is critical" }
      let aki = try AuthorityKeyIdentifier(ext)
      guard aki.authorityCertIssuer == nil, aki.authorityCertSerialNumber == nil else {
        return "authorityKeyIdentifier carries issuer and serial"
      }
      return aki.keyIdentifier.map(Array.init) == context.issuerFacts.keyIdentifier
        ? nil : "keyIdentifier is not the CA's subjectKeyIdentifier"
    },
    LintRule(
      "smime.ski.present",
      "subjectKeyIdentifier is present and not critical, and identifies the subscriber key (RFC 5280 §4.2.1.2)."
    ) { context in
      guard let ext = context.certificate.extensions[oid: .X509ExtensionID.subjectKeyIdentifier]
      else { return "subjectKeyIdentifier is missing" }
      guard !ext.critical else { return "subjectKeyIdentifier is critical" }
      return Array(try SubjectKeyIdentifier(ext).keyIdentifier)
        == (try Certificate.PublicKey.keyIdentifier(
          subjectPublicKeyInfo: context.subjectPublicKeyInfoDER))
        ? nil : "subjectKeyIdentifier does not match the key"
    },
    LintRule(
      "smime.basic_constraints.not_ca",
      "A subscriber certificate is not a CA: basicConstraints is absent or says cA FALSE (S/MIME BR §7.1.2.3 d)."
    ) { context in
      if case .isCertificateAuthority? = try context.certificate.extensions.basicConstraints {
        return "basicConstraints says cA TRUE"
      }
      return nil
    },
    LintRule(
      "smime.extensions.allowed_set",
      "Only the extensions of the profile are present, each once (S/MIME BR §7.1.2.3; RFC 5280 §4.2)."
    ) { context in
      var seen = Set<ASN1ObjectIdentifier>()
      for ext in context.certificate.extensions {
        guard SubjectLint.allowedExtensions.contains(ext.oid) else {
          return "extension \(ext.oid) is not part of the profile"
        }
        guard seen.insert(ext.oid).inserted else { return "extension \(ext.oid) appears twice" }
      }
      return nil
    },
  ])
}

extension CAKeyType {
  /// The CA key type of a public key, or nil when it is not one of ours.
  public init?(publicKey: Certificate.PublicKey) throws {
    switch try CertificateRequestCheck.classify(
      subjectPublicKeyInfo: publicKey.subjectPublicKeyInfoDER)
    {
    case .ecP256: self = .p256
    case .ecP384: self = .p384
    case .ecP521: self = .p521
    case .rsa(4096): self = .rsa4096
    case .rsa: return nil
    }
  }
}

/// The subject checks, on the DER of the name as encoded.
enum SubjectLint {
  /// A subject that could not be read.
  struct Unreadable: Error {
    let reason: String
  }

  struct Attribute: Sendable {
    let type: ASN1ObjectIdentifier
    let tag: ASN1Identifier
    let value: String
  }

  static let allowedExtensions: Set<ASN1ObjectIdentifier> = [
    .X509ExtensionID.keyUsage, .X509ExtensionID.extendedKeyUsage,
    .X509ExtensionID.certificatePolicies,
    .X509ExtensionID.subjectAlternativeName, .X509ExtensionID.cRLDistributionPoints,
    .X509ExtensionID.authorityInformationAccess, .X509ExtensionID.authorityKeyIdentifier,
    .X509ExtensionID.subjectKeyIdentifier, .X509ExtensionID.basicConstraints,
  ]

  /// A name's DER encoding.
  static func der(_ name: DistinguishedName) throws -> [UInt8] {
    var coder = DER.Serializer()
    try coder.serialize(name)
    return coder.serializedBytes
  }

  /// The issuer and subject nodes of a certificate's DER (nil when it
  /// does not have the shape of a certificate).
  static func encodedNames(of certificate: ASN1Node) -> (
    issuer: ASN1Node, subject: ASN1Node, subjectPublicKeyInfo: ASN1Node
  )? {
    guard case .constructed(let outer) = certificate.content,
      let tbs = outer.first(where: { _ in true }),
      case .constructed(let fields) = tbs.content
    else { return nil }
    // version [0] (optional), serialNumber, signature, issuer, validity,
    // subject, subjectPublicKeyInfo
    var nodes = Array(fields)
    if nodes.first?.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) {
      nodes.removeFirst()
    }
    guard nodes.count >= 6 else { return nil }
    return (nodes[2], nodes[4], nodes[5])
  }

  /// The attributes in order, refusing multi-valued RDNs.
  static func attributes(of name: DistinguishedName) throws -> [Attribute] {
    try attributes(of: try DER.parse(der(name)))
  }

  /// The attributes of an encoded name, in order, refusing multi-valued RDNs.
  static func attributes(of name: ASN1Node) throws -> [Attribute] {
    try DER.sequence(name, identifier: .sequence) { rdns in
      var result: [Attribute] = []
      while let rdn = rdns.next() {
        guard rdn.identifier == .set, case .constructed(let collection) = rdn.content,
          let member = Array(collection).first
        else {
          throw ASN1Error.invalidASN1Object(reason: "empty RDN")
        }
        guard Array(collection).count == 1 else {
          throw ASN1Error.invalidASN1Object(reason: "multi-valued RDN")
        }
        result.append(
          try DER.sequence(member, identifier: .sequence) { nodes in
            let type = try ASN1ObjectIdentifier(derEncoded: &nodes)
            guard let valueNode = nodes.next(), case .primitive(let bytes) = valueNode.content,
              let text = String(validating: bytes, as: UTF8.self)
            else { throw ASN1Error.invalidASN1Object(reason: "attribute value is not a string") }
            return Attribute(type: type, tag: valueNode.identifier, value: text)
          })
      }
      return result
    }
  }

  /// Whether `text` is in Normalization Form C. Below U+0300 (ASCII,
  /// Latin-1, Latin Extended-A and -B, IPA) every character is NFC-stable
  /// (Unicode's NFC_Quick_Check is Yes for all of them, and none combines
  /// with what precedes it), so such a name — nearly every name — is
  /// decided without normalising; anything else is normalised and
  /// compared.
  static func isNFC(_ text: String) -> Bool {
    if text.unicodeScalars.allSatisfy({ $0.value < 0x300 }) { return true }
    return text.unicodeScalars.elementsEqual(
      text.precomposedStringWithCanonicalMapping.unicodeScalars)
  }

  static func check(_ context: LintContext) throws -> String? {
    let attributes: [Attribute]
    switch context.subjectAttributes {
    case .success(let read): attributes = read
    case .failure(let error): return "the subject cannot be read: \(error.reason)"
    }
    var expected: [(ASN1ObjectIdentifier, String)] = []
    let subject = context.subject
    if subject.profile.namesOrganization {
      // The organisation part is the issuer policy's, validated when the
      // policy was configured.
      expected.append((.RDNAttributeType.countryName, context.organization.country.code))
      expected.append((.RDNAttributeType.organizationName, context.organization.name.value))
      expected.append(
        (.SubjectAttribute.organizationIdentifier, context.organization.identifier.value))
    }
    switch subject.identity {
    case .person(let given, let surname):
      expected.append((.SubjectAttribute.givenName, given.value))
      expected.append((.SubjectAttribute.surname, surname.value))
    case .pseudonym(let pseudonym):
      expected.append((.SubjectAttribute.pseudonym, pseudonym.value))
    case .mailboxOnly:
      break
    }
    expected.append((.RDNAttributeType.commonName, subject.commonName))
    guard attributes.map(\.type) == expected.map(\.0) else {
      return
        "subject attributes are \(attributes.map { $0.type.description }), expected \(expected.map { $0.0.description })"
    }
    for (attribute, (type, value)) in zip(attributes, expected) {
      // Compared scalar by scalar: Swift's == treats NFD and NFC as equal.
      guard attribute.value.unicodeScalars.elementsEqual(value.unicodeScalars) else {
        return "\(type) is “\(attribute.value)”, not the validated “\(value)”"
      }
      let wantedTag: ASN1Identifier =
        type == .RDNAttributeType.countryName ? .printableString : .utf8String
      guard attribute.tag == wantedTag else {
        return "\(type) is encoded as \(attribute.tag), expected \(wantedTag)"
      }
      guard isNFC(attribute.value) else {
        return "\(type) is not NFC-normalised"
      }
      guard attribute.value.unicodeScalars.count <= SubjectNameBounds.commonName else {
        return "\(type) exceeds its upper bound"
      }
    }
    return nil
  }
}
