import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { hashLeaf } from '../src/tlog/merkle.js';
import { verifyBundle } from '../src/tlog/bundle.js';
import { formatSignerKey, formatVerifierKey, generateSigner, parseVerifierKey, type NoteVerifier } from '../src/tlog/keys.js';
import { CLI, setupVm, steppingClock, tmpDir } from './helpers.js';
import { copyLog, rechain, tamperedCopy } from './tamper.js';

const s = suite('proofs_cli');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
let dir: string;
let db: string;
let cp: string;
let size: number;
const k = (f: string) => join(dir, f);

async function grow(path: string, n: number): Promise<number> {
  const l = await openLedger(path, { clock: steppingClock(), synchronous: 'OFF' });
  if (l.head().seq === 1) setupVm(l);
  const target = l.head().seq + n;
  while (l.head().seq < target) l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 100000 });
  const seq = l.head().seq;
  l.close();
  return seq;
}

s.before(async () => {
  dir = tmpDir();
  db = k('log.db');
  size = await grow(db, 300);
  const g = cli('keygen', '--out', k('log'), '--name', 'example.com/pasid-log');
  assert.is(g.status, 0, g.stderr);
  assert.match(g.stdout, /^example\.com\/pasid-log\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}=?\n$/);
  assert.is(cli('keygen', '--out', k('w1'), '--witness', '--name', 'witness.one').status, 0);
  // More keys through the library (the same files keygen writes), to spare process starts.
  for (const [f, name, alg] of [['other', 'example.com/pasid-log', 1], ['w2', 'witness.two', 4]] as const) {
    const key = generateSigner(name, alg);
    writeFileSync(k(`${f}.key`), formatSignerKey(key) + '\n');
    writeFileSync(k(`${f}.vkey`), formatVerifierKey(key) + '\n');
  }
  cp = k('cp.note');
  const c = cli('checkpoint', '--db', db, '--key', k('log.key'), '--out', cp);
  assert.is(c.status, 0, c.stderr + c.stdout);
});

s('keygen --name writes the vkey file it prints; checkpoint writes a C2SP note of the log', () => {
  assert.is(readFileSync(k('log.vkey'), 'utf8').split('+')[0], 'example.com/pasid-log');
  const text = readFileSync(cp, 'utf8');
  assert.match(text, new RegExp(`^example\\.com/pasid-log\\n${size}\\n[A-Za-z0-9+/]{43}=\\n\\n\\u2014 example\\.com/pasid-log [A-Za-z0-9+/]+=*\\n$`));
  assert.match(readFileSync(k('w1.vkey'), 'utf8'), /^witness\.one\+[0-9a-f]{8}\+B[A-Za-z0-9+/]{43}=?\n$/);
  const again = cli('checkpoint', '--db', db, '--key', k('log.key'), '--out', cp);
  assert.is(again.status, 2);
  assert.match(again.stderr, /already exists/);
});

s('verify: a good C2SP checkpoint passes; another key, a rewritten entry (named) and a truncated log fail with exit 1', () => {
  const ok = cli('verify', '--db', db, '--checkpoint', cp, '--vkey', k('log.vkey'));
  assert.is(ok.status, 0, ok.stdout + ok.stderr);
  const inline = cli('verify', '--checkpoint', cp, '--vkey', readFileSync(k('log.vkey'), 'utf8').trim());
  assert.is(inline.status, 0, inline.stdout + inline.stderr);
  const other = cli('verify', '--db', db, '--checkpoint', cp, '--vkey', k('other.vkey'));
  assert.is(other.status, 1);
  assert.match(other.stdout, /signature: not signed by/);
  // A careful attacker: edits entry 120 and recomputes every leaf and chain after it.
  const rewritten = tamperedCopy(db, (h) => {
    h.prepare(`UPDATE entries SET entry = replace(entry, '"at":"2026', '"at":"2025'), at = replace(at, '2026', '2025') WHERE seq = 120`).run();
    rechain(h, 120);
  });
  const rw = cli('verify', '--db', rewritten, '--checkpoint', cp, '--vkey', k('log.vkey'), '--json');
  assert.is(rw.status, 1, rw.stdout);
  const j = JSON.parse(rw.stdout);
  assert.is(j.checkpoint.problem, 'rewritten');
  assert.is(j.checkpoint.first_differing_seq, 120);
  const cut = tamperedCopy(db, (h) => h.prepare('DELETE FROM entries WHERE seq > 250').run());
  const tr = cli('verify', '--db', cut, '--checkpoint', cp, '--vkey', k('log.vkey'));
  assert.is(tr.status, 1);
  assert.match(tr.stdout, /truncated: the log has 250 entries/);
});

