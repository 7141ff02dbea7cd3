// swift-tools-version:6.2
import PackageDescription

// Every target of ours: Swift 6, the upcoming strictness, and no warning
// left standing (a warning fails the build).
let strict: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
  .enableUpcomingFeature("InternalImportsByDefault"),
  .treatAllWarnings(as: .error),
]

let package = Package(
  name: "mailseal",
  platforms: [.macOS(.v14)],
  products: [
    .executable(name: "mailseal", targets: ["mailseal"]),
    .library(name: "MailsealCA", targets: ["MailsealCA"]),
    .library(name: "MailsealModel", targets: ["MailsealModel"]),
    .library(name: "MailsealStore", targets: ["MailsealStore"]),
    .library(name: "MailsealRA", targets: ["MailsealRA"]),
    .library(name: "MailsealStatus", targets: ["MailsealStatus"]),
    .library(name: "MailsealAdapters", targets: ["MailsealAdapters"]),
    .library(name: "MailsealCLI", targets: ["MailsealCLI"]),
    .library(name: "MailsealWeb", targets: ["MailsealWeb"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
    .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
    .package(url: "https://github.com/vapor/console-kit.git", from: "4.16.2"),
    .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
    .package(url: "https://github.com/vapor/fluent-kit.git", from: "1.57.0"),
    .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
    .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
    .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
    .package(url: "https://github.com/vapor/leaf.git", from: "4.5.2"),
    .package(url: "https://github.com/vapor/leaf-kit.git", from: "1.14.3"),
    .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    .package(url: "https://github.com/vapor/multipart-kit.git", from: "4.7.1"),
    .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
    .package(
      url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]
    ),
  ],
  targets: [
    // The certificate authority: profiles, CSR checks, lints, signing, key custody.
    // No web framework, no database.
    // The PKCS#11 declarations MailsealCA calls an HSM's module with
    // (written from the specification; the module is loaded at run time).
    .target(name: "CPKCS11"),
    .target(
      name: "MailsealCA",
      dependencies: [
        "CPKCS11",
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    // The values the store returns and the registration authority and the
    // web speak in (requests, certificates, sessions, staff). Foundation only.
    .target(name: "MailsealModel", swiftSettings: strict),
    // The store: models, numbered migrations, the database connection and
    // what its failures mean. No web framework.
    .target(
      name: "MailsealStore",
      dependencies: [
        "MailsealModel",
        "MailsealCA",
        .product(name: "FluentKit", package: "fluent-kit"),
        .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
        .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
        .product(name: "SQLKit", package: "sql-kit"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    // The registration authority: the portal's rules, operators, the
    // issuance, mail and revocation workers, the audit trail, the words of
    // every page and mail. Neither Vapor nor Leaf.
    .target(
      name: "MailsealRA",
      dependencies: [
        "MailsealModel",
        "MailsealCA",
        "MailsealStore",
        .product(name: "FluentKit", package: "fluent-kit"),
        .product(name: "SQLKit", package: "sql-kit"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ],
      swiftSettings: strict
    ),
    // The status of certificates for relying parties: the OCSP responder
    // (the board in memory, responses signed ahead, the signing gate) and
    // the CRL publisher. On the CA core, the store and the RA; no web.
    .target(
      name: "MailsealStatus",
      dependencies: [
        "MailsealModel",
        "MailsealCA",
        "MailsealStore",
        "MailsealRA",
        .product(name: "FluentKit", package: "fluent-kit"),
        .product(name: "SQLKit", package: "sql-kit"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "X509", package: "swift-certificates"),
      ],
      swiftSettings: strict
    ),
    // What the registration authority reaches through its protocols, made
    // by the composition: the SMTP client and the mail folder
    // (MailTransport), the QR code of the TOTP enrolment, JSON log lines,
    // the upstream certificate authorities' APIs over HTTP(S).
    .target(
      name: "MailsealAdapters",
      dependencies: [
        "MailsealRA",
        "MailsealCA",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOFoundationCompat", package: "swift-nio"),
        .product(name: "MultipartKit", package: "multipart-kit"),
        .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
      ],
      swiftSettings: strict
    ),
    // The administrator's commands (`mailseal ca …`, `recovery …`, …) on
    // ConsoleKit: no web framework, no database; the offline recovery
    // commands run without either.
    .target(
      name: "MailsealCLI",
      dependencies: [
        "MailsealModel",
        "MailsealCA",
        "MailsealRA",
        .product(name: "ConsoleKit", package: "console-kit"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ],
      swiftSettings: strict
    ),
    // The web: routes, controllers, pages, sessions, the one error → HTTP
    // map, templates and the browser's scripts; `configure`, the one
    // composition file.
    .target(
      name: "MailsealWeb",
      dependencies: [
        "MailsealAdapters",
        "MailsealCLI",
        "MailsealModel",
        "MailsealCA",
        "MailsealStore",
        "MailsealRA",
        "MailsealStatus",
        .product(name: "Vapor", package: "vapor"),
        .product(name: "Fluent", package: "fluent"),
        .product(name: "FluentKit", package: "fluent-kit"),
        .product(name: "SQLKit", package: "sql-kit"),
        .product(name: "Leaf", package: "leaf"),
        .product(name: "LeafKit", package: "leaf-kit"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ],
      resources: [.copy("Resources/Views"), .copy("Resources/Public")],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "mailseal",
      dependencies: [
        "MailsealWeb", "MailsealCLI", "MailsealAdapters", "MailsealModel", "MailsealRA",
        "MailsealStore",
      ],
      swiftSettings: strict
    ),
    // A fresh database per test (SQLite, or PostgreSQL in its run), for the
    // web's tests and the RA's alike.
    .target(name: "StoreTestSupport", path: "Tests/StoreTestSupport", swiftSettings: strict),
    // An upstream certificate authority of the tests' own (a Swift CA that
    // issues from a request, OpenSSL's CMP server in front of it).
    .target(
      name: "UpstreamTestSupport",
      dependencies: [
        "MailsealCA",
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ],
      path: "Tests/UpstreamTestSupport", swiftSettings: strict),
    // The registration authority's tests: no web framework, no web layer
    // (the adapters' HTTP for the upstream CAs).
    .testTarget(
      name: "MailsealRATests",
      dependencies: [
        "StoreTestSupport",
        "UpstreamTestSupport",
        "MailsealAdapters",
        "MailsealModel",
        "MailsealCA",
        "MailsealStore",
        "MailsealRA",
        .product(name: "FluentKit", package: "fluent-kit"),
        .product(name: "SQLKit", package: "sql-kit"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    // SoftHSM2 tokens for the tests and the benchmark (a throw-away
    // folder per process).
    .target(name: "SoftHSMSupport", path: "Tests/SoftHSMSupport", swiftSettings: strict),
    .testTarget(
      name: "MailsealCATests",
      dependencies: ["MailsealCA", "SoftHSMSupport", "UpstreamTestSupport"],
      swiftSettings: strict
    ),
    .testTarget(
      name: "MailsealTests",
      dependencies: [
        "SoftHSMSupport",
        "UpstreamTestSupport",
        "StoreTestSupport",
        "MailsealModel",
        "MailsealStore",
        "MailsealRA",
        "MailsealStatus",
        "MailsealAdapters",
        "MailsealWeb",
        .product(name: "Vapor", package: "vapor"),
        .product(name: "VaporTesting", package: "vapor"),
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: strict
    ),
    .executableTarget(
      name: "IssuanceBenchmark",
      dependencies: [
        "SoftHSMSupport",
        "UpstreamTestSupport",
        "MailsealModel",
        "MailsealStore",
        "MailsealRA",
        "MailsealWeb",
        .product(name: "Vapor", package: "vapor"),
        .product(name: "Benchmark", package: "benchmark"),
        .product(name: "SQLKit", package: "sql-kit"),
        .product(name: "SwiftASN1", package: "swift-asn1"),
      ],
      path: "Benchmarks/Issuance",
      swiftSettings: strict,
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
  ],
  swiftLanguageModes: [.v6]
)
