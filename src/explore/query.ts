import type BetterSqlite3 from 'better-sqlite3';

/** What the timeline shows: every filter is optional; all given ones must hold. */
export interface EntryFilter {
  vm?: string;
  container?: string;
  mm?: string;
  pasid?: number;
  op?: string;
  /** `request`, `transition` or `config`. */
  type?: string;
  /** `ok` (ret >= 0) or `refused` (ret < 0): requests only. */
  outcome?: 'ok' | 'refused';
  /** The recorded reason (requests only; read from the entry text). */
  reason?: string;
  /** Entries stamped at or after / at or before (ISO-8601 as the log stamps it). */
  since?: string;
  until?: string;
  /** Search over names: a vm, container, mm token, op or machine starting with this text. */
  q?: string;
  /** Requests (and the configuration) only: transitions are folded under their request. */
  fold?: boolean;
}

/** One timeline row: the entry's indexing columns and the few fields a list shows. */
export interface TimelineRow {
  seq: number;
  at: string;
  type: string;
  op: string | null;
  machine: string | null;
  event: string | null;
  from: string | null;
  to: string | null;
  vm: string | null;
  container: string | null;
  mm: string | null;
  pasid: number | null;
  cause: number | null;
  ret: number | null;
  reason: string | null;
  /** For a request: how many transitions it caused (folded under it). */
  caused: number;
}

/** A page of the timeline: `total` rows match, these are rows `offset`.. of them. */
export interface TimelinePage {
  total: number;
  offset: number;
  rows: TimelineRow[];
}

const FILTER_KEYS = ['vm', 'container', 'mm', 'pasid', 'op', 'type', 'outcome', 'reason', 'since', 'until', 'q', 'fold'] as const;

/** The largest page the API hands out. */
export const MAX_PAGE = 500;

/**
 * The filter in a query string, checked: unknown values are refused, not ignored.
 *
 * @throws TypeError with a message for a malformed value.
 * @example
 * parseFilter(new URLSearchParams('vm=vm2&outcome=refused')); // { vm: 'vm2', outcome: 'refused' }
 */
export function parseFilter(p: URLSearchParams): EntryFilter {
  const f: EntryFilter = {};
  for (const k of FILTER_KEYS) {
    const v = p.get(k);
    if (v === null || v === '') continue;
    if (v.length > 200) throw new TypeError(`${k} is too long`);
    switch (k) {
      case 'pasid':
        if (!/^\d{1,10}$/.test(v)) throw new TypeError('pasid must be a number');
        f.pasid = Number(v);
        break;
      case 'outcome':
        if (v !== 'ok' && v !== 'refused') throw new TypeError('outcome must be ok or refused');
        f.outcome = v;
        break;
      case 'type':
        if (!['request', 'transition', 'config'].includes(v)) throw new TypeError('type must be request, transition or config');
        f.type = v;
        break;
      case 'fold':
        f.fold = v === '1' || v === 'true';
        break;
      case 'since':
      case 'until': {
        const ms = Date.parse(v);
        if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(ms)) throw new TypeError(`${k} must be an ISO-8601 time`);
        f[k] = new Date(ms).toISOString();
        break;
      }
      default:
        f[k] = v;
    }
  }
  return f;
}

/**
 * Whether a filter selects every entry (then row i is seq i + 1 and no query is needed to count).
 *
 * @example
 * isEmptyFilter({ fold: false }); // true
 * isEmptyFilter({ vm: 'vm2' });   // false
 */
export function isEmptyFilter(f: EntryFilter): boolean {
  return Object.values(f).every((v) => v === undefined || v === false);
}

