/**
 * The 64-bit hashes Envoy uses for consistent hashing: xxHash64 (`HashUtil::xxHash64`, seed 0),
 * which places hosts on the ring-hash ring and in the Maglev table and hashes request attributes
 * for `hash_policy`; MurmurHash2-64 (`MurmurHash::murmurHash2`, the libstdc++ `std::hash` of a
 * string), the ring-hash `MURMUR_HASH_2` option; and the rule that combines several hash policies.
 */
import xxhash from 'xxhash-wasm';

type XXHashApi = Awaited<ReturnType<typeof xxhash>>;

let api: XXHashApi | undefined;

/** Loads the xxHash WebAssembly module. The server awaits this once at start, before any hashing. */
export async function initHashing(): Promise<void> {
  api ??= await xxhash();
}

const MASK64 = (1n << 64n) - 1n;
const utf8 = new TextEncoder();

/** xxHash64 of a string (as UTF-8) or bytes, as an unsigned 64-bit bigint. */
export function xxHash64(input: string | Uint8Array, seed = 0n): bigint {
  if (!api) throw new Error('hashing is not initialized: await initHashing() at start');
  return typeof input === 'string' ? api.h64(input, seed) : api.h64Raw(input, seed);
}

/** The seed libstdc++'s `std::hash<std::string>` passes, which Envoy's MurmurHash2 defaults to. */
export const STD_HASH_SEED = 0xc70f6907n;
const MURMUR_MUL = 0xc6a4a7935bd1e995n;

function shiftMix(v: bigint): bigint {
  return v ^ (v >> 47n);
}

/**
 * MurmurHash64A as libstdc++ implements `_Hash_bytes` on 64-bit platforms, which Envoy's
 * `MurmurHash::murmurHash2` copies so that `MURMUR_HASH_2` rings match `std::hash` values.
 */
export function murmurHash2(input: string | Uint8Array, seed = STD_HASH_SEED): bigint {
  const bytes = typeof input === 'string' ? utf8.encode(input) : input;
  const len = bytes.length;
  const aligned = len & ~7;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hash = (seed ^ ((BigInt(len) * MURMUR_MUL) & MASK64)) & MASK64;
  for (let p = 0; p < aligned; p += 8) {
    const data = (shiftMix((view.getBigUint64(p, true) * MURMUR_MUL) & MASK64) * MURMUR_MUL) & MASK64;
    hash = ((hash ^ data) * MURMUR_MUL) & MASK64;
  }
  if ((len & 7) !== 0) {
    let tail = 0n;
    for (let i = len - 1; i >= aligned; i--) tail = (tail << 8n) | BigInt(bytes[i]!);
    hash = ((hash ^ tail) * MURMUR_MUL) & MASK64;
  }
  hash = (shiftMix(hash) * MURMUR_MUL) & MASK64;
  return shiftMix(hash);
}

/**
 * Folds one more hash policy's result into the request hash, as Envoy's `HashPolicyImpl` does:
 * the previous value is rotated left by one bit before the XOR, so two identical policies do not
 * cancel out. `previous` is undefined when no earlier policy produced a hash.
 */
export function combineHashes(previous: bigint | undefined, next: bigint): bigint {
  if (previous === undefined) return next;
  const rotated = ((previous << 1n) | (previous >> 63n)) & MASK64;
  return rotated ^ next;
}
