"""Steps 1–7 of the requester's path in real headless Chromium against the
real portal: login link by mail (a real SMTP server, and the default .eml
folder), the form, the key made in the browser, the key file downloaded.
Then, outside the browser, OpenSSL opens the key file and its public key is
the one in the CSR the server stored."""
import base64
import pathlib
import sqlite3
import subprocess
import tempfile
import unittest

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import portal

PASSWORD = "Kr4nich-Flug über Feldberg 7"


def public_key_der_of_key_file(path, password):
    result = subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-passin", "pass:" + password, "-pubout", "-outform", "DER"],
        capture_output=True, check=True)
    return result.stdout


def public_key_der_of_csr(der):
    pem = subprocess.run(["openssl", "req", "-inform", "DER", "-pubkey", "-noout"], input=der,
                         capture_output=True, check=True).stdout
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem,
                          capture_output=True, check=True).stdout


class Walker:
    """Set-up and the requester's steps 1–7, shared by the browser tests."""

    def setUp(self):
        self.folder = tempfile.TemporaryDirectory(prefix="mailseal-browser-")
        self.downloads = pathlib.Path(self.folder.name) / "downloads"
        self.downloads.mkdir()
        self.stoppables = []

    def tearDown(self):
        for thing in reversed(self.stoppables):
            thing.stop() if hasattr(thing, "stop") else thing.quit()
        self.folder.cleanup()

    def start(self, smtp):
        server = None
        if smtp:
            server = portal.SMTPServer(self.folder.name)
            self.stoppables.append(server)
        web = portal.Portal(self.folder.name, smtp_port=server.port if server else None)
        self.stoppables.append(web)
        driver = portal.chromium(self.downloads)
        self.stoppables.append(driver)
        return server, web, driver

    password = PASSWORD

    def walk(self, server, web, driver, address, key_type, language="en"):
        wait = WebDriverWait(driver, 120)
        # 1–2: the address, the login link by mail.
        driver.get(web.url + "/?lang=" + language)
        driver.find_element(By.ID, "address").send_keys(address)
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.lead[role=status]")))
        # Redirect after POST: the answer is a page of its own, reloadable.
        self.assertEqual(driver.current_url, web.url + "/login/sent")
        if server:
            wait.until(lambda _: any(m["to"] == address for m in server.messages()))
            messages = [m for m in server.messages() if m["to"] == address]
        else:
            messages = [m for m in web.eml_messages() if m["to"] == address]
        self.assertEqual(len(messages), 1)
        link = portal.login_link(messages[-1])
        self.assertTrue(link.startswith(web.url + "/login/"))
        # 3: signed in for the mailbox; with no request yet, straight to the form.
        driver.get(link)
        wait.until(EC.url_to_be(web.url + "/requests/new"))
        self.assertIn(address, driver.find_element(By.CSS_SELECTOR, "header .who").text)
        return self.fill_in(driver, key_type, language)

    def fill_in(self, driver, key_type, language="en"):
        """Steps 4–7 on /requests/new: names, key type, key-file password,
        the key pair and the request; returns (number, key file, timings)."""
        wait = WebDriverWait(driver, 120)
        # 4–6: the form.
        form = wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
        portal.screenshot(driver, "request-form")
        form = wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
        for field, value in (("givenName", "Zoë"), ("surname", "Müller-Lüdenscheidt")):
            driver.find_element(By.ID, field).clear()
            driver.find_element(By.ID, field).send_keys(value)
        driver.find_element(By.CSS_SELECTOR, "input[name=keyType][value=%s]" % key_type).click()
        # Client-side rules first: too short, then different, then right.
        driver.find_element(By.ID, "password").send_keys("short")
        driver.find_element(By.ID, "password-repeat").send_keys("short")
        driver.find_element(By.ID, "next").click()
        error = wait.until(EC.visibility_of_element_located((By.ID, "password-error")))
        self.assertIn("12", error.text)
        for field, value in (("password", self.password), ("password-repeat", self.password + "x")):
            driver.find_element(By.ID, field).clear()
            driver.find_element(By.ID, field).send_keys(value)
        driver.find_element(By.ID, "next").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "password-error"), "match" if language == "en" else "überein"))
        driver.find_element(By.ID, "password-repeat").clear()
        driver.find_element(By.ID, "password-repeat").send_keys(self.password)
        self.assertNotEqual(driver.find_element(By.ID, "strength").text, "")
        # 7: key pair, CSR, key file.
        driver.find_element(By.ID, "next").click()
        done = wait.until(EC.visibility_of_element_located((By.ID, "done")))
        number = done.get_attribute("data-number")
        self.assertRegex(number, r"^R-[0-9A-Z]{4}-[0-9A-Z]{4}$")
        key_file = self.downloads / ("mailseal-%s.key.pem" % number)
        wait.until(lambda _: key_file.exists() and key_file.stat().st_size > 0)
        timings = driver.execute_script("return window.mailsealTimings")
        return number, key_file, timings

    def check_outside_the_browser(self, web, driver, number, key_file, key_type):
        pem = key_file.read_text()
        self.assertTrue(pem.startswith(portal.pem_begin(portal.ENCRYPTED_KEY_LABEL)))
        # OpenSSL opens it with the password, and only with it.
        key_public = public_key_der_of_key_file(key_file, PASSWORD)
        wrong = subprocess.run(["openssl", "pkey", "-in", str(key_file), "-passin", "pass:wrong-password", "-noout"],
                               capture_output=True)
        self.assertNotEqual(wrong.returncode, 0)
        text = subprocess.run(["openssl", "asn1parse", "-in", str(key_file)], capture_output=True, text=True).stdout
        self.assertIn("PBES2", text)
        self.assertIn("PBKDF2", text)
        self.assertIn("aes-256-cbc", text)
        self.assertIn("hmacWithSHA256", text)
        iterations = [line for line in text.splitlines() if "INTEGER" in line][0].split(":")[-1]
        self.assertGreaterEqual(int(iterations, 16), 600000)
        # The server holds the CSR of that very key, in the right state.
        with sqlite3.connect(web.database) as db:
            row = db.execute("SELECT csr_der, state, mailbox, given_name, surname, key_type FROM certificate_requests "
                             "WHERE number = ?", (number,)).fetchone()
        self.assertIsNotNone(row)
        csr_der, state, mailbox, given, surname, stored_type = row
        self.assertEqual(state, "submitted")
        self.assertEqual((given, surname, stored_type), ("Zoë", "Müller-Lüdenscheidt", key_type))
        self.assertEqual(public_key_der_of_csr(csr_der), key_public)
        # No request the page sent carries key material or the password.
        private_der = subprocess.run(
            ["openssl", "pkey", "-in", str(key_file), "-passin", "pass:" + PASSWORD, "-outform", "DER"],
            capture_output=True, check=True).stdout
        secrets = ["PRIVATE KEY", PASSWORD, base64.b64encode(private_der).decode()[:64],
                   private_der.hex()[:64], base64.b64encode(pem.encode()).decode()[:64]]
        sent = portal.sent_requests(driver)
        posts = [r for r in sent if r["method"] == "POST"]
        self.assertTrue(any(r["url"].endswith("/api/v1/requests") and "CERTIFICATE REQUEST" in r["body"] for r in posts))
        for request in sent:
            blob = request["url"] + request["body"] + str(request["headers"])
            for secret in secrets:
                self.assertNotIn(secret, blob, "a request carried key material: %s" % request["url"])


