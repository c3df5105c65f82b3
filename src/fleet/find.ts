import type pg from 'pg';

/** What `fleet find` looks for: the entries naming a vm, an mm or a PASID, on every host. */
export type FindQuery = { vm: string } | { mm: string } | { pasid: number };

/** One entry found: its host, seq and text. */
export interface FoundEntry {
  host: string;
  seq: number;
  at: string;
  entry: string;
}

/** Who held a PASID on a host at a moment (from the last PASID transition at or before it). */
export interface PasidHolder {
  host: string;
  pasid: number;
  /** Whether the PASID was allocated at that moment; the fields below are null when not. */
  held: boolean;
  vfio_mm: number | null;
  mm: string | null;
  container: string | null;
  /** The vm whose request allocated it. */
  vm: string | null;
  /** The transition that set this state: seq and time. */
  seq: number;
  at: string;
}

/**
 * The entries of every host (or one) whose indexing column names the vm, the mm or the
 * PASID, by host then seq, at most `limit` of them (one more is fetched to tell whether
 * the list was cut).
 *
 * @example
 * await findEntries(client, { vm: 'vm7' }); // { entries: [{ host: 'node-1', seq: 12, ... }], truncated: false }
 */
export async function findEntries(c: pg.Client, q: FindQuery, opts: { host?: string; limit?: number } = {}): Promise<{ entries: FoundEntry[]; truncated: boolean }> {
  const [col, val] = 'vm' in q ? ['vm', q.vm] : 'mm' in q ? ['mm', q.mm] : ['pasid', q.pasid];
  const limit = opts.limit ?? 1000;
  const params: unknown[] = [val, limit + 1];
  if (opts.host !== undefined) params.push(opts.host);
  const r = await c.query<FoundEntry>(
    `SELECT host, seq, at, entry FROM entries WHERE ${col} = $1${opts.host !== undefined ? ' AND host = $3' : ''} ORDER BY host, seq LIMIT $2`,
    params,
  );
  return { entries: r.rows.slice(0, limit), truncated: r.rows.length > limit };
}

/**
 * Who held PASID `pasid` at time `at` (ISO-8601) on each host whose log names it by then:
 * the last `pasid` machine transition at or before `at`, and the vm of the request that
 * caused its ALLOC.
 *
 * @example
 * await pasidHolders(client, 5, '2026-11-25T10:42:00Z'); // [{ host: 'node-1', held: true, vm: 'vm2', ... }]
 */
export async function pasidHolders(c: pg.Client, pasid: number, at: string, host?: string): Promise<PasidHolder[]> {
  const r = await c.query<{ host: string; seq: number; at: string; entry: string; cause_entry: string | null }>(
    `SELECT DISTINCT ON (t.host) t.host, t.seq, t.at, t.entry, r.entry AS cause_entry
       FROM entries t LEFT JOIN entries r ON r.host = t.host AND r.seq = t.cause
      WHERE t.pasid = $1 AND t.type = 'transition' AND t.machine = 'pasid' AND t.at <= $2 ${host !== undefined ? 'AND t.host = $3' : ''}
      ORDER BY t.host, t.seq DESC`,
    host !== undefined ? [pasid, at, host] : [pasid, at],
  );
  return r.rows.map((row) => {
    const t = JSON.parse(row.entry) as Record<string, unknown>;
    const held = t.to === 'allocated';
    let vm: string | null = null;
    if (held && row.cause_entry) {
      const req = JSON.parse(row.cause_entry) as Record<string, unknown>;
      vm = typeof req.vm === 'string' ? req.vm : null;
    }
    const s = (v: unknown) => (held && typeof v === 'string' ? v : null);
    return {
      host: row.host, pasid, held, vfio_mm: held && typeof t.vfio_mm === 'number' ? t.vfio_mm : null, mm: s(t.mm), container: s(t.container), vm, seq: row.seq, at: row.at,
    };
  });
}
