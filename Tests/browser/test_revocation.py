"""Revocation against the real portal, with OpenSSL and pkilint as judges:
three certificates issued and one revoked on the command line
(`mailseal ca issue`, `mailseal ca revoke`); the OCSP responder asked by
POST and GET, with and without a nonce, with SHA-1 and SHA-256 CertIDs,
signed by the delegated responder certificate and (a second portal,
`MAILSEAL_OCSP_SIGNER=ca`) by the CA key; the CRL and the root's ARL
fetched from the URLs the certificates name and used by `openssl verify
-crl_check`; a revocation on the command line answered by the running
portal's OCSP within a second and by the CRL at once; pkilint
finds nothing at WARNING or above in the CRL, the ARL and the responses."""
import base64
import hashlib
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

# Runs by path (`python -m unittest Tests/browser/test_revocation.py`) as well as by discovery.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import portal  # noqa: E402

VENV = pathlib.Path(os.environ.get("MAILSEAL_VENV", str(portal.ROOT / ".venv")))
# The DER of OCSPResponse { responseStatus malformedRequest (1) } (RFC 6960 §4.2.1).
MALFORMED_REQUEST = bytes.fromhex("30030a0101")
UNKNOWN_SERIAL = "0x1234ABCD"


def run(arguments, **kwargs):
    return subprocess.run([str(a) for a in arguments], capture_output=True, text=True, errors="replace", **kwargs)


def fetch(url, work, body=None, headers=()):
    """curl: GET, or POST of the file `body`; (HTTP status, headers with
    lowercase names, body bytes)."""
    head, out = work / "curl.head", work / "curl.body"
    arguments = ["curl", "-s", "-D", head, "-o", out, "-w", "%{http_code}"]
    for header in headers:
        arguments += ["-H", header]
    if body is not None:
        arguments += ["--data-binary", "@%s" % body]
    done = run(arguments + [url])
    assert done.returncode == 0, "curl %s: %s" % (url, done.stderr)
    fields = {}
    for line in head.read_text(errors="replace").splitlines()[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            fields[name.strip().lower()] = value.strip()
    return int(done.stdout), fields, out.read_bytes()


def extension_urls(certificate):
    """The OCSP, caIssuers and CRL distribution point URLs a certificate names."""
    text = run(["openssl", "x509", "-in", certificate, "-noout", "-ext", "authorityInfoAccess,crlDistributionPoints"])
    assert text.returncode == 0, text.stderr
    ocsp = re.findall(r"OCSP - URI:(\S+)", text.stdout)
    issuers = re.findall(r"CA Issuers - URI:(\S+)", text.stdout)
    crls = re.findall(r"^\s+URI:(\S+)", text.stdout, re.M)
    return {"ocsp": ocsp[0] if ocsp else None, "caIssuers": issuers[0] if issuers else None,
            "crl": crls[0] if crls else None}


def serial_of(certificate):
    return run(["openssl", "x509", "-in", certificate, "-noout", "-serial"]).stdout.strip().split("=")[1]


def key_identifier(certificate):
    text = run(["openssl", "x509", "-in", certificate, "-noout", "-ext", "subjectKeyIdentifier"]).stdout
    return text.splitlines()[-1].strip().replace(":", "").upper()


def key_hash(certificate):
    """SHA-1 of the certificate's subjectPublicKey BIT STRING value (RFC 6960
    §4.2.1, ResponderID byKey), from the DER OpenSSL writes."""
    spki = run(["openssl", "x509", "-in", certificate, "-noout", "-pubkey"]).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=spki.encode(),
                         capture_output=True, check=True).stdout

    def tlv(at):
        """(start of the contents, end) of the DER element at `at`."""
        length, at = der[at + 1], at + 2
        if length & 0x80:
            count = length & 0x7F
            length, at = int.from_bytes(der[at:at + count], "big"), at + count
        return at, at + length

    assert der[0] == 0x30, der.hex()
    body, _ = tlv(0)                      # SubjectPublicKeyInfo
    _, after_algorithm = tlv(body)        # AlgorithmIdentifier
    assert der[after_algorithm] == 0x03, der.hex()
    bits, end = tlv(after_algorithm)      # subjectPublicKey BIT STRING
    assert der[bits] == 0, "unused bits in the public key"
    return hashlib.sha1(der[bits + 1:end]).hexdigest().upper()