/** The WHERE clause of a filter, on the indexing columns of `entries` (reason: the entry text). */
function where(f: EntryFilter): { sql: string; args: unknown[] } {
  const parts: string[] = [];
  const args: unknown[] = [];
  const eq = (col: string, v: unknown) => {
    parts.push(`${col} = ?`);
    args.push(v);
  };
  if (f.vm !== undefined) eq('vm', f.vm);
  if (f.container !== undefined) eq('container', f.container);
  if (f.mm !== undefined) eq('mm', f.mm);
  if (f.pasid !== undefined) eq('pasid', f.pasid);
  if (f.op !== undefined) eq('op', f.op);
  if (f.type !== undefined) eq('type', f.type);
  if (f.fold) parts.push("type IN ('request', 'config')");
  if (f.outcome !== undefined) parts.push(`type = 'request' AND json_extract(entry, '$.ret') ${f.outcome === 'ok' ? '>=' : '<'} 0`);
  if (f.reason !== undefined) {
    parts.push("type = 'request' AND json_extract(entry, '$.reason') = ?");
    args.push(f.reason);
  }
  if (f.since !== undefined) {
    parts.push('at >= ?');
    args.push(f.since);
  }
  if (f.until !== undefined) {
    parts.push('at <= ?');
    args.push(f.until);
  }
  if (f.q !== undefined) {
    // A prefix match on the name columns: LIKE with the wildcards of the text escaped.
    const like = `${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    parts.push("(vm LIKE ? ESCAPE '\\' OR container LIKE ? ESCAPE '\\' OR mm LIKE ? ESCAPE '\\' OR op LIKE ? ESCAPE '\\' OR machine LIKE ? ESCAPE '\\')");
    args.push(like, like, like, like, like);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', args };
}

/**
 * Pages of the timeline over one read-only handle: rows by position in the filtered
 * log, their count, and the position of a seq. The unfiltered log needs no query to
 * count or locate (no gaps: row i is seq i + 1); a filter is applied in SQL.
 *
 * @example
 * const t = new TimelineQuery(db);
 * t.page({ vm: 'vm2', outcome: 'refused' }, 0, 50).rows[0].reason; // 'quota_exhausted'
 */
export class TimelineQuery {
  private readonly counts = new Map<string, { head: number; total: number }>();

  constructor(private readonly db: BetterSqlite3.Database) {}

  /** The log's last seq. */
  head(): number {
    return (this.db.prepare('SELECT max(seq) AS n FROM entries').get() as { n: number | null }).n ?? 0;
  }

  /** How many entries match, counted once per filter and log head. */
  count(f: EntryFilter, head = this.head()): number {
    if (isEmptyFilter(f)) return head;
    const key = JSON.stringify(f);
    const hit = this.counts.get(key);
    if (hit && hit.head === head) return hit.total;
    const w = where(f);
    const total = (this.db.prepare(`SELECT count(*) AS n FROM entries ${w.sql}${w.sql ? ' AND' : ' WHERE'} seq <= ?`).get(...w.args, head) as { n: number }).n;
    if (this.counts.size > 200) this.counts.clear();
    this.counts.set(key, { head, total });
    return total;
  }

  /** Rows `offset` to `offset + limit - 1` of the filtered log, oldest first. */
  page(f: EntryFilter, offset: number, limit: number): TimelinePage {
    const head = this.head();
    const total = this.count(f, head);
    const n = Math.max(0, Math.min(limit, MAX_PAGE));
    const from = Math.max(0, Math.min(offset, total));
    let rows: Array<{ entry: string }>;
    if (isEmptyFilter(f)) {
      rows = this.db.prepare('SELECT entry FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq').all(from, Math.min(head, from + n)) as Array<{ entry: string }>;
    } else {
      const w = where(f);
      rows = this.db.prepare(`SELECT entry FROM entries ${w.sql} ORDER BY seq LIMIT ? OFFSET ?`).all(...w.args, n, from) as Array<{ entry: string }>;
    }
    const out = rows.map((r) => toRow(JSON.parse(r.entry) as Record<string, unknown>));
    const caused = this.db.prepare('SELECT count(*) AS n FROM entries WHERE cause = ?');
    for (const r of out) if (r.type === 'request') r.caused = (caused.get(r.seq) as { n: number }).n;
    return { total, offset: from, rows: out };
  }

  /** The position in the filtered log of the first row at or after `seq`. */
  locate(f: EntryFilter, seq: number): number {
    if (isEmptyFilter(f)) return Math.max(0, Math.min(seq - 1, this.head()));
    const w = where(f);
    return (this.db.prepare(`SELECT count(*) AS n FROM entries ${w.sql}${w.sql ? ' AND' : ' WHERE'} seq < ?`).get(...w.args, seq) as { n: number }).n;
  }

  /** The distinct values of a name column in the entries after seq `after`, for the filters' pickers (at most `limit`). */
  distinct(col: 'vm' | 'container' | 'mm' | 'op', limit = 1000, after = 0): string[] {
    const rows = this.db.prepare(`SELECT DISTINCT ${col} AS v FROM entries WHERE ${col} IS NOT NULL AND seq > ? ORDER BY ${col} LIMIT ?`).all(after, limit) as Array<{ v: string }>;
    return rows.map((r) => r.v);
  }

  /** The reasons recorded on refused requests after seq `after` (a scan of those requests; at most `limit`). */
  reasons(limit = 200, after = 0): string[] {
    const rows = this.db.prepare("SELECT DISTINCT json_extract(entry, '$.reason') AS v FROM entries WHERE seq > ? AND type = 'request' AND json_extract(entry, '$.reason') IS NOT NULL LIMIT ?").all(after, limit) as Array<{ v: string }>;
    return rows.map((r) => String(r.v)).sort();
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function toRow(e: Record<string, unknown>): TimelineRow {
  const req = (e.req ?? {}) as Record<string, unknown>;
  return {
    seq: e.seq as number,
    at: String(e.at),
    type: String(e.type),
    op: str(e.op),
    machine: str(e.machine),
    event: str(e.event),
    from: str(e.from),
    to: str(e.to),
    vm: str(e.vm) ?? str(req.vm),
    container: str(e.container) ?? str(req.container),
    mm: str(e.mm) ?? str(req.mm),
    pasid: int(e.pasid) ?? int(req.pasid),
    cause: int(e.cause),
    ret: int(e.ret),
    reason: str(e.reason),
    caused: 0,
  };
}
