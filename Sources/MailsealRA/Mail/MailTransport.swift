public import Foundation

/// Delivers one rendered message.
public protocol MailTransport: Sendable {
  /// Hands the message over; throws `MailDeliveryError` when it was not.
  func deliver(message: String, from sender: String, to recipient: String, id: UUID) async throws
  /// A description for the log, e.g. `smtp://relay.example.edu:587`.
  var description: String { get }
}

/// Why a delivery did not happen, and whether to try again.
public struct MailDeliveryError: Error, CustomStringConvertible, Sendable {
  public let description: String
  public let isTransient: Bool

  public init(description: String, isTransient: Bool) {
    self.description = description
    self.isTransient = isTransient
  }
}
