import type Table from 'cli-table3';
import { createRequire } from 'node:module';
import { csvCell } from '../audit/format_csv.js';
import { escapeControls } from '../text/escape.js';
import type { FleetAuditReport } from './audit.js';

// cli-table3 is loaded on first use: keeps CLI start-up light.
const require = createRequire(import.meta.url);
const newTable = (o: Table.TableConstructorOptions): Table.Table => new (require('cli-table3') as typeof Table)(o);

const plain = { head: [] as string[], border: [] as string[] };
const table = (head: string[]) => newTable({ head, style: plain });

function hostTotals(r: FleetAuditReport): Array<[string, number, boolean, number, number, number]> {
  return r.reports.map((a) => [
    a.host, a.report?.entries ?? 0, a.report?.ok ?? false,
    r.violations.filter((v) => v.host === a.host).length,
    a.quota_denials.reduce((s, d) => s + d.count, 0),
    r.quirks.filter((q) => q.host === a.host).reduce((s, q) => s + q.count, 0),
  ]);
}

/**
 * The fleet audit as text: a verdict line, a row per host, then each broken invariant
 * (host, first seq), quota denials per host and day, and quirks per host.
 *
 * @example
 * process.stdout.write(formatFleetText(await auditFleet(client)));
 */
export function formatFleetText(r: FleetAuditReport): string {
  const bad = new Set(r.violations.map((v) => v.host));
  const out = [
    r.ok
      ? `fleet audit: every invariant holds on every host (${r.hosts} hosts, ${r.entries} entries)`
      : `fleet audit: ${bad.size} of ${r.hosts} hosts with violations (${r.entries} entries)`,
    '',
  ];
  const hosts = table(['host', 'entries', 'ok', 'broken', 'quota denials', 'quirks']);
  for (const row of hostTotals(r)) hosts.push([row[0], row[1], row[2] ? 'yes' : 'NO', row[3], row[4], row[5]]);
  out.push(hosts.toString(), '');
  if (r.violations.length > 0) {
    const v = table(['host', 'invariant', 'first seq', 'count', 'detail']);
    for (const x of r.violations) v.push([x.host, `${x.id} ${x.name}`, x.seq ?? '-', x.count, x.detail]);
    out.push('Violations (first entry of each broken invariant):', v.toString(), '');
  }
  if (r.quota_denials.length > 0) {
    const d = table(['host', 'day (UTC)', 'quota denials']);
    for (const x of r.quota_denials) d.push([x.host, x.day, x.count]);
    out.push('Quota denials per host and day:', d.toString(), '');
  }
  if (r.quirks.length > 0) {
    const q = table(['host', 'quirk', 'hits']);
    for (const x of r.quirks) q.push([x.host, x.kind, x.count]);
    out.push('Kernel quirks hit:', q.toString(), '');
  }
  return out.join('\n');
}


/** The columns of `fleet audit --format csv`, section by section (first cell: the section). */
export const FLEET_CSV_SECTIONS = Object.freeze({
  host: ['host', 'entries', 'ok', 'broken', 'quota_denials', 'quirks'],
  violation: ['host', 'id', 'name', 'first_seq', 'count', 'detail'],
  quota_denial: ['host', 'day', 'count'],
  quirk: ['host', 'kind', 'count'],
} as const);

/**
 * The fleet audit as one CSV file, a section per table (as `audit --format csv`).
 *
 * @example
 * formatFleetCsv(report).split('\n')[0]; // 'section,host,entries,ok,broken,quota_denials,quirks'
 */
export function formatFleetCsv(r: FleetAuditReport): string {
  const lines: string[] = [];
  const section = (name: keyof typeof FLEET_CSV_SECTIONS, rows: unknown[][]) => {
    lines.push(['section', ...FLEET_CSV_SECTIONS[name]].map(csvCell).join(','));
    for (const row of rows) lines.push([name, ...row].map(csvCell).join(','));
    lines.push('');
  };
  section('host', hostTotals(r).map((h) => [h[0], h[1], h[2], h[3], h[4], h[5]]));
  section('violation', r.violations.map((v) => [v.host, v.id, v.name, v.seq, v.count, v.detail]));
  section('quota_denial', r.quota_denials.map((d) => [d.host, d.day, d.count]));
  section('quirk', r.quirks.map((q) => [q.host, q.kind, q.count]));
  return lines.join('\n');
}

/** HTML-escaped, control characters made visible (the audit report's rule). */
const esc = (v: unknown) => escapeControls(String(v ?? '')).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function htmlTable(head: string[], rows: unknown[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/**
 * The fleet audit as one self-contained HTML page (no script, no network): the verdict,
 * hosts, violations, quota denials per host and day, quirks. Every text is escaped.
 *
 * @example
 * writeFileSync('fleet.html', formatFleetHtml(report));
 */
export function formatFleetHtml(r: FleetAuditReport): string {
  const verdict = r.ok ? `Every invariant holds on every host (${r.hosts} hosts, ${r.entries} entries).` : `${new Set(r.violations.map((v) => v.host)).size} of ${r.hosts} hosts with violations (${r.entries} entries).`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"><title>pasid-ledger fleet audit</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:0 0 1.5em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}.bad{color:#b00}</style></head>
<body><h1>pasid-ledger fleet audit</h1>
<p class="${r.ok ? 'ok' : 'bad'}" id="verdict">${esc(verdict)}</p>
<h2>Hosts</h2>${htmlTable([...FLEET_CSV_SECTIONS.host], hostTotals(r).map((h) => [h[0], h[1], h[2] ? 'yes' : 'NO', h[3], h[4], h[5]]))}
<h2>Violations</h2>${htmlTable(['host', 'invariant', 'first seq', 'count', 'detail'], r.violations.map((v) => [v.host, `${v.id} ${v.name}`, v.seq ?? '-', v.count, v.detail]))}
<h2>Quota denials per host and day</h2>${htmlTable(['host', 'day (UTC)', 'quota denials'], r.quota_denials.map((d) => [d.host, d.day, d.count]))}
<h2>Kernel quirks hit</h2>${htmlTable(['host', 'quirk', 'hits'], r.quirks.map((q) => [q.host, q.kind, q.count]))}
</body></html>
`;
}
