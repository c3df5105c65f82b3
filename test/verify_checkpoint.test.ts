import Database from 'better-sqlite3';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { generateCheckpointKeys, makeCheckpoint, readPrivateKey, readPublicKey } from '../src/replay/checkpoint.js';
import { checkpointText } from '../src/replay/proofs.js';
import { verifyCheckpoint, type CheckpointKeys, type CheckpointVerdict } from '../src/index.js';
import { formatCheckpoint } from '../src/tlog/checkpoint.js';
import { ALG_COSIGNATURE_V1, ALG_ED25519, generateSigner } from '../src/tlog/keys.js';
import { EMPTY_ROOT } from '../src/tlog/merkle.js';
import { signatureLine, signNote } from '../src/tlog/note.js';
import { setupVm, steppingClock, tmpDir } from './helpers.js';
import { rechain, tamperedCopy } from './tamper.js';

const s = suite('verifyCheckpoint');
const logKey = generateSigner('example.com/pasid-log', ALG_ED25519);
const otherKey = generateSigner('example.com/pasid-log', ALG_ED25519);
const w1 = generateSigner('witness.one', ALG_COSIGNATURE_V1);
const w2 = generateSigner('witness.two', ALG_COSIGNATURE_V1);
const pem = generateCheckpointKeys();
const pemOther = generateCheckpointKeys();
const SIZE = 80;
let path: string;
let note: string;
let json: string;

/** Runs `fn` on a read-only handle of the log at `p`, closed afterwards. */
function onLog<T>(p: string, fn: (db: Database.Database) => T): T {
  const db = new Database(p, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** A PEM key read through the library, failing the test when it is not one. */
function key<K>(read: (pem: string) => K | string, pem: string): K {
  const k = read(pem);
  if (typeof k === 'string') throw new Error(k);
  return k;
}

const check = (p: string | null, text: string, keys: CheckpointKeys): CheckpointVerdict =>
  p === null ? verifyCheckpoint(null, text, keys) : onLog(p, (db) => verifyCheckpoint(db, text, keys));

/** The note's text (the checkpoint body) with one more signature line, by `signer`. */
const cosigned = (n: string, signer: typeof w1): string => n + signatureLine(n.slice(0, n.indexOf('\n\n') + 1), signer, 1_700_000_000);

const rewriteEntry40 = (h: Database.Database) => {
  h.prepare(`UPDATE entries SET entry = replace(entry, '"at":"2026', '"at":"2025'), at = replace(at, '2026', '2025') WHERE seq = 40`).run();
  rechain(h, 40);
};

s.before(async () => {
  path = join(tmpDir(), 'log.db');
  const l = await openLedger(path, { clock: steppingClock(), synchronous: 'OFF' });
  setupVm(l);
  while (l.head().seq < SIZE) l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100000 });
  const head = l.head();
  l.close();
  note = onLog(path, (db) => checkpointText(db, logKey));
  json = JSON.stringify(makeCheckpoint(head, key(readPrivateKey, pem.privatePem), '2026-06-01T00:00:00.000Z'));
});

s('ok: a C2SP checkpoint of the log, with and without the log; the log as it was verified comes along', () => {
  const alone = check(null, note, { vkey: logKey });
  assert.is(alone.kind, 'ok');
  assert.is(alone.log, null);
  assert.equal(alone.checkpoint, { format: 'c2sp', origin: 'example.com/pasid-log', size: SIZE, signers: ['example.com/pasid-log'], witnesses: [] });
  const v = check(path, note, { vkey: logKey });
  assert.is(v.kind, 'ok');
  assert.is(v.log?.ok, true);
  assert.is(v.log?.size, SIZE);
});

s('ok: an old JSON checkpoint, with its trusted key and with the key it names', () => {
  const pub = key(readPublicKey, pem.publicPem);
  const v = check(path, json, { pub });
  assert.is(v.kind, 'ok');
  assert.equal(v.checkpoint, { format: 'json', size: SIZE, chain: JSON.parse(json).chain, at: '2026-06-01T00:00:00.000Z' });
  assert.is(check(path, json, {}).kind, 'ok');
});

s('signature: another log key, an altered note, another JSON key, an altered JSON checkpoint; the C2SP log is not read', () => {
  const other = check(path, note, { vkey: otherKey });
  assert.is(other.kind, 'signature');
  if (other.kind === 'signature') assert.match(other.why, /^not signed by example\.com\/pasid-log\+[0-9a-f]{8} /);
  assert.is(other.log, null);
  const altered = check(path, note.replace(`\n${SIZE}\n`, `\n${SIZE - 1}\n`), { vkey: logKey });
  assert.is(altered.kind, 'signature');
  const pub = key(readPublicKey, pemOther.publicPem);
  const j = check(path, json, { pub });
  assert.is(j.kind, 'signature');
  if (j.kind === 'signature') assert.match(j.why, /another key than the trusted one/);
  assert.is(j.log?.ok, true, 'a JSON checkpoint has the log verified before its signature is judged');
  const jAltered = check(path, JSON.stringify({ ...JSON.parse(json), size: SIZE - 1 }), {});
  assert.is(jAltered.kind, 'signature');
});

