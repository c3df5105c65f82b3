import type BetterSqlite3 from 'better-sqlite3';
import { buildBundle } from '../replay/bundle.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { evolve } from '../model/evolve.js';
import { emptyState } from '../model/state.js';
import type { Entry } from '../model/types.js';
import { viewState } from '../model/view.js';
import { diff } from '../replay/diff.js';
import { ReplayError } from '../replay/errors.js';
import { explain } from '../replay/explain.js';
import { normaliseTime, resolvePoint } from '../replay/point.js';
import { openSource, type OpenedLog } from '../replay/source.js';
import { loadAssets, type Asset } from './assets.js';
import { ExploreCharts, type ChartsView } from './charts.js';
import { MAX_PAGE, parseFilter, TimelineQuery } from './query.js';
import { StateIndex, STATE_EVERY, type StateAtStats } from './states.js';

/** How an explorer is set up. */
export interface ExploreOptions {
  /** The path the app is mounted at, ending in `/` (`/` for `explore`, `/ui/` under `serve`). */
  prefix?: string;
  /** Entries between in-memory states (default `STATE_EVERY`). */
  every?: number;
  /** Where the built app is (default: dist/ui of this package). */
  uiDir?: string;
  /** The signed checkpoint (C2SP note text) that "download evidence" proves against; without one, `api/evidence` answers 501. */
  checkpoint?: () => string | null;
}

/** The explorer's request handler, and what it holds. */
export interface ExploreApi {
  /** Answers GET/HEAD under the prefix; returns false for a path outside it (the caller answers). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The in-memory states (for timings and tests). */
  index: StateIndex;
  /** Milliseconds the start-up pass took (states and charts over the whole log); 0 until `ready`. */
  startupMs: number;
  /** Settles when the start-up pass is done (`api/charts` answers `{ building: true }` until then). */
  ready: Promise<void>;
  /** Stops the start-up pass (the handle stays the caller's to close). */
  close(): void;
}

/** Entries the start-up pass reads between two turns of the event loop. */
const BUILD_SLICE = 20_000;

/** An error the client caused: answered 400 with its message. */
class BadRequest extends Error {}

/**
 * The incident explorer over an open, read-only log handle: the single-page app's
 * files and a JSON API under `<prefix>api/`. At start-up it makes one pass over the log
 * (in slices between requests: see `ready`) to keep a state every `every` entries and
 * fold the charts; after that, the host at any seq is one decode and at most `every`
 * evolves. It never writes the log.
 *
 * | path | answers |
 * |---|---|
 * | `api/meta` | head, first and last `at`, the configuration, names for the filters |
 * | `api/entries?offset&limit&<filter>` | a page of the timeline (`TimelinePage`) |
 * | `api/locate?seq&<filter>` | the position of a seq in the filtered timeline |
 * | `api/state?seq` or `?at` | the host just after that entry (`StateView`) and the time it took |
 * | `api/explain?seq` | `explain`, as the CLI prints with `--json` |
 * | `api/diff?from&to` | `diff` between two seqs |
 * | `api/charts` | PASIDs held per vm, capacity left, denials by reason (`ChartsView`) |
 * | `api/evidence?from&to` | the proofs bundle of a range against the `checkpoint` option's signed checkpoint (as `bundle` writes it); 501 without one |
 *
 * @throws ReplayError for a file that holds no log; Error when the app is not built.
 * @example
 * const api = createExploreApi(openDatabase(path, { readonly: true }));
 * http.createServer((req, res) => { if (!api.handle(req, res)) { res.statusCode = 404; res.end(); } });
 */
