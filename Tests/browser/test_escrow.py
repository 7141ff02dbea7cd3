"""Key escrow in headless Chromium against the real portal: two recovery
keys made offline (one as a key file, one split 3 of 5), their certificates
installed; a requester chooses escrow, consents, and the browser makes a
signing and an encryption key, seals the encryption key for both recovery
certificates and sends only requests and the envelope; the desk approves;
the CA issues a signing-only and an encryption-only certificate; the
pickup builds one PKCS#12 with both keys, read by OpenSSL, NSS (pk12util)
and GnuTLS (certtool). Then the independent judge `openssl cms -decrypt`
opens the stored envelope with the recovery key file and finds the key of
the encryption certificate; `mailseal recovery open` does the same with 3
of 5 shares and refuses 2; mail encrypted to the encryption certificate is
read with the recovered key; a signature by the signing key verifies; and
neither the data folder nor the database nor anything the page sent holds a
recovery key, a share or the unencrypted encryption key."""
import base64
import hashlib
import os
import pathlib
import re
import sqlite3
import subprocess
import unittest

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import portal
from test_enrollment import Walker

PASSWORD = "Kranich-Flug-ueber-Feldberg-7"
STAFF_PASSWORD = "service-desk-passwort-42"
ADDRESS = "zoe.mueller@example.edu"


def run(arguments, **kwargs):
    return subprocess.run(arguments, capture_output=True, text=True, errors="replace", **kwargs)


def der_of_pem(text, label):
    block = portal.pem_blocks(text, label)[0]
    return base64.b64decode("".join(block.splitlines()[1:-1]))


