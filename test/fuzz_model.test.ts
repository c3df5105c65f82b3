import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../src/cli/common.js';
import { parseRequestFile } from '../src/cli/run.js';
import { openLedger, type Ledger } from '../src/ledger.js';
import { RequestError } from '../src/model/request.js';
import * as uapi from '../src/uapi/index.js';
import { auditFailures, stateFailures, verifyFailure } from './fixtures/ledger_checks.js';
import { CLI, tmpDir } from './helpers.js';

/*
 * Model-based fuzzing: random request sequences, valid and not, run against the
 * ledger (a real SQLite file) and against the reference model below, written
 * straight from SEMANTICS.md (profile v1) without importing src/model. Outcomes
 * (ret, pasid, reason) must agree request by request, and the holdings, quotas and
 * capacity must agree and satisfy the invariants after every step.
 *
 * Where SEMANTICS is silent (a request naming a vm or container that does not exist,
 * a closed fd, a group already known with other attributes), the reference follows the
 * ledger's documented conventions: a dead caller is -ESRCH, a bad fd -EBADF, a second
 * open of one container id -EEXIST, and the reasons are the ones `explain` shows.
 */

// Linux errno values (asm-generic/errno-base.h), written out: the reference imports nothing of the project.
const EPERM = 1, ENOENT = 2, ESRCH = 3, EBADF = 9, EACCES = 13, EFAULT = 14, EEXIST = 17, ENODEV = 19, EINVAL = 22, ENOTTY = 25;

interface Out { ret: number; pasid: number | null; reason: string | null }
const ok = (reason: string | null = null, pasid: number | null = null): Out => ({ ret: 0, pasid, reason });
const err = (errno: number, reason: string, pasid: number | null = null): Out => ({ ret: -errno, pasid, reason });

interface RVm { mm: string; running: boolean; containers: string[] }
interface RContainer { vm: string; open: boolean; iommu: string | null; groups: string[]; vfioMm: number | null }
interface RGroup { backed: boolean; noiommu: boolean; container: string | null }
interface RVfioMm { id: number; mm: string; refs: number; quota: number; setQuota: number; held: Set<number> }

const TYPE1 = new Map<string | number, string>([
  ['VFIO_TYPE1_IOMMU', 'type1'], [1, 'type1'], ['VFIO_TYPE1v2_IOMMU', 'type1'], [3, 'type1'], ['VFIO_TYPE1_NESTING_IOMMU', 'type1'], [6, 'type1'],
  ['VFIO_NOIOMMU_IOMMU', 'noiommu'], [8, 'noiommu'],
]);

/** The host of SEMANTICS sections 2-4 (v1), as plain maps. */
class RefHost {
  vms = new Map<string, RVm>();
  containers = new Map<string, RContainer>();
  groups = new Map<string, RGroup>();
  mms = new Map<number, RVfioMm>();
  liveByMm = new Map<string, number>();
  owner = new Map<number, number>();
  lastMm = 0;
  constructor(public pasidQuota: number, public capacityAvail: number) {}

