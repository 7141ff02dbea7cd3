"""The portal behind the shipped nginx site (deploy/nginx-mailseal.conf), as
in production: nginx on 127.0.0.1 (high ports, as an unprivileged user)
with a TLS certificate from a throw-away CA made here by `openssl req` and
`openssl x509`; the site is the shipped file with only its ports,
upstream addresses and certificate paths substituted (and its IPv6
listeners left out), so that `nginx -t` and every request judge that file.
Names are told apart by server_name, as there: smime.example.edu (TLS) and
pki.example.edu (plain http), reached through Chromium's
--host-resolver-rules and curl's --resolve; Chromium trusts the test CA in
an NSS database of its own (no --ignore-certificate-errors).

What is shown: the whole requester's path in Chromium over https through
the proxy (WebCrypto needs the secure context) up to the PKCS#12, with
every cookie of requester and staff carrying Secure (the portal sets it
because MAILSEAL_PUBLIC_URL is https://; it does not read
X-Forwarded-Proto); OCSP through the pki
name to the OCSP listener (MAILSEAL_OCSP_LISTEN) judged `good`/`revoked` by
`openssl ocsp`, the CRL and the CA certificates fetched from the URLs the
certificates name and read by `openssl crl`/`x509`; HSTS on https, the
plain-http portal name only redirecting, 64 KiB bodies passed and one byte
more refused by nginx (413); with MAILSEAL_TRUST_FORWARDED_FOR=true the
login-link limit per client counts nginx's $remote_addr, whatever
X-Forwarded-For a client sends, and without it a client-sent
X-Forwarded-For is ignored."""
import base64
import json
import os
import pathlib
import pwd
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import types
import unittest
import urllib.parse

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

# Runs by path as well as by discovery.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import portal  # noqa: E402
from test_enrollment import Walker  # noqa: E402

SHIPPED_SITE = portal.ROOT / "deploy" / "nginx-mailseal.conf"
PORTAL_NAME = "smime.example.edu"
PKI_NAME = "pki.example.edu"
# The login links one client address may ask for (the test's setting).
PER_CLIENT = 3
STAFF_PASSWORD = "service-desk-passwort-42"
# The DER of OCSPResponse { responseStatus malformedRequest (1) } (RFC 6960 §4.2.1).
MALFORMED_REQUEST = bytes.fromhex("30030a0101")
LIMIT = 64 * 1024
# OpenSSL's HTTP client follows http_proxy; every request here goes to 127.0.0.1 itself.
WITHOUT_PROXY = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}


def run(arguments, **kwargs):
    return subprocess.run([str(a) for a in arguments], capture_output=True, text=True, errors="replace", **kwargs)


def checked(arguments, **kwargs):
    done = run(arguments, **kwargs)
    assert done.returncode == 0, "%s: %s%s" % (" ".join(map(str, arguments)), done.stdout, done.stderr)
    return done


def wait_for_port(port, process, describe, limit=30):
    """Polls a connect to 127.0.0.1:`port` until it is taken, the process
    ended or the deadline passed."""
    deadline = time.monotonic() + limit
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError("%s ended (status %s): %s" % (describe, process.returncode, describe_log(process)))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("%s: nothing on 127.0.0.1:%d in %d s" % (describe, port, limit))
            time.sleep(0.05)  # the next poll; the deadline above decides


def describe_log(process):
    return getattr(process, "mailseal_log", lambda: "")()


