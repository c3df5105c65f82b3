import { sign, verify } from 'node:crypto';
import { ALG_COSIGNATURE_V1, ALG_ED25519, type NoteSigner, type NoteVerifier } from './keys.js';

/** A signed note split into its text and signature lines (C2SP signed-note). */
export interface Note {
  /** The signed text, ending in "\n". */
  text: string;
  signatures: Array<{ name: string; keyId: Buffer; sig: Buffer }>;
}

/** One signature a verifier accepted. */
export interface GoodSignature {
  name: string;
  keyId: string;
  alg: number;
  /** For a cosignature: the time it claims (Unix seconds). */
  timestamp?: number;
}

const DASH = '\u2014';

function textProblem(text: string): string | null {
  if (!text.endsWith('\n')) return 'the note text does not end in a newline';
  if (text.includes('\n\n') || text.startsWith('\n')) return 'the note text has an empty line';
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) return 'the note text has control characters';
  return null;
}

/**
 * The message a cosignature/v1 signs: "cosignature/v1\ntime <t>\n" then the checkpoint body.
 */
export function cosignedMessage(text: string, timestamp: number): string {
  return `cosignature/v1\ntime ${timestamp}\n${text}`;
}

/**
 * One signature line for `text`: `— <name> <base64(keyid || signature)>\n`. A 0x04
 * (witness) key makes a cosignature/v1: keyid || 8-byte big-endian time || signature.
 *
 * @example
 * signatureLine(text, signer); // '— example.com/log Ab3x...=\n'
 */
export function signatureLine(text: string, signer: NoteSigner, timestamp = Math.floor(Date.now() / 1000)): string {
  let value: Buffer;
  if (signer.alg === ALG_COSIGNATURE_V1) {
    const t = Buffer.alloc(8);
    t.writeBigUInt64BE(BigInt(timestamp));
    value = Buffer.concat([signer.keyId, t, sign(null, Buffer.from(cosignedMessage(text, timestamp), 'utf8'), signer.privateKey)]);
  } else {
    value = Buffer.concat([signer.keyId, sign(null, Buffer.from(text, 'utf8'), signer.privateKey)]);
  }
  return `${DASH} ${signer.name} ${value.toString('base64')}\n`;
}

/**
 * Signs `text` as a C2SP signed note: the text, an empty line, one signature line.
 *
 * @throws Error when the text is not a valid note text (no final newline, an empty line, control characters).
 * @example
 * signNote('example.com/log\n5\nAAAA...=\n', signer);
 */
export function signNote(text: string, signer: NoteSigner, timestamp?: number): string {
  const bad = textProblem(text);
  if (bad) throw new Error(bad);
  return `${text}\n${signatureLine(text, signer, timestamp)}`;
}

/**
 * Splits a signed note into its text and signature lines.
 *
 * @returns the note, or what is malformed.
 */
export function parseNote(note: string): Note | string {
  if (note.length > 1_000_000) return 'the note is too long';
  const cut = note.lastIndexOf('\n\n');
  if (cut < 0) return 'not a signed note (no empty line before the signatures)';
  const text = note.slice(0, cut + 1);
  const bad = textProblem(text);
  if (bad) return bad;
  const sigText = note.slice(cut + 2);
  if (!sigText.endsWith('\n')) return 'the last signature line does not end in a newline';
  const signatures: Note['signatures'] = [];
  for (const line of sigText.slice(0, -1).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
    if (!m) return `malformed signature line ${JSON.stringify(line.slice(0, 80))}`;
    const value = Buffer.from(m[2]!, 'base64');
    if (value.length < 5) return `the signature of ${m[1]} is too short`;
    signatures.push({ name: m[1]!, keyId: value.subarray(0, 4), sig: value.subarray(4) });
  }
  if (signatures.length === 0) return 'the note has no signature';
  return { text, signatures };
}

/**
 * Checks a signed note's signatures against the verifiers the caller trusts. A
 * signature by a key the caller does not know is ignored; one by a known key (same
 * name and key id) that does not verify makes the whole note bad.
 *
 * @returns the text and the good signatures, or what is wrong.
 * @example
 * openNote(noteText, [logVerifier]); // { text, good: [{ name: 'example.com/log', ... }] }
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): { text: string; good: GoodSignature[] } | string {
  const n = parseNote(note);
  if (typeof n === 'string') return n;
  const good: GoodSignature[] = [];
  for (const s of n.signatures) {
    const v = verifiers.find((k) => k.name === s.name && k.keyId.equals(s.keyId));
    if (!v) continue;
    if (v.alg === ALG_ED25519) {
      if (s.sig.length !== 64 || !verify(null, Buffer.from(n.text, 'utf8'), v.publicKey, s.sig)) return `the signature of ${v.name} does not verify (the note was altered, or signed by another key of that name)`;
      good.push({ name: v.name, keyId: v.keyId.toString('hex'), alg: v.alg });
    } else {
      if (s.sig.length !== 72) return `the cosignature of ${v.name} is ${s.sig.length + 4} bytes, 76 expected`;
      const t = s.sig.readBigUInt64BE(0);
      if (t > BigInt(Number.MAX_SAFE_INTEGER)) return `the cosignature of ${v.name} has an impossible time`;
      const timestamp = Number(t);
      if (!verify(null, Buffer.from(cosignedMessage(n.text, timestamp), 'utf8'), v.publicKey, s.sig.subarray(8))) return `the cosignature of ${v.name} does not verify`;
      good.push({ name: v.name, keyId: v.keyId.toString('hex'), alg: v.alg, timestamp });
    }
  }
  return { text: n.text, good };
}
