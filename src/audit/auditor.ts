import { ChainStep } from '../store/chain.js';
import { evolve } from '../model/evolve.js';
import { encodeState, SNAPSHOT_FORMAT, stateDigest } from '../snapshot/codec.js';
import { DecisionCheck } from './decided.js';
import { emptyState, type HostState } from '../model/state.js';
import type { Entry, HostConfig, RequestEntry, SnapshotEntry, TransitionEntry } from '../model/types.js';
import { CapacityBook } from './capacity_book.js';
import {
  CASCADE_OPS, checkAlloc, checkFree, checkParamActor, checkPasidField, checkQuotaRequestActor, checkRefs, checkRelease, checkWithinQuota,
} from './checks.js';
import { describeVfioMm, type AuditContext } from './context.js';
import { deniedReason } from './denial.js';
import { FindingLog } from './findings.js';
import { GuestAccount } from './guest_report.js';
import { transitionMismatch } from './machine_state.js';
import { QuirkLog } from './quirks.js';
import type { AuditReport } from './report.js';
import { requestQuirks } from './request_quirks.js';
import { HeldSeries } from './series.js';
import { VfioMmAccount } from './vfio_mm_report.js';
import { TokenAccount } from './token_report.js';
import { VmAccount } from './vm_report.js';

/** How the audit reads: a chart resolution and a bound on listed quirk hits. */
export interface AuditorOptions {
  /** At most this many points per vm in the held-over-time series. Default 1000. */
  maxPoints?: number;
  /** At most this many quirk hits listed one by one (all are counted). Default 1000. */
  maxQuirkHits?: number;
}

/** FREEs of one vfio_mm in the current request, waiting for its release (a teardown) or the request's end. */
interface PendingFree {
  count: number;
  seq: number;
  at: string;
  pasid: number;
}

/**
 * The audit as a fold over the log: feed it every entry in order (`entry`), then take
 * the `report`. It holds the host state (evolved with the model's `evolve`), the first
 * break of each invariant, and per-vm/per-vfio_mm counters; nothing grows with the
 * log's length except with the number of objects in it.
 *
 * @example
 * const a = new Auditor(config, total, (seq) => lookup(seq));
 * for (const row of rows) a.entry(row.seq, row.entry);
 * const report = a.report(head);
 */
export class Auditor {
  private readonly s: HostState;
  private readonly ctx: AuditContext;
  private readonly book: CapacityBook;
  private readonly series: HeldSeries;
  private readonly mms = new Map<number, VfioMmAccount>();
  private readonly mmOrder: VfioMmAccount[] = [];
  private readonly vms = new Map<string, VmAccount>();
  private readonly guest = new GuestAccount();
  private readonly tokens = new TokenAccount();
  private pending = new Map<number, PendingFree>();
  private request: RequestEntry | null = null;
  private counts = { entries: 0, requests: 0, transitions: 0 };
  private firstAt: string | null = null;
  private lastAt: string | null = null;
  private lastSeq = 0;
  /** The chain recomputed up to the last row (S4), and whether rows were given with their hashes. */
  private readonly chain = new ChainStep();
  private chainChecked = true;
  /** The `at` of the previous entry (S5). */
  private prevAt = '';
  private readonly decided = new DecisionCheck();

  /**
   * @param config the log's configuration (its entry 1).
   * @param total how many entries will be fed (sizes the series' buckets).
   * @param lookup reads an earlier entry by seq, for messages about a transition's cause.
   */
  constructor(readonly config: HostConfig, total: number, private readonly lookup: (seq: number) => Entry | undefined, opts: AuditorOptions = {}) {
    this.s = emptyState(config);
    this.ctx = {
      s: this.s,
      widthMax: 2 ** config.pasid_bits - 1,
      request: null,
      findings: new FindingLog(),
      quirks: new QuirkLog(opts.maxQuirkHits ?? 1000),
      unchecked: 0,
    };
    this.book = new CapacityBook(config.capacity);
    this.series = new HeldSeries(total, opts.maxPoints ?? 1000);
  }

