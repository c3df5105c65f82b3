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

/**
 * The chain after an entry: SHA-256 over the 32 bytes of the previous chain then the
 * 32 bytes of this leaf, in hex.
 */
export function chainHash(prevChainHex: string, leafHex: string): string {
  return hash('sha256', Buffer.from(prevChainHex + leafHex, 'hex'), 'hex');
}

/** `leafHash` as 32 bytes. */
export function leafHashBytes(entryText: string): Buffer {
  // From the hex digest: on node 20 `hash(..., 'buffer')` costs more than hex then decoding it.
  return Buffer.from(leafHash(entryText), 'hex');
}
