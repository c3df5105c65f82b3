import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GroupResult, Ledger } from '../ledger.js';
import { parseRequest, RequestError } from '../model/request.js';
import { TOKEN_ROLES, type TokenRecord, type TokenRole } from '../model/token.js';
import type { Request } from '../model/types.js';
import { storedCheckpoints } from '../store/export_rows.js';
import { MerkleStore } from '../store/tree.js';
import { TokenGate } from './auth.js';
import { BodyError, readBody } from './body.js';
import { Checkpointer, type CheckpointOptions } from './checkpointer.js';
import { CommitFailed, RefusedError, type CommitInfo, type Committer } from './committer.js';
import { GENESIS_CHAIN } from '../store/hash.js';
import { Followers } from './follow.js';
import { ServerMetrics } from './metrics.js';
import { outcomeView } from './outcome.js';
import { ProofRoutes } from './proof_routes.js';
import { ServeUi } from './ui.js';
import type { WireItem } from './wire.js';

/** Entries per page when streaming `GET /v1/entries`. */
const PAGE = 500;

/**
 * The HTTP API: routing, tokens, metrics, entry streams. Reads go through `ledger`, a
 * read-only connection; every write goes to the writer thread through `committer`.
 */
export class PasidService {
  readonly gate: TokenGate;
  readonly metrics: ServerMetrics;
  readonly followers: Followers;
  /** The incident explorer under /ui/ (admin and auditor tokens). */
  readonly ui: ServeUi;
  /** The checkpoint signer (`--checkpoint-key`), or null. */
  readonly checkpoints: Checkpointer | null;
  /** `GET /v1/proof/inclusion` and `/v1/proof/consistency`. */
  readonly proofs: ProofRoutes;
  /** Set on SIGTERM/SIGINT: new requests get 503. */
  stopping = false;

  constructor(readonly ledger: Ledger, readonly committer: Committer, readonly maxBody: number, checkpoint?: CheckpointOptions) {
    this.gate = new TokenGate(ledger);
    this.metrics = new ServerMetrics(ledger);
    this.followers = new Followers(ledger);
    const tree = new MerkleStore(ledger.db);
    const cp = checkpoint ? new Checkpointer(tree, checkpoint) : null;
    this.checkpoints = cp;
    this.proofs = new ProofRoutes(tree, () => cp?.latest?.size);
    this.ui = new ServeUi(ledger, this.gate, Date.now, cp ? () => cp.latest?.note ?? null : undefined);
  }

  /** After each group commit: metrics, and entry streams woken. */
  onCommit(info: CommitInfo, items: WireItem[], results: GroupResult[] | null): void {
    this.metrics.commit(info, items, results);
    if (info.ok) this.followers.wake();
    if (info.ok) this.checkpoints?.onCommit();
  }

