package import SQLKit

/// States in raw SQL come from the models' enums, as SQL literals of their
/// raw values, so a statement cannot name a state the model does not have.
extension SQLQueryString {
  package mutating func appendInterpolation(_ state: CertificateRequestRecord.State) {
    appendInterpolation(literal: state.rawValue)
  }

  package mutating func appendInterpolation(_ states: [CertificateRequestRecord.State]) {
    appendInterpolation(literals: states.map(\.rawValue), joinedBy: ", ")
  }

  package mutating func appendInterpolation(_ status: CertificateRecord.Status) {
    appendInterpolation(literal: status.rawValue)
  }

  package mutating func appendInterpolation(_ state: OutboxMessageRecord.State) {
    appendInterpolation(literal: state.rawValue)
  }

  package mutating func appendInterpolation(_ state: KeyRecoveryRecord.State) {
    appendInterpolation(literal: state.rawValue)
  }

  package mutating func appendInterpolation(_ states: [KeyRecoveryRecord.State]) {
    appendInterpolation(literals: states.map(\.rawValue), joinedBy: ", ")
  }
}