  /**
   * Audits the entry stored at `seq` with text `text`. With `hashes` (the row's leaf and
   * chain) the leaf and the chain are recomputed (S4); without, the report says the
   * chain was not checked.
   */
  entry(seq: number, text: string, hashes?: { leaf: string; chain: string }): void {
    this.counts.entries += 1;
    if (hashes) {
      // The step goes on from the stored chain: one bad row is one finding, not one per row after it.
      const bad = this.chain.checkText(text, hashes.leaf, hashes.chain);
      if (bad?.what === 'leaf') this.ctx.findings.report('S4', { seq, at: null, detail: `the entry text does not hash to the row's leaf: the text was edited (or the leaf replaced) after it was written` });
      else if (bad) this.ctx.findings.report('S4', { seq, at: null, detail: `the row's chain does not follow from the entries before it (an entry before it was changed, removed or reordered, or this chain was replaced)` });
    } else this.chainChecked = false;
    if (seq !== this.lastSeq + 1) {
      this.structural(seq, null, seq > this.lastSeq + 1 ? `entries ${this.lastSeq + 1}..${seq - 1} are missing` : `seq ${seq} comes after seq ${this.lastSeq}`);
    }
    this.lastSeq = seq;
    let e: Entry;
    try {
      e = JSON.parse(text) as Entry;
    } catch (err) {
      this.structural(seq, null, `the entry text is not JSON: ${(err as Error).message}`);
      return;
    }
    const at = typeof e?.at === 'string' ? e.at : null;
    if (at !== null) {
      if (at < this.prevAt) this.ctx.findings.report('S5', { seq, at, detail: `the entry is at ${at}, before the entry before it (${this.prevAt}): the writer's clock went back` });
      this.prevAt = at;
      this.firstAt ??= at;
      this.lastAt = at;
      this.series.mark(seq, at);
    }
    if (typeof e !== 'object' || e === null || e.seq !== seq) {
      this.structural(seq, at, `the entry says seq ${JSON.stringify((e as { seq?: unknown })?.seq)}, but is stored at seq ${seq}`);
      return;
    }
    if (seq === 1 || e.type === 'config') {
      if (seq !== 1 || e.type !== 'config') this.structural(seq, at, seq === 1 ? `entry 1 is a ${String(e.type)}, not the configuration` : 'a configuration entry after entry 1');
      this.evolveIn(e);
      return;
    }
    if (e.type === 'request') return this.onRequest(e);
    if (e.type === 'transition') return this.onTransition(e);
    if (e.type === 'snapshot') return this.onSnapshot(e);
    if (e.type === 'token') {
      // A server token's grant or revocation: no host state; it ends the request before it.
      this.endRequest();
      this.request = null;
      this.ctx.request = null;
      const problems = this.tokens.problems.length;
      this.tokens.token(e);
      for (const p of this.tokens.problems.slice(problems)) this.structural(p.seq, e.at, p.problem);
      this.evolveIn(e);
      return;
    }
    this.structural(seq, at, `unknown entry type ${JSON.stringify((e as { type?: unknown }).type)}`);
  }

  private onRequest(r: RequestEntry): void {
    this.endRequest();
    this.counts.requests += 1;
    this.request = r;
    this.tokens.request(r);
    const ctx = this.ctx;
    for (const d of this.decided.request(this.s, r)) this.flag('S6', r, d);
    requestQuirks(ctx, r);
    this.guest.request(r);
    checkQuotaRequestActor(ctx, r);
    const denied = deniedReason(r);
    if (typeof r.vm === 'string') this.vmAccount(r.vm).request(denied);
    if (r.op === 'vm_start' && r.ret >= 0 && typeof r.req?.vm === 'string' && typeof r.req.mm === 'string') {
      this.vmAccount(r.req.vm).started(r.req.mm);
    }
    if (denied !== null && typeof r.req?.container === 'string') {
      const mm = this.s.containers.get(r.req.container)?.vfio_mm;
      if (mm !== null && mm !== undefined) this.mms.get(mm)?.denied(denied);
    }
    this.evolveIn(r);
  }

  private onTransition(t: TransitionEntry): void {
    this.counts.transitions += 1;
    const ctx = this.ctx;
    ctx.request = this.causeOf(t);
    const mismatch = transitionMismatch(this.s, t);
    if (mismatch) this.flag('S2', t, mismatch);
    const undecided = this.decided.transition(t);
    if (undecided) this.flag('S6', t, undecided);
    let freedFrom: number | undefined;
    if (t.machine === 'pasid') {
      if (!checkPasidField(ctx, t)) return;
      if (t.event === 'ALLOC') checkAlloc(ctx, t);
      else if (t.event === 'FREE') {
        checkFree(ctx, t);
        freedFrom = this.s.owner.get(t.pasid) ?? t.vfio_mm;
        this.noteFree(freedFrom, t);
      }
    } else if (t.machine === 'vfio_mm') {
      if (t.event === 'RELEASE') checkRelease(ctx, t);
      if (t.event === 'GET' || t.event === 'PUT') checkRefs(ctx, t);
      this.book.apply(t);
      const bad = this.book.check();
      if (bad) this.flag('3', t, `${t.event} of vfio_mm ${describeVfioMm(this.s, t.vfio_mm)}: ${bad}`);
    } else if (t.machine === 'module_param') {
      checkParamActor(ctx, t);
    } else if (t.machine === 'device') {
      this.guest.transition(t);
    }
    const released = t.machine === 'vfio_mm' && t.event === 'RELEASE' ? this.s.vfioMms.get(t.vfio_mm) : undefined;
    if (!this.evolveIn(t)) return;
    this.account(t, freedFrom, released !== undefined);
  }

