"""Browser-side timings in headless Chromium against a running portal:
key generation per key type (median of 10), key-file encryption (PBKDF2
600,000 iterations + AES-256-CBC, median of 10), and the time from "Next"
to the key file offered (median of 5 per key type, through the real form);
then the PKCS#12 build per encoding (median of 10, an RSA 3072 key, a
certificate and a two-certificate chain of typical sizes).

    MAILSEAL_BINARY=.build/release/mailseal .venv/bin/python Benchmarks/web/measure_browser.py
"""
import pathlib
import statistics
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "Tests" / "browser"))

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

import portal  # noqa: E402

SCRIPT = """
const [type, rounds, done] = arguments;
(async () => {
  const p10 = await import('/js/pki/pkcs10.js');
  const p8 = await import('/js/pki/pkcs8.js');
  const generation = [], encryption = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    const pair = await p10.generateKeyPair(type);
    generation.push(performance.now() - t);
    t = performance.now();
    await p8.exportEncryptedPEM(pair.privateKey, 'measure-password-123456');
    encryption.push(performance.now() - t);
  }
  done({generation, encryption});
})().catch((e) => done({error: String(e)}));
"""

PKCS12_SCRIPT = """
const [rounds, done] = arguments;
(async () => {
  const p10 = await import('/js/pki/pkcs10.js');
  const p12 = await import('/js/pki/pkcs12.js');
  const pair = await p10.generateKeyPair('rsa3072');
  const privateKeyInfo = new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey));
  // Sizes of a subscriber certificate and of an issuing and a root CA.
  const blob = (n) => crypto.getRandomValues(new Uint8Array(n));
  const input = { privateKeyInfo, certificate: blob(1500), chain: [blob(1000), blob(800)],
                  password: 'measure-password-123456', friendlyName: 'Mia Messung' };
  const times = { compatible: [], modern: [] };
  for (let i = 0; i < rounds; i++) {
    for (const encoding of ['compatible', 'modern']) {
      const t = performance.now();
      await p12.buildPFX({ ...input, encoding });
      times[encoding].push(performance.now() - t);
    }
  }
  done(times);
})().catch((e) => done({error: String(e)}));
"""


def summary(values):
    return "%8.1f / %7.1f / %7.1f" % (statistics.median(values), min(values), max(values))


def main():
    folder = tempfile.TemporaryDirectory(prefix="mailseal-measure-")
    downloads = pathlib.Path(folder.name) / "downloads"
    downloads.mkdir()
    web = portal.Portal(folder.name)
    driver = portal.chromium(downloads)
    driver.set_script_timeout(600)
    try:
        wait = WebDriverWait(driver, 300)
        driver.get(web.url + "/?lang=en")
        driver.find_element(By.ID, "address").send_keys("measure@example.edu")
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "p.lead[role=status]")))
        driver.get(portal.login_link(web.eml_messages()[-1]))
        print("%-8s %28s %28s %28s" % ("key", "generation ms (median/min/max)", "encryption ms (median/min/max)",
                                          "Next→key file ms (median of 5)"))
        for key_type in ["rsa3072", "rsa4096", "p256"]:
            driver.get(web.url + "/requests/new")
            result = driver.execute_async_script(SCRIPT, key_type, 10)
            if "error" in result:
                raise RuntimeError(result["error"])
            flows = []
            for _ in range(5):
                driver.get(web.url + "/requests/new")
                wait.until(EC.visibility_of_element_located((By.ID, "request-form")))
                driver.find_element(By.ID, "givenName").send_keys("Mia")
                driver.find_element(By.ID, "surname").send_keys("Messung")
                driver.find_element(By.CSS_SELECTOR, "input[name=keyType][value=%s]" % key_type).click()
                driver.find_element(By.ID, "password").send_keys("Messung mit Kranich 42!")
                driver.find_element(By.ID, "password-repeat").send_keys("Messung mit Kranich 42!")
                driver.find_element(By.ID, "next").click()
                wait.until(EC.visibility_of_element_located((By.ID, "done")))
                flows.append(driver.execute_script("return window.mailsealTimings.untilKeyFileOffered"))

            print("%-8s %28s %28s %28.1f" % (key_type, summary(result["generation"]), summary(result["encryption"]),
                                              statistics.median(flows)))
        result = driver.execute_async_script(PKCS12_SCRIPT, 10)
        if "error" in result:
            raise RuntimeError(result["error"])
        for encoding in ["compatible", "modern"]:
            values = result[encoding]
            print("PKCS#12 %-10s build ms (median/min/max of 10): %s" % (encoding, summary(values)))
    finally:
        driver.quit()
        web.stop()
        folder.cleanup()


if __name__ == "__main__":
    main()
