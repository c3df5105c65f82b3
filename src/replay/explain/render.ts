import type { TokenEntry } from '../../model/token.js';
import type { ConfigEntry, HostConfig, RequestEntry, SnapshotEntry, TransitionEntry } from '../../model/types.js';
import { hex } from '../../uapi/bytes.js';
import { showName as n } from '../../text/escape.js';
import type { GuestView } from '../guest_view.js';
import type {
  CallerFacts, ContainerFact, DeviceFact, ExplainFacts, GroupFact, PasidFacts, QuotaAdjustFact, VfioMmFact, VmLifecycleFacts,
} from './types.js';

/**
 * The prose of `explain`: every sentence it says, from an entry and the facts built for
 * it. Pure: the facts decide, these only put them in words.
 */

/** How many of the PASIDs a v7 range FREE freed are listed before `…`. */
const FREED_LISTED = 10;

/** `k=v` pairs: a string as shown by showName, anything else as JSON. */
export function fmtFields(o: Readonly<Record<string, unknown>>): string {
  return Object.entries(o).map(([k, v]) => `${k}=${typeof v === 'string' ? n(v) : JSON.stringify(v)}`).join(' ');
}

/** The summary of the configuration entry. */
export function configSummary(e: ConfigEntry): string {
  const { profile, pasid_bits, capacity, pasid_quota, pasid_cap_exposure } = e;
  return `seq ${e.seq}: the host's configuration: profile ${profile}, pasid_bits ${pasid_bits}, capacity ${capacity}, pasid_quota ${pasid_quota}, PASID capability ${pasid_cap_exposure}`;
}

/** The summary of a snapshot entry. */
export function snapshotSummary(e: SnapshotEntry): string {
  return `seq ${e.seq}: the ledger took a snapshot of the host after seq ${e.of_seq} (${e.format}, SHA-256 ${e.digest}); it changes nothing in the host`;
}

/** The summary of a token entry. */
export function tokenSummary(e: TokenEntry): string {
  return e.action === 'add'
    ? `seq ${e.seq}: server token ${n(e.token)} granted, role ${e.role}${e.vm !== undefined ? ` for vm ${n(e.vm)}` : ''} (the log keeps the secret's SHA-256, never the secret)`
    : `seq ${e.seq}: server token ${n(e.token)} revoked; requests presenting it are refused from here on`;
}

/** The summary of a transition: the change, and the summary of the request that caused it (or its seq). */
export function transitionSummary(t: TransitionEntry, causeSummary: string | null): string {
  const { seq: _s, at: _a, type: _t, cause: _c, machine, event, from, to, ...fields } = t;
  return `seq ${t.seq}: ${machine} ${event} ${from} → ${to} (${fmtFields(fields)}), caused by ${causeSummary ?? `seq ${t.cause}, which is not a request`}`;
}

/** A request in one line: what was asked, by whom, and what came of it. */
export function requestSummary(e: RequestEntry, errno: string | null): string {
  const { op: _op, ...args } = e.req;
  const outcome = `ret ${e.ret}${errno ? ` (${errno})` : ''}${e.pasid !== undefined ? `, pasid ${e.pasid}` : ''}${e.reason ? `, reason ${e.reason}` : ''}${e.value !== undefined ? `, value 0x${e.value.toString(16)}` : ''}`;
  return `seq ${e.seq}: ${e.op}${e.vm ? ` by ${n(e.vm)}` : ''}${e.by !== undefined ? ` via token ${n(e.by)}` : ''} (${fmtFields(args)}) → ${outcome}`;
}

/** The deciding facts in words, then the guest's side (for a config access, what came of it). */
export function whyText(e: RequestEntry, x: ExplainFacts, config: HostConfig, guest: GuestView | null): string {
  return [whyParts(e, x, config).join('; '), ...(guest ? [guestWhy(guest)] : [])].filter((s) => s !== '').join('; ');
}

/** A guest view in one line: for a config access, what came of it (where it landed is in the device facts). */
function guestWhy(g: GuestView): string {
  const said = (g.kind === 'config_write' || g.kind === 'config_read') && g.said.length > 1 ? g.said.slice(1) : g.said;
  return said.join('; ');
}

