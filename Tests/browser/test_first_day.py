"""What a new requester and a new desk operator stumble over, in real
headless Chromium against the real portal: a language link after every form,
one password rule set for meter and refusal, errors that clear when the field
is right, the identity document's expiry date, phones, the first login link,
the mailbox-type radios, the favicon."""
import pathlib
import re
import tempfile
import time
import unittest

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

import portal

PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")


class FirstDay(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mailseal-first-day-")
        cls.web = portal.Portal(cls.folder.name)
        cls.driver = portal.chromium(pathlib.Path(cls.folder.name))
        cls.wait = WebDriverWait(cls.driver, 60)

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.web.stop()
        cls.folder.cleanup()

    def setUp(self):
        self.driver.delete_all_cookies()

    # Helpers

    def send_login_link(self, address, language="en"):
        d = self.driver
        d.get(self.web.url + "/?lang=" + language)
        d.find_element(By.ID, "address").send_keys(address)
        portal.click_and_load(d, self.wait, d.find_element(By.CSS_SELECTOR, "form[action='/login'] button"))

    def mails_to(self, address):
        return [m for m in self.web.eml_messages() if m["to"] == address]

    def sign_in(self, address, language="en"):
        self.send_login_link(address, language)
        self.wait.until(lambda _: self.mails_to(address))
        self.driver.get(portal.login_link(self.mails_to(address)[-1]))

    def switch_language(self):
        """Follows the header's language link; returns the new page's language."""
        link = self.driver.find_element(By.CSS_SELECTOR, "header nav a[hreflang]")
        target = link.get_attribute("hreflang")
        portal.click_and_load(self.driver, self.wait, link)
        self.assertEqual(self.driver.find_element(By.TAG_NAME, "html").get_attribute("lang"), target)
        self.assertNotIn("Not Found", self.driver.find_element(By.TAG_NAME, "body").text)
        return target

    # Item 1: a language link that works after every form.

    def test_language_link_after_sending_the_login_link(self):
        d = self.driver
        self.send_login_link("lena@example.edu")
        self.assertEqual(d.current_url, self.web.url + "/login/sent")
        self.assertEqual(d.find_element(By.TAG_NAME, "h1").text, "Please check your mailbox")
        self.assertEqual(self.switch_language(), "de")
        self.assertEqual(d.current_url.split("?")[0], self.web.url + "/login/sent")
        self.assertEqual(d.find_element(By.TAG_NAME, "h1").text, "Bitte prüfen Sie Ihr Postfach")
        # Reloading the answer sends nothing again.
        d.refresh()
        self.wait.until(lambda _: self.mails_to("lena@example.edu"))
        self.assertEqual(len(self.mails_to("lena@example.edu")), 1)

    def test_language_link_during_and_after_staff_enrolment(self):
        d = self.driver
        status, output = self.web.cli("operator", "add", "--email", "ida@example.edu", "--name", "Ida Desk",
                                      "--role", "operator")
        self.assertEqual(status, 0, output)
        link = re.search(r"http://\S+/operator/enrol/[A-Za-z0-9_-]{43}", output).group(0)
        d.get(link + "?lang=en")
        d.find_element(By.ID, "password").send_keys("Ida-Desk-Passwort-2026")
        d.find_element(By.ID, "passwordRepeat").send_keys("Ida-Desk-Passwort-2026")
        portal.click_and_load(d, self.wait, d.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        # Redirected to a page of its own: the QR code in either language.
        self.assertEqual(d.current_url, link)
        secret = d.find_element(By.ID, "totp-secret").text
        self.assertEqual(self.switch_language(), "de")
        self.assertEqual(d.find_element(By.ID, "totp-secret").text, secret)
        d.find_element(By.ID, "code").send_keys(portal.totp(secret, int(time.time()) // 30))
        portal.click_and_load(d, self.wait, d.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        self.assertEqual(d.current_url, self.web.url + "/operator/enrolled")
        self.assertEqual(self.switch_language(), "en")
        self.assertTrue(d.find_element(By.CSS_SELECTOR, "p.lead[role=status]").is_displayed())

    # Items 3 and 5: one rule set for meter and refusal; errors follow the field.

    def test_meter_and_refusal_agree_and_errors_clear(self):
        d = self.driver
        self.sign_in("anna.mueller@example.edu")
        self.wait.until(EC.url_to_be(self.web.url + "/requests/new"))
        self.wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
        password = d.find_element(By.ID, "password")
        repeat = d.find_element(By.ID, "password-repeat")
        error = d.find_element(By.ID, "password-error")
        for attempt, rule in (("anna.mueller-2024", "mailbox's name"),
                              ("abcdefghijklmnop", "run of characters"),
                              ("zzzzzzzzzzzzzz", "one character repeated")):
            password.clear()
            password.send_keys(attempt)
            repeat.clear()
            repeat.send_keys(attempt)
            self.assertEqual(d.find_element(By.ID, "strength-meter").get_attribute("value"), "0", attempt)
            self.assertEqual(d.find_element(By.ID, "strength").text, "very weak", attempt)
            d.find_element(By.ID, "next").click()
            self.wait.until(EC.visibility_of(error))
            self.assertIn(rule, error.text, attempt)
        # A good password: the error goes while typing, the meter rises.
        password.clear()
        password.send_keys("Kr4nich-Flug über Feldberg 7")
        repeat.clear()
        repeat.send_keys("Kr4nich-Flug über Feldberg")
        self.wait.until(EC.text_to_be_present_in_element((By.ID, "password-error"), "do not match"))
        self.assertNotEqual(d.find_element(By.ID, "strength-meter").get_attribute("value"), "0")
        repeat.send_keys(" 7")
        self.wait.until(EC.invisibility_of_element_located((By.ID, "password-error")))
        # A missing name's error goes once the field is filled.
        d.find_element(By.ID, "next").click()
        given_error = self.wait.until(EC.visibility_of_element_located((By.ID, "givenName-error")))
        d.find_element(By.ID, "givenName").send_keys("Anna")
        self.wait.until(EC.invisibility_of_element_located((By.ID, "givenName-error")))
        self.assertFalse(given_error.is_displayed())

    # Items 12 and 13: straight to the form; radios level with their labels.

    def test_first_login_link_opens_the_form_with_aligned_radios(self):
        d = self.driver
        self.sign_in("neu@example.edu", "de")
        self.wait.until(EC.url_to_be(self.web.url + "/requests/new"))
        self.wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
        for value in ("personal", "role"):
            offset = d.execute_script(
                """const radio = document.getElementById('type-' + arguments[0]).getBoundingClientRect();
                   const label = document.querySelector("label[for='type-" + arguments[0] + "']").getBoundingClientRect();
                   return Math.abs((radio.top + radio.bottom) / 2 - (label.top + label.bottom) / 2);""", value)
            self.assertLessEqual(offset, 4, "the %s radio sits %.1f px off its label" % (value, offset))
        # A role mailbox asks for the person responsible as well.
        d.find_element(By.ID, "type-role").click()
        self.assertTrue(d.find_element(By.ID, "commonName").is_displayed())
        self.assertTrue(d.find_element(By.ID, "givenName").is_displayed())
        self.assertTrue(d.find_element(By.ID, "responsible-hint").is_displayed())

    # Item 11: phones see the explanation and no form.

    def test_phones_get_no_form_unless_they_say_otherwise(self):
        d = self.driver
        d.get(self.web.url + "/?lang=en")
        desktop = d.execute_script("return navigator.userAgent")
        d.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": PHONE})
        try:
            d.get(self.web.url + "/?lang=en")
            self.assertTrue(d.find_element(By.ID, "desktop-only").is_displayed())
            self.assertEqual(d.find_elements(By.CSS_SELECTOR, "form[action='/login']"), [])
            portal.click_and_load(d, self.wait, d.find_element(By.ID, "on-desktop"))
            self.assertTrue(d.find_element(By.CSS_SELECTOR, "form[action='/login']").is_displayed())
            # Remembered: the next page believes it too.
            d.get(self.web.url + "/?lang=en")
            self.assertEqual(d.find_elements(By.ID, "desktop-only"), [])
        finally:
            d.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": desktop})

    # Item 6: no console error in normal use (the favicon was one).

    def test_no_console_errors_and_a_favicon(self):
        d = self.driver
        d.get_log("browser")  # what earlier tests left
        d.get(self.web.url + "/?lang=en")
        self.wait.until(lambda _: d.execute_script("return document.readyState") == "complete")
        status = d.execute_async_script(
            "fetch('/favicon.ico').then(r => arguments[0](r.status + ' ' + r.headers.get('content-type')))")
        self.assertRegex(status, r"^200 image/")
        severe = [entry for entry in d.get_log("browser") if entry["level"] == "SEVERE"]
        self.assertEqual(severe, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
