import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** The format tag of a checkpoint file, and the first line of the message it signs. */
export const CHECKPOINT_FORMAT = 'pasid-ledger-checkpoint/1';

/**
 * A signed statement that the log had `size` entries and the chain head `chain` (the
 * `chain` column of entry `size`). Anyone holding it can later prove that the log was
 * not cut back (truncated) nor rewritten (a different chain at `size`) since.
 */
export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  /** The seq of the log's last entry when the checkpoint was made. */
  size: number;
  /** The chain value of that entry, 64 lowercase hex digits. */
  chain: string;
  /** When the checkpoint was made (ISO-8601 UTC). */
  at: string;
  /** The signer's Ed25519 public key, SPKI PEM. */
  public_key: string;
  /** Base64 Ed25519 signature over `checkpointMessage(size, chain, at)` as UTF-8. */
  signature: string;
}

/**
 * The exact bytes a checkpoint signs (UTF-8): four lines, each ending in `\n`:
 * the format tag, the size in decimal, the chain in lowercase hex, the time.
 *
 * @example
 * checkpointMessage(341, 'ab…', '2026-01-01T00:00:00.000Z');
 * // 'pasid-ledger-checkpoint/1\n341\nab…\n2026-01-01T00:00:00.000Z\n'
 */
export function checkpointMessage(size: number, chain: string, at: string): string {
  return `${CHECKPOINT_FORMAT}\n${size}\n${chain}\n${at}\n`;
}

/**
 * A new Ed25519 key pair: the private key as PKCS#8 PEM, the public key as SPKI PEM.
 *
 * @example
 * const { privatePem, publicPem } = generateCheckpointKeys();
 */
export function generateCheckpointKeys(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/**
 * A key file's text as an Ed25519 private key, or an error message.
 *
 * @example
 * readPrivateKey(readFileSync('auditor.key', 'utf8')); // KeyObject
 * readPrivateKey('nonsense'); // 'not a private key (PKCS#8 PEM expected): ...'
 */
export function readPrivateKey(pem: string): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    return `not a private key (PKCS#8 PEM expected): ${(e as Error).message}`;
  }
  return key.asymmetricKeyType === 'ed25519' ? key : `a ${String(key.asymmetricKeyType)} key, not Ed25519`;
}

/**
 * A public key (SPKI PEM, or a private key's PEM) as an Ed25519 public key, or an error message.
 *
 * @example
 * readPublicKey(readFileSync('auditor.pub', 'utf8')); // KeyObject
 */
export function readPublicKey(pem: string): KeyObject | string {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (e) {
    return `not a public key (SPKI PEM expected): ${(e as Error).message}`;
  }
  return key.asymmetricKeyType === 'ed25519' ? key : `a ${String(key.asymmetricKeyType)} key, not Ed25519`;
}

/**
 * Signs the log head `{ size, chain }`.
 *
 * @example
 * const cp = makeCheckpoint({ seq: 341, chain }, readPrivateKey(pem) as KeyObject, new Date().toISOString());
 */
export function makeCheckpoint(head: { seq: number; chain: string }, key: KeyObject, at: string): Checkpoint {
  const signature = sign(null, Buffer.from(checkpointMessage(head.seq, head.chain, at), 'utf8'), key).toString('base64');
  const public_key = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return { format: CHECKPOINT_FORMAT, size: head.seq, chain: head.chain, at, public_key, signature };
}

/**
 * A checkpoint file's text as a Checkpoint, or a message saying what is wrong with it.
 *
 * @example
 * parseCheckpoint('{}'); // 'not a pasid-ledger-checkpoint/1 file (format is missing)'
 */
export function parseCheckpoint(text: string): Checkpoint | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (o.format !== CHECKPOINT_FORMAT) return `not a ${CHECKPOINT_FORMAT} file (format is ${o.format === undefined ? 'missing' : JSON.stringify(o.format)})`;
  if (!Number.isSafeInteger(o.size) || (o.size as number) < 1) return 'size must be a positive integer';
  if (typeof o.chain !== 'string' || !/^[0-9a-f]{64}$/.test(o.chain)) return 'chain must be 64 lowercase hex digits';
  if (typeof o.at !== 'string') return 'at must be a string';
  if (typeof o.public_key !== 'string') return 'public_key must be a string (SPKI PEM)';
  if (typeof o.signature !== 'string') return 'signature must be a base64 string';
  return o as unknown as Checkpoint;
}

/**
 * Whether the checkpoint's signature is good: made over its own size, chain and time
 * by the key it names, and (when `trusted` is given) that key is the trusted one.
 * Returns null when it is, or what is wrong.
 *
 * @example
 * checkSignature(cp);                 // null
 * checkSignature({ ...cp, size: 1 }); // 'the signature does not match ...'
 */
export function checkSignature(cp: Checkpoint, trusted?: KeyObject): string | null {
  const key = readPublicKey(cp.public_key);
  if (typeof key === 'string') return `the checkpoint's public_key is ${key}`;
  if (trusted && !key.equals(trusted)) return "the checkpoint was signed by another key than the trusted one (--pub)";
  const sig = Buffer.from(cp.signature, 'base64');
  const good = sig.length === 64 && verify(null, Buffer.from(checkpointMessage(cp.size, cp.chain, cp.at), 'utf8'), key, sig);
  return good ? null : "the signature does not match the checkpoint's size, chain and time under its public key (the checkpoint was altered, or signed by another key)";
}