class EnrollmentInChromium(Walker, unittest.TestCase):
    def test_enrollment_with_mail_from_a_real_smtp_server(self):
        server, web, driver = self.start(smtp=True)
        number, key_file, timings = self.walk(server, web, driver, "zoe.mueller@example.edu", "rsa3072")
        self.check_outside_the_browser(web, driver, number, key_file, "rsa3072")
        print("timings rsa3072:", timings)
        # The confirmation mail arrived too, with the number.
        messages = [m for m in server.messages() if number in str(m["subject"])]
        self.assertEqual(len(messages), 1)

    def test_enrollment_with_mail_from_the_eml_folder_in_german(self):
        server, web, driver = self.start(smtp=False)
        number, key_file, timings = self.walk(None, web, driver, "zoe@cs.example.edu", "p256", language="de")
        self.check_outside_the_browser(web, driver, number, key_file, "p256")
        print("timings p256:", timings)
        # Without a mail server the link is also in the log.
        web.stop()
        self.assertIn("Login link for zoe@cs.example.edu: " + web.url + "/login/", web.process.stdout.read())


class BrowserSupport(unittest.TestCase):
    def test_a_page_that_is_not_a_secure_context_says_why(self):
        """Over plain http to a real host name the browser has no WebCrypto:
        the form stays hidden and the page says why and what to use."""
        with tempfile.TemporaryDirectory(prefix="mailseal-browser-") as folder:
            web = portal.Portal(folder, host="portal.example.edu")
            driver = portal.chromium(pathlib.Path(folder), ["--host-resolver-rules=MAP portal.example.edu 127.0.0.1"])
            try:
                wait = WebDriverWait(driver, 60)
                driver.get(web.url + "/?lang=en")
                driver.find_element(By.ID, "address").send_keys("zoe@example.edu")
                driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
                wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.lead[role=status]")))
                driver.get(portal.login_link(web.eml_messages()[-1]))
                driver.get(web.url + "/requests/new")
                notice = wait.until(EC.visibility_of_element_located((By.ID, "unsupported")))
                self.assertIn("secure connection", notice.text)
                self.assertFalse(driver.find_element(By.ID, "request-form").is_displayed())
                self.assertFalse(driver.execute_script("return window.isSecureContext"))
            finally:
                driver.quit()
                web.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
