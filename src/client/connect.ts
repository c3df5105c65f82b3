import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import type { Outcome, Request } from '../model/types.js';
import type { StateView } from '../model/view.js';
import type { StoredCheckpoint } from '../store/export_rows.js';

/** An answer of `pasid-ledger serve` other than 200: its status and its `error` text. */
export class ServerError extends Error {
  override name = 'ServerError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** How to reach a server. */
export interface ConnectOptions {
  /** The server's Unix socket. */
  socket: string;
  /** A bearer token from `pasid-ledger token add`. */
  token: string;
}

/** A keep-alive client of `pasid-ledger serve`. */
export interface ServerClient {
  /** Runs one request; resolves after it committed. A kernel refusal is an outcome with a negative `ret`. */
  request(req: Request): Promise<Outcome>;
  /** Runs requests in one transaction: all or none. */
  batch(reqs: readonly Request[]): Promise<Outcome[]>;
  /** The host, or one vm of it (`state --json`). */
  state(vm?: string): Promise<StateView>;
  /** Log entries from `from` (default 1), parsed; with `follow`, waits for new ones until `close`. */
  entries(opts?: { from?: number; follow?: boolean }): AsyncIterable<Record<string, unknown>>;
  /** The signed checkpoints the log keeps (`GET /v1/checkpoints`), by size; with `after`, those of a greater size. */
  checkpoints(opts?: { after?: number }): Promise<StoredCheckpoint[]>;
  /** Closes the kept-alive connections. */
  close(): void;
}

/**
 * Connects to `pasid-ledger serve` over its Unix socket (connections kept alive).
 * Every method rejects with ServerError for a non-200 answer (400 malformed, 401 bad
 * token, 403 not this token's to ask, 413 too large, 503 shutting down or commit failed:
 * nothing was written).
 *
 * @example
 * const c = connect({ socket: '/run/pasid-ledger.sock', token: process.env.PASID_TOKEN! });
 * await c.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' }); // { seq: 2, ret: 0, pasid: null, reason: null }
 * c.close();
 */
export function connect(opts: ConnectOptions): ServerClient {
  const agent = new Agent({ keepAlive: true });
  const call = (method: string, path: string, body?: unknown): Promise<IncomingMessage> => new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const r = httpRequest({
      socketPath: opts.socket, agent, method, path,
      headers: { Authorization: `Bearer ${opts.token}`, ...(text !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } : {}) },
    }, resolve);
    r.on('error', reject);
    r.end(text);
  });
  const json = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await call(method, path, body);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (res.statusCode !== 200) {
      let msg = text;
      try {
        msg = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch { /* not JSON */ }
      throw new ServerError(res.statusCode ?? 0, msg);
    }
    return JSON.parse(text) as T;
  };
  return {
    request: (req) => json<Outcome>('POST', '/v1/requests', req),
    batch: (reqs) => json<Outcome[]>('POST', '/v1/requests', reqs),
    state: (vm) => json<StateView>('GET', `/v1/state${vm !== undefined ? `?vm=${encodeURIComponent(vm)}` : ''}`),
    async *entries(o = {}) {
      const res = await call('GET', `/v1/entries?from=${o.from ?? 1}${o.follow ? '&follow=1' : ''}`);
      if (res.statusCode !== 200) {
        res.resume();
        throw new ServerError(res.statusCode ?? 0, `GET /v1/entries: ${res.statusCode}`);
      }
      for await (const line of createInterface({ input: res, crlfDelay: Infinity })) {
        if (line !== '') yield JSON.parse(line) as Record<string, unknown>;
      }
    },
    checkpoints: (o = {}) => json<StoredCheckpoint[]>('GET', `/v1/checkpoints${o.after !== undefined ? `?after=${o.after}` : ''}`),
    close: () => agent.destroy(),
  };
}
