import Foundation
public import Logging
import MailsealCA
public import MailsealModel
public import MailsealRA
public import NIOCore

/// Writes certificates into the organisation's LDAP directory (OpenLDAP,
/// Active Directory): the entry the configured filter finds for the
/// address — exactly one — gets the certificate added to each configured
/// attribute, and loses exactly that value again; values another CA or the
/// holder put there are never touched. One connection is kept and opened
/// again when the server dropped it.
public actor LDAPPublisher: Publisher {
  public nonisolated let name = "ldap"
  let settings: LDAPSettings
  let group: any EventLoopGroup
  let logger: Logger
  private var connection: LDAPConnection?

  public init(settings: LDAPSettings, group: any EventLoopGroup, logger: Logger) {
    self.settings = settings
    self.group = group
    self.logger = logger
  }

  /// The entry of an address and what its attributes hold.
  struct Entry {
    let name: String
    /// The values of each configured attribute, in settings order.
    let values: [[[UInt8]]]
  }

  public func apply(_ change: PublicationChange) async throws {
    try await withConnection { connection in
      let entry = try await self.entry(of: change.mailbox, on: connection)
      for (attribute, values) in zip(self.settings.attributes, entry.values) {
        try await self.apply(change, to: attribute, holding: values, of: entry, on: connection)
      }
    }
  }

  public func holdings(of mailbox: String) async throws -> [[[UInt8]]] {
    try await withConnection { connection in
      let entry = try await self.entry(of: mailbox, on: connection)
      return zip(self.settings.attributes, entry.values).map { attribute, values in
        switch attribute.form {
        case .certificate: values
        case .pkcs7: values.compactMap { CertificateBundle.certificatesOfPKCS7($0)?.first }
        }
      }
    }
  }

  /// Runs `body` on the kept connection; a connection that failed is
  /// closed, and one that was kept from before is opened again once (the
  /// server may have dropped it while idle).
  private func withConnection<T: Sendable>(
    _ body: @Sendable (LDAPConnection) async throws -> T
  ) async throws -> T {
    var reused = false
    if let kept = connection, kept.isActive {
      reused = true
      do {
        return try await body(kept)
      } catch let error as PublicationFailure {
        throw error
      } catch {
        kept.close()
        connection = nil
      }
    }
    let fresh: LDAPConnection
    do {
      fresh = try await LDAPConnection.open(settings, group: group)
    } catch let error as LDAPError {
      if let result = error.result, result.code == LDAPResult.invalidCredentials {
        logger.error(
          "the directory refused the publisher's bind", metadata: ["dn": "\(settings.bindDN)"])
      }
      throw PublicationFailure("the directory: \(error)", permanent: false)
    }
    connection = fresh
    do {
      return try await body(fresh)
    } catch let error as PublicationFailure {
      throw error
    } catch {
      fresh.close()
      connection = nil
      throw PublicationFailure(
        "the directory\(reused ? " (after reconnecting)" : ""): \(error)", permanent: false)
    }
  }

  /// The one entry the filter finds for `mailbox`.
  private func entry(of mailbox: String, on connection: LDAPConnection) async throws -> Entry {
    let filter = settings.filter.filter(mailbox: mailbox)
    let (entries, result) = try await connection.search(
      LDAPSearch(
        base: settings.baseDN, scope: .wholeSubtree, sizeLimit: 2, timeLimit: 10,
        filter: filter, attributes: settings.attributes.map(\.name)))
    let written = settings.filter.description.replacingOccurrences(
      of: LDAPFilterTemplate.slot, with: LDAPFilterTemplate.escape(mailbox))
    if entries.count > 1 || result.code == LDAPResult.sizeLimitExceeded {
      throw PublicationFailure(
        "several directory entries match \(written) below \(settings.baseDN)", permanent: true)
    }
    guard result.code == LDAPResult.success else {
      throw Self.failure(result, doing: "the search for \(written)")
    }
    guard let found = entries.first else {
      throw PublicationFailure(
        "no directory entry matches \(written) below \(settings.baseDN)", permanent: true)
    }
    return Entry(
      name: found.name,
      values: settings.attributes.map { attribute in
        found.attributes.filter { attribute.matches($0.type) }.flatMap(\.values)
      })
  }

  private func apply(
    _ change: PublicationChange, to attribute: DirectoryAttribute, holding values: [[UInt8]],
    of entry: Entry, on connection: LDAPConnection
  ) async throws {
    let certificate = change.certificate
    switch attribute.form {
    case .certificate:
      // A removal is always sent (a value the bind may not read is not in
      // the search's answer); an addition only when the value is not seen.
      let operation: LDAPChange.Operation
      switch change.kind {
      case .publish where !values.contains(certificate): operation = .add
      case .publish: return
      case .unpublish: operation = .delete
      }
      let result = try await connection.modify(
        entry.name,
        [LDAPChange(operation, LDAPAttribute(type: attribute.name, values: [certificate]))])
      // A value that is there already, or gone already: done.
      let done =
        operation == .add
        ? [LDAPResult.success, LDAPResult.attributeOrValueExists]
        : [LDAPResult.success, LDAPResult.noSuchAttribute]
      guard done.contains(result.code) else {
        throw Self.failure(result, doing: "writing \(attribute.name) of \(entry.name)")
      }
    case .pkcs7:
      // No equality rule: the set is rewritten, every value that is not
      // ours kept as it was. Ours is exactly what we write (a PKCS#7 the
      // holder's mail client published, signed, stays even though it
      // holds the same certificate).
      let ours = try CertificateBundle.certsOnly([certificate] + change.chain)
      let others = values.filter { $0 != ours }
      let replaced: [[UInt8]]
      switch change.kind {
      case .publish:
        guard others.count == values.count else { return }
        replaced = others + [ours]
      case .unpublish:
        guard others.count < values.count else { return }
        replaced = others
      }
      let result = try await connection.modify(
        entry.name,
        [LDAPChange(.replace, LDAPAttribute(type: attribute.name, values: replaced))])
      guard result.code == LDAPResult.success else {
        throw Self.failure(result, doing: "writing \(attribute.name) of \(entry.name)")
      }
    }
  }

  /// A refusal in words, and whether trying again can help (RFC 4511
  /// Appendix A): the entry's rights, classes and the attribute's syntax
  /// do not change by waiting; a busy or unavailable server, a lost
  /// entry (searched again next time) or an unknown answer may.
  static func failure(_ result: LDAPResult, doing what: String) -> PublicationFailure {
    let permanent: Set<Int> = [
      17,  // undefinedAttributeType
      18,  // inappropriateMatching
      19,  // constraintViolation
      21,  // invalidAttributeSyntax
      34,  // invalidDNSyntax
      50,  // insufficientAccessRights
      65,  // objectClassViolation
      69,  // objectClassModsProhibited
    ]
    let words =
      result.code == LDAPResult.insufficientAccessRights
      ? "the publisher may not change the entry (\(what)): \(result)"
      : "the directory refused \(what): \(result)"
    return PublicationFailure(words, permanent: permanent.contains(result.code))
  }
}
