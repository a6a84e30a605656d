/**
 * A minimal DER (X.690 Distinguished Encoding Rules) writer: just the ASN.1 types an X.509 v3
 * certificate needs. Every function returns one complete TLV (tag, length, value), so structures
 * are built by nesting calls, e.g. `sequence(integer(2n), oid('2.5.4.3'))`. A reader that splits
 * a constructed value into its elements is enough to take fields out of an existing certificate.
 */

/** Tag numbers of the universal ASN.1 types used here. */
const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** DER length octets: short form below 128, else 0x80|n followed by n big-endian bytes. */
function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with a raw tag byte (universal, or a context-specific tag built by `explicit`/`implicit`). */
export function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

export function sequence(...items: Buffer[]): Buffer {
  return tlv(TAG.SEQUENCE, Buffer.concat(items));
}

/** SET OF with its elements sorted by their encodings, as DER requires. */
export function set(...items: Buffer[]): Buffer {
  return tlv(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));
}

export function boolean(value: boolean): Buffer {
  return tlv(TAG.BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
}

export function nullValue(): Buffer {
  return tlv(TAG.NULL, Buffer.alloc(0));
}

/** A non-negative INTEGER in the fewest two's-complement octets (a 0x00 keeps a high bit positive). */
export function integer(value: bigint | Buffer): Buffer {
  let bytes: Buffer;
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError('negative INTEGERs are not needed here');
    const hex = value.toString(16);
    bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  } else {
    bytes = value;
  }
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(TAG.INTEGER, bytes);
}

/** An OBJECT IDENTIFIER from dotted form: the first two arcs share a byte, the rest are base-128. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => {
    if (!/^\d+$/.test(a)) throw new SyntaxError(`bad OID '${dotted}'`);
    return BigInt(a);
  });
  if (arcs.length < 2) throw new SyntaxError(`bad OID '${dotted}'`);
  const out: number[] = [];
  const push = (arc: bigint) => {
    const groups: number[] = [Number(arc & 0x7fn)];
    for (let n = arc >> 7n; n > 0n; n >>= 7n) groups.unshift(Number(n & 0x7fn) | 0x80);
    out.push(...groups);
  };
  push(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(TAG.OID, Buffer.from(out));
}

export function octetString(value: Buffer): Buffer {
  return tlv(TAG.OCTET_STRING, value);
}

/** A BIT STRING holding whole bytes (keys, signatures). */
export function bitString(value: Buffer): Buffer {
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([0]), value]));
}

/**
 * A named-bit BIT STRING (KeyUsage, Netscape cert type): bit 0 is the most significant bit of
 * the first byte, and DER drops trailing zero bits, saying how many are unused.
 */
export function namedBits(bits: number[]): Buffer {
  if (bits.length === 0) return tlv(TAG.BIT_STRING, Buffer.from([0]));
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[Math.floor(b / 8)]! |= 0x80 >> (b % 8);
  const unused = 7 - (highest % 8);
  return tlv(TAG.BIT_STRING, Buffer.concat([Buffer.from([unused]), bytes]));
}

export function utf8String(value: string): Buffer {
  return tlv(TAG.UTF8_STRING, Buffer.from(value, 'utf8'));
}

export function ia5String(value: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(value)) throw new RangeError(`IA5String must be ASCII: '${value}'`);
  return tlv(TAG.IA5_STRING, Buffer.from(value, 'latin1'));
}

/** X.509 Time: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §4.1.2.5), seconds precision. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050
    ? tlv(TAG.UTC_TIME, Buffer.from(`${digits.slice(2)}Z`, 'latin1'))
    : tlv(TAG.GENERALIZED_TIME, Buffer.from(`${digits}Z`, 'latin1'));
}

/** `[n] EXPLICIT`: a constructed context-specific tag wrapping a complete TLV. */
export function explicit(n: number, inner: Buffer): Buffer {
  return tlv(0xa0 | n, inner);
}

/**
 * `[n] IMPLICIT`: the context-specific tag replaces the inner TLV's own tag; `constructed` keeps
 * the constructed bit (for SEQUENCE-like contents).
 */
export function implicit(n: number, inner: Buffer, constructed = false): Buffer {
  const lengthOctets = inner[1]! & 0x80 ? 1 + (inner[1]! & 0x7f) : 1;
  return tlv((constructed ? 0xa0 : 0x80) | n, inner.subarray(1 + lengthOctets));
}

/** PEM armour (RFC 7468): base64 in 64-character lines between BEGIN/END markers. */
export function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** One element of a DER encoding: its tag byte, the whole TLV, and the value octets. */
export interface Element {
  tag: number;
  encoded: Buffer;
  value: Buffer;
}

/** The elements a constructed value (e.g. a SEQUENCE's value octets) holds, in order. */
export function elements(value: Buffer): Element[] {
  const out: Element[] = [];
  let at = 0;
  while (at < value.length) {
    if (at + 2 > value.length) throw new RangeError('truncated DER');
    const tag = value[at]!;
    let length = value[at + 1]!;
    let header = 2;
    if (length & 0x80) {
      const octets = length & 0x7f;
      if (octets === 0 || octets > 4 || at + 2 + octets > value.length)
        throw new RangeError('bad DER length');
      length = 0;
      for (let i = 0; i < octets; i++) length = length * 256 + value[at + 2 + i]!;
      header += octets;
    }
    const end = at + header + length;
    if (end > value.length) throw new RangeError('truncated DER');
    out.push({ tag, encoded: value.subarray(at, end), value: value.subarray(at + header, end) });
    at = end;
  }
  return out;
}
