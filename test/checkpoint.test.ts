import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkpointMessage, checkSignature, generateCheckpointKeys, makeCheckpoint, parseCheckpoint, readPrivateKey, readPublicKey,
} from '../src/replay/checkpoint.js';
import { verifyLog } from '../src/replay/verify.js';
import { CLI, tmpDir } from './helpers.js';
import { copyLog, rechain, tamperedCopy } from './tamper.js';
import { writeStory, type Story } from './replay_story.js';

const s = suite('signed checkpoints');
let story: Story;
let dir: string;
let cpFile: string;
let size: number;

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

s.before(async () => {
  story = await writeStory();
  size = story.ledger.head().seq;
  story.ledger.close();
  dir = tmpDir();
  assert.is(cli('keygen', '--out', join(dir, 'auditor')).status, 0);
  // The other party's key pair, made through the library (same format as keygen's).
  const other = generateCheckpointKeys();
  writeFileSync(join(dir, 'other.key'), other.privatePem);
  writeFileSync(join(dir, 'other.pub'), other.publicPem);
  cpFile = join(dir, 'cp.json');
  const r = cli('checkpoint', '--db', story.path, '--key', join(dir, 'auditor.key'), '--out', cpFile);
  assert.is(r.status, 0, r.stderr);
});

const tampered = (fn: (db: Database.Database) => void): string => tamperedCopy(story.path, fn);

const verifyCp = (db: string, ...extra: string[]) => cli('verify', '--db', db, '--checkpoint', cpFile, '--pub', join(dir, 'auditor.pub'), ...extra);

s('keygen writes a PKCS#8 private key (mode 600) and an SPKI public key, and refuses to overwrite', () => {
  const key = readFileSync(join(dir, 'auditor.key'), 'utf8');
  const pub = readFileSync(join(dir, 'auditor.pub'), 'utf8');
  assert.match(key, /^-----BEGIN PRIVATE KEY-----/);
  assert.match(pub, /^-----BEGIN PUBLIC KEY-----/);
  assert.is(statSync(join(dir, 'auditor.key')).mode & 0o777, 0o600);
  assert.is(typeof readPrivateKey(key), 'object');
  const again = cli('keygen', '--out', join(dir, 'auditor'));
  assert.is(again.status, 2);
  assert.match(again.stderr, /already exists/);
});

s('a checkpoint signs size, chain head and time, as documented; its own signature checks out', () => {
  const cp = JSON.parse(readFileSync(cpFile, 'utf8'));
  assert.is(cp.format, 'pasid-ledger-checkpoint/1');
  assert.is(cp.size, size);
  assert.match(cp.chain, /^[0-9a-f]{64}$/);
  assert.is(cp.public_key, readFileSync(join(dir, 'auditor.pub'), 'utf8'));
  assert.is(checkSignature(cp), null);
  assert.is(checkpointMessage(cp.size, cp.chain, cp.at), `pasid-ledger-checkpoint/1\n${cp.size}\n${cp.chain}\n${cp.at}\n`);
  // Any field changed breaks the signature.
  assert.match(checkSignature({ ...cp, size: cp.size - 1 })!, /does not match/);
  assert.match(checkSignature({ ...cp, at: '2020-01-01T00:00:00.000Z' })!, /does not match/);
});

s('verify --checkpoint passes on the log it signed, and on that log grown since', async () => {
  const ok = verifyCp(story.path);
  assert.is(ok.status, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, new RegExp(`still has entry ${size} with the signed chain`));
  const grown = copyLog(story.path);
  const { openLedger } = await import('../src/ledger.js');
  const l = await openLedger(grown);
  l.request({ op: 'vm_start', vm: 'vm7', mm: '0x7000' });
  l.close();
  assert.is(verifyCp(grown).status, 0);
});

s('verify --checkpoint detects a truncated log', () => {
  const path = tampered((db) => db.prepare('DELETE FROM entries WHERE seq > ?').run(size - 10));
  const r = verifyCp(path, '--json');
  assert.is(r.status, 1);
  const out = JSON.parse(r.stdout);
  assert.is(out.checkpoint.problem, 'truncated');
  assert.match(out.checkpoint.detail, new RegExp(`has ${size - 10} entries, .* signed ${size}`));
});

