import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditLog } from '../src/audit/audit_log.js';
import type { AuditReport } from '../src/audit/report.js';
import type { Ledger } from '../src/ledger.js';
import type { Outcome, Request } from '../src/model/types.js';
import { EntryLog } from '../src/store/log.js';
import { openDatabase } from '../src/store/open.js';
import { auditJson, cli, Crafter, realLog } from './audit_craft.js';
import { setupVm, tmpDir } from './helpers.js';

const s = suite('audit: quota report and quirks');
const ALL = { min: 1, max: 0xfffff };
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

/**
 * A request driver that keeps, beside the ledger, its own account of what each vm
 * holds, what it was refused and why, computed from the outcomes alone; and the time
 * of each request (the stepping clock ticks once per request, after the config entry).
 */
class Driver {
  readonly held = new Map<string, Set<number>>();
  readonly peak = new Map<string, number>();
  readonly denied = new Map<string, Record<string, number>>();
  readonly requests = new Map<string, number>();
  readonly reclaimed = new Map<string, number>();
  private tick = 1;
  constructor(readonly l: Ledger) {}

  go(caller: string | null, req: Request): Outcome & { at: number } {
    const o = this.l.request(req);
    const at = T0 + 1000 * this.tick++;
    if (caller) {
      this.requests.set(caller, (this.requests.get(caller) ?? 0) + 1);
      if (o.ret < 0) {
        const d = this.denied.get(caller) ?? {};
        d[o.reason!] = (d[o.reason!] ?? 0) + 1;
        this.denied.set(caller, d);
      }
    }
    return { ...o, at };
  }

  /** vm `owner` (whose vfio_mm the container is charged to) allocates through `container`. */
  alloc(caller: string, container: string, owner = caller): Outcome & { at: number } {
    const o = this.go(caller, { op: 'pasid_alloc', container, ...ALL });
    if (o.ret === 0) {
      const h = this.held.get(owner) ?? new Set();
      h.add(o.pasid!);
      this.held.set(owner, h);
      this.peak.set(owner, Math.max(this.peak.get(owner) ?? 0, h.size));
    }
    return o;
  }

  free(caller: string, container: string, pasid: number, owner = caller): Outcome & { at: number } {
    const o = this.go(caller, { op: 'pasid_free', container, pasid });
    if (o.ret === 0) this.held.get(owner)!.delete(pasid);
    return o;
  }

  crash(vm: string): Outcome & { at: number } {
    const o = this.go(vm, { op: 'vm_crash', vm });
    this.reclaimed.set(vm, (this.reclaimed.get(vm) ?? 0) + (this.held.get(vm)?.size ?? 0));
    this.held.set(vm, new Set());
    return o;
  }

  setup(vm: string, mm: string, containers: Array<[string, string]>): void {
    this.go(vm, { op: 'vm_start', vm, mm });
    for (const [c, g] of containers) {
      this.go(vm, { op: 'container_open', vm, container: c });
      this.go(vm, { op: 'group_attach', container: c, group: g });
      this.go(vm, { op: 'set_iommu', container: c, type: 'VFIO_TYPE1_NESTING_IOMMU' });
    }
  }
}

let cleanPath = '';
let d!: Driver;
const marks: Record<string, number> = {};

s.before(async () => {
  cleanPath = await realLog({ pasid_quota: 3 }, (l) => {
    d = new Driver(l);
    d.setup('vm1', '0x1000', [['c1', 'g1'], ['c2', 'g2']]); // two containers sharing one vfio_mm
    d.setup('vm2', '0x2000', [['c3', 'g3']]);
    d.alloc('vm1', 'c1'); d.alloc('vm1', 'c1'); d.alloc('vm1', 'c2');
    const q1 = d.alloc('vm1', 'c2'); // quota hit
    assert.is(q1.reason, 'quota_exhausted');
    d.alloc('vm2', 'c3'); d.alloc('vm2', 'c3');
    marks.vm2AtQuota = d.alloc('vm2', 'c3').at;
    assert.is(d.alloc('vm2', 'c3').reason, 'quota_exhausted');
    assert.is(d.free('vm2', 'c3', 1).reason, 'not_owner');
    assert.is(d.free('vm2', 'c3', 99).reason, 'not_allocated');
    const raise = d.go(null, { op: 'set_pasid_quota', value: 5, actor: 'alice' });
    marks.raise = raise.seq;
    d.alloc('vm1', 'c2'); // lazy adjust to 5
    d.alloc('vm1', 'c1');
    assert.is(d.alloc('vm1', 'c1').reason, 'quota_exhausted');
    const own = [...d.held.get('vm2')!][0]!;
    marks.vm2LeavesQuota = d.free('vm2', 'c3', own).at;
    d.crash('vm2'); // crash reclaim
    const vm1Own = [...d.held.get('vm1')!][0]!;
    d.free('vm1', 'c1', vm1Own);
    d.alloc('vm1', 'c2');
    marks.end = d.alloc('vm1', 'c2').at;
  });
});

