"""The JSON API answers as /api/openapi.json says (issues 9 and 15).

schemathesis generates requests from the description — valid, invalid,
undeclared methods, stateful sequences — against the real `mailseal
serve`, once signed out and once signed in by a login link, and checks
every answer: no 5xx, no status the description does not list, the
declared content types, headers and schemas, 405 with Allow for a method
not listed. (Whether made-up data is accepted or refused is the
registration authority's business: a schema cannot say which names and
CSRs are valid, so those two checks are left out.)"""
import http.cookiejar
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import unittest
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "browser"))
import portal  # noqa: E402

VENV = pathlib.Path(os.environ.get("MAILSEAL_VENV", str(portal.ROOT / ".venv")))
EXAMPLES = os.environ.get("MAILSEAL_SCHEMATHESIS_EXAMPLES", "50")


class APISchemaTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="mailseal-schema-")
        # The look-up is on (MAILSEAL_PUBLISH) so that its answers are
        # checked too, not only its 404.
        cls.web = portal.Portal(cls.folder, extra={"MAILSEAL_PUBLISH": "consent"})
        cls.web.keep_log()

    @classmethod
    def tearDownClass(cls):
        cls.web.stop()

    def sign_in(self):
        """A session by a login link, as a browser gets it; the headers that
        carry it."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(urllib.request.Request(self.web.url + "/", headers={"Accept": "text/html"}))
        form = next(c.value for c in jar if c.name == "mailseal_form")
        before = len(self.web.log_lines)
        opener.open(urllib.request.Request(self.web.url + "/login",
                                           data=("address=fuzz@example.edu&csrf=" + form).encode()))
        line = self.web.log_lines[self.web.wait_for_log("Login link for fuzz@example.edu", after=before)]
        opener.open(re.search(r"(http://\S+/login/\S+)", line).group(1))
        cookies = {c.name: c.value for c in jar}
        return ["-H", "Cookie: mailseal_session=%s; mailseal_csrf=%s" % (
            cookies["mailseal_session"], cookies["mailseal_csrf"]),
                "-H", "X-CSRF-Token: " + cookies["mailseal_csrf"]]

    def schemathesis(self, headers):
        # schemathesis keeps a cache in its working folder: not in the clone.
        scratch = tempfile.mkdtemp(prefix="mailseal-schemathesis-")
        done = subprocess.run(
            [str(VENV / "bin" / "schemathesis"), "run", self.web.url + "/api/openapi.json",
             "--max-examples", EXAMPLES, "--checks", "all",
             "--exclude-checks", "negative_data_rejection,positive_data_acceptance",
             "--seed", "20261201", *headers],
            capture_output=True, text=True, timeout=900, cwd=scratch)
        summary = [line for line in done.stdout.splitlines() if "generated" in line]
        print("\nschemathesis (%s): %s" % ("signed in" if headers else "signed out",
                                           summary[-1].strip() if summary else "?"), flush=True)
        self.assertEqual(0, done.returncode, done.stdout[-6000:] + done.stderr[-2000:])

    def test_signed_out(self):
        self.schemathesis([])

    def test_signed_in(self):
        self.schemathesis(self.sign_in())


if __name__ == "__main__":
    unittest.main()
