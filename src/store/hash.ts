import { hash } from 'node:crypto';

/** The chain value before entry 1: 32 zero bytes, in hex. */
export const GENESIS_CHAIN = '0'.repeat(64);

/**
 * The RFC 6962 leaf hash of an entry: SHA-256 over the byte 0x00 then the UTF-8
 * bytes of its canonical text, in hex. (A NUL character encodes as the byte 0x00.)
 *
 * @example
 * leafHash('{"at":"...","seq":1,"type":"config"}'); // 64 hex digits
 */
export function leafHash(entryText: string): string {
  return hash('sha256', '\u0000' + entryText, 'hex');
}

/** The 64 bytes a chain hashes (previous chain, leaf), reused by every {@link chainHash}. */
const pair = Buffer.alloc(64);

/**
 * The chain after an entry: SHA-256 over the 32 bytes of the previous chain then the
 * 32 bytes of this leaf, in hex. Two 64-digit hex strings (every well-formed call: the
 * writer and every checker run it once per row) are written into one reused buffer, with
 * no string and no buffer per call; any other input hashes exactly as
 * `Buffer.from(prevChainHex + leafHex, 'hex')` decodes it (which stops at the first
 * pair that is not hex), so the result is the same for every input.
 *
 * @example
 * chainHash(GENESIS_CHAIN, leafHash(text)); // entry 1's chain: 64 hex digits
 */
export function chainHash(prevChainHex: string, leafHex: string): string {
  if (prevChainHex.length === 64 && leafHex.length === 64
    && pair.write(prevChainHex, 0, 32, 'hex') === 32 && pair.write(leafHex, 32, 32, 'hex') === 32) {
    return hash('sha256', pair, 'hex');
  }
  return hash('sha256', Buffer.from(prevChainHex + leafHex, 'hex'), 'hex');
}

/** `leafHash` as 32 bytes. */
export function leafHashBytes(entryText: string): Buffer {
  // From the hex digest: on node 20 `hash(..., 'buffer')` costs more than hex then decoding it.
  return Buffer.from(leafHash(entryText), 'hex');
}