  run(r: Record<string, any>): Out {
    switch (r.op) {
      case 'vm_start': {
        const v = this.vms.get(r.vm);
        if (v?.running) return err(EEXIST, 'vm_exists');
        this.vms.set(r.vm, { mm: r.mm, running: true, containers: [] });
        return ok();
      }
      case 'vm_exit':
      case 'vm_crash': {
        const v = this.vms.get(r.vm);
        if (!v) return err(ESRCH, 'no_such_vm');
        if (!v.running) return err(ESRCH, 'vm_not_running');
        // The kernel closes every fd the process held: each container, in open order.
        for (const id of v.containers) if (this.containers.get(id)!.open) this.close(id);
        v.running = false;
        return ok();
      }
      case 'container_open': {
        const v = this.vms.get(r.vm);
        if (!v) return err(ESRCH, 'no_such_vm');
        if (!v.running) return err(ESRCH, 'vm_not_running');
        if (this.containers.has(r.container)) return err(EEXIST, 'container_exists');
        this.containers.set(r.container, { vm: r.vm, open: true, iommu: null, groups: [], vfioMm: null });
        v.containers.push(r.container);
        return ok();
      }
      case 'set_pasid_quota': {
        if (!(Number.isInteger(r.value) && r.value >= 0 && r.value <= 0x7fffffff)) return err(EINVAL, 'bad_value');
        if (!r.actor) return err(EINVAL, 'no_actor');
        this.pasidQuota = r.value;
        return ok();
      }
    }
    // Every other request is an ioctl on a container fd, by its opener or by the vm named.
    if (r.vm !== undefined) {
      const caller = this.vms.get(r.vm);
      if (!caller) return err(ESRCH, 'no_such_vm');
      if (!caller.running) return err(ESRCH, 'vm_not_running');
    }
    const c = this.containers.get(r.container);
    if (!c) return err(EBADF, 'no_such_container');
    if (!c.open) return err(EBADF, 'container_closed');
    const vm: string = r.vm ?? c.vm;
    switch (r.op) {
      case 'container_close':
        this.close(r.container);
        return ok();
      case 'group_attach': {
        const g = this.groups.get(r.group);
        const backed = g?.backed ?? r.iommu_backed ?? true;
        const noiommu = g?.noiommu ?? r.noiommu ?? false;
        if ((r.iommu_backed !== undefined && r.iommu_backed !== backed) || (r.noiommu !== undefined && r.noiommu !== noiommu)) return err(EINVAL, 'group_attributes_differ');
        if (g && g.container !== null) return err(EINVAL, 'group_busy');
        if (c.groups.length > 0 && this.groups.get(c.groups[0]!)!.noiommu !== noiommu) return err(EPERM, 'noiommu_mix');
        this.groups.set(r.group, { backed, noiommu, container: r.container });
        c.groups.push(r.group);
        return ok();
      }
      case 'group_detach': {
        if (!c.groups.includes(r.group)) return err(EINVAL, 'group_not_in_container');
        this.detach(r.container, r.group);
        return ok();
      }
      case 'set_iommu': {
        if (c.iommu !== null) return err(EINVAL, 'iommu_already_set');
        if (c.groups.length === 0) return err(EINVAL, 'no_groups');
        const kind = TYPE1.get(r.type);
        if (!kind) return err(ENODEV, 'unknown_iommu_type');
        if ((kind === 'noiommu') !== this.groups.get(c.groups[0]!)!.noiommu) return err(ENODEV, 'noiommu_mismatch');
        c.iommu = kind;
        if (kind === 'noiommu') return ok();
        // vfio_mm_get for the CALLING process's mm: found, ref + 1; else created with the
        // current pasid_quota, which reserves it from capacity; no capacity: the ioctl
        // still succeeds and the container has no vfio_mm (quirk).
        const mm = this.vms.get(vm)!.mm;
        const live = this.liveByMm.get(mm);
        if (live !== undefined) {
          this.mms.get(live)!.refs++;
          c.vfioMm = live;
          return ok();
        }
        if (this.pasidQuota > this.capacityAvail) return ok('capacity_exhausted');
        const id = ++this.lastMm;
        this.mms.set(id, { id, mm, refs: 1, quota: this.pasidQuota, setQuota: this.pasidQuota, held: new Set() });
        this.liveByMm.set(mm, id);
        this.capacityAvail -= this.pasidQuota;
        c.vfioMm = id;
        return ok();
      }
      case 'pasid_alloc':
        return this.pasidRequest(c, le32([20, 1, r.min, r.max, 0]));
      case 'pasid_free':
        return this.pasidRequest(c, le32([20, 2, r.pasid, 0, 0]));
      case 'pasid_request':
        return this.pasidRequest(c, Buffer.from(r.hex, 'hex'));
    }
    throw new Error(`reference: unknown op ${r.op}`);
  }