  /** Counters and invariant 2 after a transition was applied. */
  private account(t: TransitionEntry, freedFrom: number | undefined, wasLive: boolean): void {
    if (t.machine !== 'pasid' && t.machine !== 'vfio_mm') return;
    const id = t.vfio_mm;
    if (t.machine === 'pasid') {
      if (t.event === 'ALLOC') {
        checkWithinQuota(this.ctx, t);
        this.mms.get(id)?.alloc();
        this.touch(id, t);
      } else if (t.event === 'FREE' && freedFrom !== undefined) {
        this.mms.get(freedFrom)?.free();
        this.touch(freedFrom, t);
      }
      return;
    }
    if (t.machine !== 'vfio_mm') return;
    switch (t.event) {
      case 'CREATE': {
        const m = this.s.vfioMms.get(id);
        if (!m) return;
        const vm = this.request?.vm ?? [...this.s.vms.values()].find((v) => v.mm === m.mm && v.state === 'running')?.vm ?? null;
        const acct = new VfioMmAccount({ vfio_mm: id, mm: m.mm, gen: m.gen, vm, seq: t.seq, at: t.at, quota: m.quota, set_quota: m.set_quota });
        this.mms.set(id, acct);
        this.mmOrder.push(acct);
        if (vm !== null) this.vmAccount(vm).created(id);
        this.touch(id, t);
        return;
      }
      case 'QUOTA_ADJUST': {
        checkWithinQuota(this.ctx, t);
        const m = this.s.vfioMms.get(id);
        if (typeof t.ret === 'number' && t.ret !== 0) {
          this.ctx.quirks.hit({
            kind: 'quota_adjust_failed', seq: t.seq, request: t.cause, at: t.at, vm: this.request?.vm, mm: t.mm, vfio_mm: id,
            detail: `lazy adjust of vfio_mm ${describeVfioMm(this.s, id)} to pasid_quota ${String(t.quota)} failed with ${t.ret}: its set keeps the limit ${String(t.set_quota)}${m ? ` while holding ${m.pasids.size}` : ''}`,
          });
        }
        if (m) this.mms.get(id)?.quotaChange({ seq: t.seq, at: t.at, quota: m.quota, set_quota: m.set_quota });
        this.touch(id, t);
        return;
      }
      case 'RELEASE': {
        if (!wasLive) return;
        const p = this.pending.get(id);
        this.pending.delete(id);
        const acct = this.mms.get(id);
        acct?.released(t.seq, t.at, p?.count ?? 0);
        if (acct?.vm != null) {
          this.vmAccount(acct.vm).released(id, p?.count ?? 0);
          this.touchVm(acct.vm, t);
        }
        return;
      }
    }
  }

  /**
   * A snapshot the ledger took: it ends the request before it, and its digest must be
   * that of the state the log built up to `of_seq` (S7): a cached blob it vouches for
   * is then exactly the log's state.
   */
  private onSnapshot(e: SnapshotEntry): void {
    this.endRequest();
    this.request = null;
    if (e.of_seq !== e.seq - 1) this.flag('S7', e, `the snapshot entry is of seq ${JSON.stringify(e.of_seq)}, not of the entry before it (${e.seq - 1})`);
    else if (e.format !== SNAPSHOT_FORMAT) this.flag('S7', e, `the snapshot entry's format ${JSON.stringify(e.format)} is not one this audit can check (${SNAPSHOT_FORMAT})`);
    else {
      const digest = stateDigest(encodeState(this.s));
      if (e.digest !== digest) this.flag('S7', e, `the snapshot entry records digest ${String(e.digest).slice(0, 12)}…, the state the log builds up to seq ${e.of_seq} hashes to ${digest.slice(0, 12)}…: a cached snapshot it vouches for is not the log's state`);
    }
    this.evolveIn(e);
  }

  /** After a change of vfio_mm `id`: its held count and its vm's. */
  private touch(id: number, t: TransitionEntry): void {
    const acct = this.mms.get(id);
    const m = this.s.vfioMms.get(id);
    if (!acct || !m) return;
    acct.held(t.seq, t.at, m.pasids.size, m.set_quota);
    if (acct.vm !== null) this.touchVm(acct.vm, t);
  }

