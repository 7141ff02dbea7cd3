"""Known answers for the browser's own cryptography, run in headless
Chromium on the modules the portal serves: TDEA (3DES) against NIST
SP 800-67's example and OpenSSL's des-ede3-cbc, and the PKCS#12 key
derivation (RFC 7292 appendix B) against the published test vectors and
OpenSSL's PKCS12KDF, for SHA-1 and SHA-256, every id, non-ASCII passwords."""
import hashlib
import os
import random
import subprocess
import tempfile
import unittest

import portal

SCRIPT = """
const [kind, cases, done] = arguments;
(async () => {
  const tdea = await import('/js/pki/tdea.js');
  const p12 = await import('/js/pki/pkcs12.js');
  const cms = await import('/js/pki/cms.js');
  const bytes = (hex) => Uint8Array.from(hex.match(/../g) || [], (h) => parseInt(h, 16));
  const hex = (array) => Array.from(array, (b) => b.toString(16).padStart(2, '0')).join('');
  const out = [];
  for (const c of cases) {
    if (kind === 'des') {
      out.push(hex(tdea.desEncryptBlock(bytes(c.key), bytes(c.block))));
    } else if (kind === 'tdea-ecb') {
      const cipher = tdea.tdeaKey(bytes(c.key));
      const blocks = bytes(c.plaintext);
      const result = [];
      for (let i = 0; i < blocks.length; i += 8) result.push(...cipher.encrypt(blocks.subarray(i, i + 8)));
      out.push(hex(result));
    } else if (kind === 'tdea-cbc') {
      const encrypted = tdea.encryptCBC(bytes(c.key), bytes(c.iv), bytes(c.plaintext));
      const decrypted = tdea.decryptCBC(bytes(c.key), bytes(c.iv), encrypted);
      out.push({ encrypted: hex(encrypted), decrypted: hex(decrypted) });
    } else if (kind === 'envelope') {
      try {
        out.push(hex(await cms.sealKey(bytes(c.key), c.certificates.map(bytes), c.pins)));
      } catch (e) {
        out.push({ refused: e.name });
      }
    } else if (kind === 'kdf') {
      const password = c.bmp ? p12.bmpPassword(c.password) : bytes(c.passwordHex);
      out.push(hex(await p12.derive(c.hash, c.id, password, bytes(c.salt), c.iterations, c.length)));
    }
  }
  done(out);
})().catch((e) => done({ error: String(e) }));
"""


def openssl(arguments, data=b""):
    result = subprocess.run(["openssl"] + arguments, input=data, capture_output=True, check=True)
    return result.stdout


def bmp(password):
    return (password.encode("utf-16-be") + b"\0\0").hex()


