"""The whole requester's path, steps 1–12, in headless Chromium against the
real portal and a real SMTP server: login link, form, key file; an operator
enrols and signs in with password and TOTP, records a photo-ID check and
approves; the CA issues; the pickup mail arrives; the browser builds the
PKCS#12 in both encodings. Then OpenSSL 3, NSS (pk12util), Java (keytool)
and GnuTLS (certtool) read both files, `openssl cms` signs and decrypts
with the key from them, and pkilint finds nothing in the certificate."""
import json
import os
import pathlib
import re
import subprocess
import tempfile
import unittest

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import portal
from test_enrollment import Walker

# ASCII: Java's PKCS#12 reader turns other characters of a password into
# something else than OpenSSL, NSS and GnuTLS do (README, limits).
PASSWORD = "Kranich-Flug-ueber-Feldberg-7"

STAFF_PASSWORD = "service-desk-passwort-42"


# Moved to portal.py (the lifecycle test signs staff in too); kept importable here.
totp = portal.totp


def run(arguments, **kwargs):
    # OpenSSL prints BMPString names as Latin-1; nothing else here is not ASCII or UTF-8 text.
    return subprocess.run(arguments, capture_output=True, text=True, errors="replace", **kwargs)


class TwelveSteps(Walker, unittest.TestCase):
    password = PASSWORD
    # The CA keys in a SoftHSM2 token instead of files (TwelveStepsWithHSM).
    hsm = False
    # An upstream CA issues instead of the embedded one (TwelveStepsSectigo,
    # TwelveStepsHarica): "sectigo" or "harica".
    upstream = None

    def test_the_whole_path_and_both_pkcs12_encodings(self):
        server = portal.SMTPServer(self.folder.name)
        self.stoppables.append(server)
        pki_port = portal.free_port()
        extra = {"MAILSEAL_PKI_URL": "http://pki.example.edu:%d" % pki_port}
        if self.hsm:
            extra.update(portal.softhsm_token(self.folder.name))
        upstream = None
        if self.upstream:
            upstream = portal.UpstreamCA(self.folder.name, self.upstream)
            self.stoppables.append(upstream)
            extra.update(upstream.settings())
        web = portal.Portal(self.folder.name, smtp_port=server.port, extra=extra)
        self.stoppables.append(web)
        if self.hsm:
            # The test CA was made in the token: every signature of this walk goes through it.
            status, shown = web.cli("ca", "show")
            self.assertEqual(status, 0, shown)
            self.assertIn("key          pkcs11:token=mailseal-browser;object=issuing-", shown)
            self.assertIn("made by SoftHSM", shown)
        driver = portal.chromium(self.downloads)
        self.stoppables.append(driver)
        wait = WebDriverWait(driver, 120)

        # Steps 1–7: the requester.
        number, key_file, _ = self.walk(server, web, driver, "zoe.mueller@example.edu", "rsa3072")

        # An operator account, made on the command line, enrolled in the browser.
        driver.delete_all_cookies()
        secret, step = portal.enrol_staff(web, driver, wait, "anna.desk@example.edu", "Anna Desk", "operator",
                                          STAFF_PASSWORD)

        # Step 8: sign in with password and TOTP, find the request, record the check, approve.
        portal.staff_sign_in(web, driver, wait, "anna.desk@example.edu", STAFF_PASSWORD, secret, step)
        # Found as the address and the ID's machine-readable zone spell her.
        portal.check_identity_and_approve(driver, wait, number, "mueller-luedenscheidt", "Zoë", "Müller-Lüdenscheidt")

        # Step 9: the CA issues, the pickup mail arrives by SMTP.
        wait.until(lambda _: any("ready" in str(m["subject"]) for m in server.messages()))
        mail = [m for m in server.messages() if "ready" in str(m["subject"])][0]
        text = mail.get_body(preferencelist=("plain",)).get_content()
        pickup = re.search(r"https?://\S+/pickup/[A-Za-z0-9_-]{43}", text).group(0)

        # Steps 10–11: the requester builds the PKCS#12, both encodings.
        driver.get(pickup + "?lang=de")
        wait.until(EC.visibility_of_element_located((By.ID, "pickup-form")))
        self.assertEqual(driver.find_element(By.ID, "build").text, "Zertifikat herunterladen")
        portal.screenshot(driver, "pickup")
        driver.get(pickup + "?lang=en")
        form = wait.until(EC.visibility_of_element_located((By.ID, "pickup-form")))
        self.assertEqual(driver.find_element(By.ID, "build").text, "Download certificate")
        # The issuer in words; its whole name folded away.
        self.assertNotIn("CN=", driver.find_element(By.ID, "issuer-name").text)
        self.assertIn("Upstream Test S/MIME CA" if upstream else "TEST",
                      driver.find_element(By.ID, "issuer-name").text)
        if upstream:
            # One order at the upstream for the request; /healthz names the upstream and when it answered.
            self.assertEqual(upstream.state()["orders"], 1)
            with portal.urllib.request.urlopen(web.url + "/healthz", timeout=30) as answer:
                health = json.load(answer)
            self.assertEqual(health["upstream"]["name"], self.upstream)
            self.assertIn("lastReached", health["upstream"])
            self.assertNotIn("password", json.dumps(health))
        self.assertFalse(driver.find_element(By.ID, "issuer-full").is_displayed())
        fingerprint = driver.find_element(By.ID, "fingerprint").text
        timings = {}
        files = {}
        for encoding in ("compatible", "modern"):
            upload = driver.find_element(By.ID, "key-file")
            upload.send_keys(str(key_file))
            driver.find_element(By.ID, "password").clear()
            driver.find_element(By.ID, "password").send_keys(PASSWORD)
            driver.find_element(By.CSS_SELECTOR, "input[name=encoding][value=%s]" % encoding).click()
            driver.find_element(By.ID, "build").click()
            wait.until(lambda d: d.find_element(By.ID, "pickup-done").get_attribute("data-encoding") == encoding)
            target = self.downloads / ("mailseal-%s-%s.p12" % (number, encoding))
            wait.until(lambda _: target.exists() and target.stat().st_size > 0)
            files[encoding] = target
            timings[encoding] = driver.execute_script("return window.mailsealTimings.pkcs12")
        print("PKCS#12 build ms:", timings)
        # Step 12: the advice.
        self.assertIn("Back up", driver.find_element(By.ID, "pickup-done").text)

        # Refusals, in the browser and nothing sent: a wrong password, another key file.
        driver.find_element(By.ID, "password").clear()
        driver.find_element(By.ID, "password").send_keys("not the password at all")
        driver.find_element(By.ID, "build").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "pickup-error"), "password does not open"))
        other = pathlib.Path(self.folder.name) / "other.key.pem"
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes-256-cbc",
             "-pass", "pass:" + PASSWORD, "-out", str(other)]).check_returncode()
        driver.find_element(By.ID, "key-file").send_keys(str(other))
        driver.find_element(By.ID, "password").clear()
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "build").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "pickup-error"), "does not belong"))
        for request in portal.sent_requests(driver):
            if "/pickup/" in request["url"]:
                self.assertEqual(request["method"], "GET")
                self.assertNotIn(PASSWORD, request["url"] + request["body"])

        self.judge(files, fingerprint, web, number)

    def judge(self, files, fingerprint, web, number):
        # An upstream's certificate is the upstream's to make conformant
        # (its profile, policies, AIA): pkilint judges Mailseal's own.
        work = pathlib.Path(self.folder.name)
        for encoding, path in files.items():
            legacy = ["-legacy"] if encoding == "compatible" else []
            info = run(["openssl", "pkcs12", *legacy, "-info", "-noout", "-in", str(path), "-passin", "pass:" + PASSWORD])
            self.assertEqual(info.returncode, 0, info.stderr)
            self.assertIn("pbeWithSHA1And3-KeyTripleDES-CBC" if encoding == "compatible" else "AES-256-CBC", info.stderr + info.stdout)
            self.assertIn("MAC: sha1" if encoding == "compatible" else "MAC: sha256", info.stderr + info.stdout)
            # The certificate, its chain and the key.
            pem = work / ("%s.pem" % encoding)
            out = run(["openssl", "pkcs12", *legacy, "-in", str(path), "-passin", "pass:" + PASSWORD, "-nodes",
                       "-out", str(pem)])
            self.assertEqual(out.returncode, 0, out.stderr)
            # OpenSSL writes the BMPString friendlyName as Latin-1 here.
            text = pem.read_bytes().decode("latin-1")
            self.assertEqual(text.count("BEGIN CERTIFICATE"), 3)
            self.assertIn("friendlyName: Zoë Müller-Lüdenscheidt <zoe.mueller@example.edu>", text)
            self.assertIn("localKeyID:", text)
            leaf = run(["openssl", "pkcs12", *legacy, "-in", str(path), "-passin", "pass:" + PASSWORD, "-clcerts",
                        "-nokeys"]).stdout
            printed = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256"], input=leaf).stdout
            self.assertEqual(printed.split("=")[1].strip().replace(":", "").lower(), fingerprint)
            # NSS, the store of Firefox and Thunderbird.
            nss = work / ("nss-%s" % encoding)
            nss.mkdir()
            run(["certutil", "-N", "-d", "sql:" + str(nss), "--empty-password"]).check_returncode()
            imported = run(["pk12util", "-i", str(path), "-d", "sql:" + str(nss), "-W", PASSWORD])
            self.assertEqual(imported.returncode, 0, imported.stdout + imported.stderr)
            self.assertIn("SUCCESSFUL", imported.stdout + imported.stderr)
            keys = run(["certutil", "-K", "-d", "sql:" + str(nss)])
            self.assertIn("rsa", keys.stdout)
            # Java.
            listed = run(["keytool", "-list", "-storetype", "PKCS12", "-keystore", str(path), "-storepass", PASSWORD])
            self.assertEqual(listed.returncode, 0, listed.stdout + listed.stderr)
            self.assertIn("PrivateKeyEntry", listed.stdout)
            # GnuTLS.
            gnutls = run(["certtool", "--p12-info", "--inder", "--infile", str(path), "--password", PASSWORD])
            self.assertEqual(gnutls.returncode, 0, gnutls.stdout + gnutls.stderr)
            # certtool stops on a wrong MAC; here it decrypted every bag.
            self.assertIn("PKCS #8 Encrypted key", gnutls.stdout)
            self.assertIn("Friendly name: Zoë Müller-Lüdenscheidt <zoe.mueller@example.edu>", gnutls.stdout)
            self.assertEqual(gnutls.stdout.count("BEGIN CERTIFICATE"), 3)
            # S/MIME with the key from the file: sign/verify, encrypt/decrypt.
            chain_file = work / "chain.pem"
            root_file = work / "root.pem"
            certs = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
            chain_file.write_text("\n".join(certs[1:]) + "\n")
            root_file.write_text(certs[-1] + "\n")
            leaf_file = work / "leaf.pem"
            leaf_file.write_text(certs[0] + "\n")
            message = work / "message.txt"
            message.write_text("Grüße aus dem Rechenzentrum\n")
            signed = work / "signed.p7m"
            run(["openssl", "cms", "-sign", "-in", str(message), "-signer", str(pem), "-certfile", str(chain_file),
                 "-out", str(signed)]).check_returncode()
            verified = run(["openssl", "cms", "-verify", "-in", str(signed), "-CAfile", str(root_file),
                            "-purpose", "smimesign"])
            self.assertEqual(verified.returncode, 0, verified.stderr)
            self.assertIn("Grüße", verified.stdout)
            encrypted = work / "encrypted.p7m"
            run(["openssl", "cms", "-encrypt", "-aes256", "-in", str(message), "-out", str(encrypted),
                 str(leaf_file)]).check_returncode()
            decrypted = run(["openssl", "cms", "-decrypt", "-in", str(encrypted), "-recip", str(leaf_file),
                             "-inkey", str(pem)])
            self.assertEqual(decrypted.returncode, 0, decrypted.stderr)
            self.assertIn("Grüße", decrypted.stdout)
        if self.upstream:
            leaf = run(["openssl", "x509", "-noout", "-issuer", "-in", str(work / "leaf.pem")]).stdout
            self.assertIn("Upstream Test S/MIME CA", leaf)
            return
        # pkilint: the issued certificate, zero findings at WARNING or above.
        linted = run([os.path.join(os.environ.get("MAILSEAL_VENV", str(portal.ROOT / ".venv")), "bin",
                                   "lint_cabf_smime_cert"), "lint", "-t", "SPONSORED-STRICT", "-s", "WARNING",
                      "-f", "JSON", str(work / "leaf.pem")])
        findings = [f for result in json.loads(linted.stdout)["results"] for f in result["finding_descriptions"]
                    if f["severity"] in ("WARNING", "ERROR", "FATAL")]
        self.assertEqual(findings, [])


class TwelveStepsWithHSM(TwelveSteps):
    """The same walk with MAILSEAL_PKCS11_MODULE set: the CA keys (root,
    issuing, OCSP responder) made and used in a SoftHSM2 token."""
    hsm = True


class TwelveStepsSectigo(TwelveSteps):
    """The same walk with MAILSEAL_UPSTREAM=sectigo: Sectigo's test server
    (checked with PyPI cert-manager) issues; the PKCS#12 carries its chain."""
    upstream = "sectigo"


class TwelveStepsHarica(TwelveSteps):
    """The same walk with MAILSEAL_UPSTREAM=harica: HARICA's test server
    (checked with PyPI tcs-garr) issues; the PKCS#12 carries its chain."""
    upstream = "harica"


if __name__ == "__main__":
    unittest.main(verbosity=2)
