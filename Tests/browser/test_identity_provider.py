"""Sign-in through a real OpenID provider that this project did not write
(PyPI's oidc-provider-mock, on 127.0.0.1, nonces required), in headless
Chromium against the real portal with the password sign-in switched off:
a requester signs in at the provider and makes a request (steps 4–7); a
member of the service desk signs in at the provider's own login page with a
role from its group claim, reaches the queue, records the photo-ID check and
approves; the CA issues and the requester builds the PKCS#12 (steps
9–11). Then the desk member's group is taken away at the provider: the
next sign-in is refused, with no session."""
import re
import subprocess
import unittest

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import portal
from test_enrollment import Walker

PASSWORD = "Kranich-Flug-ueber-Feldberg-7"


class IdentityProviderSignIn(Walker, unittest.TestCase):
    password = PASSWORD

    def test_staff_and_requester_sign_in_at_the_provider(self):
        provider = portal.OpenIDProvider(self.folder.name)
        self.stoppables.append(provider)
        provider.set_user("anna.desk", {
            "email": "anna.desk@example.edu", "email_verified": True, "name": "Anna Desk",
            "groups": ["staff", "servicedesk"]})
        provider.set_user("zoe", {
            "email": "zoe.mueller@example.edu", "email_verified": True, "given_name": "Zoë",
            "family_name": "Müller-Lüdenscheidt"})
        server = portal.SMTPServer(self.folder.name)
        self.stoppables.append(server)
        web = portal.Portal(self.folder.name, smtp_port=server.port,
                            extra=provider.settings(MAILSEAL_LOCAL_STAFF_LOGIN="false"))
        self.stoppables.append(web)
        driver = portal.chromium(self.downloads)
        self.stoppables.append(driver)
        wait = WebDriverWait(driver, 120)

        # The requester: "Sign in with …" beside the address form.
        driver.get(web.url + "/?lang=en")
        button = driver.find_element(By.ID, "provider-sign-in")
        self.assertEqual(button.text, "Sign in with Universität Beispielstadt")
        button.click()
        portal.OpenIDProvider.log_in(driver, wait, "zoe")
        wait.until(EC.url_to_be(web.url + "/requests/new"))
        self.assertIn("zoe.mueller@example.edu", driver.find_element(By.CSS_SELECTOR, "header .who").text)
        # The provider's names, pre-filled (the desk still compares the photo ID).
        wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
        self.assertEqual(driver.find_element(By.ID, "givenName").get_attribute("value"), "Zoë")
        self.assertEqual(driver.find_element(By.ID, "surname").get_attribute("value"), "Müller-Lüdenscheidt")
        number, key_file, _ = self.fill_in(driver, "p256")

        # The desk: no password form; the provider's login page; the queue.
        driver.delete_all_cookies()
        driver.get(web.url + "/operator/login?lang=en")
        self.assertEqual(driver.find_elements(By.ID, "password"), [])
        driver.find_element(By.ID, "provider-sign-in").click()
        portal.OpenIDProvider.log_in(driver, wait, "anna.desk")
        wait.until(EC.url_to_be(web.url + "/operator/queue"))
        self.assertIn("Anna Desk", driver.find_element(By.CSS_SELECTOR, "header .who").text)
        portal.check_identity_and_approve(driver, wait, number, "mueller", "Zoë", "Müller-Lüdenscheidt")
        # The desk sees how the mailbox was validated.
        self.assertIn("identity provider", driver.page_source)

        # Steps 9–11: the pickup mail, the PKCS#12 built in the browser.
        wait.until(lambda _: any("ready" in str(m["subject"]) for m in server.messages()))
        mail = [m for m in server.messages() if "ready" in str(m["subject"])][0]
        pickup = re.search(r"https?://\S+/pickup/[A-Za-z0-9_-]{43}",
                           mail.get_body(preferencelist=("plain",)).get_content()).group(0)
        driver.get(pickup + "?lang=en")
        wait.until(EC.visibility_of_element_located((By.ID, "pickup-form")))
        driver.find_element(By.ID, "key-file").send_keys(str(key_file))
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "input[name=encoding][value=modern]").click()
        driver.find_element(By.ID, "build").click()
        wait.until(lambda d: d.find_element(By.ID, "pickup-done").get_attribute("data-encoding") == "modern")
        bundle = self.downloads / ("mailseal-%s-modern.p12" % number)
        wait.until(lambda _: bundle.exists() and bundle.stat().st_size > 0)
        read = subprocess.run(["openssl", "pkcs12", "-in", str(bundle), "-passin", "pass:" + PASSWORD,
                               "-nokeys", "-clcerts"], capture_output=True, text=True, errors="replace")
        self.assertEqual(read.returncode, 0, read.stderr)
        self.assertIn("zoe.mueller@example.edu", read.stdout)

        # The group taken away at the provider: the next sign-in is refused.
        provider.set_user("anna.desk", {
            "email": "anna.desk@example.edu", "email_verified": True, "name": "Anna Desk",
            "groups": ["staff"]})
        driver.delete_all_cookies()
        driver.get(web.url + "/operator/login?lang=en")
        driver.find_element(By.ID, "provider-sign-in").click()
        portal.OpenIDProvider.log_in(driver, wait, "anna.desk")
        wait.until(EC.text_to_be_present_in_element((By.TAG_NAME, "main"), "has no role in this portal"))
        driver.get(web.url + "/operator/queue?lang=en")
        self.assertIn("Please sign in as a member of staff", driver.find_element(By.TAG_NAME, "main").text)
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, "form[role=search]"), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