  /** VFIO_IOMMU_PASID_REQUEST, v1: SEMANTICS section 4, checks in order. */
  private pasidRequest(c: RContainer, b: Buffer): Out {
    if (c.iommu === null) return err(EINVAL, 'no_iommu');
    if (c.iommu === 'noiommu') return err(ENOTTY, 'not_type1');
    if (b.length < 8) return err(EFAULT, 'short_buffer');
    const argsz = b.readUInt32LE(0);
    const flags = b.readUInt32LE(4);
    if (argsz < 8) return err(EINVAL, 'bad_argsz');
    if ((flags & ~3) !== 0) return err(EINVAL, 'unknown_flags');
    if (flags === 3) return err(EINVAL, 'both_flags');
    if (b.length < 20) return err(EFAULT, 'short_buffer');
    if (flags === 0) return err(EINVAL, 'no_flag');
    const domain = c.groups.some((g) => { const x = this.groups.get(g)!; return x.backed && !x.noiommu; });
    if (!domain) return err(EFAULT, 'no_domain');
    const mm = c.vfioMm === null ? undefined : this.mms.get(c.vfioMm);
    if (flags === 1) {
      if (!mm) return err(EFAULT, 'no_vfio_mm');
      // v1 applies a changed pasid_quota lazily, at ALLOC: the vfio_mm records the new
      // value whatever happens; the set takes it only when the adjust succeeds.
      if (mm.quota !== this.pasidQuota) {
        const q = this.pasidQuota;
        if (!(q < mm.held.size) && !(q >= this.capacityAvail)) {
          this.capacityAvail += mm.setQuota - q;
          mm.setQuota = q;
        }
        mm.quota = q;
      }
      if (mm.held.size >= mm.setQuota) return err(EFAULT, 'quota_exhausted');
      const min = b.readUInt32LE(8);
      const max = b.readUInt32LE(12);
      let id = min;
      while (id <= max && this.owner.has(id)) id++;
      if (id > max) return err(EFAULT, 'range_exhausted');
      mm.held.add(id);
      this.owner.set(id, mm.id);
      // PASID 0 is handed out by the allocator, the caller fails, and it stays in the set (quirk).
      return id === 0 ? err(EFAULT, 'pasid_zero', 0) : ok(null, id);
    }
    if (!mm) return err(EINVAL, 'no_vfio_mm');
    const pasid = b.readUInt32LE(8);
    const owner = this.owner.get(pasid);
    if (owner === undefined) return err(ENOENT, 'not_allocated', pasid);
    if (owner !== mm.id) return err(EACCES, 'not_owner', pasid);
    mm.held.delete(pasid);
    this.owner.delete(pasid);
    return ok(null, pasid);
  }

  /** A container fd closes: its groups detach in attach order (the last one puts the vfio_mm). */
  private close(id: string): void {
    const c = this.containers.get(id)!;
    for (const g of [...c.groups]) this.detach(id, g);
    c.open = false;
  }

  private detach(id: string, group: string): void {
    const c = this.containers.get(id)!;
    c.groups = c.groups.filter((g) => g !== group);
    this.groups.get(group)!.container = null;
    if (c.groups.length > 0 || c.iommu === null) return;
    // The last group leaving deprivileges the container; its vfio_mm loses a reference.
    c.iommu = null;
    const mmId = c.vfioMm;
    c.vfioMm = null;
    if (mmId === null) return;
    const mm = this.mms.get(mmId)!;
    if (--mm.refs > 0) return;
    // The last reference frees every PASID still held, destroys the set, returns its quota.
    for (const p of mm.held) this.owner.delete(p);
    this.capacityAvail += mm.setQuota;
    this.mms.delete(mmId);
    this.liveByMm.delete(mm.mm);
  }

  /** The invariants of SEMANTICS section 8 that the model's own state can show. */
  invariants(capacity: number): string[] {
    const out: string[] = [];
    let quotas = 0;
    let held = 0;
    for (const m of this.mms.values()) {
      quotas += m.setQuota;
      held += m.held.size;
      if (m.held.size > m.setQuota) out.push(`reference vfio_mm ${m.id} over quota`);
      for (const p of m.held) if (this.owner.get(p) !== m.id) out.push(`reference PASID ${p} owner`);
    }
    if (held !== this.owner.size) out.push('reference: a PASID held twice or lost');
    if (this.capacityAvail + quotas !== capacity) out.push('reference: capacity does not balance');
    return out;
  }
}

function le32(words: number[]): Buffer {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  return b;
}

// ---------------------------------------------------------------- generators

