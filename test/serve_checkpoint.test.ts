import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../src/server/server.js';
import { parseCheckpoint, type CheckpointBody } from '../src/tlog/checkpoint.js';
import { parseVerifierKey, type NoteVerifier } from '../src/tlog/keys.js';
import { hashLeaf } from '../src/tlog/merkle.js';
import { openNote } from '../src/tlog/note.js';
import { verifyConsistency, verifyInclusion } from '../src/tlog/proof.js';
import { verifyBundle } from '../src/tlog/bundle.js';
import { grant, http, post, setup } from './fixtures/http.js';
import { CLI, tmpDir } from './helpers.js';
import { serveProcess } from './support/serve_process.js';

/**
 * `serve --checkpoint-key`: a real server process signs C2SP checkpoints as the log grows,
 * serves the latest at GET /checkpoint (no token) and proofs at /v1/proof/* (admin and
 * auditor tokens) that the repo's own verifier (src/tlog) accepts against the signed root.
 */
const s = suite('serve_checkpoint');

const dir = tmpDir();
const db = join(dir, 'served.db');
const socket = join(dir, 's.sock');
const out = join(dir, 'served.checkpoint');
const key = join(dir, 'log.key');
let vkey: NoteVerifier;
let tok: Record<string, string>;
let child: ChildProcess;
let stderr = '';

const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });


/** GET /checkpoint, opened with the log's verifier key. */
async function checkpoint(): Promise<{ note: string; body: CheckpointBody }> {
  const r = await http(socket, 'GET', '/checkpoint');
  assert.is(r.status, 200, r.text);
  const opened = openNote(r.text, [vkey]);
  assert.ok(typeof opened !== 'string', String(opened));
  assert.is((opened as { good: unknown[] }).good.length, 1);
  const body = parseCheckpoint((opened as { text: string }).text);
  assert.ok(typeof body !== 'string', String(body));
  return { note: r.text, body: body as CheckpointBody };
}

const head = async (): Promise<number> => (await http(socket, 'GET', '/healthz')).json.seq as number;

/** Polls GET /checkpoint until its size is `size` (signing runs just after the commit, off the request path). */
async function checkpointAt(size: number): Promise<{ note: string; body: CheckpointBody }> {
  for (let i = 0; i < 100; i++) {
    const c = await checkpoint();
    if (c.body.size === size) return c;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.unreachable(`the checkpoint never reached size ${size}`);
  throw new Error('unreachable');
}

/** Waits until `--checkpoint-out` holds `note` (it is written after the checkpoint is served, off the main thread). */
async function outHolds(note: string): Promise<void> {
  for (let i = 0; i < 100 && readFileSync(out, 'utf8') !== note; i++) await new Promise((r) => setTimeout(r, 50));
  assert.is(readFileSync(out, 'utf8'), note);
}

function stopChild(c: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (c.exitCode !== null) return resolve(c.exitCode);
    c.once('exit', (code) => resolve(code));
    c.kill('SIGTERM');
  });
}

s.before(async () => {
  const k = cli('keygen', '--out', join(dir, 'log'), '--name', 'example.com/served');
  assert.is(k.status, 0, k.stderr);
  vkey = parseVerifierKey(readFileSync(join(dir, 'log.vkey'), 'utf8')) as NoteVerifier;
  tok = await grant(db, { admin: { role: 'admin' }, auditor: { role: 'auditor' }, vmm: { role: 'vmm', vm: 'vm1' } });
  child = await serveProcess(db, socket, ['--checkpoint-key', key, '--checkpoint-every', '4', '--checkpoint-out', out]);
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
});

s.after(async () => {
  if (child) await stopChild(child);
});

s('at start: the log as it is, signed by the key, at GET /checkpoint with no token, text/plain; --checkpoint-out holds the same bytes', async () => {
  const n = await head();
  const r = await http(socket, 'GET', '/checkpoint');
  assert.is(r.status, 200);
  const c = await checkpoint();
  assert.is(c.body.origin, 'example.com/served');
  assert.is(c.body.size, n);
  assert.equal(c.body.extensions, []);
  assert.is(readFileSync(out, 'utf8'), c.note);
});

s('after every 4 new entries a new checkpoint, consistent with the first; --checkpoint-out follows it', async () => {
  const first = await checkpoint();
  assert.is((await post(socket, tok.admin, setup('vm1', '0x1000', 'c1', 'g1'))).status, 200);
  const n = await head();
  assert.ok(n - first.body.size >= 4, `${n} - ${first.body.size}`);
  const second = await checkpointAt(n);
  assert.is.not(second.body.root.toString('base64'), first.body.root.toString('base64'));
  await outHolds(second.note);
  const p = await http(socket, 'GET', `/v1/proof/consistency?old=${first.body.size}`, { token: tok.auditor });
  assert.is(p.status, 200, p.text);
  assert.is(p.json.old_root, first.body.root.toString('base64'));
  assert.is(p.json.root, second.body.root.toString('base64'));
  assert.is(verifyConsistency(first.body.size, second.body.size, p.json.hashes.map((h: string) => Buffer.from(h, 'base64')), first.body.root, second.body.root), null);
});

