import type pg from 'pg';
import type { VerifiableRow } from '../replay/verify.js';

/** A host's head row as the fleet store keeps it. */
export interface HostRow {
  host: string;
  head_seq: number;
  head_chain: string;
  head_at: string | null;
  source_seq: number;
  shipped_at: Date | null;
  seen_at: Date | null;
}

/**
 * The hosts the fleet store knows, by name; only `only` when given.
 *
 * @example
 * (await listHosts(client)).map((h) => [h.host, h.head_seq]);
 */
export async function listHosts(c: pg.Client, only?: string): Promise<HostRow[]> {
  const r = await c.query<HostRow>(
    `SELECT host, head_seq, head_chain, head_at, source_seq, shipped_at, seen_at FROM hosts ${only === undefined ? '' : 'WHERE host = $1'} ORDER BY host`,
    only === undefined ? [] : [only],
  );
  return r.rows;
}

const COLS = 'seq, entry, leaf, chain, at, type, op, machine, vm, container, mm, pasid, cause, request_id';

/**
 * A host's rows in seq order, `chunk` at a time by keyset pagination on the primary key
 * (bounded memory; the next chunk is already on its way while the caller works on this
 * one). Rows up to `to` (the head when the read started): rows shipped meanwhile are
 * left for the next read.
 *
 * @example
 * for await (const rows of hostRows(client, 'node-7', 341)) for (const r of rows) check(r);
 */
export async function* hostRows(c: pg.Client, host: string, to: number, chunk = 10_000): AsyncGenerator<VerifiableRow[]> {
  const read = (after: number) => c.query<VerifiableRow>({
    name: 'pasid-ledger-host-rows',
    text: `SELECT ${COLS} FROM entries WHERE host = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
    values: [host, after, to, chunk],
  });
  let pending = read(0);
  for (;;) {
    const rows = (await pending).rows;
    if (rows.length === 0) return;
    const last = rows[rows.length - 1]!.seq;
    pending = last < to ? read(last) : Promise.resolve({ rows: [] as VerifiableRow[] } as pg.QueryResult<VerifiableRow>);
    yield rows;
  }
}

/**
 * seq, entry, type, cause, at, leaf, chain of a row: what the audit reads. `at` only for
 * a request whose text names the quota reason (the audit's quota days; null otherwise):
 * every column decoded costs the audit, which runs in this process, while the server is idle.
 */
export type AuditRow = [number, string, string, number | null, string | null, string, string];

/** The text a request refused for its quota holds (the audit then checks the parsed reason). */
export const QUOTA_REASON = '"reason":"quota_exhausted"';

/**
 * As {@link hostRows}, with only what the audit needs, as arrays (cheaper to decode).
 *
 * @example
 * for await (const rows of auditRows(client, 'node-7', 341)) for (const [seq, text] of rows) auditor.entry(seq, text);
 */
export async function* auditRows(c: pg.Client, host: string, to: number, chunk = 10_000): AsyncGenerator<AuditRow[]> {
  const read = (after: number) => c.query<AuditRow>({
    name: 'pasid-ledger-audit-rows-3',
    text: `SELECT seq, entry, type, cause, CASE WHEN type = 'request' AND strpos(entry, '${QUOTA_REASON}') > 0 THEN at END, leaf, chain
             FROM entries WHERE host = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
    values: [host, after, to, chunk],
    rowMode: 'array',
  });
  let pending = read(0);
  for (;;) {
    const rows = (await pending).rows;
    if (rows.length === 0) return;
    const last = rows[rows.length - 1]![0];
    pending = last < to ? read(last) : Promise.resolve({ rows: [] as AuditRow[] } as unknown as pg.QueryResult<AuditRow>);
    yield rows;
  }
}

/** Some entries of a host by seq (the texts), for the audit's look-ups of earlier entries. */
export async function entriesAt(c: pg.Client, host: string, seqs: number[]): Promise<Map<number, string>> {
  if (seqs.length === 0) return new Map();
  const r = await c.query<{ seq: number; entry: string }>('SELECT seq, entry FROM entries WHERE host = $1 AND seq = ANY($2::bigint[])', [host, seqs]);
  return new Map(r.rows.map((x) => [x.seq, x.entry]));
}
