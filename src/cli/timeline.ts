import type { Command } from 'commander';
import { timeline, type Timeline, type TimelineSubject } from '../replay/timeline.js';
import { CliError, intArg, printJson } from './common.js';
import { fmtEntry, fmtIds } from './format.js';
import { answering, openLogFile } from './open_log.js';

export function registerTimeline(program: Command): void {
  program
    .command('timeline')
    .description('the life of one vm, PASID or mm token, entry by entry, with a summary')
    .requiredOption('--db <path>', 'the SQLite log')
    .option('--vm <vm>', "a vm: its requests, the transitions they caused, its starts and ends")
    .option('--pasid <n>', 'a PASID: every ALLOC and FREE of it, by which vfio_mm and mm', intArg('--pasid', 0xffffffff))
    .option('--mm <token>', 'an mm token: its vms and vfio_mm generations, and their PASIDs')
    .option('--json', 'print JSON')
    .action(async (o: { db: string; vm?: string; pasid?: number; mm?: string; json?: boolean }) => {
      const given = [o.vm !== undefined, o.pasid !== undefined, o.mm !== undefined].filter(Boolean).length;
      if (given !== 1) throw new CliError('give exactly one of --vm, --pasid, --mm');
      const subject: TimelineSubject = o.vm !== undefined ? { vm: o.vm } : o.pasid !== undefined ? { pasid: o.pasid } : { mm: o.mm! };
      const db = await openLogFile(o.db);
      try {
        const t = await answering(() => timeline(db, subject));
        if (o.json) printJson(t);
        else process.stdout.write([...summaryLines(t), '', ...t.entries.map(fmtEntry)].join('\n') + '\n');
      } finally {
        db.close();
      }
    });
}

function summaryLines(t: Timeline): string[] {
  const s = t.subject;
  if ('pasid' in s) {
    const out = [`PASID ${s.pasid}: ${t.entries.length} entries, held ${t.holdings!.length} time(s)`];
    for (const h of t.holdings!) {
      const until = h.free_seq === null ? 'still held' : `freed at seq ${h.free_seq} by ${h.freed_by ?? '?'} (seq ${h.free_cause})`;
      out.push(`  vfio_mm #${h.vfio_mm} (mm ${h.mm}): allocated at seq ${h.alloc_seq} (request ${h.alloc_cause}, ${h.alloc_at}), ${until}`);
    }
    return out;
  }
  if ('mm' in s) {
    const out = [`mm ${s.mm}: ${t.entries.length} entries, ${t.generations!.length} vfio_mm generation(s)`];
    for (const g of t.generations!) {
      const q = g.quota === g.set_quota ? `${g.quota}` : `${g.quota} (set limit ${g.set_quota})`;
      out.push(`  gen ${g.gen}: vfio_mm #${g.vfio_mm}, quota ${q}, created at seq ${g.created_seq}, ${g.released_seq === null ? 'live' : `released at seq ${g.released_seq}`}`);
      out.push(`    allocated ${g.allocated.length}: ${fmtIds(g.allocated)}; freed ${g.freed.length}; reclaimed at release ${g.reclaimed.length}: ${fmtIds([...g.reclaimed].sort((a, b) => a - b))}; held ${fmtIds([...g.held].sort((a, b) => a - b))}`);
    }
    return out;
  }
  const r = t.requests!;
  const reasons = Object.entries(r.by_reason).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const out = [`vm ${s.vm}: ${t.entries.length} entries, ${r.total} requests, ${r.failed} failed; reasons recorded: ${reasons}`];
  for (const l of t.lives!) out.push(`  mm ${l.mm}: started at seq ${l.started_seq}, ${l.end === null ? 'running' : `${l.end} at seq ${l.ended_seq}`}`);
  return out;
}
