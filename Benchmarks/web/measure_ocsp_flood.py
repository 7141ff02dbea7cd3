"""OCSP under a nonce flood: 32 connections (wrk, 2 threads) send OCSP
requests with a nonce as fast as they can, while a steady client sends one
request without a nonce every 10 ms and asks /healthz every 100 ms. Prints
the steady client's and /healthz's latency (p50, p99, max), the flood's
rate, and how many flood answers carried their nonce (signed for them)
against those answered from the response signed ahead.

Run twice: the responder key in a file, and in a SoftHSM2 token. Called by
Benchmarks/web/measure_ocsp.sh (FLOOD=1) or alone:

    python3 Benchmarks/web/measure_ocsp_flood.py BINARY [file|softhsm ...]

Environment: N (certificates, 50), DURATION (seconds, 20), CONNECTIONS (32).
"""
import base64
import http.client
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

N = int(os.environ.get("N", "50"))
DURATION = int(os.environ.get("DURATION", "20"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "32"))
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
HERE = pathlib.Path(__file__).resolve().parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(arguments, **kwargs):
    return subprocess.run(arguments, check=True, capture_output=True, **kwargs)


def softhsm(folder):
    tokens = folder / "tokens"
    tokens.mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text("directories.tokendir = %s\nobjectstore.backend = file\n" % tokens)
    env = dict(os.environ, SOFTHSM2_CONF=str(conf))
    run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", "1234",
         "--so-pin", "12345678"], env=env)
    pin = folder / "pin"
    pin.write_text("1234\n")
    pin.chmod(0o600)
    return {"SOFTHSM2_CONF": str(conf), "MAILSEAL_PKCS11_MODULE": SOFTHSM_MODULE,
            "MAILSEAL_PKCS11_PIN_FILE": str(pin), "MAILSEAL_PKCS11_TOKEN": "bench"}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def steady(url_host, port, body, stop, latencies, interval, path, method):
    connection = http.client.HTTPConnection(url_host, port, timeout=10)
    headers = {"Content-Type": "application/ocsp-request"} if body else {}
    next_at = time.monotonic()
    while not stop.is_set():
        started = time.monotonic()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append((time.monotonic() - started) * 1000)
        if response.status != 200:
            latencies.append(float("inf"))
        next_at += interval
        time.sleep(max(0, next_at - time.monotonic()))
    connection.close()


def measure(binary, custody):
    folder = pathlib.Path(tempfile.mkdtemp(prefix="mailseal-flood-"))
    port = free_port()
    url = "http://127.0.0.1:%d" % port
    env = dict(os.environ, MAILSEAL_DATA_DIR=str(folder / "data"), MAILSEAL_PUBLIC_URL=url,
               MAILSEAL_CA_PASSPHRASE="measure-flood-passphrase-0123", MAILSEAL_ALLOWED_DOMAINS="example.edu",
               LOG_LEVEL="warning")
    env.pop("DATABASE_URL", None)
    env.pop("MAILSEAL_OCSP_LISTEN", None)
    if custody == "softhsm":
        env.update(softhsm(folder))
    portal = subprocess.Popen([binary, "serve", "--env", "production", "--hostname", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=open(folder / "serve.log", "w"),
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or portal.poll() is not None:
                raise SystemExit("the portal did not start:\n" + (folder / "serve.log").read_text())
            time.sleep(0.2)
        certificates = folder / "certs"
        certificates.mkdir()
        for i in range(N):
            key, csr, pem = (str(certificates / ("%d.%s" % (i, ext))) for ext in ("key", "csr", "pem"))
            run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-subj", "/CN=x", "-out", csr])
            run([binary, "ca", "issue", "--csr", csr, "--email", "flood%d@example.edu" % i, "--mailbox-only",
                 "--out", pem], env=env)
        aia = run(["openssl", "x509", "-in", str(certificates / "0.pem"), "-noout", "-ext",
                   "authorityInfoAccess"], text=True).stdout
        issuer_url = [line.split("URI:", 1)[1] for line in aia.splitlines() if "CA Issuers" in line][0]
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.request("GET", issuer_url.split(str(port), 1)[1])
        issuer = folder / "issuing.pem"
        issuer.write_bytes(run(["openssl", "x509", "-inform", "DER"], input=connection.getresponse().read()).stdout)
        plain, nonces = [], []
        for i in range(N):
            for list_, extra in ((plain, ["-no_nonce"]), (nonces, [])):
                out = folder / "request.der"
                run(["openssl", "ocsp", "-issuer", str(issuer), "-cert", str(certificates / ("%d.pem" % i)),
                     "-reqout", str(out)] + extra)
                list_.append(out.read_bytes())
        # A nonce request's nonce: the OCTET STRING inside the extension.
        flood_file = folder / "flood.hex"
        flood_file.write_text("".join(request.hex() + "\n" for request in nonces))
        # Warm up: every plain request once (signed ahead by now anyway).
        for request in plain:
            connection.request("POST", "/ocsp", body=request, headers={"Content-Type": "application/ocsp-request"})
            assert connection.getresponse().read()
        # The flood's answers: how many carry their nonce, sampled.
        def echoed(sample):
            carried = 0
            for request in sample:
                connection.request("POST", "/ocsp", body=request,
                                   headers={"Content-Type": "application/ocsp-request"})
                answer = connection.getresponse().read()
                carried += request[-16:] in answer
            return carried

        stop = threading.Event()
        ocsp_latencies, health_latencies = [], []
        wrk = subprocess.Popen(
            ["wrk", "-t2", "-c%d" % CONNECTIONS, "-d%ds" % DURATION, "--latency", "-s", str(HERE / "ocsp.lua"), url],
            env=dict(os.environ, OCSP_MODE="post", OCSP_REQUESTS=str(flood_file), OCSP_PATH="/ocsp"),
            stdout=subprocess.PIPE, text=True)
        time.sleep(2)  # let the flood reach its pace before measuring (not a synchronisation)
        threads = [
            threading.Thread(target=steady, args=("127.0.0.1", port, plain[0], stop, ocsp_latencies, 0.01,
                                                  "/ocsp", "POST")),
            threading.Thread(target=steady, args=("127.0.0.1", port, None, stop, health_latencies, 0.1,
                                                  "/healthz", "GET")),
        ]
        for thread in threads:
            thread.start()
        carried = echoed(nonces[:20])
        time.sleep(max(0, DURATION - 6))
        stop.set()
        for thread in threads:
            thread.join()
        output = wrk.communicate()[0]
        rate = [line.split()[1] for line in output.splitlines() if line.startswith("Requests/sec")]
        print("%-8s nonce flood: %s req/s (wrk -t2 -c%d -d%ds); %d of 20 sampled flood answers carried their "
              "nonce" % (custody, rate[0] if rate else "?", CONNECTIONS, DURATION, carried))
        for name, values in (("steady OCSP (no nonce, 100/s)", ocsp_latencies),
                             ("/healthz (10/s)", health_latencies)):
            print("%-8s %-32s n=%5d p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms" % (
                custody, name, len(values), statistics.median(values), percentile(values, 0.99), max(values)))
    finally:
        portal.terminate()
        portal.wait()


if __name__ == "__main__":
    binary = sys.argv[1]
    for custody in sys.argv[2:] or ["file", "softhsm"]:
        measure(binary, custody)
