// PKCS#10 certification requests (RFC 2986) made with WebCrypto keys.
import * as der from "./der.js";

const OID = {
  commonName: "2.5.4.3",
  extensionRequest: "1.2.840.113549.1.9.14",
  subjectAltName: "2.5.29.17",
  sha256WithRSAEncryption: "1.2.840.113549.1.1.11",
  ecdsaWithSHA256: "1.2.840.10045.4.3.2",
};

/** The key types the portal offers, as WebCrypto algorithms. */
export const KEY_TYPES = {
  rsa3072: {
    label: "RSA 3072",
    generate: { name: "RSASSA-PKCS1-v1_5", modulusLength: 3072, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" },
  },
  rsa4096: {
    label: "RSA 4096",
    generate: { name: "RSASSA-PKCS1-v1_5", modulusLength: 4096, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-256" },
  },
  p256: { label: "ECDSA P-256", generate: { name: "ECDSA", namedCurve: "P-256" } },
};

/** Makes an extractable key pair of one of KEY_TYPES (the private key is
 *  exported once, encrypted, into the key file). */
export async function generateKeyPair(type) {
  const spec = KEY_TYPES[type];
  if (!spec) throw new RangeError(`unknown key type ${type}`);
  return crypto.subtle.generateKey(spec.generate, true, ["sign", "verify"]);
}

/** Converts a WebCrypto ECDSA signature (r‖s) to a DER ECDSA-Sig-Value. */
export function ecdsaSignatureToDER(raw) {
  const half = raw.length / 2;
  return der.sequence(der.integer(raw.subarray(0, half)), der.integer(raw.subarray(half)));
}

/**
 * Builds and signs a PKCS#10 request for `email`: the address as common name
 * and as the rfc822Name of a requested subjectAltName. (The CA builds the
 * certificate from the validated data; the request proves possession of the
 * key.) Returns the request's DER.
 */
export async function createRequest(keyPair, email) {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keyPair.publicKey));
  const subject = der.sequence(der.set(der.sequence(der.oid(OID.commonName), der.utf8String(email))));
  const san = der.sequence(der.implicitPrimitive(1, new TextEncoder().encode(email)));
  const extensions = der.sequence(der.sequence(der.oid(OID.subjectAltName), der.octetString(san)));
  const attributes = der.implicitConstructed(0, der.sequence(der.oid(OID.extensionRequest), der.set(extensions)));
  const info = der.sequence(der.integer(0), subject, spki, attributes);

  const isEC = keyPair.privateKey.algorithm.name === "ECDSA";
  const signed = new Uint8Array(
    await crypto.subtle.sign(
      isEC ? { name: "ECDSA", hash: "SHA-256" } : { name: "RSASSA-PKCS1-v1_5" },
      keyPair.privateKey,
      info,
    ),
  );
  const signature = isEC ? ecdsaSignatureToDER(signed) : signed;
  const algorithm = isEC ? der.algorithm(OID.ecdsaWithSHA256) : der.algorithm(OID.sha256WithRSAEncryption, der.nullValue());
  return der.sequence(info, algorithm, der.bitString(signature));
}
