import type { Command } from 'commander';
import { lstatSync } from 'node:fs';
import { openLedger, type Ledger } from '../ledger.js';
import type { Outcome, Request } from '../model/types.js';
import { PASID_MAX } from '../uapi/vfio.js';
import { CliError, intArg, printJson } from './common.js';
import { fmtIds, fmtRet } from './format.js';
import { removeOwnLog } from './fresh.js';
import { busyOption } from './busy.js';
import { hasUnsafe, safeLines, showName } from '../text/escape.js';

/** The whole 20-bit PASID space, as the demo's ALLOCs ask for it. */
const ALL = { min: 1, max: PASID_MAX };

/** The demo's story, run against a ledger; returns the lines it tells and the outcomes. */
export function runDemo(ledger: Ledger): { lines: string[]; outcomes: Array<{ req: Request; out: Outcome }>; denied: number | null } {
  const lines: string[] = [];
  const outcomes: Array<{ req: Request; out: Outcome }> = [];
  const q = ledger.config.pasid_quota;
  const go = (req: Request): Outcome => {
    const out = ledger.request(req);
    outcomes.push({ req, out });
    return out;
  };
  const allocs = (container: string, n: number) => Array.from({ length: n }, () => go({ op: 'pasid_alloc', container, ...ALL }));
  const pasids = (outs: Outcome[]) => fmtIds(outs.filter((o) => o.ret === 0).map((o) => o.pasid!));
  const say = (s: string) => lines.push(s);

  go({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  go({ op: 'vm_start', vm: 'vm2', mm: '0x2000' });
  go({ op: 'container_open', vm: 'vm1', container: 'c1' });
  go({ op: 'container_open', vm: 'vm1', container: 'c2' });
  go({ op: 'container_open', vm: 'vm2', container: 'c3' });
  for (const [c, g] of [['c1', 'g1'], ['c2', 'g2'], ['c3', 'g3']] as const) go({ op: 'group_attach', container: c, group: g });
  say(`1. vm1 (mm 0x1000) and vm2 (mm 0x2000) start; vm1 opens containers c1 and c2, vm2 opens c3; each gets a group.`);
  for (const c of ['c1', 'c2', 'c3']) go({ op: 'set_iommu', container: c, type: 'VFIO_TYPE1_NESTING_IOMMU' });
  const mm1 = ledger.view().vfio_mms.find((m) => m.mm === '0x1000')!;
  say(`2. VFIO_SET_IOMMU on all three: c1 and c2 share vm1's vfio_mm #${mm1.vfio_mm} (refs ${mm1.refs}, quota ${mm1.quota}); vm2 gets its own.`);
  const a1 = allocs('c1', 3);
  const a2 = allocs('c2', 2);
  say(`3. vm1 allocates PASIDs ${pasids(a1)} through c1 and ${pasids(a2)} through c2: one account, ${ledger.view('vm1').vfio_mms[0]!.held} of ${q} held.`);
  const b = allocs('c3', q + 1);
  const denied = b.find((o) => o.ret !== 0);
  say(`4. vm2 allocates until its quota: PASIDs ${pasids(b)}; then ALLOC returns ${denied ? fmtRet(denied.ret) : 'no error'} and the log records why: ${denied?.reason ?? '-'} (seq ${denied?.seq ?? '-'}).`);
  const raised = q + 4;
  go({ op: 'set_pasid_quota', value: raised, actor: 'admin' });
  const after = allocs('c3', 1)[0]!;
  say(`5. admin raises pasid_quota to ${raised}; vm2's next ALLOC adjusts its set lazily and gets PASID ${after.pasid ?? fmtRet(after.ret)}.`);
  const victim = a1[1]!.pasid!;
  go({ op: 'pasid_free', container: 'c1', pasid: victim });
  const again = allocs('c1', 1)[0]!;
  say(`6. vm1 frees PASID ${victim} and allocates again: the lowest free id comes back, ${again.pasid}.`);
  const held2 = ledger.view('vm2').vfio_mms[0]?.held ?? 0;
  const crash = go({ op: 'vm_crash', vm: 'vm2' });
  const head = ledger.head().seq;
  say(`7. vm2 crashes: c3 closes, g3 detaches, vm2's vfio_mm is released and all ${held2} of its PASIDs are freed, each its own entry (seq ${crash.seq + 1}-${head}).`);
  const reuse = allocs('c2', 1)[0]!;
  say(`8. vm1 allocates through c2 and gets PASID ${reuse.pasid}, which vm2 held a moment ago: one namespace for every VM, lowest free first.`);
  const v = ledger.view();
  say(`Now: ${v.vms.filter((x) => x.state === 'running').length} vm running, ${v.vfio_mms.length} vfio_mm live, capacity_avail ${v.capacity_avail} of ${v.capacity}; the log holds ${ledger.head().seq} entries.`);
  return { lines, outcomes, denied: denied?.seq ?? null };
}

/** A path as one shell word: as it is when plain, single-quoted otherwise (showName when it holds controls). */
function shellArg(s: string): string {
  if (/^[\w./:+@%=,-]+$/.test(s)) return s;
  if (hasUnsafe(s)) return showName(s);
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The commands the demo suggests next, as they run from the directory the demo ran in
 * (test/readme_commands.test.ts runs each of them).
 */
export function demoHints(db: string, denied: number | null): string[] {
  return [
    `npx pasid-ledger state --db ${db}`,
    `npx pasid-ledger log --db ${db} --vm vm2`,
    ...(denied !== null ? [`npx pasid-ledger explain --db ${db} --seq ${denied}     # why vm2's ALLOC failed`] : []),
    `npx pasid-ledger audit --db ${db}`,
    `npx pasid-ledger verify --db ${db}`,
  ];
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run a built-in story (VMs sharing a vfio_mm, a quota hit, an admin raising it, a crash reclaiming PASIDs) into a new log')
    .option('--db <path>', 'the SQLite log to write', './pasid-ledger.db')
    .option('--fresh', 'delete the log file first if it exists (only a pasid-ledger log is deleted)')
    .option('--pasid-quota <n>', 'pasid_quota of the demo host (small, so the quota is reached quickly)', intArg('--pasid-quota', 100000), 8)
    .option('--json', 'print the requests and outcomes as JSON')
    .addOption(busyOption())
    .action(async (o: { db: string; fresh?: boolean; pasidQuota: number; json?: boolean; busyTimeout: number }) => {
      // lstat: a symlink, even a dangling one, is something there, not a new file.
      if (o.db !== ':memory:' && lstatSync(o.db, { throwIfNoEntry: false }) !== undefined) {
        if (!o.fresh) throw new CliError(`${o.db} already exists: pass --fresh to replace it, or --db another file`);
        removeOwnLog(o.db);
      }
      const ledger = await openLedger(o.db, { pasid_quota: o.pasidQuota, busyTimeout: o.busyTimeout });
      try {
        const { lines, outcomes, denied } = runDemo(ledger);
        if (o.json) {
          printJson(outcomes.map(({ req, out }) => ({ req, ...out })));
          return;
        }
        const db = shellArg(o.db);
        process.stdout.write(safeLines([
          `pasid-ledger demo: a v1 host with pasid_quota ${o.pasidQuota}, logged to ${showName(o.db)}`, '',
          ...lines.map((l) => `  ${l}`), '',
          'Look closer:',
          ...demoHints(db, denied).map((h) => `  ${h}`),
        ]) + '\n');
      } finally {
        ledger.close();
      }
    });
}