  /** The request listener. Never throws: every failure is an HTTP status. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.route(req, res).catch((e: unknown) => {
      if (e instanceof CommitFailed) return this.fail(res, 503, e.message, 'commit_failed');
      if (e instanceof BodyError) return this.fail(res, e.status, e.message, e.status === 413 ? 'too_large' : 'invalid');
      this.fail(res, 500, `internal error: ${(e as Error).message}`, 'internal');
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://pasid-ledger');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (this.stopping) return this.fail(res, 503, 'the server is shutting down', 'stopping');
    if (path === '/healthz' && method === 'GET') return send(res, 200, { ok: true, seq: this.ledger.head().seq });
    // Public evidence: no token.
    if (path === '/checkpoint' && method === 'GET') return this.sendCheckpoint(res);
    // The explorer authenticates its own way too (a session cookie a browser sends).
    if (this.ui.owns(path)) return this.ui.handle(req, res, url, (status, error, why) => this.fail(res, status, error, why));
    const who = this.gate.authenticate(req);
    if (!who) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return this.fail(res, 401, 'a valid token is required: Authorization: Bearer TOKEN', 'unauthorized');
    }
    if (method !== 'GET' && who.role === 'auditor') return this.fail(res, 403, 'an auditor token may only read (GET)', 'forbidden');

    if (path === '/v1/requests') {
      if (method !== 'POST') return this.fail(res, 405, 'use POST', 'invalid');
      return this.postRequests(req, res, who);
    }
    if (path === '/v1/tokens') {
      if (method === 'POST') return this.postToken(req, res, who);
      if (method === 'GET') {
        if (this.readOnly(who, res)) send(res, 200, this.gate.list().map(tokenView));
        return;
      }
      return this.fail(res, 405, 'use GET or POST', 'invalid');
    }
    const revoke = /^\/v1\/tokens\/([A-Za-z0-9_-]{1,64})$/.exec(path);
    if (revoke && method === 'DELETE') {
      if (who.role !== 'admin') return this.fail(res, 403, 'only an admin token may revoke tokens', 'forbidden');
      try {
        const r = await this.committer.call({ kind: 'revoke', token: revoke[1]! });
        return send(res, 200, { token: revoke[1], revoked: r.revoked });
      } catch (e) {
        if (e instanceof RefusedError) return this.fail(res, 404, e.message, 'invalid');
        throw e;
      }
    }
    if (method !== 'GET') return this.fail(res, 405, `no ${method} on ${path}`, 'invalid');
    if (path === '/v1/state') {
      const vm = url.searchParams.get('vm') ?? undefined;
      if (who.role === 'vmm' && vm !== who.vm) return this.fail(res, 403, `a vmm token for ${who.vm} may read only /v1/state?vm=${who.vm}`, 'forbidden');
      return send(res, 200, this.ledger.view(vm));
    }
    const pasid = /^\/v1\/pasids\/(\d{1,10})$/.exec(path);
    if (pasid) {
      if (!this.readOnly(who, res)) return;
      const n = Number(pasid[1]);
      return send(res, 200, { pasid: n, owner: this.ledger.pasidOwner(n) });
    }
    if (path === '/v1/entries') {
      if (!this.readOnly(who, res)) return;
      const from = url.searchParams.get('from') ?? '1';
      if (!/^\d{1,15}$/.test(from)) return this.fail(res, 400, '"from" must be a seq (a non-negative integer)', 'invalid');
      const limit = url.searchParams.get('limit');
      if (limit !== null && !/^\d{1,15}$/.test(limit)) return this.fail(res, 400, '"limit" must be a count of entries (a non-negative integer)', 'invalid');
      return this.streamEntries(req, res, Math.max(1, Number(from)), url.searchParams.get('follow') === '1', limit === null ? Infinity : Number(limit));
    }
    if (path === '/v1/checkpoints') {
      if (!this.readOnly(who, res)) return;
      const after = url.searchParams.get('after') ?? '0';
      if (!/^\d{1,15}$/.test(after)) return this.fail(res, 400, '"after" must be a size (a non-negative integer)', 'invalid');
      return send(res, 200, storedCheckpoints(this.ledger.db).filter((c) => c.size > Number(after)));
    }
    if (this.proofs.owns(path)) {
      if (!this.readOnly(who, res)) return;
      const r = this.proofs.answer(path, url.searchParams);
      if (!r.ok) return this.fail(res, 400, r.error, 'invalid');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(r.text) });
      res.end(r.text);
      return;
    }
    if (path === '/metrics') {
      if (!this.readOnly(who, res)) return;
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType });
      res.end(text);
      return;
    }
    this.fail(res, 404, `no such resource: ${path}`, 'invalid');
  }

  /** Reading the whole host (entries, owners, metrics, token list) is for admin and auditor tokens. */
  private readOnly(who: TokenRecord, res: ServerResponse): boolean {
    if (who.role !== 'vmm') return true;
    this.fail(res, 403, 'a vmm token may not read the whole host', 'forbidden');
    return false;
  }

