/// The custody backends an installation has, by the scheme of their key
/// references (`file:…`, `pkcs11:…`): a key is loaded from the backend its
/// reference names, and another backend is one more entry here.
public struct KeyCustodyRegistry: Sendable {
  /// Opens a backend (it may need configuration that is missing).
  public typealias Factory = @Sendable () throws(CAError) -> any KeyCustody

  private var backends: [String: Factory] = [:]

  public init() {}

  /// Registers the backend of `scheme`.
  public mutating func register(_ scheme: String, _ factory: @escaping Factory) {
    backends[scheme] = factory
  }

  /// The schemes it knows, sorted.
  public var schemes: [String] { backends.keys.sorted() }

  /// The backend that holds the key of `reference`.
  public func custody(for reference: KeyReference) throws(CAError) -> any KeyCustody {
    guard let factory = backends[reference.scheme] else {
      throw CAError(
        .keyCustody,
        "The CA key \(reference) is held by the “\(reference.scheme)” custody backend, which this Mailseal does not have (it has \(schemes.joined(separator: ", ")))."
      )
    }
    return try factory()
  }
}
