import type { HostState } from '../model/state.js';
import type { Entry, RequestEntry, TransitionEntry } from '../model/types.js';
import { hex } from '../uapi/bytes.js';
import { errnoName } from '../uapi/errno.js';
import { showName as n } from '../text/escape.js';
import {
  configAccessFacts, containerFacts, deviceFacts, groupFacts, lowestFree, ownerFacts, pasidAsk, vfioMmFacts, viommuFacts, vmFacts,
} from './facts.js';
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
  /** The facts that decided it, from the host just before the entry. */
  facts: Record<string, unknown>;
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
 *
 * @throws ReplayError for a seq the log does not have.
 * @example
 * explain(ledger, 57).why; // 'vfio_mm #2 (mm 0x2000) held 8 PASIDs; its set allows 8 (quota 8)'
 */
export function explain(src: ReplaySource, seq: number, opts: StateAtOptions = {}): Explanation {
  const opened = openSource(src);
  resolvePoint(opened.log, { seq });
  const entry = JSON.parse(opened.log.row(seq)!.entry) as Entry;
  if (entry.type === 'config') {
    const { profile, pasid_bits, capacity, pasid_quota, pasid_cap_exposure } = entry;
    return {
      seq, type: 'config', entry,
      summary: `seq ${seq}: the host's configuration: profile ${profile}, pasid_bits ${pasid_bits}, capacity ${capacity}, pasid_quota ${pasid_quota}, PASID capability ${pasid_cap_exposure}`,
    };
  }
  if (entry.type === 'request') return { type: 'request', entry, ...explainRequest(opened, entry, opts) };
  if (entry.type === 'snapshot') {
    return {
      seq, type: 'snapshot', entry,
      summary: `seq ${seq}: the ledger took a snapshot of the host after seq ${entry.of_seq} (${entry.format}, SHA-256 ${entry.digest}); it changes nothing in the host`,
    };
  }
  if (entry.type === 'token') {
    const summary = entry.action === 'add'
      ? `seq ${seq}: server token ${n(entry.token)} granted, role ${entry.role}${entry.vm !== undefined ? ` for vm ${n(entry.vm)}` : ''} (the log keeps the secret's SHA-256, never the secret)`
      : `seq ${seq}: server token ${n(entry.token)} revoked; requests presenting it are refused from here on`;
    return { seq, type: 'token', entry, summary };
  }
  const t = entry as TransitionEntry;
  const causeRow = opened.log.row(t.cause);
  const causeEntry = causeRow ? (JSON.parse(causeRow.entry) as Entry) : null;
  const cause = causeEntry?.type === 'request' ? explainRequest(opened, causeEntry, opts) : null;
  const { seq: _s, at: _a, type: _t, cause: _c, machine, event, from, to, ...fields } = t;
  const summary = `seq ${seq}: ${machine} ${event} ${from} → ${to} (${fmtFields(fields)}), caused by ${cause ? cause.summary : `seq ${t.cause}, which is not a request`}`;
  return { seq, type: 'transition', entry, summary, cause };
}

function explainRequest(opened: OpenedLog, e: RequestEntry, opts: StateAtOptions): RequestExplanation {
  const { cache, log } = opened;
  const before = opts.stateAt ? opts.stateAt(e.seq - 1) : cache.advance(cache.restore(e.seq - 1), e.seq - 1);
  const facts = requestFacts(before, e);
  const transitions: RequestExplanation['transitions'] = [];
  const caused: TransitionEntry[] = [];
  for (const row of log.range(e.seq, Number.MAX_SAFE_INTEGER)) {
    const t = JSON.parse(row.entry) as Entry;
    if (t.type !== 'transition' || t.cause !== e.seq) break;
    caused.push(t);
    transitions.push({ seq: t.seq, machine: t.machine, event: t.event, from: t.from, to: t.to });
    // v1's lazy quota adjust happens inside the ALLOC and decides its quota check: its outcome is a fact.
    if (t.machine === 'vfio_mm' && t.event === 'QUOTA_ADJUST') {
      const ret = t.ret as number;
      facts.quota_adjust = { quota: t.quota, set_quota: t.set_quota, old_set_quota: t.old_set_quota, ret, errno: ret < 0 ? errnoName(ret) : null };
    }
  }
  if (isV7Free(before, e, facts)) {
    // v7's range FREE: which of the vfio_mm's PASIDs it freed, one transition each.
    facts.freed = caused.filter((t) => t.machine === 'pasid' && t.event === 'FREE').map((t) => t.pasid as number);
  }
  const guest = guestView(before, e, caused, lookups(opened));
  const errno = e.ret < 0 ? errnoName(e.ret) : null;
  const { op: _op, ...args } = e.req;
  const outcome = `ret ${e.ret}${errno ? ` (${errno})` : ''}${e.pasid !== undefined ? `, pasid ${e.pasid}` : ''}${e.reason ? `, reason ${e.reason}` : ''}${e.value !== undefined ? `, value 0x${e.value.toString(16)}` : ''}`;
  const summary = `seq ${e.seq}: ${e.op}${e.vm ? ` by ${n(e.vm)}` : ''}${e.by !== undefined ? ` via token ${n(e.by)}` : ''} (${fmtFields(args)}) → ${outcome}`;
  const because = [why(e, facts, before), ...(guest ? [guestWhy(guest)] : [])].filter((x) => x !== '').join('; ');
  return {
    seq: e.seq, at: e.at, op: e.op, vm: e.vm ?? null, by: e.by ?? null, req: e.req, ret: e.ret, errno, pasid: e.pasid ?? null,
    reason: e.reason ?? null, value: e.value ?? null, guest, facts, transitions, summary, why: because,
  };
}

