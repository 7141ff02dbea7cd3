// Rules and strength of the key-file password. Everything here runs in the
// browser only: the password is never sent anywhere.
import { COMMON_PASSWORDS } from "./common-passwords.js";

export const MINIMUM_LENGTH = 12;

/** Problems of a password, as message keys; empty when it is acceptable. */
export function problems(password, repeat, mailbox = "") {
  const found = [];
  const length = [...password].length;
  if (length < MINIMUM_LENGTH) found.push("tooShort");
  const lowered = password.toLowerCase();
  const local = mailbox.split("@")[0].toLowerCase();
  if (COMMON_PASSWORDS.has(lowered) || /^(.)\1+$/.test(password) || isSequence(lowered) ||
      (local.length >= 4 && lowered.includes(local)) || lowered.includes("mailseal")) {
    found.push("common");
  }
  if (repeat !== undefined && password !== repeat) found.push("mismatch");
  return found;
}

function isSequence(text) {
  const runs = ["0123456789012345678901234567890", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiop", "qwertzuiopasdfghjklyxcvbnmqwertzuiop", "9876543210987654321098765432109"];
  return text.length >= 6 && runs.some((run) => run.includes(text));
}

/**
 * A rough strength from 0 to 4: bits of a brute-force guess over the
 * character classes used, with repeated characters and common passwords
 * counted down.
 */
export function strength(password) {
  if (!password) return 0;
  if (COMMON_PASSWORDS.has(password.toLowerCase())) return 0;
  let pool = 0;
  if (/[a-z]/.test(password)) pool += 26;
  if (/[A-Z]/.test(password)) pool += 26;
  if (/[0-9]/.test(password)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(password)) pool += 33;
  const distinct = new Set(password).size;
  const bits = Math.log2(Math.max(pool, 2)) * Math.min([...password].length, distinct * 2);
  if (bits < 40) return 1;
  if (bits < 60) return 2;
  if (bits < 80) return 3;
  return 4;
}