s('prove: inclusion (JSON and tlog-proof text) and consistency proofs of the CLI verify with the library', () => {
  const p = JSON.parse(cli('prove', '--db', db, '--seq', '77', '--checkpoint', cp, '--json').stdout);
  assert.is(p.index, 76);
  assert.is(p.tree_size, size);
  const row = new Database(db, { readonly: true }).prepare('SELECT entry FROM entries WHERE seq = 77').pluck().get() as string;
  assert.is(p.leaf_hash, hashLeaf(row).toString('base64'));
  assert.is(p.root, readFileSync(cp, 'utf8').split('\n')[2]);
  const text = cli('prove', '--db', db, '--seq', '77', '--checkpoint', cp).stdout;
  assert.is(text, `c2sp.org/tlog-proof@v1\nindex 76\n${p.hashes.map((h: string) => h + '\n').join('')}\n${readFileSync(cp, 'utf8')}`);
  const c = JSON.parse(cli('prove', '--db', db, '--old-size', '100', '--size', '200', '--json').stdout);
  assert.equal([c.old_size, c.tree_size], [100, 200]);
  assert.ok(c.hashes.length > 0);
  const bad = cli('prove', '--db', db, '--seq', String(size + 1));
  assert.is(bad.status, 2);
});

s('bundle and verify-bundle: a good bundle is proved offline; an edited byte, swapped entries, a dropped hash, another key\'s checkpoint are refused naming the entry', () => {
  const out = k('b.json');
  const b = cli('bundle', '--db', db, '--from', '120', '--to', '135', '--checkpoint', cp, '--out', out);
  assert.is(b.status, 0, b.stderr + b.stdout);
  const good = cli('verify-bundle', out, '--vkey', k('log.vkey'));
  assert.is(good.status, 0, good.stdout);
  assert.match(good.stdout, new RegExp(`ok: entries 120–135 belong to example\\.com/pasid-log, whose size-${size} checkpoint was signed by example\\.com/pasid-log`));
  assert.match(good.stdout, /pasid_alloc/);
  const bundle = JSON.parse(readFileSync(out, 'utf8'));
  const variant = (name: string, fn: (v: typeof bundle) => void): ReturnType<typeof cli> => {
    const v = JSON.parse(JSON.stringify(bundle));
    fn(v);
    writeFileSync(k(name), JSON.stringify(v));
    return cli('verify-bundle', k(name), '--vkey', k('log.vkey'));
  };
  const edited = variant('edited.json', (v) => { v.entries[3].entry = v.entries[3].entry.replace('"pasid_alloc"', '"pasid_free"'); });
  assert.is(edited.status, 1);
  assert.match(edited.stdout, /entry 123/);
  const swapped = variant('swapped.json', (v) => { [v.entries[4], v.entries[5]] = [v.entries[5], v.entries[4]]; });
  assert.is(swapped.status, 1);
  assert.match(swapped.stdout, /entry 12[45]/);
  const swappedTexts = variant('swapped2.json', (v) => { [v.entries[4].entry, v.entries[5].entry] = [v.entries[5].entry, v.entries[4].entry]; });
  assert.is(swappedTexts.status, 1);
  assert.match(swappedTexts.stdout, /entry 124/);
  const dropped = variant('dropped.json', (v) => { v.entries[0].proof.pop(); });
  assert.is(dropped.status, 1);
  assert.match(dropped.stdout, /entry 120/);
  // The same entries under a checkpoint signed by another key of the same name.
  assert.is(cli('checkpoint', '--db', db, '--key', k('other.key'), '--out', k('other.note')).status, 0);
  const foreign = variant('foreign.json', (v) => { v.checkpoint = readFileSync(k('other.note'), 'utf8'); });
  assert.is(foreign.status, 1);
  assert.match(foreign.stdout, /not signed by the given log key|does not verify/);
  // Every single edited byte of an entry text, and of its proof, is caught (the same check, in-process).
  const key = parseVerifierKey(readFileSync(k('log.vkey'), 'utf8')) as NoteVerifier;
  const text: string = bundle.entries[2].entry;
  for (let i = 0; i < text.length; i++) {
    const v = JSON.parse(JSON.stringify(bundle));
    v.entries[2].entry = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
    const r = verifyBundle(JSON.stringify(v), [key]);
    assert.ok('problem' in r, `byte ${i}`);
    assert.is('problem' in r ? r.seq : null, 122, `byte ${i}`);
  }
  assert.ok(!('problem' in verifyBundle(JSON.stringify(bundle), [key])));
});

