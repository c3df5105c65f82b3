import { createPrivateKey, createPublicKey, generateKeyPairSync, hash, type KeyObject } from 'node:crypto';

/** Signature types of C2SP signed-note keys: 0x01 Ed25519 (logs), 0x04 Ed25519 cosignature/v1 (witnesses). */
export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
export type KeyAlg = typeof ALG_ED25519 | typeof ALG_COSIGNATURE_V1;

/** A verifier key of a signed note: who signs, and how to check it. */
export interface NoteVerifier {
  name: string;
  alg: KeyAlg;
  /** First 4 bytes of SHA-256(name || 0x0A || alg || public key). */
  keyId: Buffer;
  /** The raw 32-byte Ed25519 public key. */
  publicRaw: Buffer;
  publicKey: KeyObject;
}

/** A signer: its verifier plus the private key. */
export interface NoteSigner extends NoteVerifier {
  privateKey: KeyObject;
  seed: Buffer;
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Whether a key name is acceptable: non-empty UTF-8 with no '+', no whitespace and no
 * control characters (C2SP signed-note), at most 255 bytes here.
 */
export function keyNameProblem(name: string): string | null {
  if (name.length === 0) return 'the key name is empty';
  if (Buffer.byteLength(name) > 255) return 'the key name is longer than 255 bytes';
  if (/[+\s\p{Cc}\p{Cf}\p{Zs}\p{Zl}\p{Zp}]/u.test(name)) return 'the key name must not contain "+", spaces or control characters';
  return null;
}

/**
 * The C2SP key id: the first 4 bytes of SHA-256(name || 0x0A || alg || key).
 *
 * @example
 * keyIdOf('example.com/foo', 0x01, pub).toString('hex'); // '530d903a' for the spec's example key
 */
export function keyIdOf(name: string, alg: number, publicRaw: Uint8Array): Buffer {
  const digest = hash('sha256', Buffer.concat([Buffer.from(name + '\n', 'utf8'), Buffer.from([alg]), publicRaw]), 'buffer') as unknown as Buffer;
  return digest.subarray(0, 4);
}

function publicKeyFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_ED25519, raw]), format: 'der', type: 'spki' });
}

function verifierOf(name: string, alg: KeyAlg, publicRaw: Buffer): NoteVerifier {
  return { name, alg, keyId: keyIdOf(name, alg, publicRaw), publicRaw, publicKey: publicKeyFromRaw(publicRaw) };
}

function signerFromSeed(name: string, alg: KeyAlg, seed: Buffer): NoteSigner {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string };
  return { ...verifierOf(name, alg, Buffer.from(jwk.x, 'base64url')), privateKey, seed };
}

/** The verifier key text: `name+<8 hex key id>+<base64(alg || public key)>`. */
export function formatVerifierKey(v: NoteVerifier): string {
  return `${v.name}+${v.keyId.toString('hex')}+${Buffer.concat([Buffer.from([v.alg]), v.publicRaw]).toString('base64')}`;
}

/** The private key text (as Go's golang.org/x/mod/sumdb/note): `PRIVATE+KEY+name+<hex id>+<base64(alg || seed)>`. */
export function formatSignerKey(s: NoteSigner): string {
  return `PRIVATE+KEY+${s.name}+${s.keyId.toString('hex')}+${Buffer.concat([Buffer.from([s.alg]), s.seed]).toString('base64')}`;
}

function splitKey(text: string, what: string): { name: string; id: string; alg: number; key: Buffer } | string {
  // The base64 may itself hold '+': the name ends at the first '+', the id is the next 8 digits.
  const t = text.trim();
  const plus = t.indexOf('+');
  if (plus < 0 || t[plus + 9] !== '+') return `not a ${what} (name+keyid+base64 expected)`;
  const name = t.slice(0, plus);
  const id = t.slice(plus + 1, plus + 9);
  const b64 = t.slice(plus + 10);
  const bad = keyNameProblem(name);
  if (bad) return bad;
  if (!/^[0-9a-f]{8}$/.test(id)) return 'the key id must be 8 lowercase hex digits';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return 'the key is not base64';
  const key = Buffer.from(b64, 'base64');
  if (key.length !== 33) return `the key is ${key.length} bytes, 33 expected (type byte and 32-byte Ed25519 key)`;
  return { name, id, alg: key[0]!, key: key.subarray(1) };
}

/**
 * Parses a verifier key (`name+keyid+base64(alg || key)`, alg 0x01 or 0x04), checking
 * that the key id matches the name and key.
 *
 * @returns the verifier, or what is wrong.
 * @example
 * parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
 */
export function parseVerifierKey(text: string): NoteVerifier | string {
  const k = splitKey(text, 'verifier key');
  if (typeof k === 'string') return k;
  if (k.alg !== ALG_ED25519 && k.alg !== ALG_COSIGNATURE_V1) return `unknown key type 0x${k.alg.toString(16).padStart(2, '0')} (0x01 Ed25519 or 0x04 cosignature/v1 expected)`;
  let v: NoteVerifier;
  try {
    v = verifierOf(k.name, k.alg, k.key);
  } catch (e) {
    return `not an Ed25519 public key: ${(e as Error).message}`;
  }
  if (v.keyId.toString('hex') !== k.id) return `the key id ${k.id} does not match the name and key (${v.keyId.toString('hex')})`;
  return v;
}

/**
 * Parses a private key `PRIVATE+KEY+name+keyid+base64(alg || seed)`.
 *
 * @returns the signer, or what is wrong.
 */
export function parseSignerKey(text: string): NoteSigner | string {
  const t = text.trim();
  if (!t.startsWith('PRIVATE+KEY+')) return 'not a signed-note private key (PRIVATE+KEY+name+keyid+base64 expected)';
  const k = splitKey(t.slice('PRIVATE+KEY+'.length), 'private key');
  if (typeof k === 'string') return k;
  if (k.alg !== ALG_ED25519 && k.alg !== ALG_COSIGNATURE_V1) return `unknown key type 0x${k.alg.toString(16)}`;
  const s = signerFromSeed(k.name, k.alg, k.key);
  if (s.keyId.toString('hex') !== k.id) return `the key id ${k.id} does not match the name and key (${s.keyId.toString('hex')})`;
  return s;
}

/**
 * A new Ed25519 signer named `name`: alg 0x01 for a log, 0x04 for a witness.
 *
 * @throws Error for a bad name (check with keyNameProblem first).
 */
export function generateSigner(name: string, alg: KeyAlg): NoteSigner {
  const bad = keyNameProblem(name);
  if (bad) throw new Error(bad);
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' }) as { d: string };
  return signerFromSeed(name, alg, Buffer.from(jwk.d, 'base64url'));
}

/** The PKCS#8 PEM of a signer's private key (the old JSON checkpoints' key format). */
export function signerPem(s: NoteSigner): { privatePem: string; publicPem: string } {
  return {
    privatePem: s.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: s.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
