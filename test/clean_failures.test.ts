import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openLedger } from '../src/ledger.js';
import { CLI, tmpDir } from './helpers.js';

const s = suite('clean failures of the command');

const HOLDER = fileURLToPath(new URL('./fixtures/lock_holder.js', import.meta.url));
const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

s('a log another process keeps locked: exit 2 with one line after --busy-timeout, nothing written', async () => {
  const dir = tmpDir();
  const db = join(dir, 'busy.db');
  const l = await openLedger(db);
  l.close();
  const holder = spawn(process.execPath, [HOLDER, db, '30000'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', () => reject(new Error('the lock holder ended early')));
    });
    const req = join(dir, 'r.jsonl');
    writeFileSync(req, '{"op":"vm_start","vm":"vm1","mm":"0x1"}\n');
    const t0 = Date.now();
    const r = cli('run', req, '--db', db, '--busy-timeout', '200');
    const took = Date.now() - t0;
    assert.is(r.code, 2, r.err);
    assert.is(r.err, 'pasid-ledger: database is busy (another writer holds it): gave up after 200 ms (see --busy-timeout)\n');
    assert.ok(took < 15_000, `gave up after the short timeout (${took} ms)`);
    // Readers are not blocked by a writer (WAL).
    const st = cli('state', '--db', db, '--json');
    assert.is(st.code, 0, st.err);
    assert.is(JSON.parse(st.out).seq, 1, 'nothing was written');
  } finally {
    holder.kill('SIGKILL');
  }
});

/** Runs a shell pipeline with bash; returns the exit status of its first command and what it wrote on stderr. */
function piped(cmd: string): { first: number; err: string } {
  const r = spawnSync('bash', ['-c', `${cmd}; echo "status \${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
  const m = /status (\d+)\n$/.exec(r.stderr);
  assert.ok(m, r.stderr);
  return { first: Number(m![1]), err: r.stderr.slice(0, m!.index) };
}

s('run | head -1 and log | head -1 end quietly; run still runs every request', () => {
  const dir = tmpDir();
  const db = join(dir, 'pipe.db');
  const req = join(dir, 'many.jsonl');
  const n = 3000; // far more output than a pipe holds
  writeFileSync(req, Array.from({ length: n }, (_, i) => `{"op":"vm_start","vm":"vm${i}","mm":"0x${i.toString(16)}"}`).join('\n') + '\n');
  const q = (p: string) => `'${p}'`;
  const run = piped(`${q(process.execPath)} ${q(CLI)} run ${q(req)} --db ${q(db)} | head -1 >/dev/null`);
  assert.is(run.err, '', 'no stack trace');
  assert.is(run.first, 0);
  const st = cli('state', '--db', db, '--json');
  assert.is(JSON.parse(st.out).vms.length, n, 'every request ran');
  const log = piped(`${q(process.execPath)} ${q(CLI)} log --db ${q(db)} | head -1 >/dev/null`);
  assert.is(log.err, '', 'no stack trace');
  assert.is(log.first, 0);
});

s('the top-level --help documents the exit status', () => {
  const r = cli('--help');
  assert.is(r.code, 0);
  assert.match(r.out, /Exit status:\n\s+0\s+success\n\s+1\s+a check found a problem/);
  assert.match(r.out, /\n\s+2\s+bad input or an unusable file/);
  assert.match(r.out, /\n\s+70\s+internal error/);
  assert.match(cli('run', '--help').out, /--busy-timeout <ms>/);
});

s.run();
