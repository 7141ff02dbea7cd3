"""A certificate's life after the first issuance, in headless Chromium
against the real portal and a real SMTP server, one portal throughout:

1. the requester gets a certificate the real way (browser form, key file,
   an operator enrolled by link checks the ID and approves, the worker
   issues);
2. renews it in the browser: the identity check is reused, the names are
   kept, a new key file is made; the operator confirms with one click, the
   worker issues, the new key file builds the PKCS#12 and the old one is
   refused;
3. revokes the first certificate in the browser (the reason is required):
   OpenSSL's OCSP client hears "revoked, keyCompromise" from the portal,
   the mail arrives and the key is blocked;
4. the service notice and the issuance pause from the command line show
   on the requester's pages in both languages, and go again;
5. an administrator and an auditor, enrolled by link (TOTP secret read
   from the QR code by zbarimg), set and clear the notice and read, filter
   and export the audit trail, which `mailseal audit verify` finds intact.
"""
import base64
import json
import pathlib
import re
import sqlite3
import subprocess
import sys
import unittest

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

# Runs by path (`python -m unittest Tests/browser/test_lifecycle.py`) as well as by discovery.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import portal  # noqa: E402
from test_enrollment import Walker  # noqa: E402
from test_revocation import extension_urls, fetch  # noqa: E402

MAILBOX = "zoe.mueller@example.edu"
GIVEN_NAME, SURNAME = "Zoë", "Müller-Lüdenscheidt"
# ASCII, as in test_twelve_steps: the PKCS#12 is read back by OpenSSL.
PASSWORD = "Kranich-Flug-ueber-Feldberg-7"
RENEWAL_PASSWORD = "Schwalben-ziehen-nach-Sueden-9"
STAFF_PASSWORD = "service-desk-passwort-42"
DESK, ADMIN, AUDITOR = "anna.desk@example.edu", "ada.admin@example.edu", "otto.audit@example.edu"
SUBSCRIBER_REASONS = {"keyCompromise", "superseded", "affiliationChanged", "cessationOfOperation", "unspecified"}
# Every wait below polls (WebDriverWait) until this many seconds have passed.
DEADLINE = 120


def run(arguments, **kwargs):
    return subprocess.run([str(a) for a in arguments], capture_output=True, text=True, errors="replace", **kwargs)


def pem_of(der):
    return subprocess.run(["openssl", "x509", "-inform", "DER"], input=der, capture_output=True,
                          check=True).stdout.decode()


def der_of(pem):
    return subprocess.run(["openssl", "x509", "-outform", "DER"], input=pem.encode(), capture_output=True,
                          check=True).stdout


