import { Command, Option } from 'commander';
import type pg from 'pg';
import { auditFleet } from '../fleet/audit.js';
import { findEntries, pasidHolders } from '../fleet/find.js';
import { FLEET_CSV_SECTIONS, formatFleetCsv, formatFleetHtml, formatFleetText } from '../fleet/format.js';
import { hostName } from '../fleet/host_name.js';
import { listHosts } from '../fleet/read.js';
import { verifyFleet } from '../fleet/verify.js';
import { formatText } from '../audit/format_text.js';
import { formatHtml } from '../audit/format_html.js';
import type { Entry } from '../model/types.js';
import { checkOutFile, writeOutFile } from './out_file.js';
import { jsonText, safeLines, showName } from '../text/escape.js';
import { CliError, intArg, printJson } from './common.js';
import { fmtEntry } from './format.js';
import { ticker } from './open_log.js';
import { progress } from './progress.js';

const PG_OPT = ['--pg <url>', 'the fleet PostgreSQL (postgres://...); default $PASID_LEDGER_PG'] as const;

/** Connects to the fleet store for a read command; it must hold the fleet schema (nothing is created). */
async function withFleet<T>(url: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const u = url ?? process.env.PASID_LEDGER_PG;
  if (!u) throw new CliError('no PostgreSQL URL: give --pg postgres://... or set PASID_LEDGER_PG');
  const { connectPg } = await import('../fleet/pg.js');
  const c = await connectPg(u);
  try {
    const r = await c.query<{ t: string | null }>("SELECT to_regclass('hosts')::text AS t");
    if (r.rows[0]?.t == null) throw new CliError('this PostgreSQL database holds no fleet store (no hosts table): ship a log into it first with "pasid-ledger ship"');
    return await fn(c);
  } finally {
    await c.end();
  }
}

const ago = (d: Date | null) => (d === null ? '-' : `${Math.max(0, Math.round((Date.now() - d.getTime()) / 1000))}s ago`);

function hostsCommand(): Command {
  return new Command('hosts')
    .description('the hosts in the fleet store: entries held, head seq, last shipped, lag behind the local log')
    .option(...PG_OPT)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nlag: entries the shipper had seen in the local log and PostgreSQL does not hold yet\n(source_seq - head_seq); seen: when the shipper last called in.')
    .action(async (o: { pg?: string; json?: boolean }) => {
      await withFleet(o.pg, async (c) => {
        const hosts = await listHosts(c);
        const rows = hosts.map((h) => ({
          host: h.host, entries: h.head_seq, head_seq: h.head_seq, head_chain: h.head_chain, head_at: h.head_at,
          last_shipped: h.shipped_at?.toISOString() ?? null, seen: h.seen_at?.toISOString() ?? null, source_seq: h.source_seq, lag: Math.max(0, h.source_seq - h.head_seq),
        }));
        if (o.json) return printJson(rows);
        const lines = [['host', 'entries', 'head seq', 'last entry at', 'last shipped', 'seen', 'lag'].join('\t')];
        for (const [i, r] of rows.entries()) lines.push([r.host, r.entries, r.head_seq, r.head_at ?? '-', ago(hosts[i]!.shipped_at), ago(hosts[i]!.seen_at), r.lag].join('\t'));
        process.stdout.write(safeLines(lines) + '\n');
      });
    });
}

type Format = 'text' | 'json' | 'csv' | 'html';

