import Crypto
import Foundation
import MailsealCA
import SwiftASN1
import X509
import _CryptoExtras

// Writes the seed corpus of every fuzz target into Corpus/<target>/, made
// by the project's own code and the libraries it trusts: a handful of
// well-formed inputs from which libFuzzer mutates.
let corpus = URL(
  fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Corpus")

func write(_ target: String, _ name: String, _ bytes: [UInt8]) throws {
  let folder = corpus.appendingPathComponent(target)
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  try Data(bytes).write(to: folder.appendingPathComponent(name))
}

func csr(_ key: Certificate.PrivateKey, _ algorithm: Certificate.SignatureAlgorithm) throws
  -> CertificateSigningRequest
{
  try CertificateSigningRequest(
    version: .v1, subject: DistinguishedName { CommonName("seed@example.edu") }, privateKey: key,
    attributes: .init(), signatureAlgorithm: algorithm)
}

let requests = [
  ("p256", try csr(Certificate.PrivateKey(P256.Signing.PrivateKey()), .ecdsaWithSHA256)),
  ("p384", try csr(Certificate.PrivateKey(P384.Signing.PrivateKey()), .ecdsaWithSHA384)),
  (
    "rsa2048",
    try csr(
      Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048)),
      .sha256WithRSAEncryption)
  ),
]
for (name, request) in requests {
  var serializer = DER.Serializer()
  try serializer.serialize(request)
  let pem = try request.serializeAsPEM().pemString
  try write("FuzzCSR", "\(name).der", serializer.serializedBytes)
  try write("FuzzCSR", "\(name).pem", Array(pem.utf8))
  try write("FuzzLenientPEM", "\(name).pem", Array(pem.utf8))
  try write(
    "FuzzLenientPEM", "\(name)-pasted.pem",
    Array(
      ("\u{FEFF}Certificate Request:\n  Data: …\n"
        + pem.replacingOccurrences(of: "\n", with: "\r\n")).utf8))
  for (type, body) in [
    ("personal", #""givenName":"Zoë","surname":"Müller""#),
    ("role", #""commonName":"Sekretariat""#),
  ] {
    let json =
      #"{"mailboxType":"\#(type)",\#(body),"keyType":"\#(name == "rsa2048" ? "rsa3072" : "p256")","csr":"\#(pem.replacingOccurrences(of: "\n", with: "\\n"))"}"#
    try write("FuzzRequestJSON", "\(name)-\(type).json", Array(json.utf8))
  }
}

// OCSP requests (RFC 6960 §4.1.1): one and several CertIDs, SHA-1 and
// SHA-256, with and without a nonce.
func certID(_ hash: ASN1ObjectIdentifier, length: Int, serial: [UInt8]) throws -> [UInt8] {
  var coder = DER.Serializer()
  try coder.appendConstructedNode(identifier: .sequence) { coder in
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.serialize(hash)
      coder.appendPrimitiveNode(identifier: .null) { _ in }
    }
    try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(repeating: 0xAB, count: length)))
    try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(repeating: 0xCD, count: length)))
    coder.appendPrimitiveNode(identifier: .integer) { $0.append(contentsOf: serial) }
  }
  return coder.serializedBytes
}

func ocspRequest(_ ids: [[UInt8]], nonce: [UInt8]?) throws -> [UInt8] {
  var coder = DER.Serializer()
  try coder.appendConstructedNode(identifier: .sequence) { coder in
    try coder.appendConstructedNode(identifier: .sequence) { coder in
      try coder.appendConstructedNode(identifier: .sequence) { coder in
        for id in ids {
          coder.appendConstructedNode(identifier: .sequence) { $0.serializeRawBytes(id) }
        }
      }
      if let nonce {
        try coder.appendConstructedNode(
          identifier: ASN1Identifier(tagWithNumber: 2, tagClass: .contextSpecific)
        ) { coder in
          try coder.appendConstructedNode(identifier: .sequence) { coder in
            try coder.appendConstructedNode(identifier: .sequence) { coder in
              try coder.serialize(
                try ASN1ObjectIdentifier(elements: [1, 3, 6, 1, 5, 5, 7, 48, 1, 2]))
              var inner = DER.Serializer()
              try inner.serialize(ASN1OctetString(contentBytes: ArraySlice(nonce)))
              try coder.serialize(ASN1OctetString(contentBytes: ArraySlice(inner.serializedBytes)))
            }
          }
        }
      }
    }
  }
  return coder.serializedBytes
}

let sha1 = try ASN1ObjectIdentifier(elements: [1, 3, 14, 3, 2, 26])
let sha256 = try ASN1ObjectIdentifier(elements: [2, 16, 840, 1, 101, 3, 4, 2, 1])
let one = try certID(sha1, length: 20, serial: [0x01, 0x23, 0x45, 0x67, 0x89])
let two = try certID(sha256, length: 32, serial: [0x7F] + Array(repeating: 0x11, count: 15))
try write("FuzzOCSPRequest", "one.der", try ocspRequest([one], nonce: nil))
try write(
  "FuzzOCSPRequest", "nonce.der", try ocspRequest([one], nonce: Array(repeating: 0x42, count: 16)))
try write("FuzzOCSPRequest", "two.der", try ocspRequest([one, two], nonce: nil))
// The fast path reads the same requests by hand.
for name in ["one.der", "nonce.der", "two.der"] {
  try write(
    "FuzzOCSPFastPath", name,
    Array(
      try Data(
        contentsOf: corpus.appendingPathComponent("FuzzOCSPRequest").appendingPathComponent(name))))
}

// FuzzPKCS8's and FuzzKeyEnvelope's seeds hold (encrypted or shared)
// private keys: they are made afresh by scripts/fuzz.sh at each run, never
// stored in the repository.
print("seeds written to \(corpus.path)")