def findings_at_warning_or_above(linter, *arguments):
    """pkilint's JSON report at `-s WARNING`: the findings of WARNING,
    ERROR or FATAL (its exit status counts INFO and NOTICE too)."""
    done = run([VENV / "bin" / linter, "lint", *arguments[:-1], "-s", "WARNING", "-f", "JSON", arguments[-1]])
    report = json.loads(done.stdout)
    return [dict(f, node=r["node_path"], validator=r["validator"]) for r in report["results"]
            for f in r["finding_descriptions"] if f["severity"] in ("WARNING", "ERROR", "FATAL")]


class RevocationPortal:
    """A portal (its own data folder and test CA) with good.pem, revoked.pem
    (revoked for keyCompromise on the command line) and later.pem, and the
    CA certificates fetched from the URLs in them."""

    extra = {}

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mailseal-revocation-")
        cls.work = pathlib.Path(cls.folder.name)
        cls.web = None
        try:
            cls.web = portal.Portal(cls.folder.name, extra=cls.extra)
            cls.prepare()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.web:
            cls.web.stop()
            cls.web.process.stdout.close()
        cls.folder.cleanup()

    @classmethod
    def prepare(cls):
        w = cls.work
        for name in ("good", "revoked", "later"):
            made = run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", w / ("%s.key" % name), "-subj", "/CN=x", "-out", w / ("%s.csr" % name)])
            assert made.returncode == 0, made.stderr
            status, output = cls.web.cli("ca", "issue", "--csr", str(w / ("%s.csr" % name)), "--email",
                                         "%s@example.edu" % name, "--mailbox-only", "--out", str(w / ("%s.pem" % name)))
            assert status == 0, output
            assert "Issued serial" in output, output
        cls.urls = extension_urls(w / "good.pem")
        # The issuing CA from the leaf's caIssuers URL, the root from the issuing CA's.
        for name, url in (("issuing", cls.urls["caIssuers"]), ("root", None)):
            url = url or extension_urls(w / "issuing.pem")["caIssuers"]
            status, headers, body = fetch(url, w)
            assert status == 200 and headers.get("content-type") == "application/pkix-cert", (url, status, headers)
            (w / ("%s.der" % name)).write_bytes(body)
            converted = run(["openssl", "x509", "-inform", "DER", "-in", w / ("%s.der" % name),
                             "-out", w / ("%s.pem" % name)])
            assert converted.returncode == 0, converted.stderr
        (w / "chain.pem").write_text((w / "root.pem").read_text() + (w / "issuing.pem").read_text())
        cls.serials = {name: serial_of(w / ("%s.pem" % name)) for name in ("good", "revoked", "later")}
        status, output = cls.web.cli("ca", "revoke", "--serial", cls.serials["revoked"], "--reason", "keyCompromise")
        assert status == 0, output
        assert "Revoked %s" % cls.serials["revoked"].lower() in output, output
        # The running portal reads a revocation made by another process
        # from the database within a second: the tests start once it has.
        deadline = time.monotonic() + 1.0
        while True:
            started = time.monotonic()
            done = run(["openssl", "ocsp", "-url", cls.urls["ocsp"], "-issuer", w / "issuing.pem", "-cert",
                        w / "revoked.pem", "-no_nonce", "-CAfile", w / "root.pem", "-verify_other",
                        w / "issuing.pem"], cwd=w)
            if re.search(r"revoked\.pem: revoked", done.stdout):
                break
            assert started < deadline, "still good a second after the revocation: " + done.stdout + done.stderr
            time.sleep(0.05)  # the next poll; the deadline above decides

    # Helpers.

    def ocsp(self, *arguments, issuer="issuing.pem"):
        """`openssl ocsp` against the OCSP URL of the certificates, judged
        with the root as the only trust anchor; stdout and stderr."""
        w = self.work
        done = run(["openssl", "ocsp", "-url", self.urls["ocsp"], "-issuer", w / issuer, *arguments,
                    "-CAfile", w / "root.pem", "-verify_other", w / "issuing.pem", "-resp_text"], cwd=w)
        return done.stdout + done.stderr

    def cert_ids(self, digest, *names):
        """`-sha256 -cert a.pem …`: the digest flag must come before -cert/-serial."""
        arguments = [digest] if digest else []
        for name in names:
            arguments += ["-serial", UNKNOWN_SERIAL] if name == "unknown" else ["-cert", self.work / ("%s.pem" % name)]
        return arguments

    def get(self, request, escape=True):
        """GET /ocsp/<base64 of the DER request>; (status, headers, body)."""
        encoded = base64.b64encode(request.read_bytes()).decode()
        return fetch(self.urls["ocsp"] + "/" + (urllib.parse.quote(encoded, safe="") if escape else encoded), self.work)

    def judge(self, response, request):
        """`openssl ocsp -respin … -reqin …`: the response checked against
        the very request (CertIDs and nonce) with the root as trust anchor."""
        done = run(["openssl", "ocsp", "-respin", response, "-reqin", request, "-CAfile", self.work / "root.pem",
                    "-verify_other", self.work / "issuing.pem", "-resp_text"])
        return done.stdout + done.stderr

    def assertCertStatus(self, output, status, reason=None):
        """The single response's status as `-resp_text` prints it."""
        self.assertEqual(re.findall(r"Cert Status: (\S+)", output), [status], output)
        if reason:
            self.assertRegex(output, r"Revocation Reason: %s \(0x[0-9a-f]+\)" % reason)
        else:
            self.assertNotIn("Revocation Reason", output)

    def assertVerified(self, output, nonce):
        self.assertIn("Response verify OK", output)
        self.assertNotIn("Response Verify Failure", output)
        self.assertNotIn("Nonce Verify error", output)
        self.assertNotIn("WARNING: no nonce in response", output)
        self.assertRegex(output, r"OCSP Response Status: successful \(0x0\)")
        if nonce:
            self.assertIn("OCSP Nonce", output)
        else:
            self.assertNotIn("OCSP Nonce", output)

    def assertStatus(self, output, name, status, reason=None):
        # OpenSSL names each certificate as given: the -cert path or the -serial.
        label = UNKNOWN_SERIAL if name == "unknown" else "%s.pem" % name
        line = re.search(r"^(?:\S*/)?%s: %s$" % (re.escape(label), status), output, re.M)
        self.assertIsNotNone(line, "no '%s: %s' in:\n%s" % (label, status, output))
        block = output[line.end():].split(".pem:", 1)[0].split(UNKNOWN_SERIAL + ":", 1)[0]
        if reason:
            self.assertIn("Reason: %s" % reason, block)
            self.assertIn("Revocation Time:", block)
        else:
            self.assertNotIn("Reason:", block)
        self.assertIn("This Update:", block)
        self.assertIn("Next Update:", block)

    # Tests common to both signers.

    def test_ocsp_post_good_revoked_unknown_with_and_without_nonce_sha1_and_sha256(self):
        expected = {"good": ("good", None), "revoked": ("revoked", "keyCompromise"), "unknown": ("unknown", None)}
        for digest, hash_name in ((None, "sha1"), ("-sha256", "sha256")):
            for name, (status, reason) in expected.items():
                for nonce in (True, False):
                    with self.subTest(digest=hash_name, certificate=name, nonce=nonce):
                        output = self.ocsp(*self.cert_ids(digest, name), *([] if nonce else ["-no_nonce"]))
                        self.assertVerified(output, nonce)
                        self.assertStatus(output, name, status, reason)
                        self.assertIn("Hash Algorithm: %s" % hash_name, output)
                        if reason:
                            self.assertIn("Revocation Reason: %s (0x1)" % reason, output)

    def test_ocsp_post_several_certificates_in_one_request(self):
        for nonce in (True, False):
            with self.subTest(nonce=nonce):
                output = self.ocsp(*self.cert_ids(None, "good", "revoked", "unknown"),
                                   *([] if nonce else ["-no_nonce"]))
                self.assertVerified(output, nonce)
                self.assertStatus(output, "good", "good")
                self.assertStatus(output, "revoked", "revoked", "keyCompromise")
                self.assertStatus(output, "unknown", "unknown")

    def test_ocsp_get_cacheable_and_verified(self):
        w = self.work
        for name, status, reason in (("good", "good", None), ("revoked", "revoked", "keyCompromise")):
            for digest in (None, "-sha256"):
                with self.subTest(certificate=name, digest=digest):
                    request = w / ("get-%s.req" % name)
                    made = run(["openssl", "ocsp", *([digest] if digest else []), "-issuer", w / "issuing.pem",
                                "-cert", w / ("%s.pem" % name), "-no_nonce", "-reqout", request])
                    self.assertEqual(made.returncode, 0, made.stderr)
                    code, headers, body = self.get(request)
                    self.assertEqual(code, 200)
                    self.assertEqual(headers.get("content-type"), "application/ocsp-response")
                    self.assertRegex(headers.get("cache-control", ""), r"(^|[ ,])max-age=[1-9][0-9]*")
                    response = w / ("get-%s.resp" % name)
                    response.write_bytes(body)
                    output = self.judge(response, request)
                    self.assertVerified(output, nonce=False)
                    self.assertCertStatus(output, status, reason)
                    self.assertIn("Hash Algorithm: %s" % ("sha256" if digest else "sha1"), output)

    def test_ocsp_responses_pass_pkilint(self):
        for name in ("good", "revoked", "unknown"):
            for nonce in (True, False):
                with self.subTest(certificate=name, nonce=nonce):
                    response = self.work / ("lint-%s-%s.der" % (name, nonce))
                    output = self.ocsp(*self.cert_ids(None, name), "-respout", response,
                                       *([] if nonce else ["-no_nonce"]))
                    self.assertVerified(output, nonce)
                    self.assertEqual(findings_at_warning_or_above("lint_ocsp_response", response), [])


