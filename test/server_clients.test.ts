import { spawn, spawnSync } from 'node:child_process';
import { serveProcess } from './support/serve_process.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openApiDocument } from '../src/server/openapi.js';
import { CLI, tmpDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const STORY = join(ROOT, 'examples/demo-story.ndjson');
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

const serve = serveProcess;

/** A new log with --pasid-quota 4 and an admin token: the README's steps. */
function newLog(db: string): string {
  assert.is(cli('run', '--db', db, '--pasid-quota', '4', '/dev/null').status, 0);
  const t = cli('token', 'add', '--db', db, '--role', 'admin');
  assert.is(t.status, 0, t.stderr);
  assert.match(t.stdout, /^plt_[A-Za-z0-9_-]+\n$/);
  return t.stdout.trim();
}

test('the Python client (http.client over AF_UNIX) prints what run --json prints for the demo story; so does curl', async () => {
  const dir = tmpDir();
  const direct = join(dir, 'direct.db');
  newLog(direct);
  const want = cli('run', '--db', direct, '--json', STORY);
  assert.is(want.status, 0, want.stderr);
  const served = join(dir, 'served.db');
  const token = newLog(served);
  const socket = join(dir, 's.sock');
  const child = await serve(served, socket);
  try {
    const py = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const p = spawn('python3', [join(ROOT, 'examples/pasid_client.py'), socket, token, STORY]);
      let out = '';
      let err = '';
      p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
      p.on('exit', (code) => resolve({ code, out, err }));
    });
    assert.is(py.code, 0, py.err);
    assert.is(py.out, want.stdout);
    assert.ok(want.stdout.includes('"reason":"quota_exhausted"'));
    // curl as the README shows it: one request, then the state.
    const curl = spawnSync('curl', ['-s', '--unix-socket', socket, '-H', `Authorization: Bearer ${token}`, 'http://localhost/v1/state?vm=vm1'], { encoding: 'utf8' });
    if (curl.error === undefined) {
      const { at: _a, ...got } = JSON.parse(curl.stdout);
      const { at: _b, ...want1 } = JSON.parse(cli('state', '--db', direct, '--vm', 'vm1', '--json').stdout);
      assert.equal(got, want1);
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    assert.is(await exited, 0);
  }
});

test('token add prints one line; list shows id, role and vm; revoke; bad input exits 2', () => {
  const db = join(tmpDir(), 't.db');
  newLog(db);
  const v = cli('token', 'add', '--db', db, '--role', 'vmm', '--vm', 'vm7');
  assert.is(v.stdout.split('\n').length, 2);
  const list = JSON.parse(cli('token', 'list', '--db', db, '--json').stdout);
  assert.equal(list.map((t: { role: string; vm: string | null }) => [t.role, t.vm]), [['admin', null], ['vmm', 'vm7']]);
  const id = list[1].token;
  assert.is(cli('token', 'revoke', id, '--db', db).status, 0);
  const again = cli('token', 'revoke', id, '--db', db);
  assert.is(again.status, 2);
  assert.match(again.stderr, /^pasid-ledger: token .* already revoked/);
  assert.is(cli('token', 'add', '--db', db, '--role', 'vmm').status, 2);
  assert.is(cli('token', 'add', '--db', db, '--role', 'root').status, 2);
  assert.match(cli('token', 'list', '--db', db).stdout, new RegExp(`${id}  vmm vm7  granted at seq \\d+  revoked at seq \\d+`));
  assert.is(cli('verify', '--db', db).status, 0);
  assert.is(cli('replay', '--db', db, '--verify').status, 0);
});

test('docs/openapi.json is the document generated from the request shapes', () => {
  const committed = JSON.parse(readFileSync(join(ROOT, 'docs/openapi.json'), 'utf8'));
  assert.equal(committed, openApiDocument());
  assert.equal(JSON.parse(cli('openapi').stdout), openApiDocument());
  const ops = committed.components.schemas.Request.oneOf.length;
  assert.ok(ops >= 19);
});

test.run();