function reportOf(path: string, opts = {}): AuditReport {
  const db = openDatabase(path, { mustExist: true });
  try {
    return auditLog(new EntryLog(db), opts);
  } finally {
    db.close();
  }
}

s('a clean realistic log passes: exit 0, every invariant holds, nothing on stderr', () => {
  const { status, report, stderr } = auditJson(cleanPath);
  assert.is(status, 0);
  assert.is(report.ok, true);
  assert.is(stderr, '', 'no progress output when stderr is not a terminal');
  for (const i of report.invariants) assert.ok(i.holds, `${i.id} ${i.name}: ${i.first?.detail}`);
  assert.is(report.quirks.hits.length, 0);
  assert.is(report.unchecked_allocs, 0);
});

s('per vm: requests, denials by reason, peak held and reclaimed agree with the outcomes', () => {
  const r = reportOf(cleanPath);
  for (const vm of ['vm1', 'vm2']) {
    const v = r.vms.find((x) => x.vm === vm)!;
    assert.is(v.requests, d.requests.get(vm), `${vm} requests`);
    assert.equal(v.denied, d.denied.get(vm), `${vm} denials by reason`);
    assert.is(v.denials, Object.values(d.denied.get(vm)!).reduce((a, b) => a + b, 0));
    assert.is(v.peak_held, d.peak.get(vm), `${vm} peak`);
    assert.is(v.held_at_end, d.held.get(vm)!.size, `${vm} held at end`);
    assert.is(v.reclaimed, d.reclaimed.get(vm) ?? 0, `${vm} reclaimed`);
  }
  assert.is(d.reclaimed.get('vm2'), 2);
  assert.equal(d.denied.get('vm2'), { quota_exhausted: 1, not_owner: 1, not_allocated: 1 });
});

s('per vfio_mm: one shared by both containers of vm1, quota over time, time at quota, reclaim', () => {
  const r = reportOf(cleanPath);
  assert.is(r.vfio_mms.length, 2, 'vm1 two containers, one vfio_mm');
  const [m1, m2] = r.vfio_mms;
  assert.is(m1!.vm, 'vm1');
  assert.is(m1!.mm, '0x1000');
  assert.equal(m1!.quota_changes.map((q) => [q.quota, q.set_quota]), [[3, 3], [5, 5]]);
  assert.ok(m1!.quota_changes[1]!.seq > marks.raise!, 'the change applies lazily, after the admin request');
  assert.is(m2!.vm, 'vm2');
  assert.equal(m2!.quota_changes.map((q) => q.quota), [3], 'vm2 never allocated after the raise');
  assert.is(m1!.peak_held, d.peak.get('vm1'));
  assert.is(m2!.peak_held, 3);
  assert.is(m2!.reclaimed, 2);
  assert.is(m1!.reclaimed, 0);
  assert.ok(m2!.released_seq !== null && m1!.released_seq === null);
  // vm2 reached its quota of 3 at its third ALLOC and left it when it freed one of its own.
  assert.is(m2!.at_quota_ms, marks.vm2LeavesQuota! - marks.vm2AtQuota!);
  assert.is(m2!.at_quota_times, 1);
  assert.equal(m2!.denied, { quota_exhausted: 1, not_owner: 1, not_allocated: 1 });
  assert.equal(m1!.denied, d.denied.get('vm1'));
  assert.equal(d.denied.get('vm1'), { quota_exhausted: 3 });
  // vm1 was at quota 3, then (after the raise and two more) at 5 until a free; then at 5 again to the end.
  assert.ok(m1!.at_quota_ms > 0);
  assert.is(m1!.at_quota_times, 3);
});

s('a long log keeps its peaks in a bounded series', () => {
  const r = reportOf(cleanPath, { maxPoints: 7 });
  for (const v of r.vms) {
    assert.is(v.series.length, 7);
    assert.is(Math.max(...v.series.map((p) => p.held_max)), v.peak_held, `${v.vm}: the peak survives bucketing`);
    assert.is(v.series[6]!.held, v.held_at_end);
    assert.is(v.series[6]!.seq, r.head.seq);
  }
  const full = reportOf(cleanPath);
  assert.is(full.vms[0]!.series.length, full.head.seq, 'a short log gets one point per entry');
});

