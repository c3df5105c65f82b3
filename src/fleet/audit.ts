import type pg from 'pg';
import { Auditor, configOf, type AuditorOptions } from '../audit/auditor.js';
import { deniedReason } from '../audit/denial.js';
import type { AuditReport } from '../audit/report.js';
import type { Entry, RequestEntry } from '../model/types.js';
import { auditRows, entriesAt, listHosts, type HostRow } from './read.js';

/** One host's audit in the fleet store. */
export interface HostAudit {
  host: string;
  /** The full audit, as `pasid-ledger audit --format json` gives it for the local log; null when the host's log could not be audited (`problem`). */
  report: AuditReport | null;
  problem: string | null;
  /** Requests refused for the vfio_mm's quota (`quota_exhausted`), per UTC day of `at`. */
  quota_denials: Array<{ day: string; count: number }>;
}

/** `fleet audit`: every host's audit and the fleet's summary. */
export interface FleetAuditReport {
  format: 'pasid-ledger-fleet-audit';
  version: 1;
  /** True when every host's every invariant holds. */
  ok: boolean;
  hosts: number;
  entries: number;
  /** Hosts with a broken invariant (or a log that cannot be audited): each broken invariant and its first entry. */
  violations: Array<{ host: string; id: string; name: string; seq: number | null; detail: string; count: number }>;
  /** Quota denials per host and UTC day. */
  quota_denials: Array<{ host: string; day: string; count: number }>;
  /** Kernel quirks hit, per host and kind. */
  quirks: Array<{ host: string; kind: string; count: number }>;
  reports: HostAudit[];
}

/**
 * Audits one host's log from the fleet store with the same `Auditor` as `audit` on the
 * local file: every invariant at every position, the quota report, the quirks. Rows are
 * streamed by seq (bounded memory); a transition whose cause is not the request it
 * follows gets that earlier entry looked up before its chunk is fed.
 *
 * @example
 * const a = await auditHost(client, 'node-7');
 * a.report!.ok; // true
 */
export async function auditHost(c: pg.Client, host: HostRow, opts: AuditorOptions & { noVerify?: boolean; onProgress?: (n: number) => void } = {}): Promise<HostAudit> {
  const days = new Map<string, number>();
  const out = (report: AuditReport | null, problem: string | null): HostAudit => ({
    host: host.host, report, problem, quota_denials: [...days].sort((a, b) => a[0].localeCompare(b[0])).map(([day, count]) => ({ day, count })),
  });
  const first = await entriesAt(c, host.host, [1]);
  const text = first.get(1);
  if (text === undefined) return out(null, 'PostgreSQL holds no entry for this host');
  let config;
  try {
    config = configOf(JSON.parse(text));
  } catch {
    config = null;
  }
  if (!config) return out(null, 'entry 1 is not a configuration entry: the log cannot be audited');
  let looked = new Map<number, string>();
  const lookup = (seq: number): Entry | undefined => {
    const t = looked.get(seq);
    try {
      return t === undefined ? undefined : (JSON.parse(t) as Entry);
    } catch {
      return undefined;
    }
  };
  const auditor = new Auditor(config, host.head_seq, lookup, opts);
  let lastRequest = 0;
  let fed = 0;
  for await (const rows of auditRows(c, host.host, host.head_seq)) {
    const need: number[] = [];
    for (const r of rows) {
      if (r[2] === 'request') lastRequest = r[0];
      else if (r[2] === 'transition' && typeof r[3] === 'number' && r[3] !== lastRequest && r[3] < r[0]) need.push(r[3]);
    }
    looked = await entriesAt(c, host.host, need);
    for (const r of rows) {
      // The chain recomputed as `audit` does (check S4), unless told not to.
      auditor.entry(r[0], r[1], opts.noVerify ? undefined : { leaf: r[5], chain: r[6] });
      if (r[4] !== null) { // a request whose text names the quota reason (QUOTA_REASON)
        try {
          if (deniedReason(JSON.parse(r[1]) as RequestEntry) === 'quota_exhausted') {
            const day = r[4].slice(0, 10);
            days.set(day, (days.get(day) ?? 0) + 1);
          }
        } catch { /* not JSON: the auditor reports it */ }
      }
    }
    fed += rows.length;
    opts.onProgress?.(fed);
  }
  return out(auditor.report({ seq: host.head_seq, chain: host.head_chain }), null);
}

/**
 * Audits every host of the fleet store (or one), one after the other on one connection.
 *
 * @example
 * const r = await auditFleet(client);
 * r.violations; // [] when every host's log keeps every invariant
 */
export async function auditFleet(c: pg.Client, opts: AuditorOptions & { host?: string; noVerify?: boolean; onProgress?: (n: number) => void } = {}): Promise<FleetAuditReport> {
  const hosts = await listHosts(c, opts.host);
  const reports: HostAudit[] = [];
  let done = 0;
  for (const h of hosts) {
    const base = done;
    reports.push(await auditHost(c, h, { ...opts, onProgress: (n) => opts.onProgress?.(base + n) }));
    done += h.head_seq;
  }
  const violations: FleetAuditReport['violations'] = [];
  const quirks: FleetAuditReport['quirks'] = [];
  const denials: FleetAuditReport['quota_denials'] = [];
  let entries = 0;
  for (const a of reports) {
    for (const d of a.quota_denials) denials.push({ host: a.host, ...d });
    if (!a.report) {
      violations.push({ host: a.host, id: 'log', name: 'auditable', seq: null, detail: a.problem ?? '', count: 1 });
      continue;
    }
    entries += a.report.entries;
    for (const inv of a.report.invariants) {
      if (!inv.holds) violations.push({ host: a.host, id: inv.id, name: inv.name, seq: inv.first?.seq ?? null, detail: inv.first?.detail ?? '', count: inv.violations });
    }
    for (const [kind, count] of Object.entries(a.report.quirks.counts)) if (count > 0) quirks.push({ host: a.host, kind, count });
  }
  return {
    format: 'pasid-ledger-fleet-audit', version: 1, ok: violations.length === 0, hosts: reports.length, entries,
    violations, quota_denials: denials, quirks, reports,
  };
}
