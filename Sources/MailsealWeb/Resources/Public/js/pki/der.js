// DER (X.690) writing and reading: the one module every other PKI module
// builds on. Values are Uint8Array; nothing here touches keys.

const encoder = new TextEncoder();

/** Concatenates byte arrays. */
export function concat(...parts) {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The DER length octets of `length`. */
export function encodeLength(length) {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** A tag-length-value with the given identifier octet. */
export function tlv(tag, content) {
  return concat(Uint8Array.of(tag), encodeLength(content.length), content);
}

export const sequence = (...items) => tlv(0x30, concat(...items));
export const set = (...items) => tlv(0x31, concat(...items));
export const octetString = (bytes) => tlv(0x04, bytes);
export const utf8String = (text) => tlv(0x0c, encoder.encode(text));
export const printableString = (text) => tlv(0x13, encoder.encode(text));
export const ia5String = (text) => tlv(0x16, encoder.encode(text));
export const nullValue = () => Uint8Array.of(0x05, 0x00);

/** A BIT STRING with no unused bits. */
export const bitString = (bytes) => tlv(0x03, concat(Uint8Array.of(0), bytes));

/** [n] EXPLICIT (constructed) or IMPLICIT primitive/constructed context tags. */
export const explicit = (number, content) => tlv(0xa0 | number, content);
export const implicitConstructed = (number, content) => tlv(0xa0 | number, content);
export const implicitPrimitive = (number, content) => tlv(0x80 | number, content);

/** An INTEGER from a non-negative safe integer or from big-endian magnitude bytes. */
export function integer(value) {
  let bytes;
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError("integer out of range");
    const list = [];
    for (let rest = value; rest > 0; rest = Math.floor(rest / 256)) list.unshift(rest & 0xff);
    bytes = Uint8Array.from(list.length ? list : [0]);
  } else {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    bytes = value.subarray(start);
  }
  if (bytes[0] & 0x80) bytes = concat(Uint8Array.of(0), bytes);
  return tlv(0x02, bytes);
}

/** An OBJECT IDENTIFIER from dotted text. */
export function oid(dotted) {
  const arcs = dotted.split(".").map((arc) => {
    if (!/^\d+$/.test(arc)) throw new SyntaxError(`bad OID ${dotted}`);
    return BigInt(arc);
  });
  if (arcs.length < 2) throw new SyntaxError(`bad OID ${dotted}`);
  const out = [];
  const push = (arc) => {
    const group = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) group.unshift(Number(rest & 0x7fn) | 0x80);
    out.push(...group);
  };
  push(arcs[0] * 40n + arcs[1]);
  arcs.slice(2).forEach(push);
  return tlv(0x06, Uint8Array.from(out));
}

/** An AlgorithmIdentifier: OID and optional parameters. */
export const algorithm = (dotted, parameters) =>
  parameters === undefined ? sequence(oid(dotted)) : sequence(oid(dotted), parameters);

// ---------------------------------------------------------------- reading

/**
 * Parses one DER element starting at `offset`; throws on anything that is
 * not strict DER within bounds. Constructed elements carry `children`.
 */
export function parse(bytes, offset = 0, depth = 0) {
  if (depth > 32) throw new SyntaxError("DER nested too deeply");
  if (offset + 2 > bytes.length) throw new SyntaxError("DER truncated");
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new SyntaxError("DER high tag numbers are not supported");
  let cursor = offset + 1;
  let length = bytes[cursor++];
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new SyntaxError("DER length form not allowed");
    if (cursor + count > bytes.length) throw new SyntaxError("DER truncated");
    if (bytes[cursor] === 0) throw new SyntaxError("DER length not minimal");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[cursor++];
    if (length < 0x80) throw new SyntaxError("DER length not minimal");
  }
  const end = cursor + length;
  if (end > bytes.length) throw new SyntaxError("DER truncated");
  const node = {
    tag,
    constructed: (tag & 0x20) !== 0,
    start: offset,
    headerLength: cursor - offset,
    end,
    content: bytes.subarray(cursor, end),
    encoded: bytes.subarray(offset, end),
  };
  if (node.constructed) {
    node.children = [];
    for (let position = cursor; position < end; ) {
      const child = parse(bytes, position, depth + 1);
      node.children.push(child);
      position = child.end;
    }
  }
  return node;
}

/** Parses a whole buffer that must hold exactly one element. */
export function parseAll(bytes) {
  const node = parse(bytes, 0);
  if (node.end !== bytes.length) throw new SyntaxError("trailing bytes after DER");
  return node;
}

/** Dotted text of an OBJECT IDENTIFIER node. */
export function readOid(node) {
  if (node.tag !== 0x06) throw new SyntaxError("expected an OBJECT IDENTIFIER");
  const arcs = [];
  let value = 0n;
  for (const byte of node.content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift();
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs].join(".");
}

/** The magnitude bytes of a non-negative INTEGER node. */
export function readUnsignedInteger(node) {
  if (node.tag !== 0x02) throw new SyntaxError("expected an INTEGER");
  let start = 0;
  while (start < node.content.length - 1 && node.content[start] === 0) start++;
  return node.content.subarray(start);
}

// ---------------------------------------------------------------- PEM

/** Base64 of bytes. */
export function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Bytes of base64 text (whitespace ignored). */
export function fromBase64(text) {
  const binary = atob(text.replace(/\s+/g, ""));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** PEM text with 64-character lines. */
export function toPEM(label, bytes) {
  const body = toBase64(bytes).match(/.{1,64}/g).join("\n");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** The DER of every PEM block with the given label, in order. */
export function allFromPEM(text, label) {
  const pattern = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, "g");
  return Array.from(text.matchAll(pattern), (match) => fromBase64(match[1]));
}

/** The DER of the first PEM block with the given label. */
export function fromPEM(text, label) {
  const pattern = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`);
  const match = pattern.exec(text);
  if (!match) throw new SyntaxError(`no ${label} block`);
  return fromBase64(match[1]);
}