s('witnesses: too few cosigned; enough pass', () => {
  const one = cosigned(note, w1);
  const short = check(null, one, { vkey: logKey, witnesses: [w1, w2], minWitnesses: 2 });
  assert.is(short.kind, 'witnesses');
  if (short.kind === 'witnesses') {
    assert.equal(short.cosigned, ['witness.one']);
    assert.is(short.needed, 2);
  }
  assert.is(check(null, one, { vkey: logKey, witnesses: [w2] }).kind, 'witnesses', 'one witness given: one needed by default');
  const both = check(path, cosigned(one, w2), { vkey: logKey, witnesses: [w1, w2], minWitnesses: 2 });
  assert.is(both.kind, 'ok');
  assert.equal(both.checkpoint?.format === 'c2sp' ? both.checkpoint.witnesses : null, ['witness.one', 'witness.two']);
});

s('truncated: the log was cut back (both formats)', () => {
  const cut = tamperedCopy(path, (h) => h.prepare('DELETE FROM entries WHERE seq > 60').run());
  for (const text of [note, json]) {
    const v = check(cut, text, { vkey: logKey });
    assert.is(v.kind, 'truncated');
    if (v.kind === 'truncated') assert.is(v.entries, 60);
  }
});

s('rewritten: an entry edited and every leaf and chain after it recomputed; the first differing entry named when the stored tree can tell it', () => {
  const rw = tamperedCopy(path, rewriteEntry40);
  const v = check(rw, note, { vkey: logKey });
  assert.is(v.kind, 'rewritten');
  if (v.kind === 'rewritten') {
    assert.is(v.seq, 40);
    assert.is(v.signed, note.split('\n')[2]);
    assert.is.not(v.found, v.signed);
  }
  const noTree = tamperedCopy(path, (h) => {
    rewriteEntry40(h);
    h.exec('DROP TRIGGER tree_nodes_no_delete');
    h.prepare('DELETE FROM tree_nodes').run();
  });
  const t = check(noTree, note, { vkey: logKey });
  assert.is(t.kind, 'rewritten');
  if (t.kind === 'rewritten') assert.is(t.seq, null);
  const j = check(rw, json, {});
  assert.is(j.kind, 'rewritten');
  if (j.kind === 'rewritten') {
    assert.is(j.signed, JSON.parse(json).chain);
    assert.match(j.found, /^[0-9a-f]{64}$/);
  }
  // A size-0 checkpoint must sign the empty tree's root.
  const zero = (root: Buffer) => signNote(formatCheckpoint({ origin: 'example.com/pasid-log', size: 0, root }), logKey);
  assert.is(check(path, zero(EMPTY_ROOT), { vkey: logKey }).kind, 'ok');
  assert.is(check(path, zero(Buffer.alloc(32, 7)), { vkey: logKey }).kind, 'rewritten');
});

s('unchecked: the log is bad before the checkpoint\'s size; ok with a bad log after it', () => {
  const bad = (seq: number) => tamperedCopy(path, (h) => h.prepare(`UPDATE entries SET entry = replace(entry, '"at":"2026', '"at":"2025') WHERE seq = ?`).run(seq));
  const early = bad(30);
  for (const text of [note, json]) {
    const v = check(early, text, { vkey: logKey });
    assert.is(v.kind, 'unchecked');
    if (v.kind === 'unchecked') assert.is(v.bad.seq, 30);
  }
  const shortNote = onLog(path, (db) => checkpointText(db, logKey, { size: 50 }));
  const late = bad(70);
  const v = check(late, shortNote, { vkey: logKey });
  assert.is(v.kind, 'ok');
  assert.is(v.log?.ok, false);
  assert.is(v.log?.bad?.seq, 70);
});

s('unusable: no checkpoint text, a signed note that is no checkpoint, keys that cannot check it', () => {
  for (const [text, keys, why] of [
    ['{ not json', {}, /^not JSON$/],
    [JSON.stringify({ ...JSON.parse(json), chain: 'xyz' }), {}, /chain must be 64 lowercase hex digits/],
    [signNote('hello\nworld\n', logKey), { vkey: logKey }, /at least three lines/],
    [note, {}, /needs the log's verifier key/],
    [note, { vkey: w1 }, /must be a log key/],
    [note, { vkey: logKey, witnesses: [logKey] }, /not a witness key/],
    [note, { vkey: logKey, witnesses: [w1], minWitnesses: 2 }, /2 witnesses required, more than the 1/],
  ] as const) {
    const v = check(path, text, keys);
    assert.is(v.kind, 'unusable', text.slice(0, 30));
    if (v.kind === 'unusable') assert.match(v.why, why);
    assert.is(v.log, null);
  }
  // Not a signed note at all: its signature cannot be found, a signature verdict.
  assert.is(check(path, 'this is not a note\n', { vkey: logKey }).kind, 'signature');
});

s.run();
