import type { Command } from 'commander';
import { jsonText, safeLines, showName as n } from '../text/escape.js';
import { streamVmTimeline, timeline, type GuestActivity, type Timeline, type TimelineSubject } from '../replay/timeline.js';
import type { Entry } from '../model/types.js';
import { CliError, intArg, printJson } from './common.js';
import { fmtEntry, fmtHex, fmtIds } from './format.js';
import { answering, openLogFile } from './open_log.js';

export function registerTimeline(program: Command): void {
  program
    .command('timeline')
    .description('the life of one vm, PASID, mm token or PCI function, entry by entry, with a summary')
    .requiredOption('--db <path>', 'the SQLite log')
    .option('--vm <vm>', "a vm: its requests (vcmd and config accesses included), the transitions they caused, its starts and ends")
    .option('--pasid <n>', 'a PASID: every ALLOC and FREE of it, by which vfio_mm and mm', intArg('--pasid', 0xffffffff))
    .option('--mm <token>', 'an mm token: its vms and vfio_mm generations, and their PASIDs')
    .option('--bdf <bdf>', 'a PCI function (dddd:bb:dd.f): its adds and removes, the guest\'s config accesses to it, writes dropped and raw writes')
    .option('--json', 'print JSON')
    .addHelpText('after', `
--vm includes the guest's vcmd_write / vcmd_read and config_read / config_write of that vm
(a config access is charged to the vm that opened the device's container; one refused
before a container was found names no vm). --bdf has no index column behind it: it scans
the device requests and device transitions of the whole log for that bdf.`)
    .action(async (o: { db: string; vm?: string; pasid?: number; mm?: string; bdf?: string; json?: boolean }) => {
      const given = [o.vm !== undefined, o.pasid !== undefined, o.mm !== undefined, o.bdf !== undefined].filter(Boolean).length;
      if (given !== 1) throw new CliError('give exactly one of --vm, --pasid, --mm, --bdf');
      if (o.bdf !== undefined && !/^[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\.[0-7]$/.test(o.bdf)) throw new CliError(`--bdf ${JSON.stringify(o.bdf)} is not a bdf such as 0000:3b:00.0 (lower-case hex)`);
      const subject: TimelineSubject = o.vm !== undefined ? { vm: o.vm } : o.pasid !== undefined ? { pasid: o.pasid } : o.mm !== undefined ? { mm: o.mm } : { bdf: o.bdf! };
      const db = await openLogFile(o.db);
      try {
        if ('vm' in subject) {
          await streamVm(db, subject.vm, o.json === true);
          return;
        }
        const t = await answering(() => timeline(db, subject));
        if (o.json) printJson(t);
        else process.stdout.write(safeLines([...summaryLines(t), '', ...t.entries.map(fmtEntry)]) + '\n');
      } finally {
        db.close();
      }
    });
}

/**
 * A vm's timeline in constant memory: one streaming pass for the summary, printed
 * first, then one that prints each entry as it is read (in chunks of about 64 KB).
 */
async function streamVm(db: Parameters<typeof streamVmTimeline>[0], vm: string, json: boolean): Promise<void> {
  const sum = await answering(() => streamVmTimeline(db, vm));
  let buf = '';
  const flush = (force = false) => {
    if (buf.length > 65536 || (force && buf.length > 0)) {
      process.stdout.write(buf);
      buf = '';
    }
  };
  let first = true;
  const each = (e: Entry) => {
    buf += json ? `${first ? '' : ','}\n    ${jsonText(e)}` : `${fmtEntry(e)}\n`;
    first = false;
    flush();
  };
  const { entry_count: n, ...summary } = sum;
  if (json) {
    const head = jsonText(summary, 2);
    buf += `${head.slice(0, head.lastIndexOf('}')).trimEnd()},\n  "entries": [`;
  } else buf += [...summaryLines({ ...summary, entries: [] }, n), '', ''].join('\n');
  await streamVmTimeline(db, vm, each);
  if (json) buf += `${first ? '' : '\n  '}]\n}\n`;
  flush(true);
}

function summaryLines(t: Timeline, count = t.entries.length): string[] {
  const s = t.subject;
  if ('pasid' in s) {
    const out = [`PASID ${s.pasid}: ${t.entries.length} entries, held ${t.holdings!.length} time(s)`];
    for (const h of t.holdings!) {
      const until = h.free_seq === null ? 'still held' : `freed at seq ${h.free_seq} by ${h.freed_by === null || h.freed_by === undefined ? '?' : n(h.freed_by)} (seq ${h.free_cause})`;
      out.push(`  vfio_mm #${h.vfio_mm} (mm ${n(h.mm)}): allocated at seq ${h.alloc_seq} (request ${h.alloc_cause}, ${h.alloc_at}), ${until}`);
    }
    return out;
  }
  if ('mm' in s) {
    const out = [`mm ${n(s.mm)}: ${t.entries.length} entries, ${t.generations!.length} vfio_mm generation(s)`];
    for (const g of t.generations!) {
      const q = g.quota === g.set_quota ? `${g.quota}` : `${g.quota} (set limit ${g.set_quota})`;
      out.push(`  gen ${g.gen}: vfio_mm #${g.vfio_mm}, quota ${q}, created at seq ${g.created_seq}, ${g.released_seq === null ? 'live' : `released at seq ${g.released_seq}`}`);
      out.push(`    allocated ${g.allocated.length}: ${fmtIds(g.allocated)}; freed ${g.freed.length}; reclaimed at release ${g.reclaimed.length}: ${fmtIds([...g.reclaimed].sort((a, b) => a - b))}; held ${fmtIds([...g.held].sort((a, b) => a - b))}`);
    }
    return out;
  }
  const r = t.requests!;
  const reasons = Object.entries(r.by_reason).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  if ('bdf' in s) {
    const out = [`bdf ${n(s.bdf)}: ${t.entries.length} entries, ${r.total} requests, ${r.failed} failed; reasons recorded: ${reasons}`];
    for (const l of t.device_lives!) {
      out.push(`  added at seq ${l.added_seq} in group ${n(l.group)}${l.is_vf ? ' (VF)' : ''}: PASID capability ${l.pasid_view}${l.pasid_offset !== null ? ` at ${fmtHex(l.pasid_offset)}` : ''} (pasid_cap_exposure ${l.exposure}), ${l.removed_seq === null ? 'present' : `removed at seq ${l.removed_seq}`}`);
    }
    out.push(...configLines(t.guest!));
    for (const w of t.raw_writes!) out.push(`  raw write at seq ${w.seq} (request ${w.cause}) to ${w.offsets.map(fmtHex).join(',')}${w.pasid_ctrl !== null ? `: PASID control now ${fmtHex(w.pasid_ctrl)}` : ''}`);
    return out;
  }
  const out = [`vm ${n(s.vm)}: ${count} entries, ${r.total} requests, ${r.failed} failed; reasons recorded: ${reasons}`];
  for (const l of t.lives!) out.push(`  mm ${n(l.mm)}: started at seq ${l.started_seq}, ${l.end === null ? 'running' : `${l.end} at seq ${l.ended_seq}`}`);
  const g = t.guest!;
  if (g.vcmd_writes + g.vcmd_reads > 0) {
    out.push(`  guest virtual commands: ${g.vcmd_writes} VCMD writes (${fmtCounts(g.vcmd_by_outcome)}), ${g.vcmd_reads} VCRSP reads`);
  }
  out.push(...configLines(g));
  return out;
}

/** The config accesses of a guest activity, when there were any. */
function configLines(g: GuestActivity): string[] {
  if (g.config_reads + g.config_writes === 0) return [];
  const out = [`  config accesses: ${g.config_reads} reads, ${g.config_writes} writes; writes dropped: ${fmtCounts(g.writes_dropped)}`];
  if (g.pasid_enable_dropped.length > 0) out.push(`  the guest tried to enable PASID on a read-only capability at seq ${g.pasid_enable_dropped.join(', ')}: dropped, reported as success`);
  if (g.hidden_pasid_raw_writes.length > 0) out.push(`  writes to a hidden PASID capability went raw to the hardware (mainline quirk) at seq ${g.hidden_pasid_raw_writes.join(', ')}`);
  return out;
}

function fmtCounts(m: Record<string, number>): string {
  return Object.entries(m).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
}