s('witness: cosigns a first checkpoint and a consistent newer one; refuses a rollback and a fork naming both sizes; verify counts witnesses', async () => {
  const state = k('wstate');
  const w1 = cli('witness', cp, '--state', state, '--log-vkey', k('log.vkey'), '--key', k('w1.key'), '--out', k('cp.w1'));
  assert.is(w1.status, 0, w1.stderr + w1.stdout);
  const grown = copyLog(db, 'grown.db');
  const newSize = await grow(grown, 40);
  assert.is(cli('checkpoint', '--db', grown, '--key', k('log.key'), '--out', k('cp2.note')).status, 0);
  writeFileSync(k('p.json'), cli('prove', '--db', grown, '--old-size', String(size), '--size', String(newSize), '--json').stdout);
  const w2 = cli('witness', k('cp2.note'), '--state', state, '--log-vkey', k('log.vkey'), '--key', k('w1.key'), '--proof', k('p.json'), '--out', k('cp2.w1'));
  assert.is(w2.status, 0, w2.stderr + w2.stdout);
  const back = cli('witness', cp, '--state', state, '--log-vkey', k('log.vkey'), '--key', k('w1.key'));
  assert.is(back.status, 1);
  assert.match(back.stdout, new RegExp(`rollback: .*size ${size} .*size ${newSize}`));
  // A fork: the same log key signs another history of the same length.
  const fork = copyLog(db, 'fork.db');
  const fh = new Database(fork);
  fh.exec('DROP TRIGGER entries_no_update');
  fh.prepare(`UPDATE entries SET entry = replace(entry, '"at":"2026', '"at":"2025'), at = replace(at, '2026', '2025') WHERE seq = 200`).run();
  rechain(fh, 200);
  fh.exec('DROP TRIGGER tree_nodes_no_delete; DELETE FROM tree_nodes');
  fh.close();
  const forkSize = await grow(fork, newSize - size + 20);
  assert.is(cli('checkpoint', '--db', fork, '--key', k('log.key'), '--out', k('fork.note')).status, 0);
  writeFileSync(k('pf.json'), cli('prove', '--db', fork, '--old-size', String(newSize), '--size', String(forkSize), '--json').stdout);
  const forked = cli('witness', k('fork.note'), '--state', state, '--log-vkey', k('log.vkey'), '--key', k('w1.key'), '--proof', k('pf.json'));
  assert.is(forked.status, 1, forked.stdout);
  assert.match(forked.stdout, new RegExp(`fork: .*size ${forkSize} does not extend size ${newSize}`));
  const w2b = cli('witness', k('cp2.w1'), '--state', k('wstate2'), '--log-vkey', k('log.vkey'), '--key', k('w2.key'), '--out', k('cp2.w12'));
  assert.is(w2b.status, 0, w2b.stderr);
  const two = cli('verify', '--checkpoint', k('cp2.w12'), '--vkey', k('log.vkey'), '--witness-vkey', k('w1.vkey'), '--witness-vkey', k('w2.vkey'), '--min-witnesses', '2');
  assert.is(two.status, 0, two.stdout + two.stderr);
  const short = cli('verify', '--checkpoint', k('cp2.w1'), '--vkey', k('log.vkey'), '--witness-vkey', k('w1.vkey'), '--witness-vkey', k('w2.vkey'), '--min-witnesses', '2');
  assert.is(short.status, 1);
  assert.match(short.stdout, /1 of the given witnesses cosigned \(witness\.one\), 2 needed/);
});

