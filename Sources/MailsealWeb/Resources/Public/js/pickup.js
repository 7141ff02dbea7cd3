// The pickup page: the browser decrypts the key file, checks that the key is
// the certificate's, and builds the PKCS#12. Nothing of the key or its
// password is sent anywhere; the only request fetches the certificates.
import * as der from "./pki/der.js";
import { decryptPrivateKeyInfo, KeyFileError } from "./pki/pkcs8.js";
import { buildPFX, keyMatchesCertificate } from "./pki/pkcs12.js";

const form = document.getElementById("pickup-form");
window.mailsealTimings = {};

function showError(message) {
  const element = document.getElementById("pickup-error");
  element.textContent = message ?? "";
  element.hidden = !message;
}

async function build(event) {
  event.preventDefault();
  showError(null);
  const file = document.getElementById("key-file").files[0];
  const password = document.getElementById("password").value;
  if (!file) {
    showError(form.dataset.errorFile);
    return;
  }
  const button = document.getElementById("build");
  const status = document.getElementById("building");
  button.disabled = true;
  status.hidden = false;
  const started = performance.now();
  try {
    const bundle = await (await fetch(`${form.dataset.base}/bundle.json`, { credentials: "same-origin" })).json();
    const certificate = der.fromBase64(bundle.certificate);
    const chain = bundle.chain.map(der.fromBase64);
    // With key escrow the key file holds two keys (signing, encryption)
    // under one password, and there are two certificates: each key goes
    // with the certificate whose public key it is.
    const blocks = der.allFromPEM(await file.text(), "ENCRYPTED PRIVATE KEY");
    if (blocks.length === 0 || blocks.length > 2) throw new Error(form.dataset.errorFile);
    const keys = [];
    for (const block of blocks) {
      try {
        keys.push(await decryptPrivateKeyInfo(block, password));
      } catch (error) {
        if (error instanceof KeyFileError && error.code === "wrong-password") throw new Error(form.dataset.errorPassword);
        throw new Error(form.dataset.errorFile);
      }
    }
    async function keyOf(wanted) {
      for (const key of keys) if (await keyMatchesCertificate(key, wanted)) return key;
      throw new Error(form.dataset.errorMismatch);
    }
    const privateKeyInfo = await keyOf(certificate);
    const more = [];
    if (bundle.encryptionCertificate) {
      const encryptionCertificate = der.fromBase64(bundle.encryptionCertificate);
      more.push({
        privateKeyInfo: await keyOf(encryptionCertificate),
        certificate: encryptionCertificate,
        friendlyName: `${bundle.friendlyName} (${form.dataset.encryptionName})`,
      });
    }
    const encoding = form.querySelector("input[name=encoding]:checked").value;
    const pfx = await buildPFX({
      privateKeyInfo, certificate, chain, password, friendlyName: bundle.friendlyName, encoding, more,
    });
    for (const key of keys) key.fill(0);
    window.mailsealTimings = { encoding, pkcs12: performance.now() - started };
    const link = document.getElementById("p12-download");
    link.href = URL.createObjectURL(new Blob([pfx], { type: "application/x-pkcs12" }));
    link.download = `mailseal-${bundle.number}-${encoding}.p12`;
    const done = document.getElementById("pickup-done");
    done.hidden = false;
    done.dataset.encoding = encoding;
    link.click();
  } catch (error) {
    showError(error.message);
  } finally {
    button.disabled = false;
    status.hidden = true;
  }
}

if (form) {
  if (!(window.isSecureContext && window.crypto && window.crypto.subtle)) {
    document.getElementById("unsupported").hidden = false;
  } else {
    form.hidden = false;
    form.addEventListener("submit", build);
  }
}
