// Key escrow's envelope (RFC 5652 §6 EnvelopedData), made in the browser:
// the encryption key's PKCS#8 under a fresh AES-256-CBC key, and that key
// encrypted with RSAES-OAEP (SHA-256, MGF1-SHA-256; RFC 8017, RFC 4055) to
// each recovery certificate, named by its key: the SHA-256 of its
// SubjectPublicKeyInfo (RFC 5652 rid subjectKeyIdentifier, RFC 7093 §2
// method 4), so the server checks the envelope against the pinned keys,
// not against an issuer and serial number anyone can copy. The server can
// read who it is for, never what is in it. `openssl cms -decrypt` opens
// it; so does `mailseal recovery open`, which reads exactly this shape.
import * as der from "./der.js";

const OID = {
  envelopedData: "1.2.840.113549.1.7.3",
  data: "1.2.840.113549.1.7.1",
  rsaesOAEP: "1.2.840.113549.1.1.7",
  mgf1: "1.2.840.113549.1.1.8",
  sha256: "2.16.840.1.101.3.4.2.1",
  aes256CBC: "2.16.840.1.101.3.4.1.42",
};

/** The most recovery certificates an envelope is made for (the server's limit). */
export const MAXIMUM_RECIPIENTS = 8;

/** A certificate's issuer Name, serial number and SubjectPublicKeyInfo (DER). */
export function recipientOf(certificate) {
  const tbs = der.parseAll(certificate).children[0];
  const fields = tbs.children[0].tag === 0xa0 ? tbs.children.slice(1) : tbs.children;
  // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo
  return { serial: fields[0].encoded, issuer: fields[2].encoded, spki: fields[5].encoded };
}

/** The recovery certificates are not the pinned ones: nothing was sealed. */
export class PinMismatchError extends Error {
  constructor() {
    super("the recovery certificates do not match their pins");
    this.name = "PinMismatchError";
  }
}

/** SHA-256 of bytes, as lower-case hex. */
async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks the recovery certificates the page gave against the pins the page
 * gave separately (MAILSEAL_RECOVERY_FINGERPRINTS: SHA-256 of each whole
 * certificate): exactly the pinned certificates, each once, or nothing is
 * sealed.
 *
 * @param {Uint8Array[]} certificates DER
 * @param {string[]} pins SHA-256 fingerprints, hex (colons and case ignored)
 * @returns {Promise<boolean>}
 */
export async function matchesPins(certificates, pins) {
  const wanted = new Set(pins.map((pin) => pin.replaceAll(":", "").toLowerCase()));
  if (wanted.size === 0 || wanted.size !== pins.length || certificates.length !== wanted.size) return false;
  const found = new Set();
  for (const certificate of certificates) found.add(await sha256Hex(certificate));
  return found.size === wanted.size && [...found].every((fingerprint) => wanted.has(fingerprint));
}

/** RSAES-OAEP with SHA-256 and MGF1-SHA-256, as OpenSSL writes it (hash parameters absent). */
function oaepSHA256() {
  const sha256 = der.sequence(der.oid(OID.sha256));
  return der.sequence(
    der.oid(OID.rsaesOAEP),
    der.sequence(der.explicit(0, sha256), der.explicit(1, der.sequence(der.oid(OID.mgf1), sha256))),
  );
}

/** DER orders a SET OF by the encodings of its elements. */
function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Seals a PKCS#8 private key for the recovery certificates.
 *
 * @param {Uint8Array} privateKeyInfo the key to escrow (DER PKCS#8)
 * @param {Uint8Array[]} certificates the recovery certificates in force (DER)
 * @param {string[]} pins their SHA-256 fingerprints as pinned (hex): nothing
 *   is sealed unless the certificates are exactly these
 * @returns {Promise<Uint8Array>} the ContentInfo (DER)
 */
export async function sealKey(privateKeyInfo, certificates, pins) {
  if (certificates.length === 0 || certificates.length > MAXIMUM_RECIPIENTS) {
    throw new RangeError(`an envelope is made for 1 to ${MAXIMUM_RECIPIENTS} recovery certificates`);
  }
  if (!(await matchesPins(certificates, pins ?? []))) {
    throw new PinMismatchError();
  }
  const contentKey = crypto.getRandomValues(new Uint8Array(32));
  try {
    const iv = crypto.getRandomValues(new Uint8Array(16));
    const aes = await crypto.subtle.importKey("raw", contentKey, { name: "AES-CBC" }, false, ["encrypt"]);
    const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, aes, privateKeyInfo));
    const infos = [];
    for (const certificate of certificates) {
      const { spki } = recipientOf(certificate);
      const keyIdentifier = new Uint8Array(await crypto.subtle.digest("SHA-256", spki));
      const publicKey = await crypto.subtle.importKey("spki", spki, { name: "RSA-OAEP", hash: "SHA-256" }, false, ["encrypt"]);
      const encryptedKey = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, publicKey, contentKey));
      // Version 2: the recipient named by [0] subjectKeyIdentifier.
      infos.push(der.sequence(der.integer(2), der.implicitPrimitive(0, keyIdentifier), oaepSHA256(), der.octetString(encryptedKey)));
    }
    infos.sort(compareBytes);
    // Version 2, as a recipient is named by key identifier (RFC 5652 §6.1).
    const envelopedData = der.sequence(
      der.integer(2),
      der.set(...infos),
      der.sequence(
        der.oid(OID.data),
        der.sequence(der.oid(OID.aes256CBC), der.octetString(iv)),
        der.implicitPrimitive(0, ciphertext),
      ),
    );
    return der.sequence(der.oid(OID.envelopedData), der.explicit(0, envelopedData));
  } finally {
    contentKey.fill(0);
  }
}
