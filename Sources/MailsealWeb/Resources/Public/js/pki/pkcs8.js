// PKCS#8 private keys encrypted with a password (RFC 5958, RFC 8018 PBES2):
// PBKDF2-HMAC-SHA256 and AES-256-CBC, the form `openssl pkey` reads.
import * as der from "./der.js";

const OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  hmacWithSHA256: "1.2.840.113549.2.9",
  aes256CBC: "2.16.840.1.101.3.4.1.42",
};

/** Iterations of PBKDF2 for key files (OWASP 2023 for HMAC-SHA256). */
export const DEFAULT_ITERATIONS = 600000;

async function deriveKey(password, salt, iterations, usage) {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    { name: "AES-CBC", length: 256 },
    false,
    [usage],
  );
}

/** Encrypts a DER PrivateKeyInfo; returns the EncryptedPrivateKeyInfo DER. */
export async function encryptPrivateKeyInfo(privateKeyInfo, password, iterations = DEFAULT_ITERATIONS) {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(16));
  const key = await deriveKey(password, salt, iterations, "encrypt");
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-CBC", iv }, key, privateKeyInfo));
  const parameters = der.sequence(
    der.sequence(
      der.oid(OID.pbkdf2),
      der.sequence(der.octetString(salt), der.integer(iterations), der.algorithm(OID.hmacWithSHA256, der.nullValue())),
    ),
    der.sequence(der.oid(OID.aes256CBC), der.octetString(iv)),
  );
  return der.sequence(der.sequence(der.oid(OID.pbes2), parameters), der.octetString(ciphertext));
}

/** Exports a WebCrypto private key and encrypts it; returns PEM text. */
export async function exportEncryptedPEM(privateKey, password, iterations = DEFAULT_ITERATIONS) {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", privateKey));
  try {
    return der.toPEM("ENCRYPTED PRIVATE KEY", await encryptPrivateKeyInfo(pkcs8, password, iterations));
  } finally {
    pkcs8.fill(0);
  }
}

/** The error a wrong password or a damaged file gives. */
export class KeyFileError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * Decrypts an EncryptedPrivateKeyInfo (PEM or DER) written by us or by
 * OpenSSL (PBES2, PBKDF2 with HMAC-SHA256, AES-256-CBC). Returns the
 * PrivateKeyInfo DER. Throws KeyFileError("not-a-key-file") or
 * KeyFileError("wrong-password").
 */
export async function decryptPrivateKeyInfo(input, password) {
  let bytes = input;
  try {
    if (typeof input === "string") bytes = der.fromPEM(input, "ENCRYPTED PRIVATE KEY");
    const root = der.parseAll(bytes);
    const [algorithm, data] = root.children;
    if (der.readOid(algorithm.children[0]) !== OID.pbes2) throw new Error("not PBES2");
    const [kdf, scheme] = algorithm.children[1].children;
    if (der.readOid(kdf.children[0]) !== OID.pbkdf2) throw new Error("not PBKDF2");
    const [saltNode, iterationsNode, ...rest] = kdf.children[1].children;
    const prf = rest.find((node) => node.tag === 0x30);
    if (!prf || der.readOid(prf.children[0]) !== OID.hmacWithSHA256) throw new Error("PRF is not HMAC-SHA256");
    if (der.readOid(scheme.children[0]) !== OID.aes256CBC) throw new Error("cipher is not AES-256-CBC");
    const iterationBytes = der.readUnsignedInteger(iterationsNode);
    const iterations = iterationBytes.reduce((value, byte) => value * 256 + byte, 0);
    if (iterations < 1 || iterations > 10000000) throw new Error("iteration count out of range");
    var parameters = { salt: saltNode.content, iterations, iv: scheme.children[1].content, ciphertext: data.content };
  } catch (error) {
    throw new KeyFileError("not-a-key-file", "This file is not an encrypted key file.");
  }
  const key = await deriveKey(password, parameters.salt, parameters.iterations, "decrypt");
  let plaintext;
  try {
    plaintext = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-CBC", iv: parameters.iv }, key, parameters.ciphertext));
    der.parseAll(plaintext);
  } catch (error) {
    throw new KeyFileError("wrong-password", "The password does not open this key file.");
  }
  return plaintext;
}
