import type { Outcome, Request } from '../src/model/types.js';
import { prng } from './stats.js';

/**
 * The full PASID range a guest asks for (PASID 0 is the RID_PASID, so `min` is 1).
 *
 * @example
 * ledger.request({ op: 'pasid_alloc', container: 'c1', ...ALL });
 */
export const ALL = { min: 1, max: 0xfffff } as const;

/** How a workload draws its requests. */
export interface WorkloadOptions {
  /** VMs, each with one container (one group, nesting IOMMU). */
  vms: number;
  /** The log's pasid_quota: a vm never asks beyond it. */
  quota: number;
  seed: number;
  /** Probability that a vm holding PASIDs allocates rather than frees. */
  allocBias?: number;
  /** Probability, per batch, that one vm exits and starts again (a teardown cascade). */
  churn?: number;
}

interface VmSlot {
  gen: number;
  container: string;
  held: number[];
  pending: number;
}

/**
 * A deterministic stream of PASID requests over a fixed set of vms: ALLOCs and FREEs
 * of PASIDs the vm holds, within its quota, and (with `churn`) vm restarts. The
 * outcomes are fed back so FREEs name real PASIDs; within one batch a FREE only names
 * a PASID held before the batch.
 *
 * @example
 * const w = new PasidWorkload({ vms: 8, quota: 1000, seed: 1 });
 * ledger.batch(w.setup());
 * const reqs = w.batch(1000); w.feed(reqs, ledger.batch(reqs));
 */
export class PasidWorkload {
  private readonly slots: VmSlot[] = [];
  private readonly byContainer = new Map<string, number>();
  private readonly rnd: () => number;
  private readonly allocBias: number;
  private readonly churn: number;

  constructor(readonly opts: WorkloadOptions) {
    this.rnd = prng(opts.seed);
    this.allocBias = opts.allocBias ?? 0.6;
    this.churn = opts.churn ?? 0;
    for (let i = 0; i < opts.vms; i++) {
      this.slots.push({ gen: 0, container: '', held: [], pending: 0 });
    }
  }

  /** The requests that start every vm and give it a container with its IOMMU set. */
  setup(): Request[] {
    const out: Request[] = [];
    for (let i = 0; i < this.slots.length; i++) out.push(...this.start(i));
    return out;
  }

  /** One ALLOC or FREE. */
  next(): Request {
    const i = Math.floor(this.rnd() * this.slots.length);
    const s = this.slots[i]!;
    const canAlloc = s.held.length + s.pending < this.opts.quota;
    if (s.held.length > 0 && (!canAlloc || this.rnd() >= this.allocBias)) {
      const j = Math.floor(this.rnd() * s.held.length);
      const pasid = s.held[j]!;
      s.held[j] = s.held[s.held.length - 1]!;
      s.held.pop();
      return { op: 'pasid_free', container: s.container, pasid };
    }
    s.pending++;
    return { op: 'pasid_alloc', container: s.container, ...ALL };
  }

  /** `n` requests for one batch: with probability `churn` the batch starts with a vm restart. */
  batch(n: number): Request[] {
    const out: Request[] = [];
    if (this.churn > 0 && this.rnd() < this.churn) {
      const i = Math.floor(this.rnd() * this.slots.length);
      out.push({ op: 'vm_exit', vm: `vm${i}` }, ...this.start(i));
    }
    while (out.length < n) out.push(this.next());
    return out;
  }

  /** The container vm `i` uses now. */
  containerOf(i: number): string {
    return this.slots[i]!.container;
  }

  /** Records what the requests returned: the PASIDs each vm now holds. */
  feed(reqs: readonly Request[], outs: readonly Outcome[]): void {
    for (let k = 0; k < reqs.length; k++) {
      const r = reqs[k]!;
      if (r.op !== 'pasid_alloc') continue;
      const i = this.byContainer.get(r.container);
      if (i === undefined) continue;
      const s = this.slots[i]!;
      if (s.container !== r.container) continue;
      s.pending--;
      const o = outs[k]!;
      if (o.ret === 0 && o.pasid !== null) s.held.push(o.pasid);
    }
  }

  private start(i: number): Request[] {
    const s = this.slots[i]!;
    s.gen++;
    s.container = `c${i}.${s.gen}`;
    s.held = [];
    s.pending = 0;
    this.byContainer.set(s.container, i);
    const vm = `vm${i}`;
    return [
      { op: 'vm_start', vm, mm: `0x${(i + 1).toString(16)}${s.gen.toString(16).padStart(4, '0')}000` },
      { op: 'container_open', vm, container: s.container },
      { op: 'group_attach', container: s.container, group: `g${i}` },
      { op: 'set_iommu', container: s.container, type: 'VFIO_TYPE1_NESTING_IOMMU' },
    ];
  }
}
