// swift-tools-version:6.2
// libFuzzer targets for the parsers that take hostile bytes. A package of
// its own, so that the portal's build never links them; scripts/fuzz.sh
// builds them with `-sanitize=fuzzer,address` and runs each for a while.
import PackageDescription

let fuzzTarget: [SwiftSetting] = [
  .unsafeFlags(["-parse-as-library"]),
  .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
  name: "mailseal-fuzz",
  platforms: [.macOS(.v14)],
  dependencies: [
    .package(name: "mailseal", path: ".."),
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
  ],
  targets: [
    .executableTarget(
      name: "FuzzCSR",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzOCSPRequest",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzOCSPFastPath",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzLDAPMessage",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzCertificateBundle",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzCMPMessage",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzLenientPEM",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzKeyEnvelope",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzPKCS8",
      dependencies: ["FuzzDriver", .product(name: "MailsealCA", package: "mailseal")],
      swiftSettings: fuzzTarget),
    .executableTarget(
      name: "FuzzRequestJSON",
      dependencies: [
        "FuzzDriver",
        .product(name: "MailsealCA", package: "mailseal"),
        .product(name: "MailsealRA", package: "mailseal"),
      ],
      swiftSettings: fuzzTarget),
    .target(name: "FuzzDriver", swiftSettings: fuzzTarget),
    // Writes the seed corpora with the project's own code (no sanitizer).
    .executableTarget(
      name: "FuzzSeeds",
      dependencies: [
        .product(name: "MailsealCA", package: "mailseal"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
      ]),
  ],
  swiftLanguageModes: [.v6]
)
