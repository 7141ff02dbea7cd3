// The request form: the browser makes the key pair, the PKCS#10 request and
// the encrypted key file. Only the request and the names are sent; the
// private key and its password never leave this page.
import * as der from "./pki/der.js";
import { generateKeyPair, createRequest } from "./pki/pkcs10.js";
import { exportEncryptedPEM } from "./pki/pkcs8.js";
import { sealKey, PinMismatchError } from "./pki/cms.js";
import * as password from "./password.js";

const form = document.getElementById("request-form");
const lang = form?.dataset.lang === "en" ? "en" : "de";
// The words come from the page (the catalogue, in the page's language).
const TEXT = {
  strength: (form?.dataset.textStrength ?? "").split("|"),
  tooShort: form?.dataset.textTooShort,
  common: form?.dataset.textCommon,
  repeated: form?.dataset.textRepeated,
  sequence: form?.dataset.textSequence,
  mailbox: form?.dataset.textMailbox,
  mismatch: form?.dataset.textMismatch,
  missing: form?.dataset.textMissing,
  network: form?.dataset.textNetwork,
  consent: form?.dataset.textConsent,
  pinMismatch: form?.dataset.textPinMismatch,
};

/** Timings of the last run, read by the browser tests. */
window.mailsealTimings = {};

function supported() {
  return window.isSecureContext && window.crypto && window.crypto.subtle && typeof TextEncoder === "function";
}

function show(id, message) {
  const element = document.getElementById(id);
  if (!element) return;
  element.textContent = message ?? "";
  element.hidden = !message;
  const input = document.getElementById(id.replace(/-error$/, ""));
  if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
}

function mailboxType() {
  return form.querySelector("input[name=mailboxType]:checked").value;
}

/** Both kinds name a person: the holder of a personal mailbox, or the
 * person responsible for a role mailbox (whose ID the desk checks). */
function updateType() {
  const personal = mailboxType() === "personal";
  document.getElementById("role-fields").hidden = personal;
  for (const id of ["responsible-title", "responsible-hint"]) {
    const element = document.getElementById(id);
    if (element && !form.dataset.renewal) element.hidden = personal;
  }
  const namesHint = document.getElementById("names-hint");
  if (namesHint) namesHint.hidden = !personal;
}

/** Whether this request escrows its encryption key (two key pairs). */
function escrowChosen() {
  return form.querySelector("input[name=escrowChoice]:checked")?.value === "escrow";
}

function updateEscrow() {
  const label = document.getElementById("escrow-consent-label");
  if (label) label.hidden = !escrowChosen();
  if (!escrowChosen()) show("escrow-error", null);
}

function updateStrength() {
  const value = document.getElementById("password").value;
  const score = password.strength(value, form.dataset.mailbox);
  document.getElementById("strength-meter").value = score;
  document.getElementById("strength").textContent = value ? TEXT.strength[score] : "";
}

/** The password's problems, shown; true when there are none. */
function checkPassword() {
  const found = password.problems(
    document.getElementById("password").value,
    document.getElementById("password-repeat").value,
    form.dataset.mailbox,
  );
  show("password-error", found.length ? found.map((key) => TEXT[key]).join(" ") : null);
  return found.length === 0;
}

/** Once a field's error is shown, it follows the field: it goes as soon as
 * the field is right, and changes when the problem changes. */
function recheck(event) {
  const id = event.target.id;
  if (id === "password" || id === "password-repeat") {
    if (!document.getElementById("password-error").hidden) checkPassword();
  } else if (["givenName", "surname", "commonName"].includes(id) && event.target.value.trim()) {
    show(`${id}-error`, null);
  }
}

function validate() {
  let valid = true;
  const required =
    mailboxType() === "personal" ? ["givenName", "surname"] : ["commonName", "givenName", "surname"];
  for (const id of ["givenName", "surname", "commonName"]) show(`${id}-error`, null);
  for (const id of required) {
    if (!document.getElementById(id).value.trim()) {
      show(`${id}-error`, TEXT.missing);
      valid = false;
    }
  }
  if (escrowChosen() && !document.getElementById("escrow-consent").checked) {
    show("escrow-error", TEXT.consent);
    valid = false;
  } else {
    show("escrow-error", null);
  }
  return checkPassword() && valid;
}

/** Key escrow: a second key pair for encryption, its request, and its
 * PKCS#8 sealed for every recovery certificate — all before anything is
 * sent. The signing key (the first pair) is never escrowed. */