s('verify --checkpoint detects a log rewritten with every hash recomputed', () => {
  const seq = story.outcomes.find((o) => o.out.reason === 'quota_exhausted')!.out.seq;
  const path = tampered((db) => {
    const text = (db.prepare('SELECT entry FROM entries WHERE seq = ?').get(seq) as { entry: string }).entry;
    db.prepare('UPDATE entries SET entry = ? WHERE seq = ?').run(text.replace('"ret":-14', '"ret":0'), seq);
    rechain(db, seq);
  });
  // On its own the rewritten log agrees with itself...
  const raw = new Database(path, { readonly: true });
  assert.ok(verifyLog(raw).ok);
  raw.close();
  // ...but not with the checkpoint.
  const r = verifyCp(path, '--json');
  assert.is(r.status, 1);
  const out = JSON.parse(r.stdout);
  assert.is(out.checkpoint.problem, 'rewritten');
  assert.is(out.ok, false);
  // A deleted row with the tail renumbered and rechained: a rewrite too.
  const renumbered = tampered((db) => {
    db.prepare('DELETE FROM entries WHERE seq = 50').run();
    const rows = db.prepare('SELECT seq, entry FROM entries WHERE seq > 50 ORDER BY seq').all() as Array<{ seq: number; entry: string }>;
    const upd = db.prepare('UPDATE entries SET seq = ?, entry = ? WHERE seq = ?');
    for (const r0 of rows) upd.run(r0.seq - 1, JSON.stringify({ ...JSON.parse(r0.entry), seq: r0.seq - 1 }), r0.seq);
    rechain(db, 1);
  });
  const r2 = verifyCp(renumbered, '--json');
  assert.is(r2.status, 1);
  const out2 = JSON.parse(r2.stdout);
  assert.is(out2.bad, null, 'the renumbered log agrees with itself');
  assert.is(out2.checkpoint.problem, 'truncated', 'one entry short of the signed size');
});

s('a wrong key, an altered checkpoint, a bad signature are detected', () => {
  // Signed by another key than the trusted one.
  const other = join(dir, 'other-cp.json');
  const signed = JSON.parse(readFileSync(cpFile, 'utf8'));
  const otherKey = readPrivateKey(readFileSync(join(dir, 'other.key'), 'utf8')) as Exclude<ReturnType<typeof readPrivateKey>, string>;
  writeFileSync(other, JSON.stringify(makeCheckpoint({ seq: signed.size, chain: signed.chain }, otherKey, signed.at)));
  const r = cli('verify', '--db', story.path, '--checkpoint', other, '--pub', join(dir, 'auditor.pub'));
  assert.is(r.status, 1);
  assert.match(r.stdout, /signature: the checkpoint was signed by another key/);
  // The size raised to hide a truncation: the signature no longer matches.
  const cp = JSON.parse(readFileSync(cpFile, 'utf8'));
  const altered = join(dir, 'altered.json');
  writeFileSync(altered, JSON.stringify({ ...cp, size: cp.size - 5 }));
  const r2 = cli('verify', '--db', story.path, '--checkpoint', altered);
  assert.is(r2.status, 1);
  assert.match(r2.stdout, /signature: the signature does not match/);
  // A signature made by another key, with this key's public_key left in place.
  const forged = join(dir, 'forged.json');
  const otherCp = JSON.parse(readFileSync(other, 'utf8'));
  writeFileSync(forged, JSON.stringify({ ...otherCp, public_key: cp.public_key }));
  const r3 = cli('verify', '--db', story.path, '--checkpoint', forged);
  assert.is(r3.status, 1);
  assert.match(r3.stdout, /signature/);
});

s('bad input: a malformed checkpoint, a public key given as --key', () => {
  const junk = join(dir, 'junk.json');
  writeFileSync(junk, '{"format":"something else"}');
  const j = cli('verify', '--db', story.path, '--checkpoint', junk);
  assert.is(j.status, 2);
  assert.match(j.stderr, /not a pasid-ledger-checkpoint\/1 file/);
  const k = cli('checkpoint', '--db', story.path, '--key', join(dir, 'auditor.pub'), '--out', join(dir, 'x.json'));
  assert.is(k.status, 2);
  assert.match(k.stderr, /not a private key/);
});

s('checkpoint refuses to sign a log that does not verify', () => {
  const path = tampered((db) => db.prepare("UPDATE entries SET vm = 'x' WHERE seq = 30").run());
  const r = cli('checkpoint', '--db', path, '--key', join(dir, 'auditor.key'), '--out', join(dir, 'refused.json'));
  assert.is(r.status, 1);
  assert.match(r.stdout, /not signed: seq 30 is bad/);
});

s('the library: parseCheckpoint validates, makeCheckpoint and checkSignature agree', () => {
  const { privatePem, publicPem } = generateCheckpointKeys();
  const key = readPrivateKey(privatePem);
  assert.ok(typeof key !== 'string');
  const cp = makeCheckpoint({ seq: 3, chain: 'a'.repeat(64) }, key as Exclude<typeof key, string>, '2026-01-01T00:00:00.000Z');
  const pub = readPublicKey(publicPem);
  assert.is(checkSignature(cp, pub as Exclude<typeof pub, string>), null);
  assert.equal(parseCheckpoint(JSON.stringify(cp)), cp);
  assert.match(String(parseCheckpoint(JSON.stringify({ ...cp, chain: 'XYZ' }))), /chain must be/);
  assert.match(String(parseCheckpoint('nope')), /not JSON/);
  assert.match(String(readPublicKey('garbage')), /not a public key/);
});

s.run();