  /** `GET /checkpoint`: the latest signed checkpoint as a C2SP note, or 404. */
  private sendCheckpoint(res: ServerResponse): void {
    if (!this.checkpoints) return this.fail(res, 404, 'this server signs no checkpoints: start it with --checkpoint-key KEY', 'invalid');
    const cp = this.checkpoints.latest;
    if (!cp) return this.fail(res, 404, 'no checkpoint yet: the log is empty (or signing failed: see the server\'s stderr)', 'invalid');
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(cp.note), 'Cache-Control': 'no-cache' });
    res.end(cp.note);
  }

  private async postRequests(req: IncomingMessage, res: ServerResponse, who: TokenRecord): Promise<void> {
    const body = await readBody(req, this.maxBody);
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (e) {
      return this.fail(res, 400, `the body is not JSON: ${(e as Error).message}`, 'invalid');
    }
    const many = Array.isArray(value);
    const raw = many ? (value as unknown[]) : [value];
    let reqs: Request[];
    try {
      reqs = raw.map((r, i) => {
        try {
          return parseRequest(r);
        } catch (e) {
          if (e instanceof RequestError && many) e.message = `request ${i}: ${e.message}`;
          throw e;
        }
      });
    } catch (e) {
      if (e instanceof RequestError) return this.fail(res, 400, e.message, 'invalid');
      throw e;
    }
    if (this.stopping) return this.fail(res, 503, 'the server is shutting down', 'stopping');
    const item: WireItem = { reqs: reqs.map((r) => stamped(r, who)), by: who.token, ...(who.role === 'vmm' ? { vmm: who.vm! } : {}) };
    const result = await this.committer.submit(item);
    if (!result.ok) return this.fail(res, result.refused === 'forbidden' ? 403 : 400, result.message, result.refused);
    const outs = result.outcomes.map(outcomeView);
    send(res, 200, many ? outs : outs[0]);
  }

  private async postToken(req: IncomingMessage, res: ServerResponse, who: TokenRecord): Promise<void> {
    if (who.role !== 'admin') return this.fail(res, 403, 'only an admin token may grant tokens', 'forbidden');
    const body = await readBody(req, this.maxBody);
    let v: { role?: unknown; vm?: unknown };
    try {
      v = JSON.parse(body.toString('utf8')) as typeof v;
    } catch (e) {
      return this.fail(res, 400, `the body is not JSON: ${(e as Error).message}`, 'invalid');
    }
    if (typeof v !== 'object' || v === null || !TOKEN_ROLES.includes(v.role as TokenRole) || (v.vm !== undefined && typeof v.vm !== 'string')) {
      return this.fail(res, 400, `give {"role": "vmm", "vm": NAME} or {"role": "admin" | "auditor"}`, 'invalid');
    }
    try {
      const t = (await this.committer.call({ kind: 'grant', role: v.role as TokenRole, ...(v.vm !== undefined ? { vm: v.vm as string } : {}) })).grant!;
      send(res, 200, { token: t.token, role: v.role, ...(v.vm !== undefined ? { vm: v.vm } : {}), secret: t.secret });
    } catch (e) {
      if (e instanceof RefusedError) return this.fail(res, 400, e.message, 'invalid');
      throw e;
    }
  }

  private async streamEntries(req: IncomingMessage, res: ServerResponse, from: number, follow: boolean, limit: number): Promise<void> {
    // The head when the stream starts, and the stored chain of the entry before the first
    // one sent: a copier (ship --from-server) checks its copy against it before appending.
    const head = this.ledger.head().seq;
    const prev = from - 1 === 0 ? GENESIS_CHAIN : from - 1 <= head ? this.ledger.log.row(from - 1)?.chain : undefined;
    res.writeHead(200, {
      'Content-Type': 'application/x-ndjson',
      'Pasid-Ledger-Head': String(head),
      ...(prev !== undefined ? { 'Pasid-Ledger-Prev-Chain': prev } : {}),
    });
    let next = from;
    let left = limit;
    let closed = false;
    res.on('close', () => { closed = true; });
    const pump = async (): Promise<void> => {
      for (;;) {
        if (closed || left <= 0) return;
        const rows = [...this.ledger.log.range(next - 1, next - 1 + Math.min(PAGE, left))];
        if (rows.length === 0) return;
        next = rows[rows.length - 1]!.seq + 1;
        left -= rows.length;
        const ok = res.write(rows.map((r) => r.entry).join('\n') + '\n');
        if (!ok) await new Promise<void>((r) => { res.once('drain', r); res.once('close', r); });
      }
    };
    await pump();
    if (!follow || closed || left <= 0) {
      res.end();
      return;
    }
    let busy = false;
    const wake = () => {
      if (busy || closed) return;
      busy = true;
      pump().finally(() => { busy = false; }).then(() => { if (left <= 0) res.end(); }, () => res.destroy());
    };
    const stop = this.followers.add(wake, () => res.end());
    req.socket.setTimeout(0);
    res.on('close', stop);
  }

  private fail(res: ServerResponse, status: number, error: string, why: string): void {
    this.metrics.refuse(why);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A refused body may still be arriving: do not keep reading it.
    if (status === 413 || why === 'unauthorized') res.setHeader('Connection', 'close');
    send(res, status, { error });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const tokenView = (t: TokenRecord) => ({ token: t.token, role: t.role, vm: t.vm, added: t.added, revoked: t.revoked });

/** An admin's quota change records the admin's token as its actor. */
function stamped(r: Request, who: TokenRecord): Request {
  return r.op === 'set_pasid_quota' && who.role === 'admin' ? { ...r, actor: who.token } : r;
}