export function createExploreApi(db: BetterSqlite3.Database, opts: ExploreOptions = {}): ExploreApi {
  const prefix = opts.prefix ?? '/';
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new Error(`prefix ${prefix} must start and end with /`);
  const assets = loadAssets(opts.uiDir);
  const opened = openSource(db);
  const index = new StateIndex(opened.log, opened.config, opts.every ?? STATE_EVERY);
  const query = new TimelineQuery(db);
  const t0 = performance.now();
  const head = opened.log.head().seq;
  const charts = new ExploreCharts(head, opened.config.capacity);
  let chartsView: ChartsView | null = null;
  index.onBuild = (s, e) => charts.entry(s, e);
  let stopped = false;
  const out: ExploreApi = { handle: () => false, index, startupMs: 0, ready: Promise.resolve(), close: () => { stopped = true; } };
  // The start-up pass runs in slices between requests: the app answers at once, and a
  // state asked for past the pass is built on the spot (folding the charts in order).
  out.ready = new Promise<void>((resolve, reject) => {
    const step = () => {
      if (stopped) return reject(new Error('the explorer was closed before its start-up pass ended'));
      try {
        if (index.build(index.builtTo + BUILD_SLICE) > 0 && index.builtTo + index.every <= head) {
          setImmediate(step);
          return;
        }
        index.build(head);
        index.onBuild = undefined;
        foldTail(opened, index, head, charts);
        chartsView = charts.view();
        out.startupMs = performance.now() - t0;
        resolve();
      } catch (e) {
        reject(e as Error);
      }
    };
    setImmediate(step);
  });
  // A failed pass leaves the charts building; a state asked for reports its own error.
  out.ready.catch(() => undefined);
  // A log that grows (under `serve`) gets its charts folded again, in slices, once it has
  // grown by a tenth since the last fold: the answer meanwhile is the last fold (its
  // `total` says how far it goes), and the work stays proportional to what was appended.
  let chartsPass = false;
  const refreshCharts = () => {
    if (!chartsView || chartsPass || stopped) return;
    const to = opened.log.head().seq;
    const built = chartsView.total;
    if (to <= built || (to - built) * 10 < built) return;
    chartsPass = true;
    foldCharts(opened, to, () => stopped).then((v) => { chartsView = v; }, () => undefined).finally(() => { chartsPass = false; });
  };

  // The names the filters offer, extended with the entries appended since the last look
  // (a log served by `serve` grows while the explorer runs).
  const names = { vm: new Set<string>(), container: new Set<string>(), mm: new Set<string>(), op: new Set<string>(), reason: new Set<string>() };
  let namesTo = 0;
  const sorted = (set: Set<string>) => [...set].sort();

  const routes: Record<string, (p: URLSearchParams) => unknown> = {
    meta: () => {
      const h = query.head();
      if (h !== namesTo) {
        // Bounded like the query: past 1000 names a picker is no use, and memory stays flat.
        const add = (set: Set<string>, vs: string[], cap: number) => { for (const v of vs) if (set.size < cap) set.add(v); };
        for (const col of ['vm', 'container', 'mm', 'op'] as const) add(names[col], query.distinct(col, 1000, namesTo), 1000);
        add(names.reason, query.reasons(200, namesTo), 200);
        namesTo = h;
      }
      return {
        config: opened.config, vms: sorted(names.vm), containers: sorted(names.container), mms: sorted(names.mm),
        ops: sorted(names.op), reasons: sorted(names.reason), state_every: index.every,
        startup_ms: Math.round(out.startupMs), head: h, first_at: atOf(opened, 1), last_at: atOf(opened, h),
      };
    },
    entries: (p) => query.page(parseFilter(p), intParam(p, 'offset', 0), intParam(p, 'limit', 100, MAX_PAGE)),
    locate: (p) => ({ offset: query.locate(parseFilter(p), intParam(p, 'seq', 1)) }),
    state: (p) => {
      const seq = pointParam(opened, p, 'seq', 'at');
      const stats: StateAtStats = { from: 0, evolved: 0, ms: 0 };
      const s = index.at(seq, stats);
      const vm = p.get('vm') || undefined;
      return { view: viewState(s, vm), pasids_held: s.owner.size, timing: { ...stats, ms: Math.round(stats.ms * 10) / 10 } };
    },
    explain: (p) => {
      const seq = pointParam(opened, p, 'seq', null);
      return explain(db, seq, { stateAt: (n) => index.copyAt(n) });
    },
    diff: (p) => diff(db, { seq: pointParam(opened, p, 'from', null) }, { seq: pointParam(opened, p, 'to', null) }, { stateAt: (n) => index.copyAt(n) }),
    charts: () => {
      refreshCharts();
      return chartsView ?? { building: true, built_to: index.builtTo, head };
    },
  };

  // "Download evidence": the proofs bundle of a range against the signed checkpoint, as `bundle` writes it.
  const evidence = (res: ServerResponse, q: URLSearchParams): void => {
    let note: string | null;
    try {
      note = opts.checkpoint?.() ?? null;
    } catch (e) {
      send(res, 503, { error: `the checkpoint cannot be read: ${(e as Error).message}` });
      return;
    }
    if (note === null) {
      send(res, 501, { error: 'no checkpoint: start the explorer with --checkpoint FILE (a C2SP checkpoint of this log)', from: q.get('from'), to: q.get('to') });
      return;
    }
    const from = /^\d{1,15}$/.test(q.get('from') ?? '') ? Number(q.get('from')) : NaN;
    const to = /^\d{1,15}$/.test(q.get('to') ?? '') ? Number(q.get('to')) : NaN;
    const b = buildBundle(db, note, from, to);
    if (!('format' in b)) {
      send(res, b.kind === 'root' || b.kind === 'short' ? 409 : 400, { error: b.problem });
      return;
    }
    const body = JSON.stringify(b, null, 1) + '\n';
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Disposition': `attachment; filename="evidence-${from}-${to}.json"`,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    });
    res.end(body);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = new URL(req.url ?? '/', 'http://explorer.invalid');
    if (!url.pathname.startsWith(prefix)) {
      if (url.pathname === prefix.slice(0, -1) && prefix !== '/') return redirect(res, prefix);
      return false;
    }
    const path = url.pathname.slice(prefix.length);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, { error: 'the explorer only reads: GET or HEAD' }, { Allow: 'GET, HEAD' });
      return true;
    }
    if (path.startsWith('api/')) {
      const name = path.slice(4);
      if (name === 'evidence') {
        evidence(res, url.searchParams);
        return true;
      }
      const route = Object.hasOwn(routes, name) ? routes[name] : undefined;
      if (!route) {
        send(res, 404, { error: `no such API: ${name.slice(0, 60)}` });
        return true;
      }
      try {
        send(res, 200, route(url.searchParams));
      } catch (e) {
        if (e instanceof BadRequest || e instanceof ReplayError || e instanceof TypeError) send(res, 400, { error: (e as Error).message });
        else send(res, 500, { error: 'internal error' });
      }
      return true;
    }
    const asset = assets.get(path === '' ? 'index.html' : path);
    if (!asset) send(res, 404, { error: 'not found' });
    else sendAsset(res, asset, req.method === 'HEAD');
    return true;
  };
  out.handle = handle;
  return out;
}