class DelegatedResponder(RevocationPortal, unittest.TestCase):
    """The default portal: OCSP signed by the delegated responder certificate."""

    def test_urls_in_the_certificates_are_this_portal(self):
        self.assertEqual(self.urls["ocsp"], self.web.url + "/ocsp")
        slug = key_identifier(self.work / "issuing.pem")[:16].lower()
        self.assertEqual(self.urls["caIssuers"], "%s/ca/%s.cer" % (self.web.url, slug))
        self.assertEqual(self.urls["crl"], "%s/crl/%s.crl" % (self.web.url, slug))
        # `ca show` names the same URLs.
        status, output = self.web.cli("ca", "show")
        self.assertEqual(status, 0, output)
        for url in self.urls.values():
            self.assertIn(url, output)
        root_slug = key_identifier(self.work / "root.pem")[:16].lower()
        self.assertIn("%s/ca/%s.cer" % (self.web.url, root_slug), output)
        # The root is self-signed, the issuing CA is signed by it.
        root = self.work / "root.pem"
        self.assertEqual(run(["openssl", "x509", "-in", root, "-noout", "-subject"]).stdout.split("=", 1)[1],
                         run(["openssl", "x509", "-in", root, "-noout", "-issuer"]).stdout.split("=", 1)[1])
        verified = run(["openssl", "verify", "-CAfile", root, self.work / "issuing.pem"])
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)

    def test_revoke_refusals(self):
        cases = [
            (("--serial", self.serials["good"], "--reason", "bogus"), "--reason must be one of"),
            (("--serial", "1234ABCD", "--reason", "keyCompromise"), "No certificate of this installation has serial"),
            (("--serial", self.serials["revoked"], "--reason", "keyCompromise"), "already been revoked"),
            (("--serial", self.serials["good"]), "--serial HEX and --reason REASON are required"),
        ]
        for arguments, message in cases:
            with self.subTest(arguments=arguments):
                status, output = self.web.cli("ca", "revoke", *arguments)
                self.assertNotEqual(status, 0, output)
                self.assertIn(message, output)
        # None of them changed anything: good is still good.
        output = self.ocsp(*self.cert_ids(None, "good"))
        self.assertVerified(output, nonce=True)
        self.assertStatus(output, "good", "good")

    def test_delegated_responder_certificate_in_the_response(self):
        output = self.ocsp(*self.cert_ids(None, "good"))
        self.assertVerified(output, nonce=True)
        # The response carries the responder certificate: OCSPSigning, ocsp-nocheck, issued by the issuing CA.
        self.assertIn("Certificate:", output)
        self.assertIn("OCSP Signing", output)
        self.assertIn("OCSP No Check", output)
        responder = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", output, re.S).group(0)
        path = self.work / "responder.pem"
        path.write_text(responder + "\n")
        responder_id = re.search(r"Responder Id: (\S+)", output).group(1)
        self.assertEqual(responder_id, key_hash(path))
        self.assertNotEqual(responder_id, key_hash(self.work / "issuing.pem"))
        verified = run(["openssl", "verify", "-CAfile", self.work / "root.pem", "-untrusted", self.work / "issuing.pem",
                        path])
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
        issuer = run(["openssl", "x509", "-in", path, "-noout", "-issuer"]).stdout.split("=", 1)[1]
        self.assertEqual(issuer, run(["openssl", "x509", "-in", self.work / "issuing.pem", "-noout",
                                      "-subject"]).stdout.split("=", 1)[1])

    def test_ocsp_malformed_request(self):
        garbage = self.work / "garbage.bin"
        garbage.write_bytes(b"\x00\x01 this is not an OCSP request \xff")
        code, headers, body = fetch(self.urls["ocsp"], self.work, body=garbage,
                                    headers=["Content-Type: application/ocsp-request"])
        self.assertEqual(code, 200)
        self.assertEqual(headers.get("content-type"), "application/ocsp-response")
        self.assertEqual(body, MALFORMED_REQUEST)
        # And by GET: base64 of nothing that parses.
        code, headers, body = fetch(self.urls["ocsp"] + "/" + urllib.parse.quote("AAAA", safe=""), self.work)
        self.assertEqual(code, 200)
        self.assertEqual(body, MALFORMED_REQUEST)

    def test_ocsp_get_with_unescaped_base64(self):
        """Clients that do not percent-encode '/', '+' and '=' (the path keeps them)."""
        w = self.work
        request = w / "raw.req"
        for _ in range(64):  # the nonce is random: until the base64 has a '/' or a '+'
            run(["openssl", "ocsp", "-issuer", w / "issuing.pem", "-cert", w / "good.pem", "-reqout",
                 request]).check_returncode()
            encoded = base64.b64encode(request.read_bytes()).decode()
            if "/" in encoded or "+" in encoded:
                break
        code, _, body = self.get(request, escape=False)
        self.assertEqual(code, 200)
        response = w / "raw.resp"
        response.write_bytes(body)
        # This request has a nonce: the answer must carry the same one.
        output = self.judge(response, request)
        self.assertVerified(output, nonce=True)
        self.assertCertStatus(output, "good")

    def fetch_crl(self, url, name):
        code, headers, body = fetch(url, self.work)
        self.assertEqual(code, 200)
        self.assertEqual(headers.get("content-type"), "application/pkix-crl")
        der, pem = self.work / ("%s.der" % name), self.work / ("%s.pem" % name)
        der.write_bytes(body)
        converted = run(["openssl", "crl", "-inform", "DER", "-in", der, "-out", pem])
        self.assertEqual(converted.returncode, 0, converted.stderr)
        return der, pem

    def test_crl_from_the_distribution_point(self):
        w = self.work
        der, pem = self.fetch_crl(self.urls["crl"], "crl")
        verified = run(["openssl", "crl", "-in", pem, "-CAfile", w / "chain.pem", "-noout"])
        self.assertEqual(verified.returncode, 0, verified.stderr)
        self.assertIn("verify OK", verified.stdout + verified.stderr)
        text = run(["openssl", "crl", "-in", pem, "-noout", "-text"]).stdout
        self.assertIn("Version 2 (0x1)", text)
        self.assertIn("X509v3 CRL Number:", text)
        aki = re.search(r"Authority Key Identifier:\s*\n\s*([0-9A-F:]+)", text).group(1).replace(":", "")
        self.assertEqual(aki, key_identifier(w / "issuing.pem"))
        entries = re.findall(r"Serial Number: ([0-9A-F]+)\s*\n\s*Revocation Date: [^\n]+\n(?:\s*CRL entry extensions:\s*\n"
                             r"\s*X509v3 CRL Reason Code:\s*\n\s*([^\n]+))?", text)
        by_serial = {serial: reason.strip() for serial, reason in entries}
        self.assertEqual(by_serial.get(self.serials["revoked"].upper()), "Key Compromise", text)
        self.assertNotIn(self.serials["good"].upper(), by_serial)
        # Relying parties: the good one passes, the revoked one does not.
        good = run(["openssl", "verify", "-crl_check", "-CAfile", w / "root.pem", "-untrusted", w / "issuing.pem",
                    "-CRLfile", pem, w / "good.pem"])
        self.assertEqual(good.returncode, 0, good.stdout + good.stderr)
        self.assertIn("good.pem: OK", good.stdout)
        revoked = run(["openssl", "verify", "-crl_check", "-CAfile", w / "root.pem", "-untrusted", w / "issuing.pem",
                       "-CRLfile", pem, w / "revoked.pem"])
        self.assertNotEqual(revoked.returncode, 0)
        self.assertIn("certificate revoked", revoked.stdout + revoked.stderr)
        # The whole chain: the root's ARL from the issuing CA's distribution point.
        arl_url = extension_urls(w / "issuing.pem")["crl"]
        self.assertEqual(arl_url, "%s/crl/%s.crl" % (self.web.url, key_identifier(w / "root.pem")[:16].lower()))
        _, arl = self.fetch_crl(arl_url, "arl")
        arl_verified = run(["openssl", "crl", "-in", arl, "-CAfile", w / "root.pem", "-noout"])
        self.assertIn("verify OK", arl_verified.stdout + arl_verified.stderr)
        both = w / "crls.pem"
        both.write_text(pem.read_text() + arl.read_text())
        for name, ok in (("good", True), ("revoked", False)):
            checked = run(["openssl", "verify", "-crl_check_all", "-CAfile", w / "root.pem", "-untrusted",
                           w / "issuing.pem", "-CRLfile", both, w / ("%s.pem" % name)])
            self.assertEqual(checked.returncode == 0, ok, checked.stdout + checked.stderr)
            if not ok:
                self.assertIn("certificate revoked", checked.stdout + checked.stderr)
        # Without the ARL, -crl_check_all cannot succeed (so the ARL above was used).
        missing = run(["openssl", "verify", "-crl_check_all", "-CAfile", w / "root.pem", "-untrusted",
                       w / "issuing.pem", "-CRLfile", pem, w / "good.pem"])
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("unable to get certificate CRL", missing.stdout + missing.stderr)

    def test_crl_and_arl_pass_pkilint(self):
        der, _ = self.fetch_crl(self.urls["crl"], "lint-crl")
        self.assertEqual(findings_at_warning_or_above("lint_crl", "-t", "CRL", "-p", "BR", der), [])
        arl, _ = self.fetch_crl(extension_urls(self.work / "issuing.pem")["crl"], "lint-arl")
        self.assertEqual(findings_at_warning_or_above("lint_crl", "-t", "ARL", "-p", "BR", arl), [])

    def test_a_revocation_is_answered_within_a_second(self):
        """later.pem: asked (so a signed 'good' is cached), revoked by the
        command line (another process: the portal reads the revocation from
        the database within a second), asked again by POST in a loop — no
        answer begun more than a second after the command returned says
        good — then by GET; the CRL lists it as soon as the command
        returns."""
        w = self.work
        before = self.ocsp(*self.cert_ids(None, "later"), "-no_nonce")
        self.assertVerified(before, nonce=False)
        self.assertStatus(before, "later", "good")
        _, old_crl = self.fetch_crl(self.urls["crl"], "before")
        old_number = int(re.search(r"CRL Number:\s*\n\s*(\d+)", run(["openssl", "crl", "-in", old_crl, "-noout",
                                                                      "-text"]).stdout).group(1))
        status, output = self.web.cli("ca", "revoke", "--serial", self.serials["later"], "--reason", "superseded")
        self.assertEqual(status, 0, output)
        deadline = time.monotonic() + 1.0
        while True:
            started = time.monotonic()
            after = self.ocsp(*self.cert_ids(None, "later"), "-no_nonce")
            self.assertVerified(after, nonce=False)
            if re.search(r"later\.pem: revoked", after):
                break
            self.assertLess(started, deadline, "still good a second after the revocation:\n" + after)
            time.sleep(0.05)  # the next poll; the deadline above decides
        self.assertStatus(after, "later", "revoked", "superseded")
        request = w / "later.req"
        run(["openssl", "ocsp", "-issuer", w / "issuing.pem", "-cert", w / "later.pem", "-no_nonce",
             "-reqout", request]).check_returncode()
        code, _, body = self.get(request)
        self.assertEqual(code, 200)
        (w / "later.resp").write_bytes(body)
        output = self.judge(w / "later.resp", request)
        self.assertVerified(output, nonce=False)
        self.assertCertStatus(output, "revoked", "superseded")
        _, new_crl = self.fetch_crl(self.urls["crl"], "after")
        text = run(["openssl", "crl", "-in", new_crl, "-noout", "-text"]).stdout
        self.assertGreater(int(re.search(r"CRL Number:\s*\n\s*(\d+)", text).group(1)), old_number)
        self.assertIn("Serial Number: %s" % self.serials["later"].upper(), text)
        self.assertIn("Superseded", text)
        self.assertIn("Serial Number: %s" % self.serials["revoked"].upper(), text)


class SignedByTheCA(RevocationPortal, unittest.TestCase):
    """A second portal with MAILSEAL_OCSP_SIGNER=ca: the issuing CA's key
    signs, and the response carries no certificate."""

    extra = {"MAILSEAL_OCSP_SIGNER": "ca"}

    def test_responder_is_the_issuing_ca(self):
        for name, status, reason in (("good", "good", None), ("revoked", "revoked", "keyCompromise")):
            for nonce in (True, False):
                with self.subTest(certificate=name, nonce=nonce):
                    output = self.ocsp(*self.cert_ids(None, name), *([] if nonce else ["-no_nonce"]))
                    self.assertVerified(output, nonce)
                    self.assertStatus(output, name, status, reason)
                    # byKey: the issuing CA's key hash, as OpenSSL put it into the CertID (SHA-1).
                    responder_id = re.search(r"Responder Id: (\S+)", output).group(1)
                    self.assertEqual(responder_id, key_hash(self.work / "issuing.pem"))
                    self.assertEqual(responder_id, re.search(r"Issuer Key Hash: (\S+)", output).group(1))
                    self.assertNotIn("Certificate:", output)
                    self.assertNotIn("BEGIN CERTIFICATE", output)
                    self.assertNotIn("OCSP Signing", output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