/** Room for two vfio_mms at the default quota: a third finds no capacity. */
const CAPACITY = 10;
const QUOTA = 4;

const vmId = fc.oneof({ weight: 9, arbitrary: fc.constantFrom('vm1', 'vm2', 'vm3') }, { weight: 1, arbitrary: fc.constant('ghost') });
const mmTok = fc.constantFrom('0xa', '0xb', '0xc');
const cId = fc.oneof({ weight: 9, arbitrary: fc.constantFrom('c1', 'c2', 'c3', 'c4', 'c5') }, { weight: 1, arbitrary: fc.constantFrom('c6', 'nope') });
const gId = fc.constantFrom('g1', 'g2', 'g3', 'g4', 'g5', 'g6');
const u32 = fc.oneof(fc.nat(24), fc.constantFrom(0, 1, 2, 0xffffe, 0xfffff, 0x100000, 0x7fffffff, 0xffffffff), fc.nat({ max: 0xffffffff }));
const withCaller = <T extends object>(a: fc.Arbitrary<T>) =>
  fc.tuple(a, fc.oneof({ weight: 8, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: vmId })).map(([r, vm]) => (vm === undefined ? r : { ...r, vm }));

/** A PASID request struct as a caller might fill it: sane, or with bad argsz, flags, or a short buffer. */
const structHex = fc.tuple(
  fc.oneof(fc.constant(20), fc.constantFrom(0, 7, 8, 16, 24, 0xffffffff)),
  fc.oneof(fc.constantFrom(1, 2), fc.constantFrom(0, 3, 4, 5, 0x80000001), fc.nat({ max: 0xffffffff })),
  u32, u32, u32,
  fc.oneof({ weight: 3, arbitrary: fc.constant(20) }, { weight: 2, arbitrary: fc.nat(24) }),
).map(([argsz, flags, a, b, c, len]) => le32([argsz, flags, a, b, c, 0]).subarray(0, len).toString('hex'));

const request: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant('vm_start'), vm: vmId, mm: mmTok }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('vm_exit', 'vm_crash'), vm: vmId }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('container_open'), vm: vmId, container: cId }) },
  { weight: 3, arbitrary: withCaller(fc.record({ op: fc.constant('group_attach'), container: cId, group: gId, iommu_backed: fc.boolean(), noiommu: fc.boolean() }, { requiredKeys: ['op', 'container', 'group'] })) },
  { weight: 1, arbitrary: withCaller(fc.record({ op: fc.constant('group_detach'), container: cId, group: gId })) },
  { weight: 3, arbitrary: withCaller(fc.record({ op: fc.constant('set_iommu'), container: cId, type: fc.constantFrom<string | number>('VFIO_TYPE1_NESTING_IOMMU', 'VFIO_TYPE1v2_IOMMU', 'VFIO_TYPE1_IOMMU', 'VFIO_NOIOMMU_IOMMU', 'VFIO_SPAPR_TCE_IOMMU', 3, 6, 8, 2, 99, 'bogus') })) },
  { weight: 8, arbitrary: withCaller(fc.record({ op: fc.constant('pasid_alloc'), container: cId, min: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: u32 }), max: fc.oneof({ weight: 4, arbitrary: fc.constant(0xfffff) }, { weight: 1, arbitrary: u32 }) })) },
  { weight: 5, arbitrary: withCaller(fc.record({ op: fc.constant('pasid_free'), container: cId, pasid: fc.oneof({ weight: 4, arbitrary: fc.nat(12) }, { weight: 1, arbitrary: u32 }) })) },
  { weight: 3, arbitrary: withCaller(fc.record({ op: fc.constant('pasid_request'), container: cId, hex: structHex })) },
  { weight: 1, arbitrary: withCaller(fc.record({ op: fc.constant('container_close'), container: cId })) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('set_pasid_quota'), value: fc.constantFrom(-1, 0, 1, 2, 2.5, 3, 4, 6, 9, 12, 0x80000000), actor: fc.constantFrom('', 'admin') }, { requiredKeys: ['op', 'value'] }) },
  // Malformed: the ledger refuses them before deciding anything, and writes nothing.
  { weight: 1, arbitrary: fc.constantFrom<Record<string, unknown>>(
    { op: 'bogus' }, { op: 'pasid_alloc', container: 'c1' }, { op: 'pasid_request', container: 'c1', hex: 'abc' },
    { op: 'pasid_free', container: 'c1' }, { op: 'set_pasid_quota', value: 'x' }, { op: 'pasid_alloc', container: 'c1', min: -1, max: 5 },
    { op: 'vm_start', vm: 'vm1' }, { op: 'group_attach', container: 'c1', group: 'g1', color: 'red' },
  ) },
);

