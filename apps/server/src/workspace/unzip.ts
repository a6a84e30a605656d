/**
 * Reads the text files of a ZIP archive (what `export` writes, or a course lab zipped by hand) for
 * import. Only stored and deflated entries; the sizes from the central directory bound every
 * inflate, and the totals are capped, so a crafted archive cannot exhaust memory. Entry names
 * that are absolute or climb out with `..` are refused.
 */
import { inflateRawSync } from 'node:zlib';
import { ConsoleError } from '../errors.js';

const MAX_ENTRIES = 1000;
const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

function bad(why: string): ConsoleError {
  return new ConsoleError(
    'BAD_INPUT',
    `not a readable ZIP archive: ${why}`,
    'export the lab again, or import its directory',
  );
}

export function unzipText(data: Buffer): Record<string, string> {
  const eocd = findEndOfCentralDirectory(data);
  const count = data.readUInt16LE(eocd + 10);
  let offset = data.readUInt32LE(eocd + 16);
  if (count > MAX_ENTRIES) throw bad(`it holds ${count} entries; a lab has far fewer than ${MAX_ENTRIES}`);
  const out: Record<string, string> = {};
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 46 > data.length || data.readUInt32LE(offset) !== 0x02014b50)
      throw bad('its central directory is damaged');
    const flags = data.readUInt16LE(offset + 8);
    const method = data.readUInt16LE(offset + 10);
    const compressed = data.readUInt32LE(offset + 20);
    const size = data.readUInt32LE(offset + 24);
    const nameLength = data.readUInt16LE(offset + 28);
    const extraLength = data.readUInt16LE(offset + 30);
    const commentLength = data.readUInt16LE(offset + 32);
    const local = data.readUInt32LE(offset + 42);
    const name = data.subarray(offset + 46, offset + 46 + nameLength).toString('utf8');
    offset += 46 + nameLength + extraLength + commentLength;
    if (name.endsWith('/')) continue;
    if (flags & 1) throw bad(`'${name}' is encrypted`);
    if (name.startsWith('/') || name.split('/').some((s) => s === '..' || s === '')) {
      throw bad(`entry '${name}' points outside the archive`);
    }
    total += size;
    if (total > MAX_TOTAL_BYTES) throw bad(`it unpacks to more than ${MAX_TOTAL_BYTES / 1024 / 1024} MB`);
    if (local + 30 > data.length || data.readUInt32LE(local) !== 0x04034b50)
      throw bad(`entry '${name}' is damaged`);
    const start = local + 30 + data.readUInt16LE(local + 26) + data.readUInt16LE(local + 28);
    const body = data.subarray(start, start + compressed);
    let content: Buffer;
    if (method === 0) content = body;
    else if (method === 8) {
      try {
        content = inflateRawSync(body, { maxOutputLength: Math.max(size, 1) });
      } catch {
        throw bad(`entry '${name}' does not inflate`);
      }
    } else throw bad(`entry '${name}' uses compression method ${method}; only stored and deflate are read`);
    if (content.includes(0)) continue; // binary files (keys in DER, images) are no part of a lab
    out[name] = content.toString('utf8');
  }
  return out;
}

function findEndOfCentralDirectory(data: Buffer): number {
  // The record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  for (let i = data.length - 22; i >= Math.max(0, data.length - 22 - 65535); i--) {
    if (data.readUInt32LE(i) === 0x06054b50) return i;
  }
  throw bad('no end-of-archive record');
}

/** The files under the archive's single top-level directory, when everything sits in one (as exports do). */
export function stripCommonDirectory(files: Record<string, string>): Record<string, string> {
  const names = Object.keys(files);
  const first = names[0]?.split('/')[0];
  if (!first || !names.every((n) => n.startsWith(`${first}/`))) return files;
  return Object.fromEntries(Object.entries(files).map(([n, c]) => [n.slice(first.length + 1), c]));
}
