public import Foundation

/// OpenLDAP's `slapd` from Debian, on 127.0.0.1 with StartTLS (a test CA of
/// its own), the core, cosine and inetorgperson schemas and a few
/// `inetOrgPerson` entries: the directory the publisher writes to, read
/// back with OpenLDAP's own `ldapsearch`.
public final class Slapd: @unchecked Sendable {
  public let folder: URL
  public private(set) var port: Int
  private var process: Process?
  public static let suffix = "dc=example,dc=edu"
  public static let publisherDN = "cn=mailseal,ou=services,dc=example,dc=edu"
  public static let publisherPassword = "publisher-secret"
  public static let adminDN = "cn=admin,dc=example,dc=edu"
  public static let adminPassword = "secret"

  /// The trust for the server's certificate.
  public var caFile: String { folder.appendingPathComponent("tls/ca.pem").path }
  public var url: String { "ldap://127.0.0.1:\(port)" }
  public var log: String {
    (try? String(contentsOf: folder.appendingPathComponent("slapd.log"), encoding: .utf8)) ?? ""
  }

  /// Makes the folder, the certificates, the configuration and the
  /// entries (`extraLDIF` after the defaults), and starts it.
  public init(extraLDIF: String = "") throws {
    guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/slapd") else {
      throw SlapdFailure(
        description: "slapd is not installed (apt install slapd ldap-utils; scripts/test.sh does)")
    }
    folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "mailseal-slapd-\(UUID().uuidString)")
    let tls = folder.appendingPathComponent("tls")
    try FileManager.default.createDirectory(at: tls, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      at: folder.appendingPathComponent("db"), withIntermediateDirectories: true)
    port = 0
    let dir = folder.path
    try Self.run(
      "/usr/bin/openssl",
      [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "\(dir)/tls/ca.key", "-out", "\(dir)/tls/ca.pem", "-days", "2", "-subj",
        "/CN=Test LDAP CA",
      ])
    try Self.run(
      "/usr/bin/openssl",
      [
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        "\(dir)/tls/server.key", "-out", "\(dir)/tls/server.csr", "-subj", "/CN=127.0.0.1",
      ])
    try "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(
      toFile: "\(dir)/tls/ext.cnf", atomically: true, encoding: .utf8)
    try Self.run(
      "/usr/bin/openssl",
      [
        "x509", "-req", "-in", "\(dir)/tls/server.csr", "-CA", "\(dir)/tls/ca.pem", "-CAkey",
        "\(dir)/tls/ca.key", "-CAcreateserial", "-out", "\(dir)/tls/server.pem", "-days", "2",
        "-extfile", "\(dir)/tls/ext.cnf",
      ])
    // X.520's organizationIdentifier, which the S/MIME BR put into the
    // certificates' (and their CAs') names: OpenLDAP 2.5's schemas lack it,
    // and without it slapd cannot normalise a certificate whose issuer
    // names one (result 21) — a directory that takes such certificates
    // needs this line (README).
    try """
    attributetype ( 2.5.4.97 NAME 'organizationIdentifier'
        EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
        SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} )

    """.write(toFile: "\(dir)/x520.schema", atomically: true, encoding: .utf8)
    let configuration = """
      include   /etc/ldap/schema/core.schema
      include   /etc/ldap/schema/cosine.schema
      include   /etc/ldap/schema/inetorgperson.schema
      include   \(dir)/x520.schema
      modulepath /usr/lib/ldap
      moduleload back_mdb
      pidfile   \(dir)/slapd.pid
      TLSCACertificateFile  \(dir)/tls/ca.pem
      TLSCertificateFile    \(dir)/tls/server.pem
      TLSCertificateKeyFile \(dir)/tls/server.key
      security  simple_bind=128
      database  mdb
      maxsize   104857600
      suffix    "\(Self.suffix)"
      rootdn    "\(Self.adminDN)"
      rootpw    \(Self.adminPassword)
      directory \(dir)/db
      index     objectClass eq
      index     mail eq
      access to dn.subtree="ou=locked,\(Self.suffix)"
          by * read
      access to attrs=userCertificate,userSMIMECertificate
          by dn.exact="\(Self.publisherDN)" write
          by * read
      access to attrs=userPassword
          by self write
          by anonymous auth
          by * none
      access to * by * read

      """
    try configuration.write(toFile: "\(dir)/slapd.conf", atomically: true, encoding: .utf8)
    let entries = """
      dn: \(Self.suffix)
      objectClass: dcObject
      objectClass: organization
      dc: example
      o: Example University

      dn: ou=people,\(Self.suffix)
      objectClass: organizationalUnit
      ou: people

      dn: ou=services,\(Self.suffix)
      objectClass: organizationalUnit
      ou: services

      dn: ou=locked,\(Self.suffix)
      objectClass: organizationalUnit
      ou: locked

      dn: \(Self.publisherDN)
      objectClass: applicationProcess
      objectClass: simpleSecurityObject
      cn: mailseal
      userPassword: \(Self.publisherPassword)

      \(extraLDIF)
      """
    try entries.write(toFile: "\(dir)/init.ldif", atomically: true, encoding: .utf8)
    try Self.run("/usr/sbin/slapadd", ["-f", "\(dir)/slapd.conf", "-l", "\(dir)/init.ldif"])
    try start()
  }

  /// An inetOrgPerson entry for `mailbox` under `ou` (LDIF).
  public static func person(_ uid: String, mailbox: String, ou: String = "people") -> String {
    """
    dn: uid=\(uid),ou=\(ou),\(suffix)
    objectClass: inetOrgPerson
    uid: \(uid)
    cn: \(uid)
    sn: \(uid)
    mail: \(mailbox)
    """ + "\n\n"
  }

  /// Starts it (again, on the port it had).
  public func start() throws {
    for _ in 0..<5 {
      let chosen = port == 0 ? try Self.freePort() : port
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/usr/sbin/slapd")
      process.arguments = [
        "-f", folder.appendingPathComponent("slapd.conf").path, "-h",
        "ldap://127.0.0.1:\(chosen)/", "-d", "stats",
      ]
      let logURL = folder.appendingPathComponent("slapd.log")
      if !FileManager.default.fileExists(atPath: logURL.path) {
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
      }
      let log = try FileHandle(forWritingTo: logURL)
      log.seekToEndOfFile()
      process.standardError = log
      process.standardOutput = log
      try process.run()
      // Ready when it accepts a connection (or gone: the port was taken).
      var ready = false
      for _ in 0..<500 where process.isRunning {
        if Self.accepts(chosen) {
          ready = true
          break
        }
        usleep(10_000)
      }
      if ready {
        self.process = process
        port = chosen
        return
      }
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
      if port != 0 { break }
    }
    throw SlapdFailure(description: "slapd did not start: \(log.suffix(2000))")
  }

  /// Stops it and waits until it has.
  public func stop() {
    guard let process else { return }
    // SIGKILL: the test runner's threads block SIGTERM, and slapd inherits
    // that mask (mdb is safe against it).
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    self.process = nil
  }

  public func remove() {
    stop()
    try? FileManager.default.removeItem(at: folder)
  }

  /// `ldapsearch` (StartTLS required) as the admin: the values of
  /// `attribute` of the entry found by `filter`, each as bytes.
  public func values(_ attribute: String, filter: String) throws -> [[UInt8]] {
    let out = folder.appendingPathComponent("out-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: out) }
    try Self.run(
      "/usr/bin/ldapsearch",
      [
        "-x", "-LLL", "-ZZ", "-H", url, "-D", Self.adminDN, "-w", Self.adminPassword, "-b",
        Self.suffix, "-t", "-T", out.path, filter, attribute,
      ], environment: ["LDAPTLS_CACERT": caFile])
    return try FileManager.default.contentsOfDirectory(atPath: out.path).sorted().map {
      Array(try Data(contentsOf: out.appendingPathComponent($0)))
    }
  }

  /// `ldapmodify` as the admin (StartTLS required).
  public func modify(_ ldif: String) throws {
    let file = folder.appendingPathComponent("modify-\(UUID().uuidString).ldif")
    try ldif.write(to: file, atomically: true, encoding: .utf8)
    try Self.run(
      "/usr/bin/ldapmodify",
      [
        "-x", "-ZZ", "-H", url, "-D", Self.adminDN, "-w", Self.adminPassword, "-f", file.path,
      ], environment: ["LDAPTLS_CACERT": caFile])
  }

  @discardableResult
  public static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:])
    throws -> String
  {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else {
      throw SlapdFailure(
        description:
          "\(tool) \(arguments.prefix(3)) failed (\(process.terminationStatus)): \(text.suffix(2000))"
      )
    }
    return text
  }

  /// A port no one listens on now.
  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw SlapdFailure(description: "no free port") }
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// Whether something accepts a TCP connection on the port.
  static func accepts(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    } == 0
  }
}

public struct SlapdFailure: Error, CustomStringConvertible {
  public let description: String
}
