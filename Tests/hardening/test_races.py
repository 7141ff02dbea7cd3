"""Checks that guard a limit or a state hold under parallel requests
(issue 15, findings 1, 3, 4, 8 and 10), against the real `mailseal serve`.

Each test sends its requests for real, many at once from threads, and
counts what got through:
- 16 wrong passwords at once: at most five are checked, then 423, and the
  account is locked (the right password is refused too);
- 64 wrong codes, 16 at a time, on a pending sign-in: at most five checked;
- one code, three pending sessions at once: exactly one signs in;
- 20 login links for one address at once: at most the limit (5) are sent;
- an enrolment link is spent once the password is set: it cannot set it
  again, and only the browser that set it can finish;
- 42 presses of pause and resume on two instances on one PostgreSQL at
  once: none answers 5xx.
"""
import concurrent.futures
import http.cookiejar
import os
import pathlib
import re
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "browser"))
sys.path.insert(0, str(HERE.parent / "support"))
import portal  # noqa: E402
from postgres_cluster import PostgresCluster  # noqa: E402

PASSWORD = "correct horse battery staple 42"


class Client:
    """A browser without a browser: cookies, forms, no redirects followed."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), self.NoRedirect)

    def send(self, path, form=None, headers=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, data=data,
                                         headers={"Accept": "text/html", **(headers or {})})
        try:
            with self.opener.open(request, timeout=60) as answer:
                return answer.status, answer.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def cookie(self, name):
        return next((c.value for c in self.jar if c.name == name), None)

    def form_token(self, html):
        match = re.search(r'name="csrf" value="([^"]+)"', html)
        assert match, html[:500]
        return match.group(1)


def enrol(web, email, role="admin"):
    """`operator add`, then the enrolment pages; returns the TOTP secret and
    the step its first code used."""
    status, output = web.cli("operator", "add", "--email", email, "--name", email.split("@")[0], "--role", role)
    assert status == 0, output
    link = re.search(r"http://\S+(/operator/enrol/[A-Za-z0-9_-]{43})", output).group(1)
    browser = Client(web.url)
    _, page = browser.send(link)
    token = browser.form_token(page)
    status, page = browser.send(link, {"password": PASSWORD, "passwordRepeat": PASSWORD, "csrf": token})
    assert status == 303, page[:500]
    _, page = browser.send(link)  # the QR code, in the browser that set the password
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    step = int(time.time()) // 30
    status, page = browser.send(link + "/confirm", {"code": portal.totp(secret, step), "csrf": token})
    assert status == 303, page[:500]
    return secret, step


def sign_in_password(web, email, password=PASSWORD):
    """Step one of staff sign-in in a fresh browser: (status, the browser)."""
    browser = Client(web.url)
    _, page = browser.send("/operator/login")
    status, _ = browser.send("/operator/login", {"email": email, "password": password,
                                                 "csrf": browser.form_token(page)})
    return status, browser


def code_step(browser, code):
    _, page = browser.send("/operator/code")
    token = browser.form_token(page) if 'name="csrf"' in page else browser.cookie("mailseal_form")
    status, _ = browser.send("/operator/code", {"code": code, "csrf": token})
    return status


def parallel(count, work, threads=None):
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads or count) as pool:
        return list(pool.map(work, range(count)))


class RaceTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="mailseal-races-")
        cls.web = portal.Portal(cls.folder, extra={"MAILSEAL_TRUST_FORWARDED_FOR": "true"})
        cls.web.keep_log()

    @classmethod
    def tearDownClass(cls):
        cls.web.stop()

    def audit(self, action, subject):
        status, output = self.web.cli("audit", "export")
        self.assertEqual(0, status, output)
        return [line for line in output.splitlines() if '"%s"' % action in line and subject in line]

    def test_parallel_wrong_passwords_lock_after_five(self):
        enrol(self.web, "lock@example.edu")
        statuses = parallel(16, lambda _: sign_in_password(self.web, "lock@example.edu", "wrong password 123")[0])
        checked = statuses.count(401)
        self.assertLessEqual(checked, 5, statuses)
        self.assertEqual(16 - checked, statuses.count(423), statuses)
        # Locked: the right password is refused too.
        self.assertEqual(423, sign_in_password(self.web, "lock@example.edu")[0])
        failures = self.audit("operator.sign-in-failed", "lock@example.edu") + self.audit(
            "operator.locked", "lock@example.edu")
        self.assertLessEqual(len(failures), 5)
        self.assertEqual(1, len(self.audit("operator.locked", "lock@example.edu")))

    def test_parallel_wrong_codes_checked_at_most_five_times(self):
        secret, _ = enrol(self.web, "codes@example.edu")
        status, browser = sign_in_password(self.web, "codes@example.edu")
        self.assertEqual(303, status)
        right = {portal.totp(secret, int(time.time()) // 30 + d) for d in (-1, 0, 1)}
        wrong = [c for c in ("%06d" % n for n in range(100000, 100200)) if c not in right][:64]
        statuses = parallel(64, lambda i: code_step(browser, wrong[i]), threads=16)
        self.assertLessEqual(statuses.count(401), 5, statuses)
        self.assertEqual(64 - statuses.count(401), statuses.count(423), statuses)

    def test_one_code_signs_in_one_session(self):
        secret, enrolled_step = enrol(self.web, "once@example.edu")
        browsers = [sign_in_password(self.web, "once@example.edu")[1] for _ in range(3)]
        step = max(enrolled_step + 1, int(time.time()) // 30)
        code = portal.totp(secret, step)
        statuses = parallel(3, lambda i: code_step(browsers[i], code))
        self.assertEqual(1, statuses.count(303), statuses)

    def test_parallel_login_links_respect_the_limit(self):
        browser = Client(self.web.url)
        _, page = browser.send("/")
        token = browser.form_token(page)
        before = len(self.web.log_lines)

        def ask(n):
            return browser.send("/login", {"address": "victim@example.edu", "csrf": token},
                                headers={"X-Forwarded-For": "192.0.2.%d" % (n + 1)})[0]

        statuses = parallel(20, ask)
        sent = [line for line in self.web.log_lines[before:] if "Login link for victim@example.edu" in line]
        self.assertEqual(5, statuses.count(303), statuses)
        self.assertEqual(15, statuses.count(429), statuses)
        self.assertEqual(5, len(sent))

    def test_enrolment_link_is_spent_when_the_password_is_set(self):
        status, output = self.web.cli("operator", "add", "--email", "spent@example.edu", "--name", "Spent",
                                      "--role", "operator")
        link = re.search(r"http://\S+(/operator/enrol/[A-Za-z0-9_-]{43})", output).group(1)
        owner, thief = Client(self.web.url), Client(self.web.url)
        _, page = owner.send(link)
        token = owner.form_token(page)
        _, thief_page = thief.send(link)
        thief_token = thief.form_token(thief_page)
        status, page = owner.send(link, {"password": PASSWORD, "passwordRepeat": PASSWORD, "csrf": token})
        self.assertEqual(303, status)
        _, page = owner.send(link)
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
        # The link shows the thief no QR code: it is spent.
        self.assertEqual(404, thief.send(link)[0])
        # The leaked link can neither set the password again nor finish.
        status, _ = thief.send(link, {"password": "another password 99", "passwordRepeat": "another password 99",
                                      "csrf": thief_token})
        self.assertEqual(404, status)
        code = portal.totp(secret, int(time.time()) // 30)
        status, _ = thief.send(link + "/confirm", {"code": code, "csrf": thief_token})
        self.assertEqual(404, status)
        status, _ = owner.send(link + "/confirm", {"code": code, "csrf": token})
        self.assertEqual(303, status)


class TwoInstanceTests(unittest.TestCase):
    def test_pause_and_resume_at_once_on_two_instances(self):
        folder = tempfile.mkdtemp(prefix="mailseal-two-")
        cluster = PostgresCluster()
        self.addCleanup(cluster.destroy)
        extra = {"DATABASE_URL": cluster.url}
        for name in ("a", "b"):
            os.makedirs(os.path.join(folder, name))
        first = portal.Portal(os.path.join(folder, "a"), extra=extra)
        self.addCleanup(first.stop)
        second = portal.Portal(os.path.join(folder, "b"), extra=extra)
        self.addCleanup(second.stop)
        secret, step = enrol(first, "ada@example.edu")
        status, admin = sign_in_password(first, "ada@example.edu")
        self.assertEqual(303, status)
        self.assertEqual(303, code_step(admin, portal.totp(secret, max(step + 1, int(time.time()) // 30))))
        # Sessions live in the shared database: the same admin presses on both.
        session, csrf = admin.cookie("mailseal_operator"), admin.cookie("mailseal_operator_csrf")
        cookie = {"Cookie": "mailseal_operator=%s; mailseal_operator_csrf=%s" % (session, csrf)}
        clients = [Client(first.url), Client(second.url)]

        def press(n):
            return clients[n % 2].send("/operator/issuance", {
                "csrf": csrf, "paused": "true" if n % 4 < 2 else "false", "back": "admin"}, headers=cookie)[0]

        statuses = parallel(42, press)
        self.assertEqual([], [s for s in statuses if s >= 500], statuses)
        self.assertEqual(42, statuses.count(303), statuses)


if __name__ == "__main__":
    unittest.main()
