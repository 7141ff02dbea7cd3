"""Starting the real portal, a real SMTP server and headless Chromium for
the browser tests."""
import base64
import email
import email.policy
import hashlib
import hmac
import json
import os
import pathlib
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import JavascriptException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parents[2]
# The PEM label of the browser's key file (encrypted PKCS#8, RFC 7468 §11).
ENCRYPTED_KEY_LABEL = "ENCRYPTED PRIVATE KEY"


# The PEM label of an unencrypted PKCS#8 key (what `openssl pkcs12 -nodes` writes).
KEY_LABEL = "PRIVATE KEY"


def pem_begin(label):
    """The first line of a PEM block with `label`."""
    return "-----BEGIN %s-----" % label


def pem_blocks(text, label):
    """Every PEM block with `label` in `text`, whole."""
    return re.findall(r"%s.*?-----END %s-----" % (re.escape(pem_begin(label)), re.escape(label)), text, re.S)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_until(process, marker, limit=180):
    """Reads the process's output until `marker` appears (no sleeping: the
    read blocks until the process writes or ends)."""
    seen = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("process ended before '%s':\n%s" % (marker, "".join(seen)))
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise RuntimeError("no '%s' in time:\n%s" % (marker, "".join(seen)))


class SMTPServer:
    """Tests/support/smtp_server.py: aiosmtpd into a Maildir."""

    def __init__(self, folder, hold=False):
        """With `hold`, each message waits for `release()` before it is
        stored and accepted; `arrival()` returns its Message-ID."""
        self.port = free_port()
        self.maildir = pathlib.Path(folder) / "maildir"
        self.process = subprocess.Popen(
            [os.path.join(os.environ.get("MAILSEAL_VENV", str(ROOT / ".venv")), "bin", "python"), "-u",
             str(ROOT / "Tests/support/smtp_server.py"), "--port", str(self.port), "--maildir", str(self.maildir)]
            + (["--hold"] if hold else []),
            stdin=subprocess.PIPE if hold else None, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        read_until(self.process, "READY", 60)

    def arrival(self, limit=120):
        """Waits until a held message reaches the server; its Message-ID."""
        line = read_until(self.process, "ARRIVED", limit).splitlines()[-1]
        return line.split(" ", 1)[1].strip()

    def release(self):
        """Lets the held message be stored and accepted."""
        self.process.stdin.write("\n")
        self.process.stdin.flush()

    def messages(self):
        new = self.maildir / "new"
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(new.iterdir())]

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()


SOFTHSM_MODULE = os.environ.get("MAILSEAL_TEST_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")


def softhsm_token(folder, label="mailseal-browser", pin="13572468"):
    """A throw-away SoftHSM2 token in `folder` (its own SOFTHSM2_CONF, made
    with softhsm2-util); returns the settings that put the portal's CA keys
    in it."""
    folder = pathlib.Path(folder) / "softhsm"
    tokens = folder / "tokens"
    tokens.mkdir(parents=True)
    conf = folder / "softhsm2.conf"
    conf.write_text("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n" % tokens)
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin",
                    "so-" + pin], env=env, check=True, stdout=subprocess.DEVNULL)
    pin_file = folder / "pin"
    pin_file.write_text(pin + "\n")
    pin_file.chmod(0o600)
    return {"SOFTHSM2_CONF": str(conf), "MAILSEAL_PKCS11_MODULE": SOFTHSM_MODULE,
            "MAILSEAL_PKCS11_PIN_FILE": str(pin_file), "MAILSEAL_PKCS11_TOKEN": label}


