import { chmodSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, isIP } from 'node:net';
import { openLedger, type Ledger, type LedgerOptions } from '../ledger.js';
import type { CheckpointOptions } from './checkpointer.js';
import { Committer } from './committer.js';
import { PasidService } from './service.js';
import type { ServerShipper, ShipToOptions } from './shipper.js';

/** How to start `pasid-ledger serve`. */
export interface ServeOptions {
  db: string;
  /** The Unix domain socket to listen on. */
  socket: string;
  /** The socket file's mode. Default 0o660. */
  socketMode?: number;
  /** Also listen on TCP, `HOST:PORT`; a non-loopback host needs `tlsCert` and `tlsKey`. */
  listen?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** The largest request body, in bytes. Default 1 MiB. */
  maxBody?: number;
  /** Options for a new log (and checked against an existing one). */
  ledger?: LedgerOptions;
  /** Sign C2SP checkpoints (`--checkpoint-key`): served at `GET /checkpoint`. */
  checkpoint?: CheckpointOptions;
  /** Ship the committed entries into a fleet PostgreSQL from inside the server (`--ship-to`). */
  ship?: ShipToOptions;
}

/** A running server. */
export interface RunningServer {
  readonly service: PasidService;
  readonly ledger: Ledger;
  readonly socket: string;
  /** The TCP port when `listen` was given. */
  readonly port: number | null;
  /**
   * Stops: refuses new connections and requests (503), commits what was accepted,
   * answers it, closes the log and removes the socket.
   */
  stop(): Promise<void>;
  /** Connections the server holds open now. */
  connections(): Promise<number>;
}

import { DEFAULT_MAX_BODY, ServeError } from './errors.js';

export { DEFAULT_MAX_BODY, ServeError };

/**
 * Starts the PASID server: HTTP/1.1 + JSON on a Unix domain socket, the single writer
 * of its log. A socket path a live server answers on is refused; a stale socket (no one
 * listening) is replaced; any other file there is left alone and refused.
 *
 * @throws ServeError for a socket in use, a path that is not a socket, a bad `listen`.
 * @example
 * const s = await startServer({ db: './pasid-ledger.db', socket: '/run/pasid-ledger.sock' });
 * // curl --unix-socket /run/pasid-ledger.sock http://x/healthz
 * await s.stop();
 */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const tcp = o.listen !== undefined ? parseListen(o.listen, o.tlsCert !== undefined && o.tlsKey !== undefined) : null;
  await claimSocket(o.socket);
  // The writer thread opens (or creates) the log first; this thread reads it read-only.
  const { clock: _clock, ...options } = o.ledger ?? {};
  let service: PasidService | null = null;
  let shipper: ServerShipper | null = null;
  const committer = await Committer.start(o.db, options as Record<string, unknown>, (info, items, results) => {
    service?.onCommit(info, items, results);
    if (info.ok) shipper?.wake();
  });
  let ledger: Ledger;
  try {
    ledger = await openLedger(o.db, { readonly: true, mustExist: true });
  } catch (e) {
    await committer.close();
    throw e;
  }
  service = new PasidService(ledger, committer, o.maxBody ?? DEFAULT_MAX_BODY, o.checkpoint);
  await service.checkpoints?.start();
  const handler = service.handle.bind(service);
  const servers: Server[] = [];
  try {
    const unix = configure(createHttpServer({ keepAliveTimeout: 30_000 }, handler));
    servers.push(unix);
    // The socket is created with no access for others, then given its mode: never wider meanwhile.
    const old = process.umask(0o177);
    try {
      await listen(unix, { path: o.socket });
    } finally {
      process.umask(old);
    }
    chmodSync(o.socket, o.socketMode ?? 0o660);
    let port: number | null = null;
    if (tcp) {
      const srv = configure(tcp.tls
        ? createHttpsServer({ cert: readFileSync(o.tlsCert!), key: readFileSync(o.tlsKey!), keepAliveTimeout: 30_000 }, handler)
        : createHttpServer({ keepAliveTimeout: 30_000 }, handler));
      servers.push(srv);
      await listen(srv, { host: tcp.host, port: tcp.port });
      const a = srv.address();
      port = typeof a === 'object' && a ? a.port : null;
    }
    if (o.ship) {
      const { ServerShipper } = await import('./shipper.js');
      shipper = new ServerShipper(ledger, o.ship);
      shipper.start();
    }
    let stopped: Promise<void> | null = null;
    const svc = service;
    const shipping = shipper;
    return {
      service: svc, ledger, socket: o.socket, port,
      stop() {
        stopped ??= stop(svc, servers, ledger, o.socket, shipping);
        return stopped;
      },
      async connections() {
        const counts = await Promise.all(servers.map((s) => new Promise<number>((r) => s.getConnections((_e, n) => r(n ?? 0)))));
        return counts.reduce((a, b) => a + b, 0);
      },
    };
  } catch (e) {
    for (const s of servers) s.close();
    await service?.checkpoints?.close();
    await committer.close();
    ledger.close();
    throw e;
  }
}

function configure(s: Server): Server {
  // A client that dribbles its headers holds only its own connection, and not for ever.
  s.headersTimeout = 10_000;
  s.requestTimeout = 60_000;
  return s;
}

function listen(s: Server, where: { path: string } | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(where, () => {
      s.off('error', reject);
      resolve();
    });
  });
}

async function stop(service: PasidService, servers: Server[], ledger: Ledger, socket: string, shipper: ServerShipper | null): Promise<void> {
  service.stopping = true;
  const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
  // What was accepted is committed and answered before anything closes.
  await service.committer.drain();
  service.followers.endAll();
  service.ui.close();
  await new Promise((r) => setImmediate(r));
  for (const s of servers) s.closeIdleConnections();
  const grace = setTimeout(() => { for (const s of servers) s.closeAllConnections(); }, 2000);
  await Promise.all(closed);
  clearTimeout(grace);
  await service.committer.drain();
  await service.committer.close();
  // After the last commit: one last checkpoint of the final head (when it grew), published.
  await service.checkpoints?.close({ final: true });
  // What was committed is shipped (a few tries) before the log closes.
  await shipper?.stop();
  ledger.close();
  try {
    unlinkSync(socket);
  } catch { /* already gone */ }
}

/** Frees the socket path: refused when a server answers there or the path is not a socket. */
async function claimSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new ServeError(`${path} exists and is not a socket: not replacing it`);
  const live = await new Promise<boolean>((resolve) => {
    const c = connect(path);
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
  if (live) throw new ServeError(`${path}: a server is already listening on it`);
  unlinkSync(path);
}

function parseListen(v: string, tls: boolean): { host: string; port: number; tls: boolean } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new ServeError(`--listen ${JSON.stringify(v)}: expected HOST:PORT`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  if (!loopback && !tls) throw new ServeError(`--listen ${v}: a non-loopback address needs --tls-cert and --tls-key`);
  return { host, port: Number(m[2]), tls };
}