/**
 * A host ready for PASID requests, to reach deep states in short sequences: vm1 and vm2
 * with an account each (capacity left: 2, less than the quota), vm3 with an mdev-only
 * container (no IOMMU domain) and a container with no vfio_mm (no capacity left: quirk),
 * and a no-IOMMU container of vm2.
 */
const WARM: Record<string, unknown>[] = [
  { op: 'vm_start', vm: 'vm1', mm: '0xa' }, { op: 'vm_start', vm: 'vm2', mm: '0xb' }, { op: 'vm_start', vm: 'vm3', mm: '0xc' },
  { op: 'container_open', vm: 'vm1', container: 'c1' }, { op: 'container_open', vm: 'vm2', container: 'c2' },
  { op: 'container_open', vm: 'vm3', container: 'c3' }, { op: 'container_open', vm: 'vm3', container: 'c4' },
  { op: 'group_attach', container: 'c1', group: 'g1' }, { op: 'group_attach', container: 'c2', group: 'g2' },
  { op: 'group_attach', container: 'c3', group: 'g3', iommu_backed: false }, { op: 'group_attach', container: 'c4', group: 'g4' },
  { op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_NESTING_IOMMU' }, { op: 'set_iommu', container: 'c2', type: 'VFIO_TYPE1_NESTING_IOMMU' },
  { op: 'set_iommu', container: 'c3', type: 'VFIO_TYPE1v2_IOMMU' }, { op: 'set_iommu', container: 'c4', type: 'VFIO_TYPE1_NESTING_IOMMU' },
  { op: 'container_open', vm: 'vm2', container: 'c5' }, { op: 'group_attach', container: 'c5', group: 'g5', noiommu: true },
  { op: 'set_iommu', container: 'c5', type: 'VFIO_NOIOMMU_IOMMU' },
];

const scenario = fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), fc.array(request, { minLength: 1, maxLength: 60, size: 'max' }))
  .map(([warm, rest]) => (warm ? [...WARM, ...rest] : rest));

// ---------------------------------------------------------------- the comparison

const dir = tmpDir();
let template: string | null = null;
let serial = 0;

/** A fresh ledger file: a copy of a closed, migrated template with the configuration written. */
async function fresh(): Promise<Ledger> {
  if (!template) {
    template = join(dir, 'template.db');
    (await openLedger(template, { capacity: CAPACITY, pasid_quota: QUOTA })).close();
  }
  const path = join(dir, `fuzz-${serial++}.db`);
  copyFileSync(template, path);
  return openLedger(path, { synchronous: 'OFF' });
}

/** What the ledger's state says each live vfio_mm holds, keyed by its mm token, against the reference. */
function holdings(l: Ledger): string {
  const v = l.view();
  return JSON.stringify({ cap: v.capacity_avail, quota: v.pasid_quota, mms: v.vfio_mms.map((m) => [m.vfio_mm, m.mm, m.refs, m.quota, m.set_quota, m.pasids]) });
}
function refHoldings(r: RefHost): string {
  return JSON.stringify({ cap: r.capacityAvail, quota: r.pasidQuota, mms: [...r.mms.values()].map((m) => [m.id, m.mm, m.refs, m.quota, m.setQuota, [...m.held].sort((a, b) => a - b)]) });
}

const s = suite('fuzz_model');