class OpenIDProvider:
    """PyPI's oidc-provider-mock (an OpenID provider this project did not
    write: authlib behind Flask, its own login page) on a free port of
    127.0.0.1, nonces required. Users and their claims are set with
    `set_user`; on its login page one types the user's `sub`."""

    def __init__(self, folder):
        self.port = free_port()
        self.issuer = "http://127.0.0.1:%d" % self.port
        python = os.path.join(os.environ.get("MAILSEAL_VENV", str(ROOT / ".venv")), "bin", "python")
        self.process = subprocess.Popen(
            [python, "-u", "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(self.port),
             "--require-nonce"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        read_until(self.process, "Uvicorn running on", 60)
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()
        self.secret_file = pathlib.Path(folder) / "oidc-client-secret"
        self.secret_file.write_text("browser-test-client-secret\n")

    def set_user(self, sub, claims):
        request = urllib.request.Request(
            "%s/users/%s" % (self.issuer, urllib.parse.quote(sub)), data=json.dumps(claims).encode(),
            method="PUT", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 204, answer.status

    def settings(self, **extra):
        """The portal's settings for this provider."""
        values = {
            "MAILSEAL_OIDC_ISSUER": self.issuer,
            "MAILSEAL_OIDC_CLIENT_ID": "mailseal-browser-test",
            "MAILSEAL_OIDC_CLIENT_SECRET_FILE": str(self.secret_file),
            "MAILSEAL_OIDC_ROLES": "operator:servicedesk,admin:pki-admins",
            "MAILSEAL_OIDC_REQUESTERS": "true",
        }
        values.update(extra)
        return values

    @staticmethod
    def log_in(driver, wait, sub):
        """On the provider's own page: types the user and authorizes."""
        field = wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, "input[name=sub]")))
        field.send_keys(sub)
        field.find_element(By.XPATH, "./ancestor::form//button[@type='submit']").click()

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