const isV7Free = (s: HostState, e: RequestEntry, f: Record<string, unknown>): boolean =>
  s.config.profile === 'v7' && (f.ask as { op?: string } | undefined)?.op === 'free' && f.range !== undefined && e.ret === 0;

/** A guest view in one line: for a config access, what came of it (where it landed is in the device facts). */
function guestWhy(g: GuestView): string {
  const said = (g.kind === 'config_write' || g.kind === 'config_read') && g.said.length > 1 ? g.said.slice(1) : g.said;
  return said.join('; ');
}

/** The last virtual command of a vm, read through the vm index column. */
function lookups(opened: OpenedLog): GuestLookups {
  return {
    lastVcmdDone(vm: string, seq: number) {
      const rows = opened.db.prepare("SELECT entry FROM entries WHERE vm = ? AND seq < ? AND machine IN ('viommu', 'vm') ORDER BY seq DESC LIMIT 8").all(vm, seq) as Array<{ entry: string }>;
      for (const r of rows) {
        const t = JSON.parse(r.entry) as TransitionEntry;
        if (t.machine === 'vm') return null; // a start (or an end) resets the vIOMMU: nothing since
        if (t.machine === 'viommu' && t.event === 'VCMD_DONE') return t;
      }
      return null;
    },
  };
}

/**
 * The deciding facts of a request, from the host just before it.
 *
 * @example
 * requestFacts(replayTo(db, { seq: 40 }), entry41).vfio_mm; // { vfio_mm: 1, held: 4, quota: 4, set_quota: 4, ... }
 */
export function requestFacts(s: HostState, e: RequestEntry): Record<string, unknown> {
  const req = e.req;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const f: Record<string, unknown> = {};
  const caller = str(req.vm);
  if (caller !== undefined) f.caller = vmFacts(s, caller);
  switch (e.op) {
    case 'vm_start':
    case 'vm_exit':
    case 'vm_crash': {
      f.vm = vmFacts(s, str(req.vm));
      delete f.caller;
      if (e.op !== 'vm_start' && f.vm) {
        const cs = (f.vm as { containers: string[] }).containers.map((c) => containerFacts(s, c)).filter((c) => c && c.state !== 'closed');
        f.open_containers = cs;
        const mms = new Set(cs.map((c) => c!.vfio_mm).filter((m) => m !== null));
        f.vfio_mms = [...mms].map((m) => vfioMmFacts(s, m));
      }
      return f;
    }
    case 'container_open':
      f.vm = vmFacts(s, str(req.vm));
      delete f.caller;
      f.container = containerFacts(s, str(req.container));
      return f;
    case 'set_pasid_quota':
      return { profile: s.config.profile, pasid_quota: s.pasidQuota, value: req.value, actor: req.actor ?? null };
    case 'vcmd_write':
    case 'vcmd_read':
      f.viommu = viommuFacts(s, caller);
      if (e.op === 'vcmd_write' && f.caller) {
        const v = f.caller as { containers: string[] };
        f.containers = v.containers.map((c) => containerFacts(s, c));
      }
      return f;
    case 'device_add':
    case 'device_remove':
      f.device = deviceFacts(s, str(req.bdf));
      if (e.op === 'device_add') {
        f.group = groupFacts(s, str(req.group));
        f.pasid_cap_exposure = s.config.pasid_cap_exposure;
      }
      return f;
    case 'config_read':
    case 'config_write': {
      f.device = deviceFacts(s, str(req.bdf));
      f.access = configAccessFacts(s, str(req.bdf), Number(req.offset), Number(req.size), e.op === 'config_write' ? 'write' : 'read');
      return f;
    }
    default:
      break;
  }
  const c = containerFacts(s, str(req.container));
  f.container = c;
  if (e.op === 'group_attach' || e.op === 'group_detach') {
    f.group = groupFacts(s, str(req.group));
    return f;
  }
  if (e.op === 'set_iommu') {
    const opener = vmFacts(s, caller ?? c?.vm);
    f.caller_mm = opener?.mm ?? null;
    const live = opener ? s.liveByMm.get(opener.mm) : undefined;
    f.live_vfio_mm = vfioMmFacts(s, live);
    f.pasid_quota = s.pasidQuota;
    f.capacity_avail = s.capacityAvail;
    return f;
  }
  if (e.op === 'container_close') return f;
  const m = vfioMmFacts(s, c?.vfio_mm);
  f.vfio_mm = m;
  if (e.op === 'get_info') {
    f.profile = s.config.profile;
    return f;
  }
  f.pasid_quota = s.pasidQuota;
  const ask = pasidAsk(s, req);
  f.ask = ask;
  if (ask?.op === 'alloc') {
    f.range = { min: ask.min, max: ask.max };
    f.lowest_free = lowestFree(s, ask.min, ask.max);
    if (m) f.quota_left = Math.max(0, m.set_quota - m.held);
  } else if (ask?.op === 'free' && 'pasid' in ask) {
    f.pasid = ask.pasid;
    f.owner = ownerFacts(s, ask.pasid);
  } else if (ask?.op === 'free') {
    f.range = { min: ask.min, max: ask.max };
    const mine = m ? [...s.vfioMms.get(m.vfio_mm)!.pasids].filter((p) => p >= ask.min && p <= ask.max).sort((a, b) => a - b) : [];
    f.owned_in_range = mine.length;
    // v7 frees only this vfio_mm's PASIDs in the range: the others there are silently left alone.
    let others = 0;
    for (const [p, owner] of s.owner) if (p >= ask.min && p <= ask.max && owner !== m?.vfio_mm) others++;
    f.held_by_others_in_range = others;
  }
  if (s.config.profile === 'v7' && ask && ask.op !== 'invalid' && 'min' in ask) {
    // v7 refuses min > max and min or max above 1 << 31 (-EINVAL bad_range) before anything else.
    f.v7_range_ok = ask.min <= ask.max && ask.max <= V7_RANGE_LIMIT;
  }
  return f;
}