/** The sentences for each op family, in the order explain has always given them. */
function whyParts(e: RequestEntry, x: ExplainFacts, cfg: HostConfig): string[] {
  switch (x.kind) {
    case 'vm_lifecycle':
      return [...pasidZero(e, cfg), ...vmParts(e, x.facts)];
    case 'container_open': {
      const f = x.facts;
      return [containerPart(e, f.container), ...pasidZero(e, cfg), ...vmParts(e, f), ...(f.container ? [`container ${String(e.req.container)} already exists`] : [])];
    }
    case 'container_close':
      return [...callerPart(e, x.facts), containerPart(e, x.facts.container), ...pasidZero(e, cfg)];
    case 'group':
      return [...callerPart(e, x.facts), containerPart(e, x.facts.container), ...pasidZero(e, cfg), groupPart(e, x.facts.group)];
    case 'set_iommu': {
      const f = x.facts;
      const live = f.live_vfio_mm;
      return [
        ...callerPart(e, f), containerPart(e, f.container), ...pasidZero(e, cfg),
        live ? `mm ${String(f.caller_mm)} has live vfio_mm #${live.vfio_mm} (refs ${live.refs})` : `mm ${String(f.caller_mm)} has no live vfio_mm; pasid_quota ${f.pasid_quota}, capacity_avail ${f.capacity_avail}`,
      ];
    }
    case 'pasid':
    case 'unknown_op':
      return pasidParts(e, x.facts, cfg);
    case 'get_info': {
      const f = x.facts;
      return [...callerPart(e, f), containerPart(e, f.container), ...vfioMmPart(f.container, f.vfio_mm, f.quota_adjust), ...pasidZero(e, cfg)];
    }
    case 'pasid_quota': {
      const f = x.facts;
      return [...pasidZero(e, cfg), `profile ${f.profile}, pasid_quota was ${f.pasid_quota}, actor ${f.actor === null ? 'none' : n(f.actor)}`];
    }
    case 'vcmd': {
      const v = x.facts.viommu;
      return [...callerPart(e, x.facts), ...pasidZero(e, cfg), ...(v ? [`its vIOMMU: VCCAP ${hex(v.vccap)} (${v.pas ? 'PAS' : 'no PAS'}), VCRSP ${hex(v.vcrsp)}, ${v.state}`] : [])];
    }
    case 'device': {
      const f = x.facts;
      return [
        ...callerPart(e, f), ...pasidZero(e, cfg), ...(f.group !== undefined ? [groupPart(e, f.group)] : []), devicePart(e, f.device),
        ...(e.op === 'device_add' && e.ret === 0 ? [`pasid_cap_exposure ${String(f.pasid_cap_exposure)}`] : []),
      ];
    }
    case 'config_access':
      return [...callerPart(e, x.facts), ...pasidZero(e, cfg), devicePart(e, x.facts.device)];
  }
}

function callerPart(e: RequestEntry, f: CallerFacts): string[] {
  if (f.caller === undefined) return [];
  const v = f.caller;
  return [v ? `caller ${n(v.vm)} is ${v.state}` : `caller ${n(String(e.req.vm))} is unknown`];
}

function containerPart(e: RequestEntry, c: ContainerFact): string {
  return c
    ? `container ${n(c.container)} (opened by ${n(c.vm)}) is ${c.state}${c.iommu_type ? ` with ${c.iommu_type}` : ''}, groups ${c.groups.map(n).join(',') || 'none'}${c.state === 'iommu_set' ? (c.iommu_domain ? ', IOMMU-backed domain' : ', no IOMMU-backed domain') : ''}`
    : `container ${String(e.req.container)} is unknown`;
}

function vfioMmPart(c: ContainerFact, m: VfioMmFact, adjust: QuotaAdjustFact | undefined): string[] {
  if (!c) return [];
  return [m
    ? `vfio_mm #${m.vfio_mm} (mm ${n(m.mm)}, gen ${m.gen}, refs ${m.refs}) held ${m.held} PASIDs; its set allows ${m.set_quota} (quota ${m.quota})${adjustText(adjust)}`
    : 'the container has no vfio_mm'];
}

function adjustText(a: QuotaAdjustFact | undefined): string {
  if (!a) return '';
  return a.ret === 0
    ? `; pasid_quota had changed: the set was first adjusted to ${a.quota}`
    : `; pasid_quota had changed: adjusting the set to ${a.quota} failed (${a.ret} ${a.errno ?? ''}), it keeps limit ${a.set_quota} (quirk)`;
}

