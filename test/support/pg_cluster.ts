import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A PostgreSQL database for one test file or bench run: its URL, and how to drop it. */
export interface PgCluster {
  /** A connection URL to a fresh, empty database. */
  url: string;
  /** Stops and removes what `startPgCluster` started (idempotent; also run at process exit). */
  stop(): Promise<void>;
}

/** Where Debian's PostgreSQL server binaries are (highest version first), or the PATH. */
function pgBinDir(): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(join(base, v, 'bin', 'pg_ctl')) && existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  }
  for (const d of (process.env.PATH ?? '').split(':')) if (d && existsSync(join(d, 'pg_ctl')) && existsSync(join(d, 'initdb'))) return d;
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a server binary as the `postgres` user when we are root (initdb refuses root). */
function asPostgres(bin: string, args: string[]): void {
  if (isRoot) execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'pipe' });
  else execFileSync(bin, args, { stdio: 'pipe' });
}

/** A fresh database on an existing server: `PASID_LEDGER_TEST_PG` names the server. */
async function freshDatabase(serverUrl: string): Promise<PgCluster> {
  const name = `pasid_ledger_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  let stopped = false;
  return {
    url: u.toString(),
    async stop() {
      if (stopped) return;
      stopped = true;
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

const running = new Set<() => void>();
process.on('exit', () => {
  for (const stop of running) stop();
});

/**
 * A throwaway PostgreSQL for tests and the bench: `PASID_LEDGER_TEST_PG` (a server URL;
 * a fresh database is created on it and dropped afterwards) when set; otherwise a new
 * cluster from Debian's binaries (`initdb` + `pg_ctl`, as the `postgres` user when run as
 * root) in a fresh temp dir, listening on a free loopback port, its unix socket in that
 * dir, stopped and removed by `stop()` or at process exit; `settings` ("name=value") are
 * passed to the server (ignored with `PASID_LEDGER_TEST_PG`). Returns the reason
 * when there is no PostgreSQL to start.
 *
 * @example
 * const pg = await startPgCluster();
 * if (typeof pg === 'string') throw new Error(pg);
 * // ... pg.url ...
 * await pg.stop();
 */
export async function startPgCluster(opts: { durable?: boolean; settings?: string[] } = {}): Promise<PgCluster | string> {
  if (process.env.PASID_LEDGER_TEST_PG) return freshDatabase(process.env.PASID_LEDGER_TEST_PG);
  const bin = pgBinDir();
  if (!bin) return 'no PostgreSQL server binaries (initdb, pg_ctl) found: install Debian\'s postgresql or set PASID_LEDGER_TEST_PG';
  if (isRoot) {
    try {
      execFileSync('id', ['-u', 'postgres'], { stdio: 'pipe' });
    } catch {
      execFileSync('useradd', ['-r', '-M', '-s', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'pasid-ledger-pg-'));
  const data = join(dir, 'data');
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const cleanup = (): void => {
    try {
      asPostgres(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-s']);
    } catch { /* not running */ }
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(cleanup);
  try {
    asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '-N']);
    const port = await freePort();
    const settings = [
      `-p ${port}`, `-k ${dir}`, '-c listen_addresses=127.0.0.1', '-c max_connections=60', '-c shared_buffers=128MB',
      ...(opts.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      ...(opts.settings ?? []).map((x) => `-c ${x}`),
    ];
    asPostgres(join(bin, 'pg_ctl'), ['start', '-D', data, '-w', '-t', '60', '-s', '-l', join(dir, 'server.log'), '-o', settings.join(' ')]);
    let stopped = false;
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async stop() {
        if (stopped) return;
        stopped = true;
        running.delete(cleanup);
        cleanup();
      },
    };
  } catch (e) {
    running.delete(cleanup);
    cleanup();
    const err = e as { stderr?: Buffer; message: string };
    return `cannot start PostgreSQL from ${bin}: ${err.stderr?.toString().trim() || err.message}`;
  }
}

/**
 * `startPgCluster` for a suite that cannot run without PostgreSQL: throws, naming why,
 * when no cluster can be started (CI installs the server).
 *
 * @example
 * s.before(async () => { pgc = await requirePgCluster(); });
 */
export async function requirePgCluster(opts: { durable?: boolean; settings?: string[] } = {}): Promise<PgCluster> {
  const c = await startPgCluster(opts);
  if (typeof c === 'string') throw new Error(`the fleet tests need PostgreSQL: ${c}`);
  return c;
}