s('fewer than 4 new entries: no new checkpoint; proofs default to the checkpoint\'s size, not the log\'s', async () => {
  const before = await checkpoint();
  assert.is((await post(socket, tok.admin, { op: 'pasid_alloc', container: 'c1', min: 1, max: 100 })).status, 200);
  const n = await head();
  assert.ok(n - before.body.size < 4);
  await new Promise((r) => setTimeout(r, 100));
  const after = await checkpoint();
  assert.is(after.note, before.note);
  const p = await http(socket, 'GET', '/v1/proof/inclusion?seq=1', { token: tok.admin });
  assert.is(p.json.tree_size, before.body.size);
  const explicit = await http(socket, 'GET', `/v1/proof/inclusion?seq=${n}&size=${n}`, { token: tok.admin });
  assert.is(explicit.status, 200, explicit.text);
  assert.is(explicit.json.tree_size, n);
});

s('every inclusion and consistency proof up to the checkpoint verifies against its signed root (src/tlog)', async () => {
  const c = await checkpoint();
  const size = c.body.size;
  const entries = (await http(socket, 'GET', '/v1/entries', { token: tok.auditor })).text.trim().split('\n');
  for (let seq = 1; seq <= size; seq++) {
    const p = await http(socket, 'GET', `/v1/proof/inclusion?seq=${seq}`, { token: tok.auditor });
    assert.is(p.status, 200, p.text);
    assert.is(p.json.index, seq - 1);
    assert.is(p.json.root, c.body.root.toString('base64'));
    const leaf = hashLeaf(entries[seq - 1]!);
    assert.is(p.json.leaf_hash, leaf.toString('base64'));
    assert.is(verifyInclusion(seq - 1, size, leaf, p.json.hashes.map((h: string) => Buffer.from(h, 'base64')), c.body.root), null, `seq ${seq}`);
    const q = await http(socket, 'GET', `/v1/proof/consistency?old=${seq}&size=${size}`, { token: tok.admin });
    assert.is(q.status, 200, q.text);
    const old = Buffer.from(q.json.old_root, 'base64');
    assert.is(verifyConsistency(seq, size, q.json.hashes.map((h: string) => Buffer.from(h, 'base64')), old, c.body.root), null, `old ${seq}`);
    // A forged old root does not pass.
    assert.is.not(verifyConsistency(seq, size, q.json.hashes.map((h: string) => Buffer.from(h, 'base64')), hashLeaf('forged'), c.body.root), null);
  }
});

s('the body is byte for byte what `prove --json` prints for the same question', async () => {
  const { body } = await checkpoint();
  const inc = await http(socket, 'GET', `/v1/proof/inclusion?seq=3&size=${body.size}`, { token: tok.admin });
  const cliInc = cli('prove', '--db', db, '--seq', '3', '--size', String(body.size), '--json');
  assert.is(cliInc.status, 0, cliInc.stderr);
  assert.is(inc.text, cliInc.stdout);
  const con = await http(socket, 'GET', '/v1/proof/consistency?old=2', { token: tok.admin });
  const cliCon = cli('prove', '--db', db, '--old-size', '2', '--size', String(body.size), '--json');
  assert.is(con.text, cliCon.stdout);
});

s('proofs need an admin or auditor token: 401 without one, 403 for a vmm token; /checkpoint needs none', async () => {
  for (const path of ['/v1/proof/inclusion?seq=1', '/v1/proof/consistency?old=1']) {
    assert.is((await http(socket, 'GET', path)).status, 401);
    assert.is((await http(socket, 'GET', path, { token: 'not-a-token' })).status, 401);
    const v = await http(socket, 'GET', path, { token: tok.vmm });
    assert.is(v.status, 403);
    assert.match(v.json.error, /vmm token/);
    assert.is((await http(socket, 'GET', path, { token: tok.auditor })).status, 200);
  }
  assert.is((await http(socket, 'GET', '/checkpoint', { token: tok.vmm })).status, 200);
  assert.is((await http(socket, 'POST', '/v1/proof/inclusion?seq=1', { token: tok.admin, body: '' })).status, 405);
});