  private touchVm(vm: string, t: TransitionEntry): void {
    const a = this.vmAccount(vm);
    let held = 0;
    let quota = 0;
    for (const id of a.live) {
      const m = this.s.vfioMms.get(id);
      if (m) {
        held += m.pasids.size;
        quota += m.set_quota;
      }
    }
    a.held(t.seq, t.at, held);
    this.series.update(vm, t.seq, held, quota);
  }

  /** A FREE waits for its vfio_mm's release within the same request: then it was reclaimed. */
  private noteFree(vfioMm: number, t: TransitionEntry & { pasid: number }): void {
    const p = this.pending.get(vfioMm);
    if (p) p.count += 1;
    else this.pending.set(vfioMm, { count: 1, seq: t.seq, at: t.at, pasid: t.pasid });
  }

  /**
   * The end of a request: under v1 a FREE in a teardown (vm exit, container close, group
   * detach) is only the release cascade of its vfio_mm (invariant 5).
   */
  private endRequest(): void {
    const r = this.request;
    if (r) for (const d of this.decided.end()) this.flag('S6', r, d);
    if (r && this.config.profile === 'v1' && CASCADE_OPS.has(r.op)) {
      for (const [id, p] of this.pending) {
        this.ctx.findings.report('5', {
          seq: p.seq, at: p.at,
          detail: `request ${r.seq} (${r.op}) freed PASID ${p.pasid} of vfio_mm #${id} without releasing that vfio_mm: a teardown frees PASIDs only in a release cascade`,
        });
      }
    }
    this.pending = new Map();
  }

  /** The request a transition names as its cause: the one it follows (S1). */
  private causeOf(t: TransitionEntry): RequestEntry | null {
    const cur = this.request;
    if (cur && t.cause === cur.seq) return cur;
    const c = t.cause;
    if (typeof c !== 'number' || !Number.isInteger(c)) {
      this.flag('S1', t, `the transition's cause ${JSON.stringify(c)} is not a seq`);
      return null;
    }
    if (c >= t.seq) {
      this.flag('S1', t, `the transition's cause ${c} is not an earlier entry`);
      return null;
    }
    const e = this.lookup(c);
    if (!e || e.type !== 'request') {
      this.flag('S1', t, `the transition's cause ${c} is ${e ? `a ${e.type} entry` : 'not in the log'}, not a request`);
      return null;
    }
    this.flag('S1', t, `the transition's cause is request ${c} (${e.op}), but it follows request ${cur?.seq ?? '(none)'}${cur ? ` (${cur.op})` : ''}`);
    return e;
  }

  /** Evolves an entry in; an entry the model cannot apply is reported (S3) and skipped. */
  private evolveIn(e: Entry): boolean {
    try {
      evolve(this.s, e);
      return true;
    } catch (err) {
      this.structural(e.seq, e.at, `the model cannot apply it: ${(err as Error).message}`);
      return false;
    }
  }

  private flag(id: string, e: { seq: number; at: string }, detail: string): void {
    this.ctx.findings.report(id, { seq: e.seq, at: typeof e.at === 'string' ? e.at : null, detail });
  }

  private structural(seq: number, at: string | null, detail: string): void {
    this.ctx.findings.report('S3', { seq, at, detail });
  }

  private vmAccount(vm: string): VmAccount {
    let a = this.vms.get(vm);
    if (!a) {
      a = new VmAccount(vm);
      this.vms.set(vm, a);
    }
    return a;
  }

  /** The report over everything fed so far; `head` is the audited log's last seq and chain. */
  report(head: { seq: number; chain: string }): AuditReport {
    this.endRequest();
    const invariants = this.ctx.findings.results();
    const cfg: HostConfig = {
      profile: this.config.profile, pasid_bits: this.config.pasid_bits, capacity: this.config.capacity,
      pasid_quota: this.config.pasid_quota, pasid_cap_exposure: this.config.pasid_cap_exposure,
    };
    return {
      format: 'pasid-ledger-audit',
      version: 1,
      config: cfg,
      head,
      chain_checked: this.chainChecked && this.counts.entries > 0,
      entries: this.counts.entries,
      requests: this.counts.requests,
      transitions: this.counts.transitions,
      first_at: this.firstAt,
      last_at: this.lastAt,
      ok: this.ctx.findings.ok,
      invariants,
      quirks: this.ctx.quirks.summary(),
      vfio_mms: this.mmOrder.map((a) => a.report(this.lastAt)),
      vms: [...this.vms.values()].map((a) => a.report(this.series.points(a.vm))),
      guest: this.guest.report(),
      unchecked_allocs: this.ctx.unchecked,
      tokens: this.tokens.report(),
    };
  }
}

export { configOf } from '../model/config_entry.js';
