public import Foundation

/// The roles of staff (what each may do is decided in one place of the
/// registration authority, `Permissions.of`).
public enum StaffRole: String, Codable, Sendable, CaseIterable {
  case `operator`
  case admin
  case auditor
  case recoveryOfficer = "recovery-officer"
}

/// A staff account as the portal shows and decides on it: never its
/// password hash or sealed code secret.
public struct StaffAccount: Sendable, Hashable {
  public var id: UUID
  public var email: String
  public var name: String
  public var role: StaffRole
  public var isEnabled: Bool
  /// Password and authenticator code set, enrolment link used.
  public var isEnrolled: Bool
  public var failedAttempts: Int
  public var lockedUntil: Date?
  public var createdAt: Date
  /// The identity provider's subject, for an account that signs in there.
  public var oidcSubject: String?

  public init(
    id: UUID, email: String, name: String, role: StaffRole, isEnabled: Bool, isEnrolled: Bool,
    failedAttempts: Int, lockedUntil: Date?, createdAt: Date, oidcSubject: String?
  ) {
    self.id = id
    self.email = email
    self.name = name
    self.role = role
    self.isEnabled = isEnabled
    self.isEnrolled = isEnrolled
    self.failedAttempts = failedAttempts
    self.lockedUntil = lockedUntil
    self.createdAt = createdAt
    self.oidcSubject = oidcSubject
  }
}

/// A member of staff as a principal: who, and in which role.
public struct StaffMember: Sendable, Hashable {
  public let id: UUID
  public let email: String
  public let name: String
  public let role: StaffRole

  public init(id: UUID, email: String, name: String, role: StaffRole) {
    self.id = id
    self.email = email
    self.name = name
    self.role = role
  }

}

/// A staff account whose address changed (for administrators).
public struct AddressChange: Sendable, Equatable {
  public let name: String
  /// Its address now.
  public let address: String
  /// When its newest address was first seen.
  public let changedAt: Date
  /// The addresses it had before, newest first.
  public var former: [String]

  public init(name: String, address: String, changedAt: Date, former: [String]) {
    self.name = name
    self.address = address
    self.changedAt = changedAt
    self.former = former
  }
}

/// What signing in and enrolment check for an account: never shown, never
/// leaves the registration authority.
public struct StaffCredentials: Sendable, Hashable {
  /// scrypt, in `scrypt$N$r$p$salt$hash` form; nil until enrolled.
  public var passwordHash: String?
  /// The TOTP secret, sealed with the installation's secret.
  public var totpSecretSealed: Data?
  /// The last TOTP time step used (no code works twice).
  public var totpLastStep: Int
  public var enrolmentExpiresAt: Date?

  public init(
    passwordHash: String?, totpSecretSealed: Data?, totpLastStep: Int, enrolmentExpiresAt: Date?
  ) {
    self.passwordHash = passwordHash
    self.totpSecretSealed = totpSecretSealed
    self.totpLastStep = totpLastStep
    self.enrolmentExpiresAt = enrolmentExpiresAt
  }
}
