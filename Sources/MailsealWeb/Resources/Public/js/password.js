// Rules and strength of the key-file password. Everything here runs in the
// browser only: the password is never sent anywhere.
import { COMMON_PASSWORDS } from "./common-passwords.js";

export const MINIMUM_LENGTH = 12;

/**
 * The rules of a key-file password, as the page states them: each rule that
 * fails is one message key, so the page can say which. The strength meter
 * uses the same rules (a refused password is never shown as strong).
 */
export function problems(password, repeat, mailbox = "") {
  const found = [];
  const length = [...password].length;
  if (length < MINIMUM_LENGTH) found.push("tooShort");
  const lowered = password.toLowerCase();
  if (COMMON_PASSWORDS.has(lowered) || lowered.includes("mailseal")) found.push("common");
  if (length > 1 && /^(.)\1+$/u.test(password)) found.push("repeated");
  if (isSequence(lowered)) found.push("sequence");
  if (containsMailbox(lowered, mailbox)) found.push("mailbox");
  if (repeat !== undefined && password !== repeat) found.push("mismatch");
  return found;
}

/** Whether the password contains the mailbox's name (or a part of it of
 * four letters or more, as in anna.mueller). */
function containsMailbox(lowered, mailbox) {
  const local = mailbox.split("@")[0].toLowerCase();
  const parts = [local, ...local.split(/[^\p{L}\p{N}]+/u)].filter((part) => part.length >= 4);
  return parts.some((part) => lowered.includes(part));
}

function isSequence(text) {
  const runs = ["0123456789012345678901234567890", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnmqwertyuiop", "qwertzuiopasdfghjklyxcvbnmqwertzuiop", "9876543210987654321098765432109"];
  return text.length >= 6 && runs.some((run) => run.includes(text));
}

/**
 * A rough strength from 0 to 4: 0 when a rule refuses the password,
 * otherwise bits of a brute-force guess over the character classes used,
 * with repeated characters counted down.
 */
export function strength(password, mailbox = "") {
  if (!password) return 0;
  if (problems(password, undefined, mailbox).length) return 0;
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
