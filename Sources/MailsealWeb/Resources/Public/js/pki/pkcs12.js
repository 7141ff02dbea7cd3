// PKCS#12 (RFC 7292) files built in the browser from the decrypted key, the
// certificate and its chain. Two encodings:
//   "compatible": pbeWithSHAAnd3-KeyTripleDES-CBC for the key and the
//     certificates, HMAC-SHA1 MAC — what older Windows, macOS Keychain,
//     Android and Adobe import;
//   "modern": PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) for both, HMAC-SHA256
//     MAC — what OpenSSL 3 writes by default.
import * as der from "./der.js";
import { encryptPrivateKeyInfo } from "./pkcs8.js";
import { encryptCBC } from "./tdea.js";

const OID = {
  data: "1.2.840.113549.1.7.1",
  encryptedData: "1.2.840.113549.1.7.6",
  keyBag: "1.2.840.113549.1.12.10.1.1",
  shroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
  pbeSHA3DES: "1.2.840.113549.1.12.1.3",
  sha1: "1.3.14.3.2.26",
  sha256: "2.16.840.1.101.3.4.2.1",
};

/** Iterations of the PKCS#12 KDF (MAC, and 3DES in "compatible"): 2048, as
 *  OpenSSL writes and every importer reads. */
export const PKCS12_ITERATIONS = 2048;

const HASHES = {
  "SHA-1": { oid: OID.sha1, u: 20, v: 64 },
  "SHA-256": { oid: OID.sha256, u: 32, v: 64 },
};