/** Folds the entries after the last kept state into the charts (the index keeps no state there). */
function foldTail(opened: OpenedLog, index: StateIndex, head: number, charts: ExploreCharts): void {
  const s = index.copyAt(index.builtTo);
  for (const row of opened.log.range(s.seq, head)) {
    const e = JSON.parse(row.entry) as Entry;
    evolve(s, e);
    charts.entry(s, e);
  }
}

/** The charts of entries 1..`to`, folded afresh from the empty host in slices between requests. */
async function foldCharts(opened: OpenedLog, to: number, stopped: () => boolean): Promise<ChartsView> {
  const charts = new ExploreCharts(to, opened.config.capacity);
  const s = emptyState(opened.config);
  while (s.seq < to) {
    await new Promise((r) => setImmediate(r));
    if (stopped()) throw new Error('the explorer was closed');
    const from = s.seq;
    for (const row of opened.log.range(from, Math.min(to, from + BUILD_SLICE))) {
      const e = JSON.parse(row.entry) as Entry;
      evolve(s, e);
      charts.entry(s, e);
    }
    if (s.seq === from) throw new Error(`the log has no entry after seq ${from}`);
  }
  return charts.view();
}

function atOf(opened: OpenedLog, seq: number): string | null {
  const row = opened.log.row(seq);
  return row ? (JSON.parse(row.entry) as { at: string }).at : null;
}

function intParam(p: URLSearchParams, name: string, dflt: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = p.get(name);
  if (v === null || v === '') return dflt;
  if (!/^\d{1,15}$/.test(v)) throw new BadRequest(`${name} must be a non-negative integer`);
  return Math.min(Number(v), max);
}

/** A seq from `seqName`, or the seq a time in `atName` names; checked against the log. */
function pointParam(opened: OpenedLog, p: URLSearchParams, seqName: string, atName: string | null): number {
  const at = atName ? p.get(atName) : null;
  if (at) return resolvePoint(opened.log, { at: normaliseTime(at) });
  const v = p.get(seqName);
  if (v === null || !/^\d{1,15}$/.test(v)) throw new BadRequest(`${seqName} must be a seq (a positive integer)`);
  return resolvePoint(opened.log, { seq: Number(v) });
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
};

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...SECURITY_HEADERS, ...headers });
  res.end(text);
}

function sendAsset(res: ServerResponse, a: Asset, headOnly: boolean): void {
  res.writeHead(200, {
    'Content-Type': a.type, 'Content-Length': String(a.body.length),
    'Cache-Control': a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache', ...SECURITY_HEADERS,
  });
  res.end(headOnly ? undefined : a.body);
}

function redirect(res: ServerResponse, to: string): boolean {
  res.writeHead(308, { Location: to });
  res.end();
  return true;
}