def make_tls(folder):
    """A throw-away CA and a server certificate for the portal's name
    (P-256, 30 days, SAN and serverAuth as browsers want); returns the
    paths (CA certificate, server certificate, server key)."""
    folder.mkdir()
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    checked(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", ca_key, "-out", ca, "-days", "30", "-subj", "/CN=Mailseal reverse-proxy test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    checked(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", key, "-out", csr, "-subj", "/CN=%s" % PORTAL_NAME])
    extensions = folder / "server.ext"
    extensions.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                          "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:%s\n" % PORTAL_NAME)
    checked(["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "30",
             "-sha256", "-extfile", extensions, "-out", cert])
    return ca, cert, key


def site_for_test(shipped, https_port, http_port, portal_port, ocsp_port, certificate, key):
    """The shipped site with its ports, upstreams and certificate paths
    replaced: each replacement must find exactly what it expects, so that
    a change of the shipped file fails here instead of going untested."""
    text = shipped
    for old, new, count in (
            ("listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % https_port, 1),
            ("    listen [::]:443 ssl http2;\n", "", 1),
            ("listen 80;", "listen 127.0.0.1:%d;" % http_port, 2),
            ("    listen [::]:80;\n", "", 2),
            ("server 127.0.0.1:8080;", "server 127.0.0.1:%d;" % portal_port, 1),
            ("server 127.0.0.1:8081;", "server 127.0.0.1:%d;" % ocsp_port, 1),
            ("/etc/ssl/mailseal/portal.pem", str(certificate), 1),
            ("/etc/ssl/mailseal/portal.key", str(key), 1)):
        found = text.count(old)
        assert found == count, "%r is in the shipped site %d times, not %d" % (old, found, count)
        text = text.replace(old, new)
    listens = re.findall(r"^\s*listen\s+([^\s;]+)", text, re.M)
    assert listens and all(re.fullmatch(r"127\.0\.0\.1:\d+", a) for a in listens), listens
    return text


class Nginx:
    """nginx from Debian's package with a frame of the test's own (pid file,
    logs, temporary folders in a prefix folder) around `site`; as the
    unprivileged user `nobody` when the test runs as root."""

    def __init__(self, site, https_port, http_port, tls_files):
        self.binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.prefix = pathlib.Path(tempfile.mkdtemp(prefix="mailseal-nginx-"))
        self.ports = (https_port, http_port)
        self.process = None
        try:
            self.lay_out(site, tls_files)
        except BaseException:
            shutil.rmtree(self.prefix, ignore_errors=True)
            raise

    def lay_out(self, site, tls_files):
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / "temp" / name).mkdir(parents=True)
        for path in tls_files:
            shutil.copy(path, self.prefix / path.name)
            (self.prefix / path.name).chmod(0o600)
        p = self.prefix
        (p / "site.conf").write_text(site(p))
        (p / "nginx.conf").write_text("""\
# The test's frame around the shipped site (site.conf: deploy/nginx-mailseal.conf, substituted).
pid %(p)s/nginx.pid;
error_log %(p)s/error.log info;
worker_processes 1;
events { worker_connections 256; }
http {
    log_format proxied '$remote_addr $host "$request" $status upstream=$upstream_addr';
    access_log %(p)s/access.log proxied;
    client_body_temp_path %(p)s/temp/body;
    proxy_temp_path %(p)s/temp/proxy;
    fastcgi_temp_path %(p)s/temp/fastcgi;
    uwsgi_temp_path %(p)s/temp/uwsgi;
    scgi_temp_path %(p)s/temp/scgi;
    include %(p)s/site.conf;
}
""" % {"p": p})
        self.user = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            self.user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
            for path in [p, *p.rglob("*")]:
                os.chown(path, nobody.pw_uid, nobody.pw_gid)

    def command(self, *arguments):
        return [self.binary, "-p", "%s/" % self.prefix, "-c", str(self.prefix / "nginx.conf"),
                "-e", str(self.prefix / "error.log"), *arguments]

    def check(self):
        """`nginx -t`: (exit status, what it printed)."""
        done = subprocess.run(self.command("-t"), capture_output=True, text=True, **self.user)
        return done.returncode, done.stdout + done.stderr

    def start(self):
        self.process = subprocess.Popen(self.command("-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, **self.user)
        self.process.mailseal_log = lambda: (self.prefix / "error.log").read_text(errors="replace")
        for port in self.ports:
            wait_for_port(port, self.process, "nginx")

    def access_log(self):
        path = self.prefix / "access.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: nginx's fast shutdown, workers included
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.prefix, ignore_errors=True)


class ReverseProxy(Walker, unittest.TestCase):
    """One portal (trusting X-Forwarded-For, an OCSP listener of its own)
    behind one nginx for the whole class."""

    password = "Kranich-Flug-ueber-Feldberg-7"

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mailseal-proxy-")
        cls.work = pathlib.Path(cls.folder.name)
        cls.web = cls.nginx = None
        try:
            cls.prepare()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.nginx:
            cls.nginx.stop()
        if cls.web:
            cls.web.stop()
        cls.folder.cleanup()

    @classmethod
    def prepare(cls):
        w = cls.work
        cls.https_port, cls.http_port, ocsp_port = portal.free_port(), portal.free_port(), portal.free_port()
        cls.portal_url = "https://%s:%d" % (PORTAL_NAME, cls.https_port)
        cls.pki_url = "http://%s:%d" % (PKI_NAME, cls.http_port)
        cls.ca, certificate, key = make_tls(w / "tls")
        (w / "portal").mkdir()
        cls.web = portal.Portal(w / "portal", extra={
            "MAILSEAL_PUBLIC_URL": cls.portal_url,
            "MAILSEAL_PKI_URL": cls.pki_url,
            "MAILSEAL_OCSP_LISTEN": "127.0.0.1:%d" % ocsp_port,
            "MAILSEAL_TRUST_FORWARDED_FOR": "true",
            "MAILSEAL_LOGIN_LIMIT_PER_CLIENT": str(PER_CLIENT),
        })
        cls.web.keep_log()
        wait_for_port(ocsp_port, cls.web.process, "the OCSP listener")
        cls.ocsp_upstream = "127.0.0.1:%d" % ocsp_port
        shipped = SHIPPED_SITE.read_text()
        cls.nginx = Nginx(
            lambda prefix: site_for_test(shipped, cls.https_port, cls.http_port, cls.web.port, ocsp_port,
                                         prefix / certificate.name, prefix / key.name),
            cls.https_port, cls.http_port, (certificate, key))
        cls.nginx_check = cls.nginx.check()
        assert cls.nginx_check[0] == 0, cls.nginx_check[1]
        cls.nginx.start()

    def setUp(self):
        self.downloads = self.work / ("downloads-%s" % self._testMethodName)
        self.downloads.mkdir()

    def tearDown(self):
        pass

    # Helpers.

    def curl(self, url, source="127.0.0.1", jar=None, form=None, body=None, headers=(), http1=False):
        """curl through nginx: the test names resolve to 127.0.0.1, the test
        CA is the only one trusted, the connection comes from `source` (an
        address of 127/8). Returns (status, [(lowercase name, value)], body)."""
        out, head = self.work / "curl.body", self.work / "curl.head"
        arguments = ["curl", "-sS", "--max-time", "60", "--noproxy", "*", "--cacert", self.ca, "--interface", source,
                     "-D", head, "-o", out, "-w", "%{http_code}"]
        for name in (PORTAL_NAME, PKI_NAME):
            for port in (self.https_port, self.http_port):
                arguments += ["--resolve", "%s:%d:127.0.0.1" % (name, port)]
        if http1:
            arguments.append("--http1.1")
        if jar:
            arguments += ["-b", jar, "-c", jar]
        for header in headers:
            arguments += ["-H", header]
        for name, value in (form or {}).items():
            arguments += ["--data-urlencode", "%s=%s" % (name, value)]
        if body is not None:
            (self.work / "curl.upload").write_bytes(body)
            arguments += ["--data-binary", "@%s" % (self.work / "curl.upload")]
        done = checked(arguments + [url])
        fields = []
        for line in head.read_text(errors="replace").splitlines()[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                fields.append((name.strip().lower(), value.strip()))
        return int(done.stdout), fields, out.read_bytes()

    @staticmethod
    def field(fields, name):
        values = [v for n, v in fields if n == name]
        return values[0] if values else None

    def ask_for_login_link(self, source, address, forwarded):
        """The start page's form from `source`, with `forwarded` as the
        client's own X-Forwarded-For; the status of POST /login."""
        jar = self.work / ("cookies-%s" % source)
        status, _, page = self.curl(self.portal_url + "/?lang=en", source=source, jar=jar)
        self.assertEqual(status, 200)
        token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        status, fields, _ = self.curl(self.portal_url + "/login", source=source, jar=jar,
                                      form={"address": address, "csrf": token},
                                      headers=["X-Forwarded-For: " + forwarded])
        return status

    def openssl_ocsp(self, certificate, issuer, chain, *extra):
        """`openssl ocsp` through nginx's plain-http port, named as the pki
        host (server_name), the answer verified up to the portal's root."""
        return run(["openssl", "ocsp", "-url", "http://127.0.0.1:%d/ocsp" % self.http_port,
                    "-header", "Host=%s:%d" % (PKI_NAME, self.http_port), "-issuer", issuer,
                    "-cert", certificate, "-CAfile", chain, *extra], env=WITHOUT_PROXY)

    def logged(self, marker, after):
        """(host, upstream) of the first request nginx logged after
        offset `after` whose line holds `marker` (nginx writes the line
        after the answer: polled)."""
        deadline = time.monotonic() + 10
        while True:
            for line in self.nginx.access_log()[after:].splitlines():
                if marker in line:
                    host = line.split(" ", 2)[1]
                    return host, line.rsplit("upstream=", 1)[1]
            self.assertLess(time.monotonic(), deadline, "no '%s' in nginx's access log" % marker)
            time.sleep(0.05)  # the next poll; the deadline above decides

    def fetch_chain(self, leaf, folder):
        """The issuing CA and the root from the caIssuers URLs, through the
        proxy; writes issuing.pem, root.pem, chain.pem into `folder`."""
        for name, source in (("issuing", leaf), ("root", folder / "issuing.pem")):
            text = checked(["openssl", "x509", "-in", source, "-noout", "-ext", "authorityInfoAccess"]).stdout
            url = re.search(r"CA Issuers - URI:(\S+)", text).group(1)
            self.assertTrue(url.startswith(self.pki_url + "/ca/"), url)
            status, fields, der = self.curl(url)
            self.assertEqual((status, self.field(fields, "content-type")), (200, "application/pkix-cert"), url)
            (folder / ("%s.der" % name)).write_bytes(der)
            checked(["openssl", "x509", "-inform", "DER", "-in", folder / ("%s.der" % name),
                     "-out", folder / ("%s.pem" % name)])
        (folder / "chain.pem").write_text((folder / "root.pem").read_text() + (folder / "issuing.pem").read_text())
        return folder / "issuing.pem", folder / "chain.pem"

    # (a) The shipped site, as nginx reads it.

    def test_nginx_accepts_the_shipped_site(self):
        status, output = self.nginx_check
        self.assertEqual(status, 0, output)
        self.assertIn("syntax is ok", output)
        self.assertIn("test is successful", output)
        # No objection but, from nginx 1.25 on, the one about `listen … http2`
        # the shipped file keeps for Debian 12's nginx 1.22 (its comment says so).
        objections = [line for line in output.splitlines() if re.search(r"\[(warn|emerg|alert|crit)\]", line)
                      and 'the "listen ... http2" directive is deprecated' not in line]
        self.assertEqual(objections, [])
        # Only 127.0.0.1's high ports, as the test replaced them.
        self.assertNotIn("[::]", (self.nginx.prefix / "site.conf").read_text())

    # (b) The whole path in Chromium over https through nginx; Secure cookies.

    def test_the_browser_walk_over_https_through_nginx(self):
        home = self.work / "chromium-home"
        nssdb = home / ".pki" / "nssdb"
        nssdb.mkdir(parents=True)
        checked(["certutil", "-N", "-d", "sql:%s" % nssdb, "--empty-password"])
        checked(["certutil", "-A", "-d", "sql:%s" % nssdb, "-n", "Mailseal reverse-proxy test CA", "-t", "C,,",
                 "-i", self.ca])
        driver = portal.chromium(
            self.downloads, ["--host-resolver-rules=MAP %s 127.0.0.1,MAP %s 127.0.0.1" % (PORTAL_NAME, PKI_NAME)],
            environment=dict(os.environ, HOME=str(home)))
        try:
            self.walk_and_pick_up(driver)
        finally:
            driver.quit()

    def walk_and_pick_up(self, driver):
        wait = WebDriverWait(driver, 120)
        web = self.web
        proxied = types.SimpleNamespace(url=self.portal_url)
        address = "zoe.mueller@example.edu"
        # The certificate is trusted (no interstitial), the page a secure context.
        driver.get(self.portal_url + "/?lang=en")
        self.assertTrue(driver.execute_script("return window.isSecureContext"))
        driver.find_element(By.ID, "address").send_keys(address)
        portal.click_and_load(driver, wait, driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button"))
        self.assertEqual(driver.current_url, self.portal_url + "/login/sent")
        link = portal.login_link([m for m in web.eml_messages() if m["to"] == address][-1])
        self.assertTrue(link.startswith(self.portal_url + "/login/"), link)
        driver.get(link)
        wait.until(EC.url_to_be(self.portal_url + "/requests/new"))
        # Steps 4–7: the key pair by WebCrypto, the request by the JSON API.
        number, key_file, _ = self.fill_in(driver, "p256")
        cookies = {c["name"]: c for c in driver.get_cookies()}
        for name in ("mailseal_form", "mailseal_session", "mailseal_csrf"):
            self.assertIn(name, cookies)
        self.assertEqual([n for n, c in cookies.items() if not c["secure"]], [], cookies)
        # The page's documents came with HSTS.
        documents = [m for m in (json.loads(e["message"])["message"] for e in driver.get_log("performance"))
                     if m.get("method") == "Network.responseReceived" and m["params"]["type"] == "Document"]
        self.assertTrue(documents)
        for message in documents:
            headers = {k.lower(): v for k, v in message["params"]["response"]["headers"].items()}
            self.assertIn("max-age=63072000", headers.get("strict-transport-security", ""),
                          message["params"]["response"]["url"])

        # Staff: enrolled from the link `operator add` prints, signed in with TOTP.
        driver.delete_all_cookies()
        status, output = web.cli("operator", "add", "--email", "anna.desk@example.edu", "--name", "Anna Desk",
                                 "--role", "operator")
        self.assertEqual(status, 0, output)
        enrol = re.search(r"https://\S+/operator/enrol/[A-Za-z0-9_-]{43}", output).group(0)
        self.assertTrue(enrol.startswith(self.portal_url + "/"), enrol)
        driver.get(enrol + "?lang=en")
        driver.find_element(By.ID, "password").send_keys(STAFF_PASSWORD)
        driver.find_element(By.ID, "passwordRepeat").send_keys(STAFF_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        secret = wait.until(EC.visibility_of_element_located((By.ID, "totp-secret"))).text
        step = int(time.time()) // 30
        driver.find_element(By.ID, "code").send_keys(portal.totp(secret, step))
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.lead[role=status]")))
        portal.staff_sign_in(proxied, driver, wait, "anna.desk@example.edu", STAFF_PASSWORD, secret, step)
        cookies = {c["name"]: c for c in driver.get_cookies()}
        for name in ("mailseal_operator", "mailseal_operator_csrf"):
            self.assertIn(name, cookies)
        self.assertEqual([n for n, c in cookies.items() if not c["secure"]], [], cookies)
        portal.check_identity_and_approve(driver, wait, number, "mueller-luedenscheidt", "Zoë", "Müller-Lüdenscheidt")

        # Steps 9–11: issued; the pickup link is the https name; the PKCS#12 built in the browser.
        wait.until(lambda _: any("ready" in str(m["subject"]) for m in web.eml_messages()))
        mail = [m for m in web.eml_messages() if "ready" in str(m["subject"])][0]
        text = mail.get_body(preferencelist=("plain",)).get_content()
        pickup = re.search(r"https?://\S+/pickup/[A-Za-z0-9_-]{43}", text).group(0)
        self.assertTrue(pickup.startswith(self.portal_url + "/pickup/"), pickup)
        driver.delete_all_cookies()
        driver.get(pickup + "?lang=en")
        wait.until(EC.visibility_of_element_located((By.ID, "pickup-form")))
        driver.find_element(By.ID, "key-file").send_keys(str(key_file))
        driver.find_element(By.ID, "password").send_keys(self.password)
        driver.find_element(By.CSS_SELECTOR, "input[name=encoding][value=modern]").click()
        driver.find_element(By.ID, "build").click()
        wait.until(lambda d: d.find_element(By.ID, "pickup-done").get_attribute("data-encoding") == "modern")
        bundle = self.downloads / ("mailseal-%s-modern.p12" % number)
        wait.until(lambda _: bundle.exists() and bundle.stat().st_size > 0)

        # The certificate from the file: OCSP through the pki name says good.
        folder = self.work / "walk"
        folder.mkdir()
        leaf = folder / "leaf.pem"
        checked(["openssl", "pkcs12", "-in", bundle, "-passin", "pass:" + self.password, "-clcerts", "-nokeys",
                 "-out", leaf])
        issuing, chain = self.fetch_chain(leaf, folder)
        answer = self.openssl_ocsp(leaf, issuing, chain)
        self.assertEqual(answer.returncode, 0, answer.stdout + answer.stderr)
        self.assertIn("Response verify OK", answer.stderr)
        self.assertRegex(answer.stdout, r"leaf\.pem: good")

    # (d) What certificates name, over plain http through the pki name.

    def test_ocsp_crl_and_ca_certificates_over_plain_http(self):
        w = self.work / "pki"
        w.mkdir()
        serials = {}
        for name in ("good", "revoked"):
            checked(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", w / ("%s.key" % name), "-subj", "/CN=x", "-out", w / ("%s.csr" % name)])
            status, output = self.web.cli("ca", "issue", "--csr", str(w / ("%s.csr" % name)), "--email",
                                          "%s@example.edu" % name, "--mailbox-only", "--out", str(w / ("%s.pem" % name)))
            self.assertEqual(status, 0, output)
            serials[name] = checked(["openssl", "x509", "-in", w / ("%s.pem" % name), "-noout",
                                     "-serial"]).stdout.strip().split("=")[1]
        urls = checked(["openssl", "x509", "-in", w / "good.pem", "-noout", "-ext",
                        "authorityInfoAccess,crlDistributionPoints"]).stdout
        self.assertIn("OCSP - URI:%s/ocsp" % self.pki_url, urls)
        crl_url = re.search(r"^\s+URI:(%s/crl/\S+)" % re.escape(self.pki_url), urls, re.M).group(1)
        issuing, chain = self.fetch_chain(w / "good.pem", w)

        # OCSP (POST) by openssl, through nginx to the OCSP listener.
        after = len(self.nginx.access_log())
        answer = self.openssl_ocsp(w / "good.pem", issuing, chain)
        self.assertEqual(answer.returncode, 0, answer.stdout + answer.stderr)
        self.assertIn("Response verify OK", answer.stderr)
        self.assertRegex(answer.stdout, r"good\.pem: good")
        self.assertEqual(self.logged('"POST /ocsp HTTP/', after), (PKI_NAME, self.ocsp_upstream))
        # GET /ocsp/<base64>, as RFC 6960 appendix A.1 allows.
        checked(["openssl", "ocsp", "-issuer", issuing, "-cert", w / "good.pem", "-no_nonce", "-reqout",
                 w / "request.der"])
        encoded = urllib.parse.quote(base64.b64encode((w / "request.der").read_bytes()).decode(), safe="")
        after = len(self.nginx.access_log())
        status, fields, der = self.curl("%s/ocsp/%s" % (self.pki_url, encoded))
        self.assertEqual((status, self.field(fields, "content-type")), (200, "application/ocsp-response"))
        (w / "response.der").write_bytes(der)
        judged = run(["openssl", "ocsp", "-respin", w / "response.der", "-reqin", w / "request.der",
                      "-issuer", issuing, "-cert", w / "good.pem", "-CAfile", chain])
        self.assertIn("Response verify OK", judged.stderr)
        self.assertRegex(judged.stdout, r"good\.pem: good")
        self.assertEqual(self.logged("GET /ocsp/%s " % encoded, after), (PKI_NAME, self.ocsp_upstream))

        # Revoked on the command line: the answer through the proxy says so
        # (the running portal reads it from the database within a second).
        status, output = self.web.cli("ca", "revoke", "--serial", serials["revoked"], "--reason", "keyCompromise")
        self.assertEqual(status, 0, output)
        deadline = time.monotonic() + 5
        while True:
            answer = self.openssl_ocsp(w / "revoked.pem", issuing, chain, "-no_nonce")
            if re.search(r"revoked\.pem: revoked", answer.stdout):
                break
            self.assertLess(time.monotonic(), deadline, answer.stdout + answer.stderr)
            time.sleep(0.05)  # the next poll; the deadline above decides
        self.assertIn("Response verify OK", answer.stderr)
        self.assertIn("Reason: keyCompromise", answer.stdout)

        # The CRL from the URL the certificate names: parsed and verified by OpenSSL, the revoked serial in it.
        after = len(self.nginx.access_log())
        status, fields, crl = self.curl(crl_url)
        self.assertEqual(status, 200, crl_url)
        (w / "crl.der").write_bytes(crl)
        text = checked(["openssl", "crl", "-inform", "DER", "-in", w / "crl.der", "-noout", "-text"]).stdout
        self.assertIn("Certificate Revocation List (CRL):", text)
        verified = run(["openssl", "crl", "-inform", "DER", "-in", w / "crl.der", "-CAfile", chain, "-noout"])
        self.assertIn("verify OK", verified.stdout + verified.stderr)
        self.assertIn(("Serial Number: %s" % serials["revoked"]).upper(), text.upper())
        self.assertEqual(self.logged("GET %s " % urllib.parse.urlparse(crl_url).path, after),
                         (PKI_NAME, "127.0.0.1:%d" % self.web.port))

        # Nothing else on the pki name; the portal's pages are not there.
        for path in ("/", "/healthz", "/login/sent", "/operator/login"):
            status, _, _ = self.curl(self.pki_url + path)
            self.assertEqual(status, 404, path)

    # (e) HSTS, the redirect, /metrics, the body limit.

    def test_hsts_redirect_metrics_and_the_body_limit(self):
        status, fields, _ = self.curl(self.portal_url + "/?lang=en")
        self.assertEqual(status, 200)
        self.assertEqual(self.field(fields, "strict-transport-security"), "max-age=63072000; includeSubDomains")
        # The portal's cookies over https through nginx: each with Secure.
        cookies = [v for n, v in fields if n == "set-cookie"]
        self.assertTrue(any(c.startswith("mailseal_form=") for c in cookies), cookies)
        for cookie in cookies:
            self.assertIn("secure", [a.strip().lower() for a in cookie.split(";")], cookie)
        # Plain http on the portal's name: only the redirect, nothing from the portal.
        for path in ("/requests/new?lang=de", "/healthz", "/"):
            status, fields, _ = self.curl("http://%s:%d%s" % (PORTAL_NAME, self.http_port, path))
            self.assertEqual((status, self.field(fields, "location")), (301, "https://%s%s" % (PORTAL_NAME, path)))
        # /metrics is not served through the proxy.
        status, _, _ = self.curl(self.portal_url + "/metrics")
        self.assertEqual(status, 404)
        # The body limit, judged by where nginx sent the request (its
        # access log): up to 64 KiB reach the portal and the OCSP listener,
        # one byte more nginx refuses itself with 413, HSTS on it too.
        # (The OCSP routes read up to 64 KiB and answer malformedRequest;
        # the portal's own limit is a byte lower: Vapor refuses a streamed
        # body of exactly its maxSize.)
        headers = ["Content-Type: application/ocsp-request"]
        for url, upstream in ((self.portal_url + "/ocsp", "127.0.0.1:%d" % self.web.port),
                              (self.pki_url + "/ocsp", self.ocsp_upstream)):
            host = urllib.parse.urlparse(url).hostname
            status, _, answer = self.curl(url, body=b"\x30" * (LIMIT - 1), headers=headers)
            self.assertEqual((status, answer), (200, MALFORMED_REQUEST), url)
            # Each request marked by its query (which both OCSP routes ignore) for the log.
            self.curl(url + "?size=%d" % LIMIT, body=b"\x30" * LIMIT, headers=headers)
            self.assertEqual(self.logged('%s "POST /ocsp?size=%d ' % (host, LIMIT), 0)[1], upstream, url)
            status, fields, answer = self.curl(url + "?size=%d" % (LIMIT + 1), body=b"\x30" * (LIMIT + 1),
                                               headers=headers, http1=True)
            self.assertEqual(status, 413, url)
            self.assertIn(b"<center>nginx", answer)
            self.assertEqual(self.logged('%s "POST /ocsp?size=%d ' % (host, LIMIT + 1), 0)[1], "-", url)
            if url.startswith("https:"):
                self.assertEqual(self.field(fields, "strict-transport-security"),
                                 "max-age=63072000; includeSubDomains")
        # The largest form the portal takes (a request with key escrow), one byte over: nginx's 413 too.
        status, _, answer = self.curl(self.portal_url + "/api/v1/requests", body=b"{" * (LIMIT + 1),
                                      headers=["Content-Type: application/json"])
        self.assertEqual(status, 413)
        self.assertIn(b"<center>nginx", answer)

    # (c) The client address: nginx's $remote_addr, never what a client sends.

    def test_the_login_limit_counts_nginxs_remote_address(self):
        # From 127.0.0.2, each time with another X-Forwarded-For of its own:
        # the per-client limit holds all the same.
        for n in range(PER_CLIENT):
            self.assertEqual(self.ask_for_login_link("127.0.0.2", "spoof%d@example.edu" % n, "198.51.100.%d" % n), 303)
        self.assertEqual(self.ask_for_login_link("127.0.0.2", "spoof9@example.edu", "198.51.100.99, 203.0.113.7"),
                         429)
        # Another client (127.0.0.3) has a bucket of its own, even when it names the first.
        self.assertEqual(self.ask_for_login_link("127.0.0.3", "other@example.edu", "127.0.0.2"), 303)
        with sqlite3.connect(self.web.database) as db:
            recorded = dict(db.execute(
                "SELECT mailbox, client_address FROM login_links WHERE mailbox LIKE 'spoof%' OR mailbox = "
                "'other@example.edu'").fetchall())
        self.assertEqual(recorded, {**{"spoof%d@example.edu" % n: "127.0.0.2" for n in range(PER_CLIENT)},
                                    "other@example.edu": "127.0.0.3"})

    def test_without_trust_a_client_sent_forwarded_for_is_ignored(self):
        """MAILSEAL_TRUST_FORWARDED_FOR unset, the portal reached directly:
        the peer's address counts, X-Forwarded-For moves no one to a fresh
        bucket."""
        folder = self.work / "untrusting"
        folder.mkdir()
        web = portal.Portal(folder, extra={"MAILSEAL_LOGIN_LIMIT_PER_CLIENT": str(PER_CLIENT)})
        try:
            def ask(source, address, forwarded):
                jar = folder / ("cookies-%s" % source)
                arguments = ["curl", "-sS", "--max-time", "60", "--noproxy", "*", "--interface", source,
                             "-b", jar, "-c", jar]
                page = checked(arguments + [web.url + "/?lang=en"]).stdout
                token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
                return int(checked(arguments + [
                    "-o", "/dev/null", "-w", "%{http_code}", "-H", "X-Forwarded-For: " + forwarded,
                    "--data-urlencode", "address=" + address, "--data-urlencode", "csrf=" + token,
                    web.url + "/login"]).stdout)

            for n in range(PER_CLIENT):
                self.assertEqual(ask("127.0.0.2", "direct%d@example.edu" % n, "198.51.100.%d" % n), 303)
            self.assertEqual(ask("127.0.0.2", "direct9@example.edu", "198.51.100.99"), 429)
            self.assertEqual(ask("127.0.0.3", "fresh@example.edu", "127.0.0.2"), 303)
            with sqlite3.connect(web.database) as db:
                addresses = {row[0] for row in db.execute("SELECT client_address FROM login_links")}
            self.assertEqual(addresses, {"127.0.0.2", "127.0.0.3"})
        finally:
            web.stop()
            web.process.stdout.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
