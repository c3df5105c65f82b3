import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI, tmpDir } from './helpers.js';
import { startPgCluster, type PgCluster } from './support/pg_cluster.js';

/**
 * The commands the README and the demo's hints show run as written. Data-driven: every
 * `npx pasid-ledger ...` line of a README code block (and every hint the demo prints) is
 * run, in order, in a fresh directory where `npm start` (`demo --db ./pasid-ledger.db`)
 * made the log, with the built CLI standing in for `npx pasid-ledger`. A line expects
 * exit status 0 unless its comment says `# exit N`. A line whose comment says `serves until`
 * (a server: `explore`, `serve`) must still be running after a few seconds, having printed
 * its URL (explore, stdout) or "listening on" (serve, stderr), and must then stop with status 0 on SIGTERM. A line with a placeholder in
 * capitals (`FILE`, `DB`, `KEY`, ...) is a synopsis, not a command, and is skipped.
 */
const s = suite('README and demo: every npx pasid-ledger command runs as written');

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PLACEHOLDER = /(?<![-\w])[A-Z][A-Z0-9_]+(?![\w])/;

/** The shell lines starting with `npx pasid-ledger` in fenced code blocks (not TypeScript ones). */
function readmeCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const m of markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```/gm)) {
    if (m[1] === 'ts' || m[1] === 'typescript' || m[1] === 'js') continue;
    for (const line of m[2]!.split('\n')) if (/^\s*npx pasid-ledger\s/.test(line)) out.push(line.trim());
  }
  return out;
}

/** The command and its expected status: `# exit N` in the line's comment, else 0. */
function expected(line: string): number {
  const m = /#.*\bexits? (\d+)\b/.exec(line);
  return m ? Number(m[1]) : 0;
}

const SERVES = /#.*\bserves until\b/;

/** Lines that need a fleet PostgreSQL: the test starts a throwaway one and sets PASID_LEDGER_PG for them. */
const NEEDS_PG = /^npx pasid-ledger (ship|fleet)\b/;

function run(line: string, cwd: string, env: NodeJS.ProcessEnv = process.env): { code: number | null; out: string; err: string } {
  // The shell parses the line as a reader's shell would (quotes, comments); `exec` so that
  // a server gets the SIGTERM itself.
  // A line ending in `&` starts a server in the background: run in the foreground, as a server.
  const bg = /&\s*(#.*)?$/.test(line);
  const cmd = line.replace(/&(\s*#.*)?$/, '$1').replace(/^npx pasid-ledger\b/, `exec "${process.execPath}" "${CLI}"`);
  const server = bg || SERVES.test(line);
  const r = spawnSync('sh', ['-c', cmd], { cwd, env, encoding: 'utf8', timeout: server ? 5_000 : 120_000, killSignal: 'SIGTERM' });
  if (server) {
    // Still running when the time was up (ETIMEDOUT), and stopped cleanly on SIGTERM.
    const served = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
    return { code: served ? r.status : -1, out: r.stdout, err: r.stderr || `${line}: did not keep serving (${String(r.error)})` };
  }
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function demoDir(): { dir: string; hints: string[] } {
  const dir = tmpDir();
  const d = run('npx pasid-ledger demo --db ./pasid-ledger.db', dir);
  assert.is(d.code, 0, d.err);
  assert.ok(existsSync(join(dir, 'pasid-ledger.db')));
  return { dir, hints: d.out.split('\n').filter((l) => /^\s*npx pasid-ledger\s/.test(l)).map((l) => l.trim()) };
}

s('the extractor finds the README commands (so the test below cannot pass vacuously)', () => {
  const lines = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  assert.ok(lines.length >= 5, `${lines.length} commands`);
  assert.ok(lines.some((l) => l.startsWith('npx pasid-ledger state --db ./pasid-ledger.db')));
  assert.is(readmeCommands('```sh\nnpx pasid-ledger state --db x\n```\n```ts\nnpx pasid-ledger no\n```\n').length, 1);
  assert.is(expected('npx pasid-ledger verify --db x   # exits 1: the row was edited'), 1);
  assert.ok(PLACEHOLDER.test('npx pasid-ledger run FILE --db DB'));
  assert.not.ok(PLACEHOLDER.test('npx pasid-ledger explain --db ./pasid-ledger.db --seq 53    # why (-14 EFAULT, quota_exhausted)'.replace(/#.*$/, '')));
});

s('every npx pasid-ledger line of the README runs, in order, after npm start', async () => {
  const { dir } = demoDir();
  const lines = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const failed: string[] = [];
  let pg: PgCluster | undefined;
  if (lines.some((l) => NEEDS_PG.test(l))) {
    const c = await startPgCluster();
    assert.ok(typeof c !== 'string', `the README's fleet commands need PostgreSQL: ${String(c)}`);
    pg = c as PgCluster;
  }
  const env = pg ? { ...process.env, PASID_LEDGER_PG: pg.url } : process.env;
  let ran = 0;
  for (const line of lines) {
    if (PLACEHOLDER.test(line.replace(/\s#.*$/, ''))) continue;
    const r = run(line, dir, NEEDS_PG.test(line) ? env : process.env);
    ran++;
    if (r.code !== expected(line)) failed.push(`${line}\n  exit ${r.code}, expected ${expected(line)}: ${r.err.trim().split('\n')[0]}`);
  }
  await pg?.stop();
  assert.ok(ran >= 5, `ran ${ran}`);
  assert.equal(failed, [], failed.join('\n'));
});

s('every hint the demo prints runs as written', () => {
  const { dir, hints } = demoDir();
  assert.ok(hints.length >= 4, hints.join('\n'));
  for (const line of hints) {
    const r = run(line, dir);
    assert.is(r.code, expected(line), `${line}: ${r.err}`);
  }
});

s.run();