s('bad or out-of-range parameters are 400 with a JSON error', async () => {
  const n = await head();
  const { body } = await checkpoint();
  const bad = [
    '/v1/proof/inclusion', '/v1/proof/inclusion?seq=', '/v1/proof/inclusion?seq=abc', '/v1/proof/inclusion?seq=-1',
    '/v1/proof/inclusion?seq=0', `/v1/proof/inclusion?seq=${body.size + 1}`, `/v1/proof/inclusion?seq=1&size=${n + 1}`,
    '/v1/proof/inclusion?seq=1&size=x', '/v1/proof/inclusion?seq=1e3', '/v1/proof/inclusion?seq=9999999999999999',
    '/v1/proof/consistency', '/v1/proof/consistency?old=0', `/v1/proof/consistency?old=${body.size + 1}`,
    '/v1/proof/consistency?old=2&size=1', `/v1/proof/consistency?old=1&size=${n + 1}`, '/v1/proof/consistency?old=1&size=0',
  ];
  for (const path of bad) {
    const r = await http(socket, 'GET', path, { token: tok.admin });
    assert.is(r.status, 400, `${path}: ${r.status} ${r.text}`);
    assert.type(r.json.error, 'string');
  }
});

s('the explorer\'s "download evidence" proves against the served checkpoint', async () => {
  const r = await http(socket, 'GET', '/ui/api/evidence?from=2&to=4', { token: tok.auditor });
  assert.is(r.status, 200, r.text);
  const v = verifyBundle(r.text, [vkey]);
  assert.not.ok('problem' in v, JSON.stringify(v));
});