function groupPart(e: RequestEntry, g: GroupFact): string {
  return g ? `group ${n(g.group)} is ${g.container ? `in container ${n(g.container)}` : 'in no container'}` : `group ${n(String(e.req.group))} is new`;
}

function vmParts(e: RequestEntry, f: Pick<VmLifecycleFacts, 'vm' | 'open_containers' | 'vfio_mms'>): string[] {
  const v = f.vm;
  const out = [v ? `vm ${n(v.vm)} (mm ${n(v.mm)}) is ${v.state}` : `vm ${n(String(e.req.vm))} is unknown`];
  if (f.open_containers) out.push(`${f.open_containers.length} open container(s), vfio_mms ${(f.vfio_mms ?? []).map((x) => x ? `#${x.vfio_mm} holding ${x.held}` : '?').join(', ') || 'none'}`);
  return out;
}

function devicePart(e: RequestEntry, d: DeviceFact): string {
  return d
    ? `${n(d.bdf)} is ${d.state} in group ${n(d.group)}${d.container ? `, container ${n(d.container)} (${d.container_state})` : ', in no container'}; its PASID capability is ${d.pasid_view}${d.pasid_offset !== null ? ` at ${hex(d.pasid_offset)}` : ''}`
    : `${String(e.req.bdf)} is unknown`;
}

/** A PASID request: its container and vfio_mm, the range, v7's rules, the owner, a refused struct. */
function pasidParts(e: RequestEntry, f: PasidFacts, cfg: HostConfig): string[] {
  const parts = [...callerPart(e, f), containerPart(e, f.container), ...vfioMmPart(f.container, f.vfio_mm, f.quota_adjust)];
  const r = f.range;
  if (r) {
    if (f.lowest_free !== undefined) parts.push(`range [${r.min}, ${r.max}]: lowest free ${f.lowest_free === null ? 'none' : String(f.lowest_free)}`);
    else parts.push(`range [${r.min}, ${r.max}]: ${String(f.owned_in_range)} PASIDs of this vfio_mm in it, ${String(f.held_by_others_in_range)} held by others`);
  }
  parts.push(...v7Parts(e, f, cfg));
  if (f.pasid !== undefined && f.owner !== undefined) {
    const o = f.owner;
    parts.push(`PASID ${f.pasid} ${o ? `is held by vfio_mm #${o.vfio_mm} (mm ${o.mm === null ? '?' : n(o.mm)})` : 'is not allocated'}`);
  }
  if (f.ask?.op === 'invalid') parts.push(`the struct is refused: ${f.ask.reason}`);
  return parts;
}

/** v7 hands out PASID 0 (any op's entry may record the quirk). */
function pasidZero(e: RequestEntry, cfg: HostConfig): string[] {
  return e.reason === 'pasid_zero' && cfg.profile === 'v7' ? ['v7 does not refuse PASID 0: min 0 handed out PASID 0 with ret 0 (a quirk the audit flags)'] : [];
}

/** The v7 rules (and v1's missing width check) that decided a PASID request, in words. */
function v7Parts(e: RequestEntry, f: PasidFacts, cfg: HostConfig): string[] {
  const out: string[] = [];
  const widthMax = 2 ** cfg.pasid_bits - 1;
  const r = f.range;
  if (cfg.profile === 'v7' && f.v7_range_ok === false && r) out.push(`v7 refuses min > max and min or max above 1 << 31 (-EINVAL bad_range)`);
  out.push(...pasidZero(e, cfg));
  if (typeof e.pasid === 'number' && e.pasid > widthMax && e.op !== 'vcmd_write' && f.ask?.op === 'alloc') {
    out.push(`PASID ${e.pasid} is above the ${cfg.pasid_bits}-bit width: ${cfg.profile === 'v7' ? 'v7 checks max only against 1 << 31' : 'v1 does not check max against the width'} (a quirk the audit flags)`);
  }
  if (f.freed && r) {
    const freed = f.freed;
    out.push(`v7 FREE of [${r.min}, ${r.max}] freed the ${freed.length} PASID(s) this vfio_mm held there${freed.length ? ` (${freed.slice(0, FREED_LISTED).join(', ')}${freed.length > FREED_LISTED ? ', …' : ''})` : ''} and ignored ${String(f.held_by_others_in_range)} held by others; it always returns 0`);
  }
  return out;
}
