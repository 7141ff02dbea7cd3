#!/usr/bin/env python3
"""The figures of the second wall (issue 27), from the sources:
SQL statements and Fluent queries in the registration authority and the
status target, files of the web that import the store or the database
libraries, and the functions of the largest types of the RA. Prints them;
exits 0 (a report, not a check: scripts/check-layers.py checks)."""
import collections
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
SQL = re.compile(r"sql\.raw\(|sql\.select\(\)|sql\.insert\(into:|sql\.update\(|sql\.delete\(from:|BulkInsert\(into:")
FLUENT = re.compile(r"\.query\(on:|Record\.find\(|\.create\(on:|\.save\(on:|\.update\(on:|\.delete\(on:")
STORE_IMPORT = re.compile(r"^(?:public |package )?import (MailsealStore|FluentKit|SQLKit|Fluent)$", re.M)


def sources(target):
    return sorted((ROOT / "Sources" / target).rglob("*.swift"))


for target in ["MailsealRA", "MailsealStatus"]:
    sql = sum(len(SQL.findall(f.read_text())) for f in sources(target))
    fluent = sum(len(FLUENT.findall(f.read_text())) for f in sources(target))
    print("%-15s SQL statements %3d, Fluent queries %3d" % (target, sql, fluent))

web = [str(f.relative_to(ROOT)) for f in sources("MailsealWeb") if STORE_IMPORT.search(f.read_text())]
print("MailsealWeb     files importing the store or the database libraries: %d (%s)"
      % (len(web), ", ".join(web)))

# Functions declared in a type's body and its extensions (top level only).
counts = collections.Counter()
declaration = re.compile(r"^(?:public |package |final )*(?:extension|struct|enum|actor|class) (\w+(?:\.\w+)*)")
function = re.compile(r"^  (?:@\w+ )*(?:public |package |private |fileprivate |nonisolated |static |mutating )*func ")
for file in sources("MailsealRA"):
    current, depth = None, 0
    for line in file.read_text().split("\n"):
        match = declaration.match(line)
        if match and depth == 0:
            current = match.group(1)
        if current and depth == 1 and function.match(line):
            counts[current] += 1
        depth += line.count("{") - line.count("}")
        if depth == 0:
            current = None
print("RA types with the most functions: " + ", ".join("%s %d" % item for item in counts.most_common(6)))
print("RegistrationAuthority's own functions: %d" % counts["RegistrationAuthority"])