class BrowserCryptography(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory(prefix="mailseal-vectors-")
        downloads = os.path.join(cls.folder.name, "downloads")
        os.mkdir(downloads)
        cls.web = portal.Portal(cls.folder.name)
        cls.driver = portal.chromium(downloads)
        cls.driver.set_script_timeout(120)
        cls.driver.get(cls.web.url + "/?lang=en")

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.web.stop()
        cls.folder.cleanup()

    def run_cases(self, kind, cases):
        result = self.driver.execute_async_script(SCRIPT, kind, cases)
        if isinstance(result, dict) and "error" in result:
            self.fail(result["error"])
        self.assertEqual(len(result), len(cases))
        return result

    def test_des_and_tdea_known_answers(self):
        # The classic DES example (Stallings; FIPS 46 worked through) and
        # NIST SP 800-67 Rev. 1's TDEA example ("The qufck brown fox jump").
        self.assertEqual(self.run_cases("des", [{"key": "133457799bbcdff1", "block": "0123456789abcdef"}]),
                         ["85e813540f0ab405"])
        self.assertEqual(
            self.run_cases("tdea-ecb", [{"key": "0123456789abcdef23456789abcdef01456789abcdef0123",
                                         "plaintext": b"The qufck brown fox jump".hex()}]),
            ["a826fd8ce53b855fcce21c8112256fe668d5c05dd9b6b900"])

    def test_tdea_cbc_equals_openssl_and_decrypts_back(self):
        generator = random.Random(7292)
        cases = []
        for length in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 100, 1000]:
            cases.append({"key": generator.randbytes(24).hex(), "iv": generator.randbytes(8).hex(),
                          "plaintext": generator.randbytes(length).hex()})
        results = self.run_cases("tdea-cbc", cases)
        for case, result in zip(cases, results):
            expected = openssl(["enc", "-des-ede3-cbc", "-K", case["key"], "-iv", case["iv"]],
                               bytes.fromhex(case["plaintext"])).hex()
            self.assertEqual(result["encrypted"], expected, case)
            self.assertEqual(result["decrypted"], case["plaintext"])

    def test_pkcs12_kdf_published_vectors(self):
        # RFC 7292 appendix B test vectors as published with OpenSSL and
        # Bouncy Castle: password "smeg", salt 0A58CF64530D823F, one iteration.
        cases = [
            {"hash": "SHA-1", "id": 1, "password": "smeg", "bmp": True, "salt": "0a58cf64530d823f",
             "iterations": 1, "length": 24},
            {"hash": "SHA-1", "id": 2, "password": "smeg", "bmp": True, "salt": "0a58cf64530d823f",
             "iterations": 1, "length": 8},
        ]
        self.assertEqual(self.run_cases("kdf", cases),
                         ["8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3", "79993dfe048d3b76"])

    def test_pkcs12_kdf_equals_openssl(self):
        generator = random.Random(12)
        passwords = ["", "smeg", "Kranich-Flug-42", "Zoë Müller – Paßwort", "日本語のパスワード", "x" * 70]
        cases = []
        for index, password in enumerate(passwords * 4):
            cases.append({
                "hash": ["SHA-1", "SHA-256"][index % 2], "id": 1 + index % 3, "password": password, "bmp": True,
                "salt": generator.randbytes([8, 16, 20, 64, 65][index % 5]).hex(),
                "iterations": [1, 2, 1000, 2048][index % 4], "length": [8, 20, 24, 32, 40, 70][index % 6],
            })
        results = self.run_cases("kdf", cases)
        for case, result in zip(cases, results):
            # OpenSSL's KDF takes the password as octets: the BMPString with
            # its terminator, as PKCS12_key_gen_utf8 makes it.
            expected = openssl([
                "kdf", "-binary", "-keylen", str(case["length"]),
                "-kdfopt", "digest:" + case["hash"].replace("-", ""),
                "-kdfopt", "hexpass:" + bmp(case["password"]), "-kdfopt", "hexsalt:" + case["salt"],
                "-kdfopt", "iter:%d" % case["iterations"], "-kdfopt", "id:%d" % case["id"], "PKCS12KDF"]).hex()
            self.assertEqual(result, expected, case)
            # The JavaScript BMP encoding equals Python's UTF-16BE + terminator.
        self.assertEqual(self.run_cases("kdf", [dict(cases[3], bmp=False, passwordHex=bmp(cases[3]["password"]))]),
                         [results[3]])

    def test_escrow_envelope_opened_by_openssl_and_mailseal(self):
        # Two recovery certificates (RSA 3072 and 4096), a P-256 and an
        # RSA-2048 encryption key: the browser seals each key for both;
        # `openssl cms -decrypt` (an independent judge) opens it with
        # either recovery key, and `mailseal recovery open` reads the very
        # shape the browser wrote and finds the key of the certificate.
        work = tempfile.mkdtemp(dir=self.folder.name)
        path = lambda name: os.path.join(work, name)
        recovery = []
        for bits in (3072, 4096):
            subprocess.run([
                "openssl", "req", "-x509", "-newkey", "rsa:%d" % bits, "-nodes", "-keyout", path("r%d.key" % bits),
                "-subj", "/CN=Recovery %d" % bits, "-days", "30", "-addext", "keyUsage=critical,keyEncipherment",
                "-addext", "basicConstraints=critical,CA:FALSE", "-outform", "DER", "-out", path("r%d.der" % bits)],
                check=True, capture_output=True)
            recovery.append(bits)
        def read(name):
            with open(path(name), "rb") as handle:
                return handle.read()
        certificates = [read("r%d.der" % bits).hex() for bits in recovery]
        # The pins, as MAILSEAL_RECOVERY_FINGERPRINTS gives them (colons and
        # case do not matter to the browser either).
        pins = [hashlib.sha256(bytes.fromhex(c)).hexdigest() for c in certificates]
        pins[0] = ":".join(pins[0][i:i + 2] for i in range(0, 64, 2)).upper()
        # What the envelope names each recipient by: SHA-256 of its
        # SubjectPublicKeyInfo (as OpenSSL extracts it).
        key_ids = [hashlib.sha256(openssl(["pkey", "-pubin", "-outform", "DER"], openssl(
            ["x509", "-inform", "DER", "-in", path("r%d.der" % bits), "-pubkey", "-noout"]))).digest()
            for bits in recovery]
        for name, options in (("ec", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]),
                              ("rsa", ["-newkey", "rsa:2048"])):
            subprocess.run(["openssl", "req", "-x509"] + options + [
                "-nodes", "-keyout", path(name + ".pem"), "-subj", "/CN=Erika Mustermann", "-days", "30",
                "-out", path(name + ".crt")], check=True, capture_output=True)
            key = openssl(["pkcs8", "-topk8", "-nocrypt", "-in", path(name + ".pem"), "-outform", "DER"])
            [envelope] = self.run_cases("envelope", [{"key": key.hex(), "certificates": certificates,
                                                      "pins": pins}])
            for key_id in key_ids:
                self.assertIn(key_id, bytes.fromhex(envelope))
            with open(path(name + ".env"), "wb") as handle:
                handle.write(bytes.fromhex(envelope))
            for bits in recovery:
                opened = openssl(["cms", "-decrypt", "-inform", "DER", "-in", path(name + ".env"),
                                  "-inkey", path("r%d.key" % bits)])
                self.assertEqual(opened, key, (name, bits))
            result = subprocess.run([
                self.web.binary, "recovery", "open", "--envelope", path(name + ".env"), "--key", path("r4096.key"),
                "--certificate", path(name + ".crt"), "--out", path(name + ".p12")],
                capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
            self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
            password = result.stdout.strip().splitlines()[-1]
            recovered = openssl(["pkcs12", "-in", path(name + ".p12"), "-passin", "pass:" + password,
                                 "-nodes", "-nocerts"])
            self.assertEqual(openssl(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"], recovered), key)
        # No two envelopes of one key are alike (fresh content key and IV).
        again = self.run_cases("envelope", [{"key": key.hex(), "certificates": certificates, "pins": pins}] * 2)
        self.assertNotEqual(again[0], again[1])
        # Certificates that are not the pinned ones get nothing sealed to
        # them: one pin wrong, one missing, one too many.
        wrong = [pins[0], hashlib.sha256(b"another certificate").hexdigest()]
        refused = self.run_cases("envelope", [
            {"key": key.hex(), "certificates": certificates, "pins": wrong},
            {"key": key.hex(), "certificates": certificates, "pins": pins[:1]},
            {"key": key.hex(), "certificates": certificates[:1], "pins": pins},
        ])
        self.assertEqual(refused, [{"refused": "PinMismatchError"}] * 3)


if __name__ == "__main__":
    unittest.main()