class Lifecycle(Walker, unittest.TestCase):
    password = PASSWORD

    def test_renewal_revocation_notice_admin_and_audit(self):
        self.start_everything()
        self.first_certificate()
        self.renewal()
        self.revocation()
        self.service_notice()
        self.administrator()
        self.auditor()

    # Set-up.

    def start_everything(self):
        self.work = pathlib.Path(self.folder.name)
        self.server = portal.SMTPServer(self.folder.name)
        self.stoppables.append(self.server)
        # No MAILSEAL_PKI_URL: the certificates name this portal's OCSP responder and CA files.
        self.web = portal.Portal(self.folder.name, smtp_port=self.server.port)
        self.stoppables.append(self.web)
        self.addCleanup(self.web.process.stdout.close)
        # Two browsers, two people: the requester, and staff at the desk.
        self.requester = portal.chromium(self.downloads)
        self.stoppables.append(self.requester)
        self.staff_downloads = self.work / "staff-downloads"
        self.staff_downloads.mkdir()
        self.staff = portal.chromium(self.staff_downloads)
        self.stoppables.append(self.staff)
        ignored = (StaleElementReferenceException,)
        self.wait = WebDriverWait(self.requester, DEADLINE, poll_frequency=0.2, ignored_exceptions=ignored)
        self.staff_wait = WebDriverWait(self.staff, DEADLINE, poll_frequency=0.2, ignored_exceptions=ignored)

    # Helpers.

    def query(self, sql, *arguments):
        with sqlite3.connect(self.web.database) as db:
            return db.execute(sql, arguments).fetchall()

    def issued(self, number):
        """Polls the database until the worker has issued request `number`;
        the certificate's id, serial, DER and key fingerprint and the
        request's id."""
        sql = ("SELECT c.id, c.serial, c.der, c.key_fingerprint, r.id FROM certificate_requests r "
               "JOIN certificates c ON c.request_id = r.id WHERE r.number = ? AND r.state = 'issued'")
        rows = self.wait.until(lambda _: self.query(sql, number), "request %s not issued in time" % number)
        self.assertEqual(len(rows), 1, rows)
        certificate_id, serial, der, fingerprint, request_id = rows[0]
        return {"id": certificate_id, "serial": serial, "der": der, "fingerprint": fingerprint,
                "request_id": request_id, "number": number}

    def mails(self, *words):
        """Messages to the mailbox whose subject has every word (any one of
        the alternatives of a tuple)."""
        def matches(subject, word):
            return any(w in subject for w in word) if isinstance(word, tuple) else word in subject
        return [m for m in self.server.messages()
                if m["to"] == MAILBOX and all(matches(str(m["subject"]), w) for w in words)]

    def wait_for_mail(self, *words):
        return self.wait.until(lambda _: self.mails(*words), "no mail with %s in the subject" % (words,))

    def notice_on(self, driver, url):
        """(notice text or None, paused sentence shown, the page's language) of a requester page."""
        driver.get(url)
        texts = driver.find_elements(By.ID, "service-notice-text")
        paused = driver.find_elements(By.ID, "service-paused")
        return (texts[0].text if texts else None, bool(paused),
                driver.find_element(By.TAG_NAME, "html").get_attribute("lang"))

    def switch_language(self, driver, wait, to):
        """Clicks the language link in the navigation; waits for the page in `to`."""
        portal.click_and_load(driver, wait, driver.find_element(By.CSS_SELECTOR, "header nav a[hreflang='%s']" % to))
        self.assertEqual(driver.find_element(By.TAG_NAME, "html").get_attribute("lang"), to)

    def key_der(self, key_file, password, public=True):
        done = subprocess.run(["openssl", "pkey", "-in", str(key_file), "-passin", "pass:" + password,
                               *(["-pubout"] if public else []), "-outform", "DER"], capture_output=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    def certificate_text(self, path, *options):
        done = run(["openssl", "x509", "-in", path, "-noout", *options])
        self.assertEqual(done.returncode, 0, done.stderr)
        return done.stdout

    # 1. The first certificate, the real way.

    def first_certificate(self):
        number, key_file, _ = self.walk(self.server, self.web, self.requester, MAILBOX, "rsa3072")
        self.desk_secret, step = portal.enrol_staff(self.web, self.staff, self.staff_wait, DESK, "Anna Desk",
                                                    "operator", STAFF_PASSWORD, read_qr=True)
        portal.staff_sign_in(self.web, self.staff, self.staff_wait, DESK, STAFF_PASSWORD, self.desk_secret, step)
        portal.check_identity_and_approve(self.staff, self.staff_wait, number, SURNAME, GIVEN_NAME, SURNAME)
        self.first = self.issued(number)
        self.first["key_file"] = key_file
        self.first["pem"] = self.work / "first.pem"
        self.first["pem"].write_text(pem_of(self.first["der"]))

    # 2. Renewal.

    def renewal(self):
        r, wait, web, first = self.requester, self.wait, self.web, self.first
        serial = first["serial"]
        r.get(web.url + "/requests?lang=en")
        self.assertIn("Your certificates", [h.text for h in r.find_elements(By.CSS_SELECTOR, "main h2")])
        rows = r.find_elements(By.CSS_SELECTOR, "table#certificates tbody tr")
        self.assertEqual([row.get_attribute("data-serial") for row in rows], [serial])
        self.assertEqual(rows[0].get_attribute("data-status"), "active")
        renew = rows[0].find_element(By.LINK_TEXT, "Renew")
        self.assertEqual(renew.get_attribute("href"), "%s/requests/new?renew=%s" % (web.url, serial))
        portal.click_and_load(r, wait, renew)

        form = wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
        self.assertEqual(form.get_attribute("data-renewal"), serial)
        self.assertIn(serial, r.find_element(By.ID, "renewal").text)
        self.assertEqual(len(r.find_elements(By.CSS_SELECTOR, "#renewal #renewal-reuse")), 1)
        self.assertEqual(r.find_elements(By.ID, "renewal-desk"), [])
        for field, value in (("givenName", GIVEN_NAME), ("surname", SURNAME)):
            element = r.find_element(By.ID, field)
            self.assertEqual(element.get_attribute("value"), value)
            self.assertTrue(element.get_property("readOnly"), field)
        r.find_element(By.ID, "password").send_keys(RENEWAL_PASSWORD)
        r.find_element(By.ID, "password-repeat").send_keys(RENEWAL_PASSWORD)
        r.find_element(By.ID, "next").click()
        done = wait.until(EC.visibility_of_element_located((By.ID, "done")))
        number = done.get_attribute("data-number")
        self.assertRegex(number, r"^R-[0-9A-Z]{4}-[0-9A-Z]{4}$")
        self.assertNotEqual(number, first["number"])
        key_file = self.downloads / ("mailseal-%s.key.pem" % number)
        wait.until(lambda _: key_file.exists() and key_file.stat().st_size > 0, "no key file %s" % key_file.name)
        self.assertTrue(key_file.read_text().startswith(portal.pem_begin(portal.ENCRYPTED_KEY_LABEL)))

        # What the browser sent: the CSR and renewalOf, no key, no password.
        sent = portal.sent_requests(r)
        bodies = [json.loads(q["body"]) for q in sent
                  if q["method"] == "POST" and q["url"] == web.url + "/api/v1/requests"]
        renewals = [b for b in bodies if "renewalOf" in b]
        self.assertEqual(len(renewals), 1, bodies)
        self.assertEqual(renewals[0]["renewalOf"], serial)
        self.assertEqual(set(renewals[0]), {"mailboxType", "keyType", "csr", "renewalOf", "givenName", "surname"})
        self.assertIn("BEGIN CERTIFICATE REQUEST", renewals[0]["csr"])
        private = self.key_der(key_file, RENEWAL_PASSWORD, public=False)
        for request in sent:
            blob = request["url"] + request["body"] + str(request["headers"])
            for secret in ("PRIVATE KEY", RENEWAL_PASSWORD, PASSWORD, base64.b64encode(private).decode()[:64],
                           private.hex()[:64]):
                self.assertNotIn(secret, blob, "a request carried key material: %s" % request["url"])

        # Stored verified, on the first request's evidence, renewing the first certificate.
        rows = self.query("SELECT state, evidence_request_id, renewal_of, given_name, surname FROM "
                          "certificate_requests WHERE number = ?", number)
        self.assertEqual(rows, [("verified", first["request_id"], first["id"], GIVEN_NAME, SURNAME)])
        mail = self.wait_for_mail(number, ("renewal request", "Verlängerungsantrag"))
        self.assertEqual(len(mail), 1)

        # The desk: marked as a renewal, confirmed with one click.
        s, swait = self.staff, self.staff_wait
        s.get(web.url + "/operator/queue?lang=en")
        s.find_element(By.ID, "q").send_keys(number)
        portal.click_and_load(s, swait, s.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]"))
        portal.click_and_load(s, swait, s.find_element(By.CSS_SELECTOR, "tr[data-number='%s'] a" % number))
        renewal_of = s.find_element(By.ID, "renewal-of")
        self.assertIn(serial, renewal_of.text)
        self.assertIn(first["number"], renewal_of.text)  # whose evidence is reused
        self.assertEqual(s.find_element(By.ID, "request-state").get_attribute("data-state"), "verified")
        self.assertEqual(s.find_elements(By.ID, "evidence-form"), [])
        button = s.find_element(By.CSS_SELECTOR, "#approve-form button")
        self.assertEqual(button.text, "Confirm the renewal")
        portal.click_and_load(s, swait, button)
        state = s.find_element(By.ID, "request-state").get_attribute("data-state")
        self.assertIn(state, ("approved", "issued"))
        self.assertEqual(s.find_elements(By.ID, "approve-form"), [])

        # The worker issues: a new key, the same names.
        renewed = self.issued(number)
        renewed["pem"] = self.work / "renewed.pem"
        renewed["pem"].write_text(pem_of(renewed["der"]))
        self.assertNotEqual(renewed["serial"], serial)
        self.assertNotEqual(renewed["fingerprint"], first["fingerprint"])
        self.assertNotEqual(self.spki(renewed["pem"]), self.spki(first["pem"]))
        self.assertEqual(self.spki(renewed["pem"]), self.key_der(key_file, RENEWAL_PASSWORD))
        names = ["-subject", "-nameopt", "RFC2253", "-ext", "subjectAltName"]
        self.assertEqual(self.certificate_text(renewed["pem"], *names), self.certificate_text(first["pem"], *names))
        self.assertIn(MAILBOX, self.certificate_text(renewed["pem"], *names))
        self.assertEqual(self.query("SELECT status FROM certificates WHERE serial = ?", serial), [("active",)])

        # Pickup: the old key file is refused, the new one builds the PKCS#12.
        ready = self.wait_for_mail(number, "ready")
        text = ready[0].get_body(preferencelist=("plain",)).get_content()
        pickup = re.search(r"https?://\S+/pickup/[A-Za-z0-9_-]{43}", text).group(0)
        r.get(pickup + "?lang=en")
        form = wait.until(EC.visibility_of_element_located((By.ID, "pickup-form")))
        mismatch = form.get_attribute("data-error-mismatch")
        self.assertIn("does not belong", mismatch)
        for key, password in ((first["key_file"], PASSWORD), (key_file, RENEWAL_PASSWORD)):
            r.find_element(By.ID, "key-file").send_keys(str(key))
            r.find_element(By.ID, "password").clear()
            r.find_element(By.ID, "password").send_keys(password)
            r.find_element(By.ID, "build").click()
            if key == first["key_file"]:
                error = wait.until(lambda d: d.find_element(By.ID, "pickup-error").text, "no pickup error")
                self.assertEqual(error, mismatch)
                self.assertFalse(r.find_element(By.ID, "pickup-done").is_displayed())
        wait.until(lambda d: d.find_element(By.ID, "pickup-done").get_attribute("data-encoding") == "compatible")
        self.assertFalse(r.find_element(By.ID, "pickup-error").is_displayed())
        p12 = self.downloads / ("mailseal-%s-compatible.p12" % number)
        wait.until(lambda _: p12.exists() and p12.stat().st_size > 0, "no PKCS#12 %s" % p12.name)
        leaf = run(["openssl", "pkcs12", "-legacy", "-in", p12, "-passin", "pass:" + RENEWAL_PASSWORD, "-clcerts",
                    "-nokeys"])
        self.assertEqual(leaf.returncode, 0, leaf.stderr)
        self.assertEqual(der_of(leaf.stdout), renewed["der"])
        self.renewed = renewed

    def spki(self, pem):
        """The SubjectPublicKeyInfo DER of a certificate."""
        text = self.certificate_text(pem, "-pubkey")
        return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=text.encode(),
                              capture_output=True, check=True).stdout

    # 3. Revocation.

    def revocation(self):
        r, wait, web, first = self.requester, self.wait, self.web, self.first
        serial = first["serial"]
        self.assertEqual(self.query("SELECT key_fingerprint FROM blocked_keys"), [])
        r.get(web.url + "/requests?lang=en")
        row = r.find_element(By.CSS_SELECTOR, "table#certificates tr[data-serial='%s']" % serial)
        portal.click_and_load(r, wait, row.find_element(By.CSS_SELECTOR, "a[href='/certificates/%s']" % serial))
        form = r.find_element(By.ID, "revoke-form")
        self.assertEqual(r.find_element(By.ID, "certificate-status").get_attribute("data-status"), "active")
        radios = form.find_elements(By.CSS_SELECTOR, "input[type=radio][name=reason]")
        self.assertEqual({radio.get_attribute("value") for radio in radios}, SUBSCRIBER_REASONS)
        self.assertEqual(len(radios), len(SUBSCRIBER_REASONS))
        self.assertTrue(all(radio.get_property("required") for radio in radios))
        self.assertFalse(any(radio.is_selected() for radio in radios))
        # Without a reason the browser does not send the form: the page stays (a mark on its window survives),
        # the reason is reported missing (and below: only one POST left the browser).
        r.execute_script("window.lifecycleMark = 'still this page'")
        r.find_element(By.ID, "revoke-button").click()
        self.assertEqual(r.execute_script("return window.lifecycleMark"), "still this page")
        self.assertTrue(r.execute_script("return document.querySelector('input[name=reason]').validity.valueMissing"))
        self.assertFalse(r.execute_script("return document.getElementById('revoke-form').checkValidity()"))
        self.assertNotEqual(radios[0].get_property("validationMessage"), "")
        # With one it does.
        form.find_element(By.CSS_SELECTOR, "input[name=reason][value=keyCompromise]").click()
        portal.click_and_load(r, wait, r.find_element(By.ID, "revoke-button"))
        self.assertEqual(len(r.find_elements(By.ID, "revoked-done")), 1)
        self.assertEqual(r.current_url, "%s/certificates/%s?revoked=1" % (web.url, serial))
        self.assertEqual(r.find_element(By.ID, "certificate-status").get_attribute("data-status"), "revoked")
        self.assertEqual(r.find_element(By.ID, "revocation-reason").text, "The private key has been compromised")
        self.assertEqual(r.find_elements(By.ID, "revoke-form"), [])
        # One revocation request left the browser: the blocked click sent nothing.
        posts = [q for q in portal.sent_requests(r)
                 if q["method"] == "POST" and q["url"] == "%s/certificates/%s/revoke" % (web.url, serial)]
        self.assertEqual(len(posts), 1, posts)
        self.assertIn("reason=keyCompromise", posts[0]["body"])

        # OCSP, asked by OpenSSL at the URL the certificate names; the CA certificates as test_revocation gets them.
        urls = extension_urls(first["pem"])
        self.assertEqual(urls["ocsp"], web.url + "/ocsp")
        for name, certificate in (("issuing", first["pem"]), ("root", self.work / "issuing.pem")):
            status, headers, body = fetch(extension_urls(certificate)["caIssuers"], self.work)
            self.assertEqual((status, headers.get("content-type")), (200, "application/pkix-cert"))
            (self.work / ("%s.der" % name)).write_bytes(body)
            converted = run(["openssl", "x509", "-inform", "DER", "-in", "%s.der" % name, "-out", "%s.pem" % name],
                            cwd=self.work)
            self.assertEqual(converted.returncode, 0, converted.stderr)
        asked = run(["openssl", "ocsp", "-url", web.url + "/ocsp", "-issuer", "issuing.pem", "-cert", "first.pem",
                     "-cert", "renewed.pem", "-CAfile", "root.pem", "-verify_other", "issuing.pem"], cwd=self.work)
        output = asked.stdout + asked.stderr
        self.assertEqual(asked.returncode, 0, output)
        self.assertIn("Response verify OK", output)
        self.assertRegex(output, r"(?m)^first\.pem: revoked$")
        first_block = output.split("first.pem: revoked", 1)[1].split("renewed.pem:", 1)[0]
        self.assertIn("Reason: keyCompromise", first_block)
        self.assertRegex(output, r"(?m)^renewed\.pem: good$")

        # The mail, and the key blocked for good.
        self.assertEqual(len(self.wait_for_mail(("revoked", "widerrufen"))), 1)
        self.assertEqual(self.query("SELECT key_fingerprint FROM blocked_keys"), [(first["fingerprint"],)])
        self.assertEqual(self.query("SELECT status, revocation_reason FROM certificates WHERE serial = ?", serial),
                         [("revoked", "keyCompromise")])

    # 4. Service notice and pause, from the command line.

    def service_notice(self):
        web = self.web
        # The start page is what a visitor who is not signed in sees: the staff browser has no requester session.
        pages = ((self.staff, self.staff_wait, "/"), (self.requester, self.wait, "/requests"))

        def seen(driver, wait, path):
            """(notice, paused) in English, then in German after the language link."""
            english = self.notice_on(driver, web.url + path + "?lang=en")
            self.assertEqual(english[2], "en")
            self.assertEqual(driver.current_url, web.url + path + "?lang=en")
            self.switch_language(driver, wait, "de")
            texts = driver.find_elements(By.ID, "service-notice-text")
            german = (texts[0].text if texts else None, bool(driver.find_elements(By.ID, "service-paused")))
            return english[:2], german

        for driver, wait, path in pages:
            with self.subTest(page=path, before="notice"):
                self.assertEqual(seen(driver, wait, path), ((None, False), (None, False)))
        status, output = web.cli("notice", "set", "--de", "Wartung heute", "--en", "Maintenance today")
        self.assertEqual(status, 0, output)
        for driver, wait, path in pages:
            with self.subTest(page=path, notice="set"):
                self.assertEqual(seen(driver, wait, path), (("Maintenance today", False), ("Wartung heute", False)))
        status, output = web.cli("issuance", "pause")
        self.assertEqual(status, 0, output)
        for driver, wait, path in pages:
            with self.subTest(page=path, issuance="paused"):
                self.assertEqual(seen(driver, wait, path), (("Maintenance today", True), ("Wartung heute", True)))
        for arguments in (("notice", "clear"), ("issuance", "resume")):
            status, output = web.cli(*arguments)
            self.assertEqual(status, 0, output)
        for driver, wait, path in pages:
            with self.subTest(page=path, after="clear and resume"):
                self.assertEqual(seen(driver, wait, path), ((None, False), (None, False)))
                self.assertEqual(driver.find_elements(By.ID, "service-notice"), [])

    # 5. Administrator and auditor.

    def administrator(self):
        s, swait, web = self.staff, self.staff_wait, self.web
        s.delete_all_cookies()
        secret, step = portal.enrol_staff(web, s, swait, ADMIN, "Ada Admin", "admin", STAFF_PASSWORD, read_qr=True)
        portal.staff_sign_in(web, s, swait, ADMIN, STAFF_PASSWORD, secret, step)
        portal.click_and_load(s, swait, s.find_element(By.CSS_SELECTOR, "header nav a[href='/operator/admin']"))
        self.assertEqual(len(s.find_elements(By.ID, "notice-form")), 1)
        self.assertEqual(s.find_elements(By.ID, "notice-clear"), [])
        texts = {"notice-de": "Heute ab 18 Uhr keine Ausstellung", "notice-en": "No issuance after 6 pm today"}
        for field, text in texts.items():
            s.find_element(By.ID, field).clear()
            s.find_element(By.ID, field).send_keys(text)
        portal.click_and_load(s, swait, s.find_element(By.CSS_SELECTOR, "#notice-form button[type=submit]"))
        self.assertEqual(len(s.find_elements(By.ID, "admin-saved")), 1)
        for field, text in texts.items():
            self.assertEqual(s.find_element(By.ID, field).get_property("value"), text)
        for language, field in (("en", "notice-en"), ("de", "notice-de")):
            with self.subTest(notice="set by the admin", language=language):
                self.assertEqual(self.notice_on(self.requester, web.url + "/requests?lang=" + language),
                                 (texts[field], False, language))
        portal.click_and_load(s, swait, s.find_element(By.CSS_SELECTOR, "#notice-clear button"))
        self.assertEqual(len(s.find_elements(By.ID, "admin-saved")), 1)
        self.assertEqual(s.find_elements(By.ID, "notice-clear"), [])
        self.assertEqual(self.notice_on(self.requester, web.url + "/requests?lang=en"), (None, False, "en"))

    def auditor(self):
        s, swait, web = self.staff, self.staff_wait, self.web
        s.delete_all_cookies()
        secret, step = portal.enrol_staff(web, s, swait, AUDITOR, "Otto Audit", "auditor", STAFF_PASSWORD,
                                          read_qr=True)
        portal.staff_sign_in(web, s, swait, AUDITOR, STAFF_PASSWORD, secret, step)
        self.assertEqual(s.find_elements(By.CSS_SELECTOR, "header nav a[href='/operator/admin']"), [])
        portal.click_and_load(s, swait, s.find_element(By.CSS_SELECTOR, "header nav a[href='/operator/audit']"))
        table = s.find_element(By.ID, "audit-records")
        actions = {row.get_attribute("data-action") for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
        self.assertTrue({"request.submitted", "certificate.revoked"} <= actions, actions)
        # Filtered by action: the one revocation, by the requester.
        s.find_element(By.ID, "action").send_keys("certificate.revoked")
        portal.click_and_load(s, swait, s.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]"))
        self.assertIn("action=certificate.revoked", s.current_url)
        rows = s.find_elements(By.CSS_SELECTOR, "#audit-records tbody tr")
        cells = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")] for row in rows]
        self.assertEqual(len(cells), 1, cells)
        self.assertEqual(cells[0][2:5], ["requester:" + MAILBOX, "certificate.revoked", self.first["serial"]])
        self.assertIn("keyCompromise", cells[0][5])
        # The export: JSON lines, seq 1, 2, 3, …
        s.find_element(By.ID, "audit-export").click()
        exported = self.staff_downloads / "mailseal-audit.jsonl"
        swait.until(lambda _: exported.exists(), "no mailseal-audit.jsonl")
        records = [json.loads(line) for line in exported.read_text().splitlines()]
        self.assertGreater(len(records), 10)
        self.assertEqual([record["seq"] for record in records], list(range(1, len(records) + 1)))
        self.assertIn(("requester:" + MAILBOX, "certificate.revoked", self.first["serial"]),
                      [(record["actor"], record["action"], record["subject"]) for record in records])
        self.assertIn("operator:" + ADMIN, {record["actor"] for record in records})
        self.assertEqual((records[-1]["actor"], records[-1]["action"]), ("operator:" + AUDITOR, "audit.exported"))
        status, output = web.cli("audit", "verify")
        self.assertEqual(status, 0, output)
        self.assertIn("audit trail intact", output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
