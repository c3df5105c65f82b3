import type BetterSqlite3 from 'better-sqlite3';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createExploreApi, type ExploreApi, type ExploreOptions } from './api.js';

/** The hosts an explorer may listen on: loopback only (the log is not for the network). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '::1', 'localhost']);

/** A running explorer. */
export interface Explorer {
  url: string;
  server: Server;
  api: ExploreApi;
  close(): Promise<void>;
}

/**
 * Serves the incident explorer over a read-only log handle on a loopback address.
 * Requests whose Host header names anything but a loopback name are refused (403), so a
 * web page elsewhere cannot reach it through DNS rebinding.
 *
 * @throws Error for a non-loopback host, a port in use, or an app that was not built.
 * @example
 * const x = await startExplorer(openDatabase(path, { readonly: true }), { port: 0 });
 * console.log(x.url); // http://127.0.0.1:41234/
 */
export async function startExplorer(db: BetterSqlite3.Database, opts: ExploreOptions & { host?: string; port?: number } = {}): Promise<Explorer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`the explorer listens on loopback only (127.0.0.1, ::1 or localhost), not ${host}`);
  const api = createExploreApi(db, opts);
  const server = createServer((req, res) => {
    const hostHeader = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (!LOOPBACK_HOSTS.has(hostHeader)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' });
      res.end('the explorer answers loopback names only\n');
      return;
    }
    if (!api.handle(req, res)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}${opts.prefix ?? '/'}`,
    server,
    api,
    close: () => new Promise<void>((resolve) => {
      api.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
