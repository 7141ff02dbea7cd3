"""The Sectigo test server agrees with an independent client before it
judges Mailseal: PyPI cert-manager 4.0.0 (broadinstitute/python-cert_manager)
drives it — organisations, types, enroll, collect while pending and once
issued, the search by address, revocation — and what it issues is checked
here: the order's names and address, the CSR's key, its own chain."""

import json
import os
import unittest
import urllib.request

import requests
from cert_manager import SMIME, Client, Organization
from cert_manager._helpers import PendingError, RevokedError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from servers import Server

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

TYPE = "GEANT Personal email signing and encryption"


def request_pem(key):
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "from the CSR, ignored")]))
            .sign(key, hashes.SHA256())
            .public_bytes(serialization.Encoding.PEM).decode())


class SectigoServerTests(unittest.TestCase):
    def setUp(self):
        self.server = Server("sectigo_server.py", "--delay", "0.3")
        self.addCleanup(self.server.stop)
        self.client = Client(base_url=self.server.url + "/api", login_uri="example-university",
                             username="mailseal-api", password="sectigo-test-password")

    def faults(self, table):
        urllib.request.urlopen(urllib.request.Request(
            self.server.url + "/_test/faults", data=json.dumps(table).encode(), method="POST"))

    def state(self):
        return json.load(urllib.request.urlopen(self.server.url + "/_test/state"))

    def test_enrol_collect_search_revoke(self):
        organization = Organization(client=self.client).find(org_name="Example University")[0]
        smime = SMIME(client=self.client)
        key = ec.generate_private_key(ec.SECP256R1())
        result = smime.enroll(cert_type_name=TYPE, csr=request_pem(key), term=365, org_id=organization["id"],
                              email="anna.schmidt@example.edu", first_name="Anna", last_name="Schmidt",
                              common_name="Anna Schmidt")
        self.assertEqual(str(result["orderNumber"]), result["backendCertId"])
        with self.assertRaises(PendingError):
            smime.collect(result["backendCertId"])
        collected = None
        for _ in range(200):
            try:
                collected = smime.collect(result["backendCertId"])
                break
            except PendingError:
                import time
                time.sleep(0.05)
        self.assertIsNotNone(collected, "never collectable")
        certificates = pkcs7.load_pem_pkcs7_certificates(collected.encode())
        leaf = next(c for c in certificates if not c.extensions.get_extension_for_class(
            x509.BasicConstraints).value.ca)
        self.assertEqual(leaf.public_key().public_numbers(), key.public_key().public_numbers())
        self.assertEqual(leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value, "Anna Schmidt")
        self.assertEqual(leaf.subject.get_attributes_for_oid(NameOID.GIVEN_NAME)[0].value, "Anna")
        self.assertEqual(
            leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                x509.RFC822Name), ["anna.schmidt@example.edu"])
        with open(self.server.chain, "rb") as chain:
            issuing = x509.load_pem_x509_certificates(chain.read())[0]
        leaf.verify_directly_issued_by(issuing)
        found = list(smime.list(email="anna.schmidt@example.edu"))
        self.assertEqual([item["backendCertId"] for item in found], [result["backendCertId"]])
        self.assertEqual(found[0]["state"], "issued")
        smime.revoke(result["backendCertId"], reason="keyCompromise: reported by the holder")
        with self.assertRaises(RevokedError):
            smime.collect(result["backendCertId"])
        self.assertEqual(self.state()["revoked"][0]["reason"], "keyCompromise: reported by the holder")

    def test_refusals_and_faults(self):
        smime = SMIME(client=self.client)
        key = ec.generate_private_key(ec.SECP256R1())
        with self.assertRaises(requests.exceptions.HTTPError) as refused:
            smime.enroll(cert_type_name=TYPE, csr=request_pem(key), term=365, org_id=4242,
                         email="someone@not-validated.test", first_name="A", last_name="B", common_name="A B")
        self.assertEqual(refused.exception.response.status_code, 400)
        self.assertEqual(refused.exception.response.json()["code"], -106)
        wrong = Client(base_url=self.server.url + "/api", login_uri="example-university",
                       username="mailseal-api", password="wrong")
        with self.assertRaises(requests.exceptions.HTTPError) as unauthorised:
            Organization(client=wrong).all()
        self.assertEqual(unauthorised.exception.response.status_code, 401)
        self.faults({"enroll": ["429:7"]})
        with self.assertRaises(requests.exceptions.HTTPError) as limited:
            smime.enroll(cert_type_name=TYPE, csr=request_pem(key), term=365, org_id=4242,
                         email="anna@example.edu", first_name="A", last_name="B", common_name="A B")
        self.assertEqual(limited.exception.response.status_code, 429)
        self.assertEqual(limited.exception.response.headers["Retry-After"], "7")
        self.assertEqual(self.state()["orders"], 0)
        self.faults({"enroll": ["close-after-create"]})
        with self.assertRaises(requests.exceptions.ConnectionError):
            smime.enroll(cert_type_name=TYPE, csr=request_pem(key), term=365, org_id=4242,
                         email="anna@example.edu", first_name="A", last_name="B", common_name="A B")
        # The order exists although its answer was lost: the search finds it.
        self.assertEqual(self.state()["orders"], 1)
        self.assertEqual(len(list(smime.list(email="anna@example.edu"))), 1)


if __name__ == "__main__":
    unittest.main()