class UpstreamCA:
    """An upstream certificate authority's test server of Tests/upstream
    (HARICA or Sectigo, each checked against its public client library) on
    127.0.0.1, and the portal's settings for it (MAILSEAL_UPSTREAM=…)."""

    def __init__(self, folder, kind):
        self.kind = kind
        self.folder = pathlib.Path(folder)
        self.chain = self.folder / ("%s-chain.pem" % kind)
        python = os.path.join(os.environ.get("MAILSEAL_VENV", str(ROOT / ".venv")), "bin", "python")
        scripts = ROOT / "Tests" / "upstream"
        self.process = subprocess.Popen(
            [python, "-u", str(scripts / ("%s_server.py" % kind)), "--chain-out", str(self.chain)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(scripts))
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING "):
            self.process.kill()
            raise RuntimeError("%s test server did not start: %r" % (kind, line))
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()
        self.url = "http://127.0.0.1:%s" % line.split()[1]

    def secret(self, name, value):
        path = self.folder / name
        path.write_text(value + "\n")
        path.chmod(0o600)
        return str(path)

    def settings(self):
        values = {"MAILSEAL_UPSTREAM": self.kind, "MAILSEAL_UPSTREAM_CHAIN_FILE": str(self.chain)}
        if self.kind == "sectigo":
            values.update({
                "MAILSEAL_UPSTREAM_URL": self.url + "/api",
                "MAILSEAL_SECTIGO_CUSTOMER_URI": "example-university",
                "MAILSEAL_SECTIGO_LOGIN": "mailseal-api",
                "MAILSEAL_SECTIGO_PASSWORD_FILE": self.secret("sectigo-password", "sectigo-test-password"),
                "MAILSEAL_SECTIGO_ORG_ID": "4242",
                "MAILSEAL_SECTIGO_CERT_TYPE": "1938",
                "MAILSEAL_SECTIGO_ROLE_CERT_TYPE": "1939",
            })
        else:
            values.update({
                "MAILSEAL_UPSTREAM_URL": self.url,
                "MAILSEAL_HARICA_EMAIL": "svc-mailseal@example.edu",
                "MAILSEAL_HARICA_PASSWORD_FILE": self.secret("harica-password", "harica-test-password"),
                "MAILSEAL_HARICA_TOTP_SECRET_FILE": self.secret("harica-totp", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
                "MAILSEAL_HARICA_ORGANIZATION": "Example University",
            })
        return values

    def state(self):
        with urllib.request.urlopen(self.url + "/_test/state", timeout=30) as answer:
            return json.load(answer)

    def stop(self):
        self.process.kill()
        self.process.wait(30)
        self.process.stdout.close()


class Portal:
    """`mailseal serve` on a free port of 127.0.0.1 with its own data folder."""

    def __init__(self, folder, smtp_port=None, extra=None, host="127.0.0.1", before=()):
        self.folder = pathlib.Path(folder)
        self.port = free_port()
        self.url = "http://%s:%d" % (host, self.port)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILSEAL_") and k != "DATABASE_URL"}
        env.update({
            "MAILSEAL_DATA_DIR": str(self.folder / "data"),
            "MAILSEAL_PUBLIC_URL": self.url,
            "MAILSEAL_ALLOWED_DOMAINS": "example.edu,*.example.edu",
            "MAILSEAL_CA_PASSPHRASE": "browser-test-ca-passphrase",
            "MAILSEAL_ORG_NAME": "Universität Beispielstadt",
            "MAILSEAL_ORG_ID": "NTRDE-DEB1101.HRB123456",
            "MAILSEAL_ORG_COUNTRY": "DE",
        })
        if smtp_port:
            env["MAILSEAL_SMTP_URL"] = "smtp://127.0.0.1:%d" % smtp_port
        env.update(extra or {})
        # Kept for `cli`: the command line sees the very same installation.
        self.env = env
        self.binary = os.environ.get("MAILSEAL_BINARY", str(ROOT / ".build/debug/mailseal"))
        # Commands the installation needs before it may serve (a recovery
        # certificate, when escrow is on).
        for arguments in before:
            status, output = self.cli(*arguments)
            if status != 0:
                raise AssertionError("mailseal %s: %s" % (" ".join(arguments), output))
        self.process = subprocess.Popen(
            [self.binary, "serve", "--hostname", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(self.folder))
        self.startup_log = read_until(self.process, "Server started on")

    def keep_log(self):
        """Reads the portal's output from now on in a thread (so that a busy
        portal never blocks on a full pipe); `wait_for_log` looks in it."""
        self.log_lines = []
        self.log_changed = threading.Condition()

        def drain():
            for line in self.process.stdout:
                with self.log_changed:
                    self.log_lines.append(line)
                    self.log_changed.notify_all()

        threading.Thread(target=drain, daemon=True).start()

    def wait_for_log(self, marker, after=0, limit=120):
        """Waits until a line from number `after` on holds `marker`; returns
        that line's number."""
        deadline = time.monotonic() + limit
        with self.log_changed:
            while True:
                for number in range(after, len(self.log_lines)):
                    if marker in self.log_lines[number]:
                        return number
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no '%s' in the portal's log" % marker)
                self.log_changed.wait(remaining)

    def cli(self, *arguments, timeout=120):
        """Runs `mailseal ARGUMENTS…` with the served process's environment
        and working folder; returns (exit status, stdout and stderr)."""
        done = subprocess.run([self.binary, *arguments], env=self.env, cwd=str(self.folder), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace", timeout=timeout)
        return done.returncode, done.stdout

    @property
    def database(self):
        return str(self.folder / "data" / "mailseal.sqlite")

    def eml_messages(self):
        folder = self.folder / "data" / "outbox"
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(folder.glob("*.eml"))]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def login_link(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    match = re.search(r"https?://\S+/login/[A-Za-z0-9_-]{43}", text)
    assert match, text
    return match.group(0)


def chromium(download_dir, extra_arguments=(), environment=None):
    """Headless Chromium through chromedriver; `environment` (default: this
    process's) is theirs, e.g. a HOME whose NSS database trusts a test CA."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--disable-gpu", "--no-first-run", "--disable-background-networking", *extra_arguments]:
        options.add_argument(argument)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(download_dir),
        "download.prompt_for_download": False,
        "safebrowsing.enabled": False,
    })
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver",
                                              env=environment), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    driver.execute_cdp_cmd("Network.enable", {"maxPostDataSize": 1 << 20})
    return driver


def sent_requests(driver):
    """Every request the page sent: URL, method, headers and body (from the
    DevTools performance log)."""
    sent = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            request = message["params"]["request"]
            # Chromium gives the body as postData and again as postDataEntries: the entries only when postData
            # is missing (binary bodies), so that a body is there once.
            body = request.get("postData", "")
            if not body:
                for part in request.get("postDataEntries", []) or []:
                    if "bytes" in part:
                        body += base64.b64decode(part["bytes"]).decode("utf-8", "replace")
            sent.append({"url": request["url"], "method": request["method"], "headers": request.get("headers", {}),
                         "body": body})
    return sent


def totp(secret_base32, step):
    """RFC 6238: HMAC-SHA1, six digits, the code of 30-second step `step`."""
    key = base64.b32decode(secret_base32 + "=" * (-len(secret_base32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1000000)


def qr_secret(driver, folder):
    """The TOTP secret in the QR code on the enrolment page: the image as
    Chromium draws it, read by zbarimg (zbar-tools)."""
    picture = pathlib.Path(folder) / "totp-qr.png"
    picture.write_bytes(driver.find_element(By.ID, "totp-qr").screenshot_as_png)
    # zbarimg talks about D-Bus on standard error; only standard output counts.
    read = subprocess.run(["zbarimg", "--quiet", "--raw", str(picture)], capture_output=True, text=True)
    assert read.returncode == 0, "zbarimg found no QR code: %s" % read.stderr
    uri = urllib.parse.urlparse(read.stdout.strip())
    assert uri.scheme == "otpauth" and uri.netloc == "totp", read.stdout
    return urllib.parse.parse_qs(uri.query)["secret"][0]


def enrol_staff(web, driver, wait, email_address, name, role, password, read_qr=False):
    """`mailseal operator add`, then the one-time enrolment link in the
    browser: the password twice, the TOTP secret (from the page, and with
    `read_qr` also from the QR code, which must agree), the first code.
    Returns (secret, the time step of the code used)."""
    status, output = web.cli("operator", "add", "--email", email_address, "--name", name, "--role", role)
    assert status == 0, output
    link = re.search(r"http://\S+/operator/enrol/[A-Za-z0-9_-]{43}", output)
    assert link, output
    driver.get(link.group(0) + "?lang=en")
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "passwordRepeat").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    secret = wait.until(EC.visibility_of_element_located((By.ID, "totp-secret"))).text
    assert driver.find_element(By.ID, "totp-qr").get_attribute("src").startswith("data:image/svg+xml")
    if read_qr:
        with tempfile.TemporaryDirectory(prefix="mailseal-qr-") as folder:
            from_qr = qr_secret(driver, folder)
        assert from_qr == secret, "the QR code holds %r, the page shows %r" % (from_qr, secret)
    step = int(time.time()) // 30
    driver.find_element(By.ID, "code").send_keys(totp(secret, step))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.lead[role=status]")))
    return secret, step


def staff_sign_in(web, driver, wait, email_address, password, secret, last_step, landing="/operator/queue"):
    """Signs in at /operator/login with password and a TOTP code of a step
    after `last_step` (a code is good once); lands on the queue (recovery
    officers on the recoveries: `landing`). Returns the step used."""
    driver.get(web.url + "/operator/login")
    driver.find_element(By.ID, "email").send_keys(email_address)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    code = wait.until(EC.visibility_of_element_located((By.ID, "code")))
    # The server takes the current step ±1, each step once.
    step = max(last_step + 1, int(time.time()) // 30)
    code.send_keys(totp(secret, step))
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait.until(EC.url_to_be(web.url + landing))
    return step


SCREENSHOTS = os.environ.get("MAILSEAL_SCREENSHOTS")


def screenshot(driver, name):
    """With MAILSEAL_SCREENSHOTS set (scripts/screenshots.sh), saves the page
    in English and in German as NAME-en.png and NAME-de.png in that folder,
    then shows it again in its language; otherwise does nothing."""
    if not SCREENSHOTS:
        return
    folder = pathlib.Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    language = driver.find_element(By.TAG_NAME, "html").get_attribute("lang")
    address = driver.current_url.split("?")[0]

    def show(shown):
        driver.get(address + "?lang=" + shown)
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")

    for shown in ("en", "de"):
        show(shown)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, max(800, height + 40))
        driver.save_screenshot(str(folder / ("%s-%s.png" % (name, shown))))
        driver.set_window_size(1280, 1000)
    show(language)


def click_and_load(driver, wait, element):
    """Clicks `element` and waits until another document has loaded: a
    mark set on the old page's window is gone and the new one is
    complete. (`submit()` and staleness checks race with the navigation.)"""
    def loaded(d):
        try:
            return d.execute_script("return window.mailsealOldPage === undefined && document.readyState === 'complete'")
        except JavascriptException:  # the old page went away during the call
            return False

    driver.execute_script("window.mailsealOldPage = true")
    element.click()
    wait.until(loaded, "no new page after the click")


def check_identity_and_approve(driver, wait, number, search_for, given_name, surname):
    """On the desk, signed in: finds request `number` in the queue by
    `search_for`, records a photo-ID check with the names, sees it
    verified and presses Approve."""
    driver.find_element(By.ID, "q").send_keys(search_for)
    click_and_load(driver, wait, driver.find_element(By.CSS_SELECTOR, "form[role=search] button[type=submit]"))
    driver.find_element(By.CSS_SELECTOR, "tr[data-number='%s'] a" % number).click()
    wait.until(EC.presence_of_element_located((By.ID, "evidence-form")))
    screenshot(driver, "desk-request")
    driver.find_element(By.ID, "issuingAuthority").send_keys("Stadt Beispielstadt, DE")
    driver.find_element(By.ID, "documentNumber").send_keys("L01X00T47")
    # The expiry is the browser's date picker, labelled as such (no format
    # to type), bounded from today to 20 years ahead.
    expiry = driver.find_element(By.ID, "documentExpiry")
    label = driver.find_element(By.CSS_SELECTOR, "label[for=documentExpiry]").text
    assert "YYYY" not in label and "JJJJ" not in label, label
    assert expiry.get_attribute("type") == "date" and expiry.get_attribute("min") and expiry.get_attribute("max")
    for implausible in ("2090-01-01", "2001-01-01"):
        driver.execute_script("arguments[0].value = arguments[1]", expiry, implausible)
        assert not driver.execute_script("return arguments[0].checkValidity()", expiry), implausible
    # Past the browser (its checks switched off), the server refuses it too.
    driver.execute_script("arguments[0].value = '2090-01-01'", expiry)
    driver.find_element(By.ID, "verifiedGivenName").send_keys(given_name)
    driver.find_element(By.ID, "verifiedSurname").send_keys(surname)
    driver.execute_script("document.getElementById('evidence-form').noValidate = true")
    click_and_load(driver, wait, driver.find_element(By.CSS_SELECTOR, "#evidence-form button"))
    refusal = driver.find_element(By.ID, "decision-error").text
    assert "plausible" in refusal, refusal
    for field in ("issuingAuthority", "documentNumber", "verifiedGivenName", "verifiedSurname"):
        driver.find_element(By.ID, field).clear()
    driver.find_element(By.ID, "issuingAuthority").send_keys("Stadt Beispielstadt, DE")
    driver.find_element(By.ID, "documentNumber").send_keys("L01X00T47")
    driver.execute_script("document.getElementById('documentExpiry').value = '2034-05-31'")
    driver.find_element(By.ID, "verifiedGivenName").send_keys(given_name)
    driver.find_element(By.ID, "verifiedSurname").send_keys(surname)
    driver.find_element(By.CSS_SELECTOR, "#evidence-form button").click()
    wait.until(EC.presence_of_element_located((By.ID, "approve-form")))
    state = driver.find_element(By.ID, "request-state").get_attribute("data-state")
    assert state == "verified", state
    driver.find_element(By.CSS_SELECTOR, "#approve-form button").click()