s('a --checkpoint-out replaced by something else is left alone, reported on stderr; requests and GET /checkpoint go on', async () => {
  writeFileSync(out, 'not a checkpoint\n');
  const before = await checkpoint();
  assert.is((await post(socket, tok.admin, setup('vm2', '0x2000', 'c2', 'g2'))).status, 200);
  const n = await head();
  const c = await checkpointAt(n);
  assert.ok(c.body.size > before.body.size);
  assert.is(readFileSync(out, 'utf8'), 'not a checkpoint\n');
  for (let i = 0; i < 50 && !/not replacing it/.test(stderr); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(stderr, /pasid-ledger: checkpoint: .*served\.checkpoint exists and is not a checkpoint signed by example\.com\/served: not replacing it/);
  writeFileSync(out, c.note);
});

s('after stopping: verify --checkpoint accepts it, and checkpoint --key signs the same bytes for that size', async () => {
  const c = await checkpoint();
  assert.is(await stopChild(child), 0);
  writeFileSync(out, c.note);
  const v = cli('verify', '--db', db, '--checkpoint', out, '--vkey', join(dir, 'log.vkey'));
  assert.is(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /signed by example\.com\/served/);
  const again = join(dir, 'cli.checkpoint');
  const k = cli('checkpoint', '--db', db, '--key', key, '--out', again);
  assert.is(k.status, 0, k.stderr);
  // The server signed at the log's head (the last post was 4+ entries).
  assert.is(readFileSync(again, 'utf8'), c.note);
});

s('--checkpoint-interval: a log that grew by fewer than --checkpoint-every entries is signed within the interval; --checkpoint-out replaces a checkpoint of the same key', async () => {
  const sock2 = join(dir, 's2.sock');
  const again = join(dir, 'cli.checkpoint');
  const c2 = await serveProcess(db, sock2, ['--checkpoint-key', key, '--checkpoint-every', '100000', '--checkpoint-interval', '1', '--checkpoint-origin', 'example.com/other-origin', '--checkpoint-out', again]);
  try {
    const start = await http(sock2, 'GET', '/checkpoint');
    assert.match(start.text, /^example\.com\/other-origin\n/);
    assert.is(readFileSync(again, 'utf8'), start.text);
    assert.is((await post(sock2, tok.admin, { op: 'pasid_alloc', container: 'c1', min: 1, max: 100 })).status, 200);
    const n = (await http(sock2, 'GET', '/healthz')).json.seq as number;
    let size = 0;
    for (let i = 0; i < 60 && size !== n; i++) {
      await new Promise((r) => setTimeout(r, 100));
      size = Number((await http(sock2, 'GET', '/checkpoint')).text.split('\n')[1]);
    }
    assert.is(size, n);
  } finally {
    assert.is(await stopChild(c2), 0);
  }
});

s('refused at start (exit 2, nothing written): --checkpoint-out naming the log or a file that is no checkpoint of this key, a flag without --checkpoint-key', () => {
  const sock3 = join(dir, 's3.sock');
  const other = join(dir, 'notes.txt');
  writeFileSync(other, 'my notes\n');
  const cases: [string[], RegExp][] = [
    [['--checkpoint-key', key, '--checkpoint-out', db], /which this command reads/],
    [['--checkpoint-key', key, '--checkpoint-out', key], /which this command reads/],
    [['--checkpoint-key', key, '--checkpoint-out', other], /not a checkpoint signed by example\.com\/served: not replacing it/],
    [['--checkpoint-key', key, '--checkpoint-out', dir], /is a directory/],
    [['--checkpoint-every', '5'], /--checkpoint-every needs --checkpoint-key/],
    [['--checkpoint-key', join(dir, 'log.vkey')], /--checkpoint-key/],
    [['--checkpoint-key', key, '--checkpoint-every', '0'], /at least 1/],
    [['--checkpoint-key', key, '--checkpoint-origin', 'two\nlines'], /--checkpoint-origin must be one line/],
  ];
  for (const [args, why] of cases) {
    const r = cli('serve', '--db', db, '--socket', sock3, ...args);
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  assert.is(readFileSync(other, 'utf8'), 'my notes\n');
});

s('without --checkpoint-key: GET /checkpoint is 404 with a JSON error; proofs default to the whole log', async () => {
  const d = join(dir, 'plain.db');
  const t = await grant(d, { admin: { role: 'admin' } });
  const sock4 = join(dir, 's4.sock');
  const srv = await startServer({ db: d, socket: sock4 });
  try {
    const r = await http(sock4, 'GET', '/checkpoint');
    assert.is(r.status, 404);
    assert.match(r.json.error, /--checkpoint-key/);
    const p = await http(sock4, 'GET', '/v1/proof/inclusion?seq=1', { token: t.admin });
    assert.is(p.status, 200, p.text);
    assert.is(p.json.tree_size, srv.ledger.head().seq);
    const e = await http(sock4, 'GET', '/ui/api/evidence?from=1&to=1', { token: t.admin });
    assert.is(e.status, 501);
  } finally {
    await srv.stop();
  }
});

s('SIGTERM signs a last checkpoint of the final head into --checkpoint-out, which verify --checkpoint accepts; a failure then is one stderr line, exit 0', async () => {
  const d = join(dir, 'final.db');
  const t = await grant(d, { admin: { role: 'admin' } });
  const sock5 = join(dir, 's5.sock');
  const finalOut = join(dir, 'final.checkpoint');
  const args = ['--checkpoint-key', key, '--checkpoint-every', '100000', '--checkpoint-out', finalOut];
  const srv = await serveProcess(d, sock5, args);
  let err = '';
  srv.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const atStart = readFileSync(finalOut, 'utf8');
  assert.is((await post(sock5, t.admin, setup('vm1', '0x1000', 'c1', 'g1'))).status, 200);
  assert.is((await post(sock5, t.admin, { op: 'pasid_alloc', container: 'c1', min: 1, max: 100 })).status, 200);
  const n = (await http(sock5, 'GET', '/healthz')).json.seq as number;
  // Far fewer than --checkpoint-every entries: nothing signed since the start.
  assert.is(readFileSync(finalOut, 'utf8'), atStart);
  assert.ok(Number(atStart.split('\n')[1]) < n);
  assert.is(await stopChild(srv), 0);
  assert.not.match(err, /checkpoint:/, err);
  const note = readFileSync(finalOut, 'utf8');
  const opened = openNote(note, [vkey]);
  assert.ok(typeof opened !== 'string' && opened.good.length === 1, String(opened));
  const body = parseCheckpoint((opened as { text: string }).text) as CheckpointBody;
  assert.is(body.size, n, 'the final head, exactly');
  const v = cli('verify', '--db', d, '--checkpoint', finalOut, '--vkey', join(dir, 'log.vkey'));
  assert.is(v.status, 0, v.stdout + v.stderr);
  const mine = join(dir, 'final-cli.checkpoint');
  const k = cli('checkpoint', '--db', d, '--key', key, '--out', mine);
  assert.is(k.status, 0, k.stderr);
  assert.is(readFileSync(mine, 'utf8'), note, 'what checkpoint --key signs for the final head');
  // A last checkpoint that cannot be written: one line on stderr, the exit status unchanged.
  const again = await serveProcess(d, sock5, args);
  let err2 = '';
  again.stderr!.on('data', (c: Buffer) => { err2 += c.toString(); });
  assert.is((await post(sock5, t.admin, { op: 'pasid_alloc', container: 'c1', min: 1, max: 100 })).status, 200);
  writeFileSync(finalOut, 'not a checkpoint\n');
  assert.is(await stopChild(again), 0);
  assert.is(readFileSync(finalOut, 'utf8'), 'not a checkpoint\n');
  const lines = err2.split('\n').filter((l) => l.startsWith('pasid-ledger: checkpoint:'));
  assert.is(lines.length, 1, err2);
  assert.match(lines[0]!, /final\.checkpoint exists and is not a checkpoint signed by example\.com\/served: not replacing it/);
});

s.run();
