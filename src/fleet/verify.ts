import type pg from 'pg';
import { checkSignature } from '../replay/checkpoint.js';
import { checkRow } from '../replay/verify.js';
import { GENESIS_CHAIN } from '../store/hash.js';
import { hostRows, listHosts, type HostRow } from './read.js';

/** `fleet verify` of one host: its rows from seq 1 to the head row's seq, the head row, its checkpoints. */
export interface HostVerification {
  host: string;
  ok: boolean;
  entries: number;
  /** The last good seq and the chain recomputed up to it. */
  size: number;
  chain: string;
  /** The first bad row, or a head row or checkpoint that does not match the rows. */
  bad: { seq: number; problem: string } | null;
  checkpoints: number;
}

/**
 * Verifies one host's copy in the fleet store as `verify` does a local log: every row
 * from its raw text (seq without gap, leaf and chain recomputed, canonical text, its
 * `seq`, the indexing columns, entry 1 the configuration), then that the head row names
 * the last row and its chain, then each signed checkpoint (signature, and the chain at
 * its size). Stops at the first problem.
 *
 * @example
 * (await verifyHost(client, host)).bad; // null, or { seq: 17, problem: 'the entry text does not hash ...' }
 */
export async function verifyHost(c: pg.Client, h: HostRow, onProgress?: (n: number) => void): Promise<HostVerification> {
  let chain = GENESIS_CHAIN;
  let size = 0;
  let entries = 0;
  const res = (bad: HostVerification['bad'], checkpoints = 0): HostVerification => ({ host: h.host, ok: bad === null, entries, size, chain, bad, checkpoints });
  // Rows past the head row's seq are read too: a head row set back is a finding.
  const max = (await c.query<{ m: number | null }>('SELECT max(seq) AS m FROM entries WHERE host = $1', [h.host])).rows[0]?.m ?? 0;
  for await (const rows of hostRows(c, h.host, Math.max(max, h.head_seq))) {
    for (const row of rows) {
      entries += 1;
      const p = checkRow(row, size + 1, chain);
      if (p) return res({ seq: p.seq, problem: p.why });
      size = row.seq;
      chain = row.chain;
    }
    onProgress?.(rows.length);
  }
  if (size !== h.head_seq) return res({ seq: Math.min(size, h.head_seq) + 1, problem: `the host's head row says seq ${h.head_seq}, the rows run to ${size}` });
  if (size > 0 && h.head_chain !== chain) return res({ seq: size, problem: `the host's head row says chain ${h.head_chain.slice(0, 12)}…, the rows' chain is ${chain.slice(0, 12)}…` });
  const cps = await c.query<{ size: number; chain: string; at: string; public_key: string; signature: string }>(
    'SELECT size, chain, at, public_key, signature FROM checkpoints WHERE host = $1 ORDER BY size', [h.host],
  );
  for (const cp of cps.rows) {
    const sig = checkSignature({ format: 'pasid-ledger-checkpoint/1', ...cp });
    if (sig) return res({ seq: cp.size, problem: `checkpoint at seq ${cp.size}: ${sig}` }, cps.rows.length);
    const at = await c.query<{ chain: string }>('SELECT chain FROM entries WHERE host = $1 AND seq = $2', [h.host, cp.size]);
    if (at.rows[0]?.chain !== cp.chain) {
      return res({ seq: cp.size, problem: at.rows[0] ? `checkpoint of ${cp.at} signed chain ${cp.chain.slice(0, 12)}… at seq ${cp.size}, the rows hold ${at.rows[0].chain.slice(0, 12)}… (rewritten)` : `checkpoint of ${cp.at} signed seq ${cp.size}, the rows end before it (truncated)` }, cps.rows.length);
    }
  }
  return res(null, cps.rows.length);
}

/**
 * Verifies every host of the fleet store (or one).
 *
 * @example
 * const all = await verifyFleet(client);
 * all.filter((v) => !v.ok).map((v) => `${v.host} seq ${v.bad!.seq}`);
 */
export async function verifyFleet(c: pg.Client, opts: { host?: string; onProgress?: (n: number) => void } = {}): Promise<HostVerification[]> {
  const out: HostVerification[] = [];
  for (const h of await listHosts(c, opts.host)) out.push(await verifyHost(c, h, opts.onProgress));
  return out;
}