/** The password as a BMPString with its two-byte terminator (RFC 7292 B.1). */
export function bmpPassword(password) {
  const out = new Uint8Array((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) {
    const unit = password.charCodeAt(i);
    out[2 * i] = unit >> 8;
    out[2 * i + 1] = unit & 0xff;
  }
  return out;
}

/**
 * The PKCS#12 key derivation (RFC 7292 Appendix B.2): `id` 1 for keys, 2 for
 * IVs, 3 for MAC keys; `password` already BMP-encoded.
 */
export async function derive(hashName, id, password, salt, iterations, length) {
  const { u, v } = HASHES[hashName];
  const fill = (source) => {
    if (source.length === 0) return new Uint8Array(0);
    const out = new Uint8Array(v * Math.ceil(source.length / v));
    for (let i = 0; i < out.length; i++) out[i] = source[i % source.length];
    return out;
  };
  const D = new Uint8Array(v).fill(id);
  const I = der.concat(fill(salt), fill(password));
  const output = new Uint8Array(length);
  for (let done = 0; done < length; done += u) {
    let A = new Uint8Array(await crypto.subtle.digest(hashName, der.concat(D, I)));
    for (let round = 1; round < iterations; round++) A = new Uint8Array(await crypto.subtle.digest(hashName, A));
    output.set(A.subarray(0, Math.min(u, length - done)), done);
    if (done + u >= length) break;
    const B = fill(A).subarray(0, v);
    for (let offset = 0; offset < I.length; offset += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[offset + k] + B[k] + carry;
        I[offset + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return output;
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC: returns {algorithm, ciphertext}. */
async function encrypt3DES(plaintext, password) {
  const salt = crypto.getRandomValues(new Uint8Array(8));
  const bmp = bmpPassword(password);
  const key = await derive("SHA-1", 1, bmp, salt, PKCS12_ITERATIONS, 24);
  const iv = await derive("SHA-1", 2, bmp, salt, PKCS12_ITERATIONS, 8);
  return {
    algorithm: der.sequence(der.oid(OID.pbeSHA3DES), der.sequence(der.octetString(salt), der.integer(PKCS12_ITERATIONS))),
    ciphertext: encryptCBC(key, iv, plaintext),
  };
}

/** An EncryptedPrivateKeyInfo of the key in the chosen encoding. */
async function shroudKey(privateKeyInfo, password, encoding, iterations) {
  if (encoding === "modern") return encryptPrivateKeyInfo(privateKeyInfo, password, iterations);
  const { algorithm, ciphertext } = await encrypt3DES(privateKeyInfo, password);
  return der.sequence(algorithm, der.octetString(ciphertext));
}

/** Encrypts SafeContents as a ContentInfo of type encryptedData. */
async function encryptedContentInfo(safeContents, password, encoding, iterations) {
  let algorithm;
  let ciphertext;
  if (encoding === "modern") {
    const encrypted = der.parseAll(await encryptPrivateKeyInfo(safeContents, password, iterations));
    algorithm = encrypted.children[0].encoded;
    ciphertext = encrypted.children[1].content;
  } else {
    ({ algorithm, ciphertext } = await encrypt3DES(safeContents, password));
  }
  const encryptedData = der.sequence(
    der.integer(0),
    der.sequence(der.oid(OID.data), algorithm, der.implicitPrimitive(0, ciphertext)),
  );
  return der.sequence(der.oid(OID.encryptedData), der.explicit(0, encryptedData));
}

function bmpString(text) {
  return der.tlv(0x1e, bmpPassword(text).subarray(0, text.length * 2));
}

function attributes(friendlyName, localKeyId) {
  return der.set(
    der.sequence(der.oid(OID.friendlyName), der.set(bmpString(friendlyName))),
    der.sequence(der.oid(OID.localKeyId), der.set(der.octetString(localKeyId))),
  );
}

function certificateBag(certificate, attributeSet) {
  const value = der.sequence(der.oid(OID.x509Certificate), der.explicit(0, der.octetString(certificate)));
  return attributeSet
    ? der.sequence(der.oid(OID.certBag), der.explicit(0, value), attributeSet)
    : der.sequence(der.oid(OID.certBag), der.explicit(0, value));
}

/**
 * Builds a PKCS#12 file (DER).
 *
 * @param {object} input
 * @param {Uint8Array} input.privateKeyInfo the decrypted PKCS#8 key
 * @param {Uint8Array} input.certificate the certificate's DER
 * @param {Uint8Array[]} input.chain the issuing CA first, up to the root
 * @param {string} input.password protects the file
 * @param {string} input.friendlyName the name mail clients show
 * @param {"compatible"|"modern"} input.encoding
 * @param {number} [input.iterations] PBKDF2 iterations of "modern"
 * @param {{privateKeyInfo: Uint8Array, certificate: Uint8Array, friendlyName: string}[]} [input.more]
 *   further keys with their certificates (key escrow: the encryption key
 *   beside the signing key), each paired with its certificate by localKeyId
 */
export async function buildPFX({ privateKeyInfo, certificate, chain, password, friendlyName, encoding, iterations = 600000, more = [] }) {
  if (encoding !== "compatible" && encoding !== "modern") throw new RangeError(`unknown encoding ${encoding}`);
  const entries = [{ privateKeyInfo, certificate, friendlyName }, ...more];
  const certificateBags = [];
  const keyBags = [];
  for (const entry of entries) {
    const localKeyId = new Uint8Array(await crypto.subtle.digest("SHA-1", entry.certificate));
    const bagAttributes = attributes(entry.friendlyName, localKeyId);
    certificateBags.push(certificateBag(entry.certificate, bagAttributes));
    keyBags.push(
      der.sequence(
        der.oid(OID.shroudedKeyBag),
        der.explicit(0, await shroudKey(entry.privateKeyInfo, password, encoding, iterations)),
        bagAttributes,
      ),
    );
  }
  const certificates = der.sequence(...certificateBags, ...chain.map((ca) => certificateBag(ca)));
  const keys = der.sequence(...keyBags);
  const authenticatedSafe = der.sequence(
    await encryptedContentInfo(certificates, password, encoding, iterations),
    der.sequence(der.oid(OID.data), der.explicit(0, der.octetString(keys))),
  );

  const hashName = encoding === "modern" ? "SHA-256" : "SHA-1";
  const macSalt = crypto.getRandomValues(new Uint8Array(16));
  const macKey = await derive(hashName, 3, bmpPassword(password), macSalt, PKCS12_ITERATIONS, HASHES[hashName].u);
  const hmacKey = await crypto.subtle.importKey("raw", macKey, { name: "HMAC", hash: hashName }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmacKey, authenticatedSafe));
  const macData = der.sequence(
    der.sequence(der.algorithm(HASHES[hashName].oid, der.nullValue()), der.octetString(mac)),
    der.octetString(macSalt),
    der.integer(PKCS12_ITERATIONS),
  );
  return der.sequence(
    der.integer(3),
    der.sequence(der.oid(OID.data), der.explicit(0, der.octetString(authenticatedSafe))),
    macData,
  );
}

// ------------------------------------------------------------ the key check

const EC_CURVES = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521" };

/** The SubjectPublicKeyInfo of a certificate, DER. */
export function certificatePublicKeyInfo(certificate) {
  const tbs = der.parseAll(certificate).children[0];
  const fields = tbs.children[0].tag === 0xa0 ? tbs.children.slice(1) : tbs.children;
  return fields[5].encoded;
}

/** WebCrypto parameters for a key, read from its SPKI or PKCS#8 algorithm. */
function algorithmOf(algorithmNode) {
  const oid = der.readOid(algorithmNode.children[0]);
  if (oid === "1.2.840.113549.1.1.1") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  if (oid === "1.2.840.10045.2.1") {
    const curve = EC_CURVES[der.readOid(algorithmNode.children[1])];
    if (curve) return { name: "ECDSA", namedCurve: curve };
  }
  throw new Error("unsupported key type");
}

/**
 * Whether the private key belongs to the certificate: both are imported
 * into WebCrypto and their public parts compared.
 */
export async function keyMatchesCertificate(privateKeyInfo, certificate) {
  const spki = certificatePublicKeyInfo(certificate);
  const publicAlgorithm = algorithmOf(der.parseAll(spki).children[0]);
  let privateAlgorithm;
  try {
    privateAlgorithm = algorithmOf(der.parseAll(privateKeyInfo).children[1]);
  } catch {
    return false;
  }
  if (publicAlgorithm.name !== privateAlgorithm.name || publicAlgorithm.namedCurve !== privateAlgorithm.namedCurve) {
    return false;
  }
  const usages = ["sign"];
  const privateKey = await crypto.subtle.importKey("pkcs8", privateKeyInfo, privateAlgorithm, true, usages);
  const publicKey = await crypto.subtle.importKey("spki", spki, publicAlgorithm, true, ["verify"]);
  const a = await crypto.subtle.exportKey("jwk", privateKey);
  const b = await crypto.subtle.exportKey("jwk", publicKey);
  return publicAlgorithm.name === "ECDSA" ? a.x === b.x && a.y === b.y : a.n === b.n && a.e === b.e;
}