s('ledger and reference model agree on every outcome; invariants hold after every step', async () => {
  const seen = new Set<string>();
  await fc.assert(
    fc.asyncProperty(scenario, async (reqs) => {
      const l = await fresh();
      try {
        const ref = new RefHost(QUOTA, CAPACITY);
        for (const [i, r] of reqs.entries()) {
          const head = l.head().seq;
          let got;
          try {
            got = l.requestUntrusted(r);
          } catch (e) {
            assert.instance(e, RequestError, `step ${i} ${JSON.stringify(r)} threw ${String(e)}`);
            assert.is(l.head().seq, head, `step ${i}: a refused request writes nothing`);
            continue;
          }
          const want = ref.run(r);
          seen.add(`${String(r.op)}:${want.reason ?? 'ok'}`);
          assert.equal({ ret: got.ret, pasid: got.pasid, reason: got.reason }, want, `step ${i} ${JSON.stringify(r)}`);
          assert.equal(holdings(l), refHoldings(ref), `step ${i}: holdings, quotas and capacity`);
          assert.equal(stateFailures(l.state), [], `step ${i}: the ledger's invariants`);
          assert.equal(ref.invariants(CAPACITY), [], `step ${i}: the reference's invariants`);
        }
        assert.equal(auditFailures(l.db), [], 'the audit of the whole run');
        assert.is(verifyFailure(l.db), null, 'the chain verifies');
      } finally {
        l.close();
      }
    }),
    { numRuns: 300, seed: 0x5eed, includeErrorInReport: true },
  );
  // The generator reaches deep states: every kind of PASID outcome came up at least once.
  const wanted = [
    'pasid_alloc:ok', 'pasid_free:ok', 'pasid_request:ok', 'pasid_alloc:quota_exhausted', 'pasid_alloc:range_exhausted', 'pasid_alloc:pasid_zero',
    'pasid_alloc:no_domain', 'pasid_alloc:no_vfio_mm', 'pasid_free:no_vfio_mm', 'pasid_free:not_allocated', 'pasid_free:not_owner',
    'pasid_alloc:no_iommu', 'pasid_alloc:not_type1', 'pasid_request:short_buffer', 'pasid_request:bad_argsz', 'pasid_request:unknown_flags',
    'pasid_request:both_flags', 'pasid_request:no_flag', 'set_iommu:capacity_exhausted', 'set_pasid_quota:ok', 'vm_exit:ok', 'vm_crash:ok',
    'container_close:ok', 'group_detach:ok',
  ];
  assert.equal(wanted.filter((w) => !seen.has(w)), [], 'outcomes the fuzzer never reached');
});

// ---------------------------------------------------------------- decoders

/** Bytes, sometimes a subarray of a larger buffer so a read past the end would see other data. */
const bytes = fc.tuple(fc.uint8Array({ maxLength: 48 }), fc.nat(4)).map(([b, pre]) => {
  const backing = new Uint8Array(pre + b.length + 8).fill(0xee);
  backing.set(b, pre);
  return backing.subarray(pre, pre + b.length);
});
const isErrno = (d: { ok: boolean; errno?: unknown; reason?: unknown }) =>
  d.ok || (typeof d.errno === 'number' && d.errno < 0 && Number.isInteger(d.errno) && typeof d.reason === 'string' && d.reason.length > 0);

s('random bytes into every uapi decoder: a value or an errno, never a throw', () => {
  fc.assert(fc.property(bytes, fc.integer({ min: -8, max: 64 }), (b, off) => {
    const v1 = uapi.decodePasidRequestV1(b);
    assert.ok(isErrno(v1));
    if (v1.ok) assert.ok(b.length >= 20);
    assert.is(uapi.readPasidRequestV1(b).length, b.length);
    const v7 = uapi.decodePasidRequestV7(b);
    assert.ok(isErrno(v7));
    if (v7.ok) assert.ok(b.length >= 16 && v7.min <= v7.max);
    assert.is(uapi.readPasidRequestV7(b).length, b.length);
    assert.ok(isErrno(uapi.decodeIommuInfo(b)));
    const cap = uapi.decodePciPasidCap(b, off);
    assert.ok(cap === null || cap.id === 0x1b);
    const word = b.length >= 4 ? Buffer.from(b.buffer, b.byteOffset, 4).readUInt32LE(0) : off;
    const h = uapi.decodePciExtCapHeader(word);
    assert.ok(h === null || (h.next % 4 === 0));
    const big = b.length >= 8 ? Buffer.from(b.buffer, b.byteOffset, 8).readBigUInt64LE(0) : BigInt(off);
    for (const v of [big, Number(big), word, off, off / 3]) {
      const c = uapi.decodeVcmd(v);
      assert.ok(c === null || (c.cmd <= 0xff && c.pasid <= 0xfffff));
      const r = uapi.decodeVcrsp(v);
      assert.ok(r === null || (r.status <= 3 && Number.isSafeInteger(r.result)));
    }
    assert.type(uapi.errnoName(off * 7 - word), 'string');
  }), { numRuns: 3000, seed: 0xdec0de, includeErrorInReport: true });
});

