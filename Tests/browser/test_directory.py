"""Publishing with consent and the look-up, in headless Chromium against
the real portal (MAILSEAL_PUBLISH=consent; the look-up is where it is
published): the request form asks (no by default), the requester agrees,
the answer is on the request page and the desk's; after issuance a
colleague (signed out) finds the certificate by the exact address, and the
PEM download is the issued certificate byte for byte; an address with
nothing published and a partial address find nothing; the holder withdraws
on the certificate page and the look-up finds nothing any more."""
import base64
import re
import sqlite3
import unittest

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import portal
from test_enrollment import Walker

STAFF_PASSWORD = "service-desk-passwort-42"
ADDRESS = "zoe.mueller@example.edu"


class Directory(Walker, unittest.TestCase):
    def sign_in_by_link(self, web, driver, wait):
        """A fresh login link for ADDRESS, opened."""
        def links():
            return [portal.login_link(m) for m in web.eml_messages()
                    if m["to"] == ADDRESS and "login link" in str(m["subject"])]
        before = len(links())
        driver.delete_all_cookies()
        driver.get(web.url + "/?lang=en")
        driver.find_element(By.ID, "address").send_keys(ADDRESS)
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.lead[role=status]")))
        wait.until(lambda _: len(links()) > before)
        driver.get(links()[-1])

    def look_up(self, web, driver, wait, address):
        driver.get(web.url + "/directory?lang=en")
        field = wait.until(EC.visibility_of_element_located((By.ID, "directory-mailbox")))
        field.clear()
        field.send_keys(address)
        driver.find_element(By.CSS_SELECTOR, "#directory-form button").click()
        wait.until(lambda d: d.find_elements(By.ID, "directory-found") or d.find_elements(By.ID, "directory-none")
                   or d.find_elements(By.ID, "directory-error"))
        return [a.get_attribute("data-serial") for a in driver.find_elements(By.CSS_SELECTOR, "article.directory-certificate")]

    def test_consent_look_up_and_withdrawal(self):
        web = portal.Portal(self.folder.name, extra={"MAILSEAL_PUBLISH": "consent"})
        self.stoppables.append(web)
        driver = portal.chromium(self.downloads)
        self.stoppables.append(driver)
        wait = WebDriverWait(driver, 120)

        # The form asks; "no" is chosen until the requester says yes.
        self.sign_in_by_link(web, driver, wait)
        wait.until(EC.url_to_be(web.url + "/requests/new"))
        wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
        self.assertIn("colleagues can send you encrypted mail", driver.find_element(By.ID, "publish-explained").text)
        self.assertTrue(driver.find_element(By.ID, "publish-no").is_selected())
        driver.find_element(By.ID, "publish-yes").click()
        number, _, _ = self.fill_in(driver, "p256")
        sent = [r for r in portal.sent_requests(driver) if r["url"].endswith("/api/v1/requests")]
        self.assertIn('"publishConsent":true', sent[-1]["body"])
        driver.get(web.url + "/requests/" + number + "?lang=en")
        self.assertTrue(wait.until(EC.presence_of_element_located((By.ID, "request-publish")))
                        .text.startswith("Agreed to publishing"))

        # The desk sees the answer, checks the ID and approves.
        driver.delete_all_cookies()
        secret, step = portal.enrol_staff(web, driver, wait, "anna.desk@example.edu", "Anna Desk", "operator",
                                          STAFF_PASSWORD)
        portal.staff_sign_in(web, driver, wait, "anna.desk@example.edu", STAFF_PASSWORD, secret, step)
        driver.get(web.url + "/operator/requests/" + number + "?lang=en")
        self.assertTrue(wait.until(EC.presence_of_element_located((By.ID, "request-publish")))
                        .text.startswith("Agreed to publishing"))
        driver.get(web.url + "/operator/queue?lang=en")
        portal.check_identity_and_approve(driver, wait, number, "mueller-luedenscheidt", "Zoë", "Müller-Lüdenscheidt")

        def issued():
            with sqlite3.connect(web.database) as db:
                return db.execute(
                    "SELECT c.serial, c.der FROM certificate_requests r JOIN certificates c ON c.id = r.certificate_id "
                    "WHERE r.number = ?", (number,)).fetchone()
        wait.until(lambda _: issued())
        serial, der = issued()

        # A colleague, signed out, finds it by the exact address (any case)
        # and downloads it: the issued certificate.
        driver.delete_all_cookies()
        driver.get(web.url + "/?lang=en")
        self.assertTrue(driver.find_element(By.CSS_SELECTOR, "#directory-link a").get_attribute("href")
                        .endswith("/directory"))
        self.assertEqual(self.look_up(web, driver, wait, "Zoe.Mueller@example.edu"), [serial])
        fingerprint = driver.find_element(By.CSS_SELECTOR, "article.directory-certificate .fingerprint").text
        self.assertEqual(len(fingerprint.split(":")), 32)
        driver.find_element(By.CSS_SELECTOR, "a[href='/directory/%s/certificate.pem']" % serial).click()
        pem_file = self.downloads / (serial + ".pem")
        wait.until(lambda _: pem_file.exists() and pem_file.stat().st_size > 0)
        block = portal.pem_blocks(pem_file.read_text(), "CERTIFICATE")[0]
        self.assertEqual(base64.b64decode("".join(block.splitlines()[1:-1])), der)
        # Nothing for a part of the address, nor for an unknown one.
        self.assertEqual(self.look_up(web, driver, wait, "mueller@example.edu"), [])
        self.assertEqual(self.look_up(web, driver, wait, "zoe.mueller@example"), [])
        self.assertTrue(driver.find_element(By.ID, "directory-error").is_displayed())
        self.assertEqual(self.look_up(web, driver, wait, "nobody@example.edu"), [])
        self.assertTrue(driver.find_element(By.ID, "directory-none").is_displayed())

        # The holder withdraws on the certificate page: gone from the look-up.
        self.sign_in_by_link(web, driver, wait)
        wait.until(EC.url_contains("/requests"))
        driver.get(web.url + "/certificates/" + serial + "?lang=en")
        panel = wait.until(EC.presence_of_element_located((By.ID, "publication")))
        self.assertEqual(panel.get_attribute("data-published"), "true")
        driver.find_element(By.ID, "publication-withdraw").click()
        wait.until(EC.visibility_of_element_located((By.ID, "publication-changed")))
        self.assertEqual(driver.find_element(By.ID, "publication").get_attribute("data-published"), "false")
        self.assertTrue(driver.find_element(By.ID, "publication-give").is_displayed())
        driver.delete_all_cookies()
        self.assertEqual(self.look_up(web, driver, wait, ADDRESS), [])
        status, output = web.cli("audit", "export")
        self.assertIn("publication.consent-withdrawn", output)
        self.assertTrue(re.search(r'publish\\?"\s*:\s*\\?"consented', output), "request.submitted names the answer")


if __name__ == "__main__":
    unittest.main()