class Escrow(Walker, unittest.TestCase):
    def recover_in_portal(self, web, driver, wait, serial):
        """The person (by a fresh login link) asks for the recovery of the
        encryption certificate's key; officer one approves (no download yet,
        no second approval by the same person); officer two approves and
        downloads. Returns the downloaded envelope; checks the mails."""
        def login_links():
            return {portal.login_link(m) for m in web.eml_messages()
                    if m["to"] == ADDRESS and "login link" in str(m["subject"])}
        used = login_links()
        driver.delete_all_cookies()
        driver.get(web.url + "/?lang=en")
        driver.find_element(By.ID, "address").send_keys(ADDRESS)
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.lead[role=status]")))
        wait.until(lambda _: login_links() - used)
        driver.get((login_links() - used).pop())
        wait.until(EC.url_contains("/requests"))
        driver.get(web.url + "/certificates/" + serial + "?lang=en")
        reason = "Laptop stolen with the key file; I need to read old mail."
        wait.until(EC.visibility_of_element_located((By.ID, "recovery-reason"))).send_keys(reason)
        driver.find_element(By.ID, "recovery-button").click()
        wait.until(EC.visibility_of_element_located((By.ID, "recovery-asked")))
        row = driver.find_element(By.CSS_SELECTOR, "#recovery-list tbody tr")
        number = row.get_attribute("data-number")
        self.assertEqual(row.get_attribute("data-state"), "requested")
        # One open recovery at a time: the form is gone.
        self.assertEqual(driver.find_elements(By.ID, "recovery-form"), [])

        officers = []
        for email, name in (("rita.recovery@example.edu", "Rita Recovery"),
                            ("otto.recovery@example.edu", "Otto Recovery")):
            driver.delete_all_cookies()
            secret, step = portal.enrol_staff(web, driver, wait, email, name, "recovery-officer", STAFF_PASSWORD)
            officers.append((email, secret, step))

        def sign_in(officer):
            email, secret, step = officer
            driver.delete_all_cookies()
            portal.staff_sign_in(web, driver, wait, email, STAFF_PASSWORD, secret, step,
                                 landing="/operator/recoveries")
            driver.get(web.url + "/operator/recoveries/" + number + "?lang=en")
            self.assertEqual(driver.find_element(By.ID, "recovery-reason").text, reason)

        sign_in(officers[0])
        # A recovery officer sees recoveries, not the service desk's queue.
        driver.get(web.url + "/operator/queue")
        self.assertTrue(driver.current_url.endswith("/operator/recoveries"))
        driver.get(web.url + "/operator/recoveries/" + number + "?lang=en")
        self.assertEqual(driver.find_elements(By.ID, "recovery-download-form"), [])
        driver.find_element(By.ID, "recovery-approve-button").click()
        wait.until(EC.visibility_of_element_located((By.ID, "recovery-approved")))
        self.assertEqual(driver.find_element(By.ID, "recovery-state").get_attribute("data-state"), "requested")
        self.assertTrue(driver.find_element(By.ID, "recovery-approvals").text.startswith("1 / 2"))
        # The same officer cannot give the second approval, nor download.
        self.assertEqual(driver.find_elements(By.ID, "recovery-approve-button"), [])
        self.assertEqual(driver.find_elements(By.ID, "recovery-download-form"), [])
        self.assertTrue(driver.find_element(By.ID, "recovery-waiting").is_displayed())

        sign_in(officers[1])
        driver.find_element(By.ID, "recovery-approve-button").click()
        wait.until(EC.visibility_of_element_located((By.ID, "recovery-approved")))
        self.assertEqual(driver.find_element(By.ID, "recovery-state").get_attribute("data-state"), "approved")
        driver.find_element(By.ID, "recovery-download-button").click()
        envelope_file = self.downloads / ("%s-%s.p7m" % (number, serial))
        wait.until(lambda _: envelope_file.exists() and envelope_file.stat().st_size > 0)
        driver.get(web.url + "/operator/recoveries/" + number + "?lang=en")
        self.assertTrue(driver.find_element(By.ID, "recovery-downloads").text.startswith("1"))
        # The officer sees the certificate the recovery is for (read only).
        driver.find_element(By.CSS_SELECTOR, "a[href='/operator/certificates/%s']" % serial).click()
        self.assertEqual(wait.until(EC.presence_of_element_located((By.ID, "certificate-serial"))).text, serial)
        self.assertEqual(driver.find_elements(By.ID, "revoke-form"), [])

        # The person learnt of every step; the trail has each.
        def subjects():
            return [str(m["subject"]) for m in web.eml_messages() if m["to"] == ADDRESS and number in str(m["subject"])]
        wait.until(lambda _: len(subjects()) == 4)
        self.assertEqual(sorted(s.split(number)[-1] for s in subjects()),
                         sorted([")", ": approval 1 of 2", ": approval 2 of 2", ": escrowed key handed out"]))
        status, output = web.cli("audit", "export")
        for action in ("key-recovery.requested", "key-recovery.approved", "key-recovery.envelope-downloaded"):
            self.assertIn(action, output)
        print("recovery in the portal: %s asked, approved by two officers, envelope downloaded (%d bytes)"
              % (number, envelope_file.stat().st_size))
        return envelope_file.read_bytes()

    def test_escrowed_request_pickup_and_recovery(self):
        work = pathlib.Path(self.folder.name)
        offline = {"PATH": os.environ["PATH"]}
        binary = os.environ.get("MAILSEAL_BINARY", str(portal.ROOT / ".build/debug/mailseal"))
        # The offline ceremony: one recovery key as a file, one in shares.
        for name, extra in (("keyfile", []), ("shares", ["--split", "5", "--threshold", "3"])):
            made = run([binary, "recovery", "init", "--out", str(work / name)] + extra, env=offline)
            self.assertEqual(made.returncode, 0, made.stdout + made.stderr)
        # The pins: SHA-256 of each recovery certificate, set by the
        # administrator in the portal's configuration.
        pins = [hashlib.sha256(subprocess.run(
            ["openssl", "x509", "-in", str(work / name / "recovery-certificate.pem"), "-outform", "DER"],
            capture_output=True, check=True).stdout).hexdigest() for name in ("keyfile", "shares")]
        web = portal.Portal(self.folder.name, extra={
            "MAILSEAL_ESCROW": "optional", "MAILSEAL_RECOVERY_FINGERPRINTS": ",".join(pins)}, before=[
            ["recovery", "install", "--cert", str(work / "keyfile" / "recovery-certificate.pem")],
            ["recovery", "install", "--cert", str(work / "shares" / "recovery-certificate.pem")],
        ])
        self.stoppables.append(web)
        driver = portal.chromium(self.downloads)
        self.stoppables.append(driver)
        wait = WebDriverWait(driver, 120)

        # The requester: login link, the form with the escrow choice.
        driver.get(web.url + "/?lang=en")
        driver.find_element(By.ID, "address").send_keys(ADDRESS)
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.lead[role=status]")))
        driver.get(portal.login_link([m for m in web.eml_messages() if m["to"] == ADDRESS][-1]))
        wait.until(EC.url_to_be(web.url + "/requests/new"))
        wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
        explained = driver.find_element(By.ID, "escrow-explained").text
        self.assertIn("holders of the organisation's recovery key", explained)
        # The consent box appears with the choice of escrow.
        self.assertFalse(driver.find_element(By.ID, "escrow-consent").is_displayed())
        for field, value in (("givenName", "Zoë"), ("surname", "Müller-Lüdenscheidt")):
            driver.find_element(By.ID, field).clear()
            driver.find_element(By.ID, field).send_keys(value)
        driver.find_element(By.CSS_SELECTOR, "input[name=keyType][value=p256]").click()
        driver.find_element(By.ID, "escrow-yes").click()
        for field in ("password", "password-repeat"):
            driver.find_element(By.ID, field).send_keys(PASSWORD)
        driver.find_element(By.ID, "next").click()
        error = wait.until(EC.visibility_of_element_located((By.ID, "escrow-error")))
        self.assertIn("agree", error.text)
        driver.find_element(By.ID, "escrow-consent").click()
        # The form names the pins it seals to (short form).
        shown = driver.find_element(By.ID, "escrow-pins").text
        for pin in pins:
            self.assertIn(" ".join(pin[i:i + 4].upper() for i in range(0, 16, 4)), shown)
        # A page whose certificates do not match its pins: the browser
        # seals nothing and sends nothing.
        form = driver.find_element(By.ID, "request-form")
        real_pins = form.get_attribute("data-recovery-pins")
        driver.execute_script("arguments[0].dataset.recoveryPins = arguments[1]", form,
                              hashlib.sha256(b"someone else's certificate").hexdigest() + " " + pins[1])
        driver.find_element(By.ID, "next").click()
        refusal = wait.until(EC.visibility_of_element_located((By.ID, "form-error")))
        self.assertIn("do not match the configured fingerprints", refusal.text)
        self.assertFalse(driver.find_element(By.ID, "done").is_displayed())
        status, output = web.cli("audit", "export")
        self.assertNotIn("request.submitted", output)
        driver.execute_script("arguments[0].dataset.recoveryPins = arguments[1]", form, real_pins)
        self.assertTrue(driver.find_element(By.ID, "escrow-consent").is_selected())
        driver.find_element(By.ID, "next").click()
        done = wait.until(EC.visibility_of_element_located((By.ID, "done")))
        number = done.get_attribute("data-number")
        key_file = self.downloads / ("mailseal-%s.key.pem" % number)
        wait.until(lambda _: key_file.exists() and key_file.stat().st_size > 0)
        print("enrollment ms (P-256, escrow to two certificates):",
              driver.execute_script("return window.mailsealTimings"))
        # One key file, two keys, one password.
        self.assertEqual(key_file.read_text().count(portal.pem_begin(portal.ENCRYPTED_KEY_LABEL)), 2)
        sent = [r for r in portal.sent_requests(driver) if r["url"].endswith("/api/v1/requests")]
        self.assertEqual(len(sent), 1)
        self.assertIn("escrowEnvelope", sent[0]["body"])
        self.assertIn('"escrowConsent":true', sent[0]["body"])

        # The request page says so.
        driver.get(web.url + "/requests/" + number + "?lang=en")
        self.assertIn("Encryption key escrowed; consented on",
                      wait.until(EC.presence_of_element_located((By.ID, "request-escrow"))).text)

        # The desk: one identity check for both certificates.
        driver.delete_all_cookies()
        secret, step = portal.enrol_staff(web, driver, wait, "anna.desk@example.edu", "Anna Desk", "operator",
                                          STAFF_PASSWORD)
        portal.staff_sign_in(web, driver, wait, "anna.desk@example.edu", STAFF_PASSWORD, secret, step)
        portal.check_identity_and_approve(driver, wait, number, "mueller-luedenscheidt", "Zoë", "Müller-Lüdenscheidt")

        # The pickup: both certificates, one PKCS#12 with both keys.
        def pickup_link():
            for message in web.eml_messages():
                if message["to"] == ADDRESS and "ready" in str(message["subject"]):
                    text = message.get_body(preferencelist=("plain",)).get_content()
                    return re.search(r"https?://\S+/pickup/[A-Za-z0-9_-]{43}", text).group(0)
            return None
        wait.until(lambda _: pickup_link())
        driver.get(pickup_link() + "?lang=en")
        wait.until(EC.visibility_of_element_located((By.ID, "pickup-form")))
        self.assertTrue(driver.find_element(By.ID, "encryption-serial").text)
        driver.find_element(By.ID, "key-file").send_keys(str(key_file))
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "input[name=encoding][value=modern]").click()
        driver.find_element(By.ID, "build").click()
        wait.until(lambda d: d.find_element(By.ID, "pickup-done").get_attribute("data-encoding") == "modern")
        pfx = self.downloads / ("mailseal-%s-modern.p12" % number)
        wait.until(lambda _: pfx.exists() and pfx.stat().st_size > 0)
        print("PKCS#12 with two keys, ms:", driver.execute_script("return window.mailsealTimings.pkcs12"))
        # Both certificates also on their own.
        with sqlite3.connect(web.database) as db:
            signing_der, encryption_der, envelope, encryption_serial = db.execute(
                "SELECT s.der, e.der, r.escrow_envelope, e.serial FROM certificate_requests r "
                "JOIN certificates s ON s.id = r.certificate_id JOIN certificates e ON e.id = r.encryption_certificate_id "
                "WHERE r.number = ?", (number,)).fetchone()
        # The desk's certificate page says what each certificate is for.
        driver.get(web.url + "/operator/certificates/" + encryption_serial + "?lang=en")
        self.assertEqual(wait.until(EC.presence_of_element_located((By.ID, "certificate-purpose"))).text,
                         "encryption only, key escrowed")
        # Recovery in the portal: the person asks, two recovery officers
        # approve, only then may one of them download the envelope.
        downloaded = self.recover_in_portal(web, driver, wait, encryption_serial)
        self.assertEqual(downloaded, envelope)
        (work / "signing.der").write_bytes(signing_der)
        (work / "encryption.der").write_bytes(encryption_der)
        (work / "envelope.der").write_bytes(downloaded)
        print("envelope bytes (P-256 key, two recovery certificates):", len(envelope))
        for name in ("signing", "encryption"):
            run(["openssl", "x509", "-inform", "DER", "-in", str(work / (name + ".der")), "-out",
                 str(work / (name + ".pem"))]).check_returncode()
        text = run(["openssl", "x509", "-in", str(work / "signing.pem"), "-noout", "-ext", "keyUsage"]).stdout
        self.assertIn("Digital Signature", text)
        self.assertNotIn("Key Agreement", text)
        text = run(["openssl", "x509", "-in", str(work / "encryption.pem"), "-noout", "-ext", "keyUsage"]).stdout
        self.assertIn("Key Agreement", text)
        self.assertNotIn("Digital Signature", text)

        # The judges read the PKCS#12: two keys, two leaves and the chain.
        out = run(["openssl", "pkcs12", "-in", str(pfx), "-passin", "pass:" + PASSWORD, "-nodes",
                   "-out", str(work / "all.pem")])
        self.assertEqual(out.returncode, 0, out.stderr)
        everything = (work / "all.pem").read_bytes().decode("latin-1")
        self.assertEqual(everything.count(portal.pem_begin(portal.KEY_LABEL)), 2)
        self.assertEqual(everything.count(portal.pem_begin("CERTIFICATE")), 4)
        nss = work / "nss"
        nss.mkdir()
        run(["certutil", "-N", "-d", "sql:" + str(nss), "--empty-password"]).check_returncode()
        imported = run(["pk12util", "-i", str(pfx), "-d", "sql:" + str(nss), "-W", PASSWORD])
        self.assertIn("SUCCESSFUL", imported.stdout + imported.stderr)
        self.assertEqual(run(["certutil", "-K", "-d", "sql:" + str(nss)]).stdout.count("ec "), 2)
        gnutls = run(["certtool", "--p12-info", "--inder", "--infile", str(pfx), "--password", PASSWORD])
        self.assertEqual(gnutls.returncode, 0, gnutls.stdout + gnutls.stderr)
        self.assertEqual(gnutls.stdout.count("PKCS #8 Encrypted key"), 2)

        # The keys from the PKCS#12, each with its certificate.
        keys = portal.pem_blocks(everything, portal.KEY_LABEL)
        def public_of_key(pem):
            return run(["openssl", "pkey", "-pubout"], input=pem).stdout
        def public_of_certificate(path):
            return run(["openssl", "x509", "-in", str(path), "-noout", "-pubkey"]).stdout
        by_public = {public_of_key(k): k for k in keys}
        encryption_key = by_public[public_of_certificate(work / "encryption.pem")]
        signing_key = by_public[public_of_certificate(work / "signing.pem")]
        (work / "signing-key.pem").write_text(signing_key)

        # The independent judge opens the envelope with the recovery key file.
        opened = run(["openssl", "cms", "-decrypt", "-inform", "DER", "-in", str(work / "envelope.der"),
                      "-inkey", str(work / "keyfile" / "recovery-key.pem"), "-binary", "-out",
                      str(work / "recovered.der")])
        self.assertEqual(opened.returncode, 0, opened.stderr)
        recovered_public = run(["openssl", "pkey", "-inform", "DER", "-in", str(work / "recovered.der"),
                                "-pubout"]).stdout
        self.assertEqual(recovered_public, public_of_certificate(work / "encryption.pem"))
        run(["openssl", "pkey", "-inform", "DER", "-in", str(work / "recovered.der"), "-out",
             str(work / "recovered.pem")]).check_returncode()

        # `recovery export` takes the envelopes off the portal (audited) as the
        # stored bytes; `recovery check` finds every key its certificate's.
        status, output = web.cli("recovery", "export", "--out", str(work / "export"))
        self.assertEqual(status, 0, output)
        serial = run(["openssl", "x509", "-in", str(work / "encryption.pem"), "-noout", "-serial"]).stdout
        serial = serial.strip().split("=")[1].lower()
        self.assertEqual((work / "export" / (serial + ".envelope.der")).read_bytes(), envelope)
        checked = run([binary, "recovery", "check", "--export", str(work / "export"), "--key",
                       str(work / "keyfile" / "recovery-key.pem")], env=offline)
        self.assertEqual(checked.returncode, 0, checked.stdout + checked.stderr)
        self.assertIn("1 envelope(s) checked, 1 good, 0 faulty", checked.stdout)
        status, output = web.cli("audit", "export")
        self.assertIn("escrow.exported", output)

        # Three of five shares open it with `mailseal recovery open`; two do not.
        def recovery_open(shares, out):
            arguments = [binary, "recovery", "open", "--envelope", str(work / "envelope.der"), "--certificate",
                         str(work / "encryption.pem"), "--out", str(work / out)]
            for share in shares:
                arguments += ["--share", str(work / "shares" / ("recovery-share-%d-of-5.pem" % share))]
            return run(arguments, env=offline)
        three = recovery_open([1, 3, 5], "three.p12")
        self.assertEqual(three.returncode, 0, three.stdout + three.stderr)
        password = three.stdout.strip().splitlines()[-1]
        from_shares = run(["openssl", "pkcs12", "-in", str(work / "three.p12"), "-passin", "pass:" + password,
                           "-nodes", "-nocerts"]).stdout
        self.assertEqual(public_of_key(from_shares), public_of_certificate(work / "encryption.pem"))
        two = recovery_open([2, 4], "two.p12")
        self.assertNotEqual(two.returncode, 0)
        self.assertIn("needs 3", two.stdout + two.stderr)
        self.assertFalse((work / "two.p12").exists())

        # Mail encrypted to the encryption certificate is read with the
        # recovered key; the signing key signs, and that verifies.
        message = work / "message.txt"
        message.write_text("Grüße aus dem Rechenzentrum\n")
        run(["openssl", "cms", "-encrypt", "-aes256", "-in", str(message), "-out", str(work / "mail.p7m"),
             str(work / "encryption.pem")]).check_returncode()
        decrypted = run(["openssl", "cms", "-decrypt", "-in", str(work / "mail.p7m"), "-recip",
                         str(work / "encryption.pem"), "-inkey", str(work / "recovered.pem")])
        self.assertEqual(decrypted.returncode, 0, decrypted.stderr)
        self.assertIn("Grüße", decrypted.stdout)
        chain = portal.pem_blocks(everything, "CERTIFICATE")
        (work / "chain.pem").write_text("\n".join(chain) + "\n")
        signed = run(["openssl", "cms", "-sign", "-in", str(message), "-signer", str(work / "signing.pem"),
                      "-inkey", str(work / "signing-key.pem"), "-out", str(work / "signed.p7m")])
        self.assertEqual(signed.returncode, 0, signed.stderr)
        verified = run(["openssl", "cms", "-verify", "-in", str(work / "signed.p7m"), "-CAfile",
                        str(work / "chain.pem"), "-purpose", "smimesign"])
        self.assertEqual(verified.returncode, 0, verified.stderr)

        # The server never held the means to open an envelope, nor the key.
        secrets = {"recovery key": der_of_pem((work / "keyfile" / "recovery-key.pem").read_text(), portal.KEY_LABEL),
                   "encryption key": der_of_pem(encryption_key, portal.KEY_LABEL)}
        for share in range(1, 6):
            secrets["share %d" % share] = der_of_pem(
                (work / "shares" / ("recovery-share-%d-of-5.pem" % share)).read_text(), "MAILSEAL RECOVERY SHARE")
        stored = b"".join(p.read_bytes() for p in (web.folder / "data").rglob("*") if p.is_file())
        for name, secret in secrets.items():
            # Any 32 bytes from the middle would give it away.
            middle = secret[len(secret) // 2: len(secret) // 2 + 32]
            self.assertNotIn(middle, stored, name)
            self.assertNotIn(base64.b64encode(middle)[:40], stored, name)
        # What the page sent: no unencrypted key (its DER, in base64 or not).
        encryption_b64 = base64.b64encode(secrets["encryption key"]).decode()
        for request in portal.sent_requests(driver):
            self.assertNotIn(encryption_b64[20:80], request["body"].replace("\\n", "").replace("\n", ""))
            self.assertNotIn(PASSWORD, request["body"])


if __name__ == "__main__":
    unittest.main()