// ---------------------------------------------------------------- the request-file parser

const validLine = fc.oneof(request.map((r) => JSON.stringify(r)), fc.constantFrom('', '   ', '# a comment', '#{"op":"bogus"}'));
const junkLine = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.json({ maxDepth: 2 }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ op: 'pasid_alloc', container: 'c1', min: v, max: 5 })),
  request.map((r) => JSON.stringify(r).slice(0, -1)),
  request.map((r) => JSON.stringify({ ...r, extra: 1 })),
  fc.constantFrom('{"op":"pasid_request","container":"c1","hex":"0"}', '{"op":"vm_start","vm":"","mm":"x"}', 'null', '[]', '{"op":"__proto__"}', '{"op":"constructor"}'),
);
const fileText = fc.tuple(fc.array(fc.oneof({ weight: 6, arbitrary: validLine }, { weight: 1, arbitrary: junkLine }), { maxLength: 12 }), fc.constantFrom('\n', '\r\n'))
  .map(([lines, nl]) => lines.join(nl));

s('random lines into the request-file parser: requests or one clear error, and never a partial write', async () => {
  const l = await fresh();
  try {
    for (const r of WARM) l.requestUntrusted(r);
    await fc.assert(fc.asyncProperty(fileText, async (text) => {
      const head = l.head().seq;
      let reqs;
      try {
        reqs = parseRequestFile(text, 'f.jsonl');
      } catch (e) {
        assert.instance(e, CliError, `not a CliError: ${String(e)}`);
        assert.match((e as Error).message, /^f\.jsonl:\d+: .+; nothing was applied$/);
        assert.is(l.head().seq, head, 'a refused file writes nothing');
        return;
      }
      const lines = text.split(/\r?\n/).map((x) => x.trim()).filter((x) => x !== '' && !x.startsWith('#'));
      assert.is(reqs.length, lines.length, 'one request per line');
      const outs = l.batch(reqs);
      assert.is(outs.length, reqs.length);
      if (reqs.length > 0) assert.ok(l.head().seq >= head + reqs.length, 'every request of the file is recorded');
    }), { numRuns: 400, seed: 0xf11e, includeErrorInReport: true });

    // Objects straight into batch: all recorded, or a RequestError and nothing.
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(request, fc.object({ maxDepth: 1 })), { maxLength: 6 }), async (objs) => {
      const head = l.head().seq;
      try {
        l.batchUntrusted(objs);
      } catch (e) {
        assert.instance(e, RequestError);
        assert.match((e as Error).message, /^request \d+: /);
        assert.is(l.head().seq, head, 'a refused batch writes nothing');
      }
    }), { numRuns: 300, seed: 0xba7c, includeErrorInReport: true });
    assert.is(verifyFailure(l.db), null);
    assert.equal(auditFailures(l.db), []);

    // The CLI refuses a file whose third line is bad, names the line, and applies nothing.
    const head = l.head().seq;
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, ['{"op":"pasid_alloc","container":"c1","min":1,"max":1048575}', '# ok so far', '{"op":"pasid_alloc","container":"c1","min":1}'].join('\n'));
    const res = spawnSync(process.execPath, [CLI, 'run', file, '--db', l.label], { encoding: 'utf8', timeout: 30_000 });
    assert.is(res.status, 2, res.stderr);
    assert.match(res.stderr, /bad\.jsonl:3: pasid_alloc: missing "max"; nothing was applied/);
    assert.is(l.head().seq, head, 'the refused file wrote nothing');
  } finally {
    l.close();
  }
});

s.run();
