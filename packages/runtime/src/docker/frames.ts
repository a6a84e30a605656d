import { StringDecoder } from 'node:string_decoder';

/**
 * Docker's multiplexed output of a container without a TTY (logs, exec): frames of an 8-byte
 * header — stream type, three zero bytes, payload size as big-endian uint32 — and the payload.
 * Yields the payloads as text, stdout and stderr together in the order they were written.
 */
export async function* demuxFrames(
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
): AsyncIterable<string> {
  const decoder = new StringDecoder('utf8');
  let buf = Buffer.alloc(0);
  for await (const chunk of chunks) {
    buf = buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([buf, Buffer.from(chunk)]);
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const text = decoder.write(buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
      if (text) yield text;
    }
  }
}