/** The largest min or max a v7 PASID request accepts (`1 << 31`). */
const V7_RANGE_LIMIT = 0x80000000;

/** The deciding facts in words. */
function why(e: RequestEntry, f: Record<string, unknown>, s: HostState): string {
  const c = f.container as ReturnType<typeof containerFacts> | undefined;
  const m = f.vfio_mm as ReturnType<typeof vfioMmFacts> | undefined;
  const parts: string[] = [];
  if ('caller' in f) {
    const v = f.caller as ReturnType<typeof vmFacts>;
    parts.push(v ? `caller ${n(v.vm)} is ${v.state}` : `caller ${n(String(e.req.vm))} is unknown`);
  }
  if (c !== undefined) {
    parts.push(c
      ? `container ${n(c.container)} (opened by ${n(c.vm)}) is ${c.state}${c.iommu_type ? ` with ${c.iommu_type}` : ''}, groups ${c.groups.map(n).join(',') || 'none'}${c.state === 'iommu_set' ? (c.iommu_domain ? ', IOMMU-backed domain' : ', no IOMMU-backed domain') : ''}`
      : `container ${String(e.req.container)} is unknown`);
  }
  if (m !== undefined && c) {
    parts.push(m
      ? `vfio_mm #${m.vfio_mm} (mm ${n(m.mm)}, gen ${m.gen}, refs ${m.refs}) held ${m.held} PASIDs; its set allows ${m.set_quota} (quota ${m.quota})${adjustText(f.quota_adjust as AdjustFact | undefined)}`
      : 'the container has no vfio_mm');
  }
  if (f.range) {
    const r = f.range as { min: number; max: number };
    if (f.lowest_free !== undefined) parts.push(`range [${r.min}, ${r.max}]: lowest free ${f.lowest_free === null ? 'none' : String(f.lowest_free)}`);
    else parts.push(`range [${r.min}, ${r.max}]: ${String(f.owned_in_range)} PASIDs of this vfio_mm in it, ${String(f.held_by_others_in_range)} held by others`);
  }
  parts.push(...v7Why(e, f, s));
  if (f.pasid !== undefined && 'owner' in f) {
    const o = f.owner as ReturnType<typeof ownerFacts>;
    parts.push(`PASID ${String(f.pasid)} ${o ? `is held by vfio_mm #${o.vfio_mm} (mm ${o.mm === null || o.mm === undefined ? '?' : n(o.mm)})` : 'is not allocated'}`);
  }
  if (f.ask && (f.ask as { op: string }).op === 'invalid') parts.push(`the struct is refused: ${(f.ask as { reason: string }).reason}`);
  if (e.op === 'set_iommu') {
    const live = f.live_vfio_mm as ReturnType<typeof vfioMmFacts>;
    parts.push(live ? `mm ${String(f.caller_mm)} has live vfio_mm #${live.vfio_mm} (refs ${live.refs})` : `mm ${String(f.caller_mm)} has no live vfio_mm; pasid_quota ${String(f.pasid_quota)}, capacity_avail ${String(f.capacity_avail)}`);
  }
  if ('group' in f) {
    const g = f.group as ReturnType<typeof groupFacts>;
    parts.push(g ? `group ${n(g.group)} is ${g.container ? `in container ${n(g.container)}` : 'in no container'}` : `group ${n(String(e.req.group))} is new`);
  }
  if (e.op === 'vm_start' || e.op === 'vm_exit' || e.op === 'vm_crash' || e.op === 'container_open') {
    const v = f.vm as ReturnType<typeof vmFacts>;
    parts.push(v ? `vm ${n(v.vm)} (mm ${n(v.mm)}) is ${v.state}` : `vm ${n(String(e.req.vm))} is unknown`);
    if (Array.isArray(f.open_containers)) parts.push(`${f.open_containers.length} open container(s), vfio_mms ${(f.vfio_mms as Array<{ vfio_mm: number; held: number } | null>).map((x) => x ? `#${x.vfio_mm} holding ${x.held}` : '?').join(', ') || 'none'}`);
    if (e.op === 'container_open' && f.container) parts.push(`container ${String(e.req.container)} already exists`);
  }
  if (e.op === 'vcmd_write' || e.op === 'vcmd_read') {
    const v = f.viommu as ReturnType<typeof viommuFacts>;
    if (v) parts.push(`its vIOMMU: VCCAP ${hex(v.vccap)} (${v.pas ? 'PAS' : 'no PAS'}), VCRSP ${hex(v.vcrsp)}, ${v.state}`);
  }
  if ('device' in f) {
    const d = f.device as ReturnType<typeof deviceFacts>;
    parts.push(d
      ? `${n(d.bdf)} is ${d.state} in group ${n(d.group)}${d.container ? `, container ${n(d.container)} (${d.container_state})` : ', in no container'}; its PASID capability is ${d.pasid_view}${d.pasid_offset !== null ? ` at ${hex(d.pasid_offset)}` : ''}`
      : `${String(e.req.bdf)} is unknown`);
  }
  if (e.op === 'device_add' && e.ret === 0) parts.push(`pasid_cap_exposure ${String(f.pasid_cap_exposure)}`);
  if (e.op === 'set_pasid_quota') parts.push(`profile ${String(f.profile)}, pasid_quota was ${String(f.pasid_quota)}, actor ${f.actor === null ? 'none' : n(String(f.actor))}`);
  return parts.join('; ');
}

/** The v7 rules that decided a PASID request, in words. */
function v7Why(e: RequestEntry, f: Record<string, unknown>, s: HostState): string[] {
  const out: string[] = [];
  const widthMax = 2 ** s.config.pasid_bits - 1;
  const r = f.range as { min: number; max: number } | undefined;
  if (s.config.profile === 'v7' && f.v7_range_ok === false && r) out.push(`v7 refuses min > max and min or max above 1 << 31 (-EINVAL bad_range)`);
  if (e.reason === 'pasid_zero' && s.config.profile === 'v7') out.push('v7 does not refuse PASID 0: min 0 handed out PASID 0 with ret 0 (a quirk the audit flags)');
  if (typeof e.pasid === 'number' && e.pasid > widthMax && e.op !== 'vcmd_write' && (f.ask as { op?: string } | undefined)?.op === 'alloc') {
    out.push(`PASID ${e.pasid} is above the ${s.config.pasid_bits}-bit width: ${s.config.profile === 'v7' ? 'v7 checks max only against 1 << 31' : 'v1 does not check max against the width'} (a quirk the audit flags)`);
  }
  if (Array.isArray(f.freed)) {
    const freed = f.freed as number[];
    out.push(`v7 FREE of [${r!.min}, ${r!.max}] freed the ${freed.length} PASID(s) this vfio_mm held there${freed.length ? ` (${freed.slice(0, 10).join(', ')}${freed.length > 10 ? ', …' : ''})` : ''} and ignored ${String(f.held_by_others_in_range)} held by others; it always returns 0`);
  }
  return out;
}


interface AdjustFact { quota: number; set_quota: number; ret: number; errno: string | null }

function adjustText(a: AdjustFact | undefined): string {
  if (!a) return '';
  return a.ret === 0
    ? `; pasid_quota had changed: the set was first adjusted to ${a.quota}`
    : `; pasid_quota had changed: adjusting the set to ${a.quota} failed (${a.ret} ${a.errno ?? ''}), it keeps limit ${a.set_quota} (quirk)`;
}

function fmtFields(o: Record<string, unknown>): string {
  return Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'string' ? n(v) : JSON.stringify(v)}`).join(' ');
}
