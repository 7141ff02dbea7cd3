"""Starting the real portal, a real SMTP server and headless Chromium for
the browser tests."""
import email
import email.policy
import json
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = pathlib.Path(__file__).resolve().parents[2]


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

    def __init__(self, folder):
        self.port = free_port()
        self.maildir = pathlib.Path(folder) / "maildir"
        self.process = subprocess.Popen(
            [os.path.join(os.environ.get("MAILSEAL_VENV", str(ROOT / ".venv")), "bin", "python"), "-u",
             str(ROOT / "Tests/support/smtp_server.py"), "--port", str(self.port), "--maildir", str(self.maildir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        read_until(self.process, "READY", 60)

    def messages(self):
        new = self.maildir / "new"
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(new.iterdir())]

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.process.stdout.close()


class Portal:
    """`mailseal serve` on a free port of 127.0.0.1 with its own data folder."""

    def __init__(self, folder, smtp_port=None, extra=None, host="127.0.0.1"):
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
        self.process = subprocess.Popen(
            [self.binary, "serve", "--hostname", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(self.folder))
        self.startup_log = read_until(self.process, "Server started on")

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


def chromium(download_dir, extra_arguments=()):
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
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options)
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
            body = request.get("postData", "")
            for part in request.get("postDataEntries", []) or []:
                if "bytes" in part:
                    import base64
                    body += base64.b64decode(part["bytes"]).decode("utf-8", "replace")
            sent.append({"url": request["url"], "method": request["method"], "headers": request.get("headers", {}),
                         "body": body})
    return sent
