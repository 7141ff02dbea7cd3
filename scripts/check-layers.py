#!/usr/bin/env python3
"""Fails when the layering of Mailseal is broken: the CA core, the store and
the registration authority must not reach the web framework or the
templates, and nothing may point back up (store → RA or web, RA → web).

Checks both what Package.swift lets a target depend on (through
`swift package dump-package`) and what its sources import. Run by
scripts/test.sh; exit status 1 names every offence."""
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Modules a layer must not see: the web framework, the templates, Fluent's
# Vapor integration, and the layers above it.
WEB = {"Vapor", "VaporTesting", "XCTVapor", "Leaf", "LeafKit", "Fluent"}
FORBIDDEN = {
    # The values everyone speaks in: Foundation only.
    "MailsealModel": WEB | {"FluentKit", "SQLKit", "MailsealCA", "MailsealStore", "MailsealRA",
                            "MailsealStatus", "MailsealCLI", "MailsealAdapters", "MailsealWeb",
                            "NIOCore", "NIOPosix",
                            "Crypto", "X509", "SwiftASN1"},
    "MailsealCA": WEB | {"FluentKit", "SQLKit", "MailsealStore", "MailsealRA", "MailsealStatus",
                         "MailsealCLI", "MailsealAdapters", "MailsealWeb", "NIOPosix"},
    "MailsealStore": WEB | {"MailsealRA", "MailsealStatus", "MailsealCLI", "MailsealAdapters",
                            "MailsealWeb"},
    "MailsealRA": WEB | {"MailsealStatus", "MailsealCLI", "MailsealAdapters", "MailsealWeb"},
    # The adapters implement the RA's protocols (mail transports) and what
    # the composition hands out (QR codes, JSON log lines): no web, no
    # store.
    "MailsealAdapters": WEB | {"MailsealWeb", "MailsealStatus", "MailsealCLI", "MailsealStore",
                               "FluentKit", "SQLKit", "FluentSQLiteDriver", "FluentPostgresDriver"},
    "MailsealStatus": WEB | {"MailsealCLI", "MailsealAdapters", "MailsealWeb"},
    # The commands: beside the web, on the RA; no web framework, no store,
    # no database (ConsoleKit is the command-line library, not the web).
    "MailsealCLI": WEB | {"MailsealWeb", "MailsealStatus", "MailsealAdapters", "MailsealStore",
                          "FluentKit", "SQLKit", "FluentSQLiteDriver", "FluentPostgresDriver"},
    # The registration authority's tests run without the web.
    "MailsealRATests": WEB | {"MailsealWeb", "MailsealStatus"},
}
# Where a target's sources are (Sources/<name> unless said here).
SOURCE_FOLDERS = {"MailsealRATests": "Tests/MailsealRATests"}
# Packages whose products the lower layers must not depend on at all
# (console-kit is not among them: it is the commands' library).
WEB_PACKAGES = {"vapor", "leaf", "leaf-kit", "fluent"}

offences = []
# One import statement per line: `[attributes] [access] import [kind] Module`
# (spaces and tabs only within it, so that a line never reaches into the
# next).
statement = re.compile(
    r"^[ \t]*(?:@\w+[ \t]+)*(?:(?:public|package|internal|fileprivate|private)[ \t]+)?import[ \t]+"
    r"(?:(?:struct|class|enum|protocol|func|var|let|typealias)[ \t]+)?(\w+)", re.M)
package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, check=True,
                                    capture_output=True, text=True).stdout)
targets = {target["name"]: target for target in package["targets"]}
for name, forbidden in FORBIDDEN.items():
    target = targets.get(name)
    if target is None:  # a target that is gone is an offence too
        offences.append("Package.swift has no target %s" % name)
        continue
    for dependency in target["dependencies"]:
        if "product" in dependency:
            product, package_name = dependency["product"][0], dependency["product"][1]
            if product in forbidden or (package_name or "").lower() in WEB_PACKAGES:
                offences.append("Package.swift: %s depends on %s (%s)" % (name, product, package_name))
        elif "byName" in dependency and dependency["byName"][0] in forbidden:
            offences.append("Package.swift: %s depends on %s" % (name, dependency["byName"][0]))
    folder = ROOT / SOURCE_FOLDERS.get(name, "Sources/" + name)
    for source in sorted(folder.rglob("*.swift")):
        for module in statement.findall(source.read_text(encoding="utf-8")):
            if module in forbidden:
                offences.append("%s imports %s" % (source.relative_to(ROOT), module))

# The web speaks to the registration authority, never to the store: no
# file of it imports the store or the database libraries, except the one
# composition file that opens the database and hands it to the parts.
STORE_MODULES = {"MailsealStore", "FluentKit", "SQLKit", "Fluent", "FluentSQLiteDriver",
                 "FluentPostgresDriver"}
WEB_COMPOSITION = {"Sources/MailsealWeb/configure.swift"}
for source in sorted((ROOT / "Sources/MailsealWeb").rglob("*.swift")):
    relative = str(source.relative_to(ROOT))
    if relative in WEB_COMPOSITION:
        continue
    for module in statement.findall(source.read_text(encoding="utf-8")):
        if module in STORE_MODULES:
            offences.append("%s imports %s (only %s may)" % (relative, module,
                                                             ", ".join(sorted(WEB_COMPOSITION))))

if offences:
    print("The layers are broken (web → RA → CA core, store; nothing points back up):")
    for offence in offences:
        print("  " + offence)
    sys.exit(1)
print("Layers hold: %s import no web framework, no templates and nothing above them; "
      "the web reaches the store only through %s." % (", ".join(FORBIDDEN),
                                                       ", ".join(sorted(WEB_COMPOSITION))))
