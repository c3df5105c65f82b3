import type { Command } from 'commander';
import { diff, type LogDiff } from '../replay/diff.js';
import { parsePoint } from '../replay/point.js';
import { safeLines, showName as n } from '../text/escape.js';
import { printJson } from './common.js';
import { fmtIds, fmtRet } from './format.js';
import { answering, openLogFile } from './open_log.js';

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('what changed between two moments: PASIDs allocated and freed, vfio_mms created and released, quota changes, vms started and ended')
    .requiredOption('--db <path>', 'the SQLite log')
    .requiredOption('--from <seq|time>', 'the earlier moment: an entry seq or an ISO-8601 time')
    .requiredOption('--to <seq|time>', 'the later moment')
    .option('--json', 'print JSON')
    .action(async (o: { db: string; from: string; to: string; json?: boolean }) => {
      const db = await openLogFile(o.db);
      try {
        const d = await answering(() => diff(db, parsePoint(o.from), parsePoint(o.to)));
        if (o.json) printJson(d);
        else process.stdout.write(safeLines(diffLines(d)) + '\n');
      } finally {
        db.close();
      }
    });
}

function diffLines(d: LogDiff): string[] {
  const out = [`from seq ${d.from.seq} (${d.from.at ?? '-'}) to seq ${d.to.seq} (${d.to.at ?? '-'})`];
  const p = d.pasids;
  out.push(`PASIDs held: ${p.held.from} → ${p.held.to} (${p.alloc_events} ALLOC, ${p.free_events} FREE in between)`);
  for (const c of p.by_vfio_mm) {
    out.push(`  vfio_mm #${c.vfio_mm} (mm ${n(c.mm)}): +${c.allocated.length} ${fmtIds(c.allocated)}  -${c.freed.length} ${fmtIds(c.freed)}`);
  }
  out.push(`vfio_mms created: ${d.vfio_mms.created.length}, released: ${d.vfio_mms.released.length}`);
  for (const c of d.vfio_mms.created) out.push(`  seq ${c.seq}: vfio_mm #${c.vfio_mm} created for mm ${n(c.mm)} (gen ${c.gen}, quota ${c.quota})`);
  for (const r of d.vfio_mms.released) out.push(`  seq ${r.seq}: vfio_mm #${r.vfio_mm} (mm ${n(r.mm)}) released, ${r.freed} PASID(s) reclaimed`);
  out.push(`pasid_quota: ${d.pasid_quota.from} → ${d.pasid_quota.to}; capacity_avail: ${d.capacity_avail.from} → ${d.capacity_avail.to}`);
  for (const c of d.pasid_quota.changes) out.push(`  seq ${c.seq}: ${n(c.actor)} set pasid_quota ${c.old} → ${c.value}`);
  for (const a of d.pasid_quota.adjusts) {
    out.push(`  seq ${a.seq}: vfio_mm #${a.vfio_mm} (mm ${n(a.mm)}) adjusted to quota ${a.quota}${a.ret === 0 ? '' : `: failed ${fmtRet(a.ret)}, its set keeps limit ${a.set_quota}`}`);
  }
  out.push(`vms started: ${d.vms.started.length}, ended: ${d.vms.ended.length}`);
  for (const v of d.vms.started) out.push(`  seq ${v.seq}: ${n(v.vm)} started (mm ${n(v.mm)})`);
  for (const v of d.vms.ended) out.push(`  seq ${v.seq}: ${n(v.vm)} ${v.how} (mm ${n(v.mm)})`);
  return out;
}