s('kernel quirks are reported with their seqs, and alone do not fail the audit', async () => {
  const seen: Record<string, Outcome> = {};
  const path = await realLog({ pasid_quota: 4, capacity: 8 }, (l) => {
    setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
    seen.zero = l.request({ op: 'pasid_alloc', container: 'c1', min: 0, max: 0xfffff });
    assert.is(seen.zero.reason, 'pasid_zero');
    seen.wide = l.request({ op: 'pasid_alloc', container: 'c1', min: 0x100000, max: 0xffffffff });
    assert.is(seen.wide.pasid, 0x100000);
    l.request({ op: 'pasid_alloc', container: 'c1', ...ALL });
    seen.reuse = l.request({ op: 'vm_start', vm: 'vm2', mm: '0x1000' });
    setupVm(l, 'vm3', '0x3000', 'c3', 'g3');
    l.request({ op: 'vm_start', vm: 'vm4', mm: '0x4000' });
    l.request({ op: 'container_open', vm: 'vm4', container: 'c4' });
    l.request({ op: 'group_attach', container: 'c4', group: 'g4' });
    seen.nomm = l.request({ op: 'set_iommu', container: 'c4', type: 'VFIO_TYPE1_NESTING_IOMMU' });
    assert.is(seen.nomm.reason, 'capacity_exhausted');
    l.request({ op: 'set_pasid_quota', value: 2, actor: 'bob' });
    seen.adjust = l.request({ op: 'pasid_alloc', container: 'c1', ...ALL });
    assert.is(seen.adjust.ret, 0, 'the failed adjust leaves the set at 4');
  });
  const { status, report } = auditJson(path);
  assert.is(status, 0, 'quirks alone do not fail the audit');
  assert.ok(report.invariants.every((i) => i.holds), JSON.stringify(report.invariants.filter((i) => !i.holds)));
  assert.equal(report.quirks.counts, {
    pasid_zero: 1, pasid_above_width: 1, quota_adjust_failed: 1, mm_reused: 1, no_vfio_mm: 1,
    pasid_enable_dropped: 0, hidden_pasid_cap_raw_write: 0, pasid_reqs_without_vfio_mm: 0,
  });
  const hit = (k: string) => report.quirks.hits.find((h) => h.kind === k)!;
  // Transition quirks name the ALLOC / QUOTA_ADJUST entry and the request behind it.
  assert.is(hit('pasid_zero').request, seen.zero!.seq);
  assert.is(hit('pasid_zero').seq, seen.zero!.seq + 1);
  assert.is(hit('pasid_zero').pasid, 0);
  assert.is(hit('pasid_above_width').request, seen.wide!.seq);
  assert.is(hit('pasid_above_width').seq, seen.wide!.seq + 1);
  assert.is(hit('pasid_above_width').pasid, 0x100000);
  assert.is(hit('quota_adjust_failed').request, seen.adjust!.seq);
  assert.is(hit('quota_adjust_failed').seq, seen.adjust!.seq + 1, 'the adjust comes first, then the ALLOC');
  assert.match(hit('quota_adjust_failed').detail, /failed with -22/);
  assert.is(hit('mm_reused').seq, seen.reuse!.seq);
  assert.match(hit('mm_reused').detail, /vm2 started with mm 0x1000.*vm1 running with it/);
  assert.is(hit('no_vfio_mm').seq, seen.nomm!.seq);
  const m1 = report.vfio_mms.find((m) => m.vfio_mm === 1)!;
  assert.equal(m1.quota_changes.map((q) => [q.quota, q.set_quota]), [[4, 4], [2, 4]], 'recorded quota 2, set limit still 4');
  const text = cli(['audit', '--db', path]);
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /Kernel quirks hit: pasid_zero 1, pasid_above_width 1, quota_adjust_failed 1, mm_reused 1, no_vfio_mm 1/);
});

s("the demo's log passes the audit, and its crash reclaim is counted", () => {
  const db = join(tmpDir(), 'demo.db');
  const demo = cli(['demo', '--db', db, '--pasid-quota', '4']);
  assert.is(demo.status, 0, demo.stderr);
  const { status, report } = auditJson(db);
  assert.is(status, 0, JSON.stringify(report.invariants.filter((i) => !i.holds)));
  const vm2 = report.vms.find((v) => v.vm === 'vm2')!;
  assert.ok(vm2.reclaimed > 0);
  assert.is(vm2.held_at_end, 0);
  assert.ok(vm2.denied.quota_exhausted! >= 1);
});

s('machines and request ops of a later profile are ignored, not judged', async () => {
  const path = await realLog({}, (l) => setupVm(l));
  const c = await Crafter.open(path);
  // Names no profile has yet: a later revision's objects and requests.
  c.request('iopf_enable', { container: 'c1', queue: 3 }, { ret: 0, vm: 'vm1' });
  c.transition({ machine: 'iopf_queue', event: 'ENABLE', from: 'none', to: 'enabled', container: 'c1', queue: 3 });
  c.request('iopf_status', { vm: 'vm1' }, { ret: 0, vm: 'vm1' });
  c.commit();
  const { status, report } = auditJson(path);
  assert.is(status, 0, JSON.stringify(report.invariants.filter((i) => !i.holds)));
  assert.is(report.requests, 6);
});

s.run();
