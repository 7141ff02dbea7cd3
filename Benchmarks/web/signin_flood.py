"""Anonymous clients hammer staff sign-in while /healthz and OCSP are timed.

Used by Tests/hardening/test_signin_flood.py (answers only) and by
Benchmarks/web/measure_signin_flood.sh (the figures). FLOOD threads post
/operator/login with unknown addresses from many client addresses
(X-Forwarded-For, as behind a proxy), so that every attempt passes the
per-client and per-account limits and reaches the password hashing; PROBE
threads ask /healthz and POST /ocsp in turn and record each answer's time.
"""
import http.cookiejar
import json
import random
import re
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request


def ocsp_request(base, folder):
    """A DER OCSP request for an unknown serial of the portal's issuing CA."""
    slug = json.loads(urllib.request.urlopen(base + "/healthz").read())["issuer"]
    der = urllib.request.urlopen(base + "/ca/%s.cer" % slug).read()
    ca, request = folder + "/ca.der", folder + "/ocsp.der"
    open(ca, "wb").write(der)
    subprocess.run(["openssl", "x509", "-inform", "DER", "-in", ca, "-out", ca + ".pem"], check=True)
    subprocess.run(["openssl", "ocsp", "-issuer", ca + ".pem", "-serial", "0x0123456789", "-no_nonce",
                    "-reqout", request], check=True, capture_output=True)
    return open(request, "rb").read()


def flood(base, seconds, flood_threads=8, probe_threads=2):
    """Runs the flood; returns (sign-in statuses, probe records)."""
    folder = tempfile.mkdtemp(prefix="mailseal-flood-")
    ocsp = ocsp_request(base, folder)
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(urllib.request.Request(base + "/operator/login", headers={"Accept": "text/html"})).read()
    token = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    cookie = "mailseal_form=" + token
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    statuses, probes = [], []

    def attacker(index):
        rng = random.Random(index)
        while time.monotonic() < stop:
            data = ("email=nobody%d@example.edu&password=%s&csrf=%s" % (
                rng.randrange(10 ** 9), "x" * 16, token)).encode()
            request = urllib.request.Request(base + "/operator/login", data=data, headers={
                "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html",
                "X-Forwarded-For": "10.%d.%d.%d" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))})
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            except Exception as error:  # noqa: BLE001 - a refused connection is an answer too
                status = repr(error)
            with lock:
                statuses.append(status)

    def prober(index):
        kinds = ["health", "ocsp"]
        n = index
        while time.monotonic() < stop:
            kind = kinds[n % 2]
            n += 1
            began = time.perf_counter()
            try:
                if kind == "health":
                    with urllib.request.urlopen(base + "/healthz", timeout=60) as answer:
                        ok = answer.status == 200
                        answer.read()
                else:
                    request = urllib.request.Request(base + "/ocsp", data=ocsp,
                                                     headers={"Content-Type": "application/ocsp-request"})
                    with urllib.request.urlopen(request, timeout=60) as answer:
                        body = answer.read()
                        ok = answer.status == 200 and len(body) > 10
            except Exception:  # noqa: BLE001
                ok = False
            with lock:
                probes.append((kind, ok, time.perf_counter() - began))

    threads = [threading.Thread(target=attacker, args=(i,)) for i in range(flood_threads)]
    threads += [threading.Thread(target=prober, args=(i,)) for i in range(probe_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses, probes


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def summary(statuses, probes):
    lines = ["sign-in attempts: %d (%s)" % (len(statuses), dict(sorted(
        ((str(s), statuses.count(s)) for s in set(statuses)), key=lambda item: item[0])))]
    for kind in ("health", "ocsp"):
        times = [t * 1000 for k, ok, t in probes if k == kind]
        failed = sum(1 for k, ok, _ in probes if k == kind and not ok)
        if times:
            lines.append("%s: %d answers, %d failed, p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
                kind, len(times), failed, statistics.median(times), percentile(times, 0.99), max(times)))
    return "\n".join(lines)


if __name__ == "__main__":
    import sys
    statuses, probes = flood(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 20,
                             int(sys.argv[3]) if len(sys.argv) > 3 else 8)
    print(summary(statuses, probes))