s('export-tiles writes the checkpoint, full and partial hash tiles and entry bundles that rebuild the signed root', () => {
  const out = k('tiles');
  const r = cli('export-tiles', '--db', db, '--checkpoint', cp, '--out', out);
  assert.is(r.status, 0, r.stderr + r.stdout);
  assert.is(readFileSync(join(out, 'checkpoint'), 'utf8'), readFileSync(cp, 'utf8'));
  const full = readFileSync(join(out, 'tile/0/000'));
  assert.is(full.length, 256 * 32);
  const partial = readdirSync(join(out, 'tile/0/001.p'));
  assert.equal(partial, [String(size - 256)]);
  assert.is(readFileSync(join(out, 'tile/1/000.p/1')).length, 32);
  const bundle = readFileSync(join(out, 'tile/entries/000'));
  const first = bundle.subarray(2, 2 + bundle.readUInt16BE(0)).toString('utf8');
  assert.ok(hashLeaf(first).equals(full.subarray(0, 32)));
  assert.ok(existsSync(join(out, `tile/entries/001.p/${size - 256}`)));
  const again = cli('export-tiles', '--db', db, '--checkpoint', cp, '--out', out);
  assert.is(again.status, 2);
});

s('a log from before the tree: prove answers read-only without writing the file; migrate builds the tree', () => {
  const old = copyLog(db, 'old.db');
  const raw = new Database(old);
  raw.exec('DROP TABLE tree_nodes');
  raw.prepare("DELETE FROM kysely_migration WHERE name LIKE '%merkle_tree'").run();
  raw.close();
  const before = readFileSync(old);
  const p = cli('prove', '--db', old, '--seq', '77', '--size', String(size), '--json');
  assert.is(p.status, 0, p.stderr);
  const ref = JSON.parse(cli('prove', '--db', db, '--seq', '77', '--json').stdout);
  assert.equal(JSON.parse(p.stdout), ref);
  assert.ok(readFileSync(old).equals(before), 'the read command left the file as it was');
  const m = cli('migrate', '--db', old);
  assert.is(m.status, 0, m.stderr);
  assert.match(m.stdout, new RegExp(`Merkle tree built for entries 1 to ${size}`));
  const t = new Database(old, { readonly: true });
  assert.is(t.prepare('SELECT count(*) FROM tree_nodes WHERE pos % 2 = 0').pluck().get(), size);
  t.close();
});

s('old JSON checkpoints still verify', () => {
  assert.is(cli('keygen', '--out', k('pem')).status, 0);
  assert.is(cli('checkpoint', '--db', db, '--key', k('pem.key'), '--out', k('cp.json')).status, 0);
  const r = cli('verify', '--db', db, '--checkpoint', k('cp.json'), '--pub', k('pem.pub'));
  assert.is(r.status, 0, r.stdout + r.stderr);
});

s.run();
