import type { HostState } from '../model/state.js';
import type { Entry, RequestEntry, TransitionEntry } from '../model/types.js';
import { errnoName } from '../uapi/errno.js';
import { requestFacts } from './explain/build.js';
import { configSummary, requestSummary, snapshotSummary, tokenSummary, transitionSummary, whyText } from './explain/render.js';
import type { RequestFacts } from './explain/types.js';
import { guestView, type GuestLookups, type GuestView } from './guest_view.js';
import { resolvePoint } from './point.js';
import { openSource, type OpenedLog, type ReplaySource } from './source.js';

/** Why a request came out as it did: what was asked, what the caller saw, and the facts that decided it. */
export interface RequestExplanation {
  seq: number;
  at: string;
  op: string;
  /** The calling vm (resolved); absent for an admin's request. */
  vm: string | null;
  /** The server token it came through (`pasid-ledger serve`), or null for a direct writer. */
  by: string | null;
  /** What was asked, as recorded (without the request id). */
  req: Record<string, unknown>;
  ret: number;
  /** The errno's name when `ret` is negative. */
  errno: string | null;
  pasid: number | null;
  /** The reason recorded beside `ret` (the real cause an errno hides). */
  reason: string | null;
  /** The register or config-space value recorded (vcmd_read, config_read, the VCRSP a vcmd_write left), else null. */
  value: number | null;
  /**
   * The guest's side, for a vcmd_write / vcmd_read (the command decoded, QEMU's walk over
   * the vm's containers, the VCRSP decoded), a config_read / config_write (where it lands,
   * what the guest saw, a dropped write) and GET_INFO (the capability chain decoded); else null.
   */
  guest: GuestView | null;
  /** The facts that decided it, from the host just before the entry (by op family: src/replay/explain/types.ts). */
  facts: RequestFacts;
  /** The transitions it caused, in order. */
  transitions: Array<{ seq: number; machine: string; event: string; from: string; to: string }>;
  /** One line: what was asked and what came of it. */
  summary: string;
  /** One line: the deciding facts in words. */
  why: string;
}

/** What `explain` says about any entry. */
export type Explanation =
  | { seq: number; type: 'config' | 'snapshot'; entry: Entry; summary: string }
  | ({ type: 'request'; entry: Entry } & RequestExplanation)
  | { seq: number; type: 'transition'; entry: Entry; summary: string; cause: RequestExplanation | null }
  | { seq: number; type: 'token'; entry: Entry; summary: string };

/** Where `explain` and `diff` take the host at a seq from (default: the log's snapshot cache and a replay). */
export interface StateAtOptions {
  /**
   * The host just after entry `seq`, owned by the caller (for an explorer that keeps
   * its own in-memory states). It must be the state the log replays to.
   */
  stateAt?: (seq: number) => HostState;
}

/**
 * Explains one entry. A request: what was asked, by which vm, what the caller saw and
 * why, with the facts computed from the host just before it (for a PASID request its
 * container, vfio_mm, quota and holdings, the range and its lowest free id, or the
 * owner of the PASID being freed). A transition: the request that caused it, explained.
 * The facts come from the per-op builders (src/replay/explain/build.ts), the words from
 * the renderer (src/replay/explain/render.ts).
 *
 * @throws ReplayError for a seq the log does not have.
 * @example
 * explain(ledger, 57).why; // 'vfio_mm #2 (mm 0x2000) held 8 PASIDs; its set allows 8 (quota 8)'
 */
export function explain(src: ReplaySource, seq: number, opts: StateAtOptions = {}): Explanation {
  const opened = openSource(src);
  resolvePoint(opened.log, { seq });
  const entry = JSON.parse(opened.log.row(seq)!.entry) as Entry;
  switch (entry.type) {
    case 'config':
      return { seq, type: 'config', entry, summary: configSummary(entry) };
    case 'request':
      return { type: 'request', entry, ...explainRequest(opened, entry, opts) };
    case 'snapshot':
      return { seq, type: 'snapshot', entry, summary: snapshotSummary(entry) };
    case 'token':
      return { seq, type: 'token', entry, summary: tokenSummary(entry) };
    case 'transition': {
      const causeRow = opened.log.row(entry.cause);
      const causeEntry = causeRow ? (JSON.parse(causeRow.entry) as Entry) : null;
      const cause = causeEntry?.type === 'request' ? explainRequest(opened, causeEntry, opts) : null;
      return { seq, type: 'transition', entry, summary: transitionSummary(entry, cause ? cause.summary : null), cause };
    }
  }
}

function explainRequest(opened: OpenedLog, e: RequestEntry, opts: StateAtOptions): RequestExplanation {
  const { cache, log } = opened;
  const before = opts.stateAt ? opts.stateAt(e.seq - 1) : cache.advance(cache.restore(e.seq - 1), e.seq - 1);
  const x = requestFacts(before, e);
  const transitions: RequestExplanation['transitions'] = [];
  const caused: TransitionEntry[] = [];
  for (const row of log.range(e.seq, Number.MAX_SAFE_INTEGER)) {
    const t = JSON.parse(row.entry) as Entry;
    if (t.type !== 'transition' || t.cause !== e.seq) break;
    caused.push(t);
    transitions.push({ seq: t.seq, machine: t.machine, event: t.event, from: t.from, to: t.to });
    // v1's lazy quota adjust happens inside the ALLOC and decides its quota check: its outcome is a fact.
    if (t.machine === 'vfio_mm' && t.event === 'QUOTA_ADJUST') {
      x.facts.quota_adjust = { quota: t.quota, set_quota: t.set_quota, old_set_quota: t.old_set_quota, ret: t.ret, errno: t.ret < 0 ? errnoName(t.ret) : null };
    }
  }
  if (x.kind === 'pasid' && before.config.profile === 'v7' && x.facts.ask?.op === 'free' && x.facts.range !== undefined && e.ret === 0) {
    // v7's range FREE: which of the vfio_mm's PASIDs it freed, one transition each.
    x.facts.freed = caused.flatMap((t) => (t.machine === 'pasid' && t.event === 'FREE' ? [t.pasid] : []));
  }
  const guest = guestView(before, e, caused, lookups(opened));
  const errno = e.ret < 0 ? errnoName(e.ret) : null;
  return {
    seq: e.seq, at: e.at, op: e.op, vm: e.vm ?? null, by: e.by ?? null, req: e.req, ret: e.ret, errno, pasid: e.pasid ?? null,
    reason: e.reason ?? null, value: e.value ?? null, guest, facts: x.facts, transitions,
    summary: requestSummary(e, errno), why: whyText(e, x, before.config, guest),
  };
}

/** The last virtual command of a vm, read through the vm index column. */
function lookups(opened: OpenedLog): GuestLookups {
  return {
    lastVcmdDone(vm: string, seq: number) {
      const rows = opened.db.prepare("SELECT entry FROM entries WHERE vm = ? AND seq < ? AND machine IN ('viommu', 'vm') ORDER BY seq DESC LIMIT ?").all(vm, seq, LAST_VCMD_WINDOW) as Array<{ entry: string }>;
      for (const r of rows) {
        const t = JSON.parse(r.entry) as TransitionEntry;
        if (t.machine === 'vm') return null; // a start (or an end) resets the vIOMMU: nothing since
        if (t.machine === 'viommu' && t.event === 'VCMD_DONE') return t;
      }
      return null;
    },
  };
}

/** How many of a vm's latest viommu/vm transitions are searched for its last VCMD_DONE. */
const LAST_VCMD_WINDOW = 8;

export { requestFacts } from './explain/build.js';
export type { ExplainFacts, RequestFacts } from './explain/types.js';