async function escrowPart(keyType) {
  const recovery = (form.dataset.recovery ?? "").split(" ").filter(Boolean).map(der.fromBase64);
  // The pins come from the portal's configuration, not from its database:
  // certificates that do not match them get nothing sealed to them.
  const pins = (form.dataset.recoveryPins ?? "").split(" ").filter(Boolean);
  const keyPair = await generateKeyPair(keyType);
  const encryptionCsr = der.toPEM("CERTIFICATE REQUEST", await createRequest(keyPair, form.dataset.mailbox));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keyPair.privateKey));
  try {
    const envelope = der.toBase64(await sealKey(pkcs8, recovery, pins));
    return { keyPair, fields: { encryptionCsr, escrowEnvelope: envelope, escrowConsent: true } };
  } catch (error) {
    if (error instanceof PinMismatchError) throw new Error(TEXT.pinMismatch);
    throw error;
  } finally {
    pkcs8.fill(0);
  }
}

async function submit(event) {
  event.preventDefault();
  show("form-error", null);
  if (!validate()) {
    form.querySelector("[aria-invalid=true]")?.focus();
    return;
  }
  const button = document.getElementById("next");
  const working = document.getElementById("working");
  button.disabled = true;
  working.hidden = false;
  const keyType = form.querySelector("input[name=keyType]:checked").value;
  const secret = document.getElementById("password").value;
  const timings = { keyType };
  const started = performance.now();
  try {
    const keyPair = await generateKeyPair(keyType);
    timings.keyGeneration = performance.now() - started;
    const csr = der.toPEM("CERTIFICATE REQUEST", await createRequest(keyPair, form.dataset.mailbox));
    const encryptStarted = performance.now();
    const escrowStarted = performance.now();
    const escrow = escrowChosen() ? await escrowPart(keyType) : null;
    if (escrow) timings.escrow = performance.now() - escrowStarted;
    // With escrow the key file holds both keys, one password for both: the
    // signing key first, then the encryption key.
    let keyFile = await exportEncryptedPEM(keyPair.privateKey, secret);
    if (escrow) keyFile += "\n" + (await exportEncryptedPEM(escrow.keyPair.privateKey, secret));
    timings.keyEncryption = performance.now() - encryptStarted;

    const body = { mailboxType: mailboxType(), keyType, csr, ...(escrow?.fields ?? {}) };
    // A renewal names the certificate it renews; the names are its own.
    if (form.dataset.renewal) body.renewalOf = form.dataset.renewal;
    body.givenName = document.getElementById("givenName").value;
    body.surname = document.getElementById("surname").value;
    if (body.mailboxType === "role") body.commonName = document.getElementById("commonName").value;
    // MAILSEAL_PUBLISH=consent: the holder's answer (none chosen: no).
    const publish = form.querySelector("input[name=publish]:checked");
    if (publish) body.publishConsent = publish.value === "yes";
    let response;
    try {
      response = await fetch("/api/v1/requests", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "Accept-Language": lang,
          "X-CSRF-Token": document.querySelector("meta[name=csrf-token]").content,
        },
        body: JSON.stringify(body),
      });
    } catch {
      throw new Error(TEXT.network);
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      for (const [field, message] of Object.entries(answer.errors ?? {})) show(`${field}-error`, message);
      throw new Error(answer.detail ?? TEXT.network);
    }
    const url = URL.createObjectURL(new Blob([keyFile], { type: "application/x-pem-file" }));
    const link = document.getElementById("download");
    link.href = url;
    link.download = answer.keyFileName;
    document.getElementById("done-number").textContent = answer.number;
    document.getElementById("done-details").href = `/requests/${encodeURIComponent(answer.number)}?submitted=1`;
    timings.untilKeyFileOffered = performance.now() - started;
    window.mailsealTimings = timings;
    form.reset();
    form.hidden = true;
    const done = document.getElementById("done");
    done.hidden = false;
    done.dataset.number = answer.number;
    done.querySelector("h2").setAttribute("tabindex", "-1");
    done.querySelector("h2").focus();
    link.click();
  } catch (error) {
    show("form-error", error.message);
    button.disabled = false;
  } finally {
    working.hidden = true;
  }
}

if (form) {
  if (!supported()) {
    document.getElementById("unsupported").hidden = false;
  } else {
    form.hidden = false;
    form.addEventListener("change", (event) => {
      if (event.target.name === "mailboxType") updateType();
      if (event.target.name === "escrowChoice") updateEscrow();
    });
    document.getElementById("password").addEventListener("input", updateStrength);
    form.addEventListener("input", recheck);
    form.addEventListener("submit", submit);
    updateType();
    updateEscrow();
  }
}