function auditCommand(): Command {
  return new Command('audit')
    .description('every invariant of "audit" on every host, computed from PostgreSQL; summary: hosts with violations, quota denials per host and day, quirks')
    .option(...PG_OPT)
    .option('--host <name>', 'only this host (text and html then add its full audit)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'csv', 'html']).default('text'))
    .option('--out <file>', 'write the report to this file instead of stdout (an existing file only with --force)')
    .option('--force', 'with --out: replace an existing file')
    .addHelpText('after', `
Exit status: 0 every invariant holds on every host, 1 at least one is broken (or a host's
log cannot be audited), 2 bad input or unusable database.

json: {format, version, ok, hosts, entries, violations[], quota_denials[], quirks[],
reports[] (each host's full audit as "audit --format json" prints it)}.
csv sections: ${Object.entries(FLEET_CSV_SECTIONS).map(([k, v]) => `${k}: ${v.join(',')}`).join('; ')}`)
    .action(async (o: { pg?: string; host?: string; format: Format; out?: string; force?: boolean }) => {
      const outOpts = { force: o.force ?? false };
      if (o.out !== undefined) checkOutFile(o.out, outOpts);
      const host = o.host === undefined ? undefined : hostName(o.host);
      const report = await withFleet(o.pg, async (c) => {
        const total = (await listHosts(c, host)).reduce((s, h) => s + h.head_seq, 0);
        const bar = progress('entries audited', total);
        try {
          return await auditFleet(c, { host, onProgress: ticker(bar) });
        } finally {
          bar.done();
        }
      });
      if (host !== undefined && report.hosts === 0) throw new CliError(`host ${host} is not in the fleet store`);
      const one = host !== undefined ? report.reports[0]?.report ?? null : null;
      let text: string;
      if (o.format === 'json') text = jsonText(report, 2) + '\n';
      else if (o.format === 'csv') text = formatFleetCsv(report);
      else if (o.format === 'html') text = one ? formatHtml(one) : formatFleetHtml(report);
      else text = safeLines((formatFleetText(report) + (one ? `\nHost ${host}:\n${formatText(one)}` : '')).split('\n'));
      if (o.out === undefined) process.stdout.write(text);
      else {
        await writeOutFile(o.out, text, outOpts);
        process.stdout.write(`${report.ok ? 'every invariant holds on every host' : `${new Set(report.violations.map((v) => v.host)).size} host(s) with violations`} (${report.hosts} hosts, ${report.entries} entries); ${o.format} report written to ${showName(o.out)}\n`);
      }
      process.exitCode = report.ok ? 0 : 1;
    });
}

function findCommand(): Command {
  return new Command('find')
    .description('the entries naming a vm, an mm or a PASID on every host; with --pasid and --at, who held that PASID at that moment on each host')
    .option(...PG_OPT)
    .option('--pasid <n>', 'a PASID', intArg('--pasid', 0xffffffff))
    .option('--at <time>', 'with --pasid: an ISO-8601 time; prints the holder on each host')
    .option('--vm <vm>', 'a vm')
    .option('--mm <mm>', 'an mm token')
    .option('--host <name>', 'only this host')
    .option('--limit <n>', 'at most this many entries', intArg('--limit', 1_000_000), 1000)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  pasid-ledger fleet find --vm vm7\n  pasid-ledger fleet find --pasid 5 --at 2026-11-25T10:42:00Z')
    .action(async (o: { pg?: string; pasid?: number; at?: string; vm?: string; mm?: string; host?: string; limit: number; json?: boolean }) => {
      const given = [o.pasid !== undefined, o.vm !== undefined, o.mm !== undefined].filter(Boolean).length;
      if (given !== 1) throw new CliError('give exactly one of --pasid, --vm, --mm');
      if (o.at !== undefined && o.pasid === undefined) throw new CliError('--at needs --pasid');
      const host = o.host === undefined ? undefined : hostName(o.host);
      let at: string | undefined;
      if (o.at !== undefined) {
        const t = Date.parse(o.at);
        if (!/^\d{4}-\d\d-\d\d/.test(o.at) || Number.isNaN(t)) throw new CliError(`--at ${JSON.stringify(o.at.slice(0, 40))} is not an ISO-8601 time`);
        at = new Date(t).toISOString();
      }
      await withFleet(o.pg, async (c) => {
        if (at !== undefined) {
          const holders = await pasidHolders(c, o.pasid!, at, host);
          if (o.json) return printJson(holders);
          const lines = holders.map((h) => h.held
            ? `host ${h.host}: PASID ${h.pasid} held by vfio_mm #${h.vfio_mm} (mm ${h.mm}${h.vm ? `, vm ${h.vm}` : ''}, container ${h.container}) since seq ${h.seq} at ${h.at}`
            : `host ${h.host}: PASID ${h.pasid} free since seq ${h.seq} at ${h.at}`);
          process.stdout.write((lines.length ? safeLines(lines) : `no host had PASID ${o.pasid} by ${at}`) + '\n');
          return;
        }
        const q = o.vm !== undefined ? { vm: o.vm } : o.mm !== undefined ? { mm: o.mm } : { pasid: o.pasid! };
        const r = await findEntries(c, q, { host, limit: o.limit });
        if (o.json) return printJson({ ...r, entries: r.entries.map((e) => ({ host: e.host, seq: e.seq, at: e.at, entry: JSON.parse(e.entry) as unknown })) });
        const lines = r.entries.map((e) => `${e.host}  ${fmtEntry(JSON.parse(e.entry) as Entry).trimStart()}`);
        if (r.truncated) lines.push(`(more than ${o.limit} entries: raise --limit)`);
        process.stdout.write((lines.length ? safeLines(lines) : 'no entry found') + '\n');
      });
    });
}

function verifyCommand(): Command {
  return new Command('verify')
    .description("recompute every host's leaves and chains in PostgreSQL from the entry texts, check canonical text, seq order, indexing columns, head rows and checkpoints")
    .option(...PG_OPT)
    .option('--host <name>', 'only this host')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit status: 0 every host checks out, 1 naming each bad host and its first bad seq, 2 bad input.')
    .action(async (o: { pg?: string; host?: string; json?: boolean }) => {
      const host = o.host === undefined ? undefined : hostName(o.host);
      const all = await withFleet(o.pg, async (c) => {
        const total = (await listHosts(c, host)).reduce((s, h) => s + h.head_seq, 0);
        const bar = progress('entries verified', total);
        try {
          return await verifyFleet(c, { host, onProgress: (n) => bar.tick(n) });
        } finally {
          bar.done();
        }
      });
      if (host !== undefined && all.length === 0) throw new CliError(`host ${host} is not in the fleet store`);
      const ok = all.every((v) => v.ok);
      if (o.json) printJson({ ok, hosts: all });
      else {
        const lines = all.map((v) => v.ok
          ? `host ${v.host}: ok, ${v.entries} entries, chain head ${v.chain}${v.checkpoints ? `, ${v.checkpoints} checkpoint(s) good` : ''}`
          : `host ${v.host}: seq ${v.bad!.seq} is bad: ${v.bad!.problem}`);
        lines.push(ok ? `ok: ${all.length} host(s) check out` : `${all.filter((v) => !v.ok).length} of ${all.length} host(s) bad`);
        process.stdout.write(safeLines(lines) + '\n');
      }
      process.exitCode = ok ? 0 : 1;
    });
}

export function registerFleet(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('the fleet store in PostgreSQL: hosts, audit, find, verify (logs shipped with "ship")')
    .addHelpText('after', '\nEvery subcommand takes --pg URL (or $PASID_LEDGER_PG) and only reads.');
  for (const cmd of [hostsCommand(), auditCommand(), findCommand(), verifyCommand()]) fleet.addCommand(cmd.exitOverride());
  fleet.exitOverride();
}
