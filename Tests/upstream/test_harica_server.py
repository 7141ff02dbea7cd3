"""The HARICA test server agrees with an independent client before it
judges Mailseal: PyPI tcs-garr 0.28.2 (the GÉANT community's own client,
GARR) drives it — the login with the verification token and TOTP, the
organisation, CreateBulkCertificatesSMIME and its ZIP, the look-up by bulk
entries, the validator's list and revocation — and what it issues is
checked here: the CSV's names and address, the CSR's key, its own chain."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harica_server import EMAIL, PASSWORD, TOTP_SECRET
from servers import Server

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

DRIVER = """
import sys
import tcs_garr.harica_client as client
client.HaricaClient.get_base_url = lambda self: sys.argv[1]
from tcs_garr.main import main
main(sys.argv[2:])
"""


class HaricaServerTests(unittest.TestCase):
    def setUp(self):
        self.server = Server("harica_server.py")
        self.addCleanup(self.server.stop)
        self.folder = tempfile.mkdtemp(prefix="tcs-garr-")
        self.home = os.path.join(self.folder, "home")
        os.makedirs(self.home)
        os.makedirs(os.path.join(self.folder, "out"))
        self.output = os.path.join(self.folder, "out")
        self.config = os.path.join(self.folder, "harica.conf")
        with open(self.config, "w") as config:
            config.write("[harica]\nusername = %s\npassword = %s\n"
                         "totp_seed = otpauth://totp/Test:%s?secret=%s&issuer=Test\noutput_folder = %s\n"
                         % (EMAIL, PASSWORD, EMAIL, TOTP_SECRET, self.output))
        self.driver = os.path.join(self.folder, "drive.py")
        with open(self.driver, "w") as driver:
            driver.write(DRIVER)

    def tcs_garr(self, *arguments, answer=None):
        result = subprocess.run(
            [sys.executable, self.driver, self.server.url, "--no-check-release", "-c", self.config, *arguments],
            input=answer, capture_output=True, text=True, timeout=120,
            env=dict(os.environ, HOME=self.home, NO_PROXY="127.0.0.1,localhost"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result.stdout + result.stderr

    def state(self):
        return json.load(urllib.request.urlopen(self.server.url + "/_test/state"))

    def test_issue_look_up_revoke(self):
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([
                   x509.NameAttribute(NameOID.EMAIL_ADDRESS, "anna.schmidt@example.edu"),
                   x509.NameAttribute(NameOID.GIVEN_NAME, "Anna"),
                   x509.NameAttribute(NameOID.SURNAME, "Schmidt"),
                   x509.NameAttribute(NameOID.COMMON_NAME, "ignored by the server")]))
               .sign(key, hashes.SHA256()))
        csr_file = os.path.join(self.folder, "anna.csr")
        with open(csr_file, "wb") as out:
            out.write(csr.public_bytes(serialization.Encoding.PEM))
        self.tcs_garr("smime", "--csr", csr_file, "--profile", "SV", "--disable-webhook",
                      "--output-filename", "anna.pem")
        with open(os.path.join(self.output, "anna.pem"), "rb") as bundle:
            certificates = x509.load_pem_x509_certificates(bundle.read())
        leaf = next(c for c in certificates
                    if not c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertEqual(leaf.public_key().public_numbers(), key.public_key().public_numbers())
        self.assertEqual(leaf.subject.get_attributes_for_oid(NameOID.SURNAME)[0].value, "Schmidt")
        self.assertEqual(
            leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                x509.RFC822Name), ["anna.schmidt@example.edu"])
        with open(self.server.chain, "rb") as chain:
            leaf.verify_directly_issued_by(x509.load_pem_x509_certificates(chain.read())[0])
        state = self.state()
        self.assertEqual((state["orders"], state["entries"]), (1, 1))
        self.assertGreaterEqual(state["logins"], 1)
        # The bulk entries Mailseal's look-up reads, through tcs-garr's own
        # call of an endpoint.
        entries = self.tcs_garr("test", "--endpoint", "/api/OrganizationAdmin/GetBulkCertificateEntries")
        self.assertIn(EMAIL, entries)
        listed = self.tcs_garr("smime-validator", "certificates", "--status", "Valid")
        self.assertIn("anna.schmidt@example.edu", listed)
        transaction = self.transaction_id()
        self.tcs_garr("smime-validator", "revoke", "--id", transaction, answer="Y\n")
        self.assertEqual(self.state()["revoked"][0]["id"], transaction)
        self.assertEqual(self.state()["revoked"][0]["reason"], "4.9.1.1.1.1")

    def transaction_id(self):
        """The id of the one certificate, as tcs-garr's validator list shows it."""
        out = self.tcs_garr("smime-validator", "certificates", "--status", "Valid")
        match = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", out)
        self.assertIsNotNone(match, out)
        return match.group(0)


if __name__ == "__main__":
    unittest.main()
