import Foundation
import MailsealModel
import Testing

@testable import MailsealRA
@testable import MailsealStore

/// One principal for every call that acts or reads, permissions decided in
/// one place, and no template that compares roles.
@Suite("Principals and permissions")
struct PrincipalTests {
  @Test("each role's permissions, the command line's, a requester's and nobody's")
  func permissions() {
    func may(_ role: OperatorRecord.Role) -> Set<String> {
      let p = Permissions.of(role)
      return Set(
        [
          ("seeDesk", p.seeDesk), ("decide", p.decide),
          ("askRecoveryForOthers", p.askRecoveryForOthers),
          ("recover", p.recover), ("seeRecoveries", p.seeRecoveries), ("administer", p.administer),
          ("readAudit", p.readAudit), ("revokeWithEveryReason", p.revokeWithEveryReason),
        ].filter(\.1).map(\.0))
    }
    #expect(may(.operator) == ["seeDesk", "decide"])
    #expect(
      may(.admin)
        == [
          "seeDesk", "decide", "askRecoveryForOthers", "seeRecoveries", "administer", "readAudit",
        ])
    #expect(may(.auditor) == ["seeDesk", "seeRecoveries", "readAudit"])
    #expect(may(.recoveryOfficer) == ["recover", "seeRecoveries"])
    #expect(Principal.commandLine.permissions.revokeWithEveryReason)
    #expect(Principal.commandLine.permissions.administer)
    let requester = Principal.requester(mailbox: "zoe@example.edu", validation: .loginLink)
    #expect(requester.permissions == Permissions(ownRequests: true))
    #expect(Principal.anonymous.permissions == Permissions())
    #expect(requester.auditActor == "requester:zoe@example.edu")
    let staff = Principal.staff(
      StaffMember(id: UUID(), email: "anna@example.edu", name: "Anna", role: .operator))
    #expect(staff.auditActor == AuditEvent.staff("anna@example.edu"))
    #expect(Principal.commandLine.auditActor == AuditEvent.commandLine)
  }

  @Test("no template compares roles: they read the permissions")
  func templatesReadPermissions() throws {
    let views = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .appendingPathComponent("../../Sources/MailsealWeb/Resources/Views").standardized
    let files = try FileManager.default.contentsOfDirectory(atPath: views.path)
      .filter { $0.hasSuffix(".leaf") }
    #expect(files.count > 10)
    for file in files {
      let text = try String(contentsOf: views.appendingPathComponent(file), encoding: .utf8)
      for role in OperatorRecord.Role.allCases {
        for comparison in ["== \"\(role.rawValue)\"", "!= \"\(role.rawValue)\""] {
          #expect(!text.contains(comparison), "\(file) compares with the role \(role.rawValue)")
        }
      }
      #expect(
        !text.contains("staff.role)") && !text.contains("staff.role "), "\(file) reads a role")
    }
  }
}
