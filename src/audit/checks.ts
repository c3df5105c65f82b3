import { opSpec, opsWhere } from '../model/ops/registry.js';
import type { RequestEntry, TransitionEntry, TransitionEntryOf } from '../model/types.js';
import { allocRange } from './alloc_range.js';
import { describeVfioMm, isU32, listIds, type AuditContext } from './context.js';

/**
 * The invariant checks of docs/kernel-behaviour.md section 8 on one entry, read against the host just
 * before it (`ctx.s`). They read what the log says and doubt it: `evolve` applies a
 * transition's recorded fields without asking whether the kernel could have made it.
 */

/** Request ops whose FREE transitions are a release cascade (the last put of a vfio_mm): the registry's `free: 'cascade'`. */
export const CASCADE_OPS: ReadonlySet<string> = new Set(opsWhere((o) => o.free === 'cascade'));

const at = (e: { at?: unknown }): string | null => (typeof e.at === 'string' ? e.at : null);

function report(ctx: AuditContext, id: string, e: { seq: number; at?: unknown }, detail: string): void {
  ctx.findings.report(id, { seq: e.seq, at: at(e), detail });
}

/**
 * A PASID transition whose `pasid` is not a u32 cannot be judged, nor applied (S3).
 *
 * @example
 * if (!checkPasidField(ctx, t)) return; // reported; skip the entry
 */
export function checkPasidField(ctx: AuditContext, t: TransitionEntryOf<'pasid'>): boolean {
  if (isU32(t.pasid)) return true;
  report(ctx, 'S3', t, `the ${String(t.event)} transition names PASID ${JSON.stringify(t.pasid)}, which is not an integer in 0..0xFFFFFFFF`);
  return false;
}

/**
 * An ALLOC transition: invariant 1 (the id is free and goes to a live vfio_mm), 6 (PASID
 * 0 and ids above the width only through the quirks, which are flagged) and 7 (the
 * lowest free id of the request's range).
 *
 * @example
 * checkAlloc(ctx, t); // before evolve(s, t): reads the allocator as the ALLOC found it
 */
export function checkAlloc(ctx: AuditContext, t: TransitionEntryOf<'pasid'>): void {
  const { s, request: r } = ctx;
  const p = t.pasid;
  const owner = s.owner.get(p);
  if (s.ids.has(p)) {
    report(ctx, '1', t, `PASID ${p} is already held by vfio_mm ${describeVfioMm(s, owner)}; this ALLOC gives it to vfio_mm ${describeVfioMm(s, t.vfio_mm)} as well`);
  } else if (!s.vfioMms.has(t.vfio_mm)) {
    report(ctx, '1', t, `ALLOC gives PASID ${p} to vfio_mm #${String(t.vfio_mm)}, which is not live: the PASID would have no owner`);
  }
  if (r && (r.op === 'pasid_alloc' || r.op === 'pasid_request')) {
    // The container's backend charges every ALLOC to the vfio_mm it took, and reports the id it got.
    const container = String(r.req?.container);
    const charged = s.containers.get(container)?.vfio_mm ?? null;
    if (charged !== t.vfio_mm) {
      report(ctx, 'S2', t, `ALLOC for request ${r.seq} on container ${container} (charged to ${charged === null ? 'no vfio_mm' : `vfio_mm ${describeVfioMm(s, charged)}`}) gives PASID ${p} to vfio_mm #${String(t.vfio_mm)}`);
    } else if (typeof r.pasid === 'number' && r.pasid !== p) {
      report(ctx, 'S2', t, `request ${r.seq} recorded PASID ${r.pasid}, but its ALLOC transition hands out ${p}`);
    }
  }
  const range = r ? allocRange(r, s.config.profile) : { kind: 'none' as const, why: 'no request caused it' };
  const asked = range.kind === 'range' ? ` (asked [${range.min}, ${range.max}])` : '';
  if (p === 0) {
    const quirk = r?.reason === 'pasid_zero' || (s.config.profile === 'v7' && range.kind === 'range' && range.min === 0);
    if (quirk) {
      ctx.quirks.hit({ kind: 'pasid_zero', seq: t.seq, request: t.cause, at: t.at, vm: r?.vm, mm: t.mm, vfio_mm: t.vfio_mm, pasid: 0, detail: `PASID 0 allocated to vfio_mm ${describeVfioMm(s, t.vfio_mm)} by request ${t.cause}${asked}; the caller saw ${r?.ret ?? '?'}` });
    } else {
      report(ctx, '6', t, `PASID 0 is allocated to vfio_mm ${describeVfioMm(s, t.vfio_mm)}, but request ${t.cause} recorded no pasid_zero failure`);
    }
  }
  if (p > ctx.widthMax) {
    if (range.kind === 'range' && range.max > ctx.widthMax && p <= range.max) {
      ctx.quirks.hit({ kind: 'pasid_above_width', seq: t.seq, request: t.cause, at: t.at, vm: r?.vm, mm: t.mm, vfio_mm: t.vfio_mm, pasid: p, detail: `PASID ${p} (0x${p.toString(16)}) is above the ${s.config.pasid_bits}-bit width: request ${t.cause}${asked} was not checked against it (${s.config.profile})` });
    } else {
      report(ctx, '6', t, `PASID ${p} (0x${p.toString(16)}) is above the ${s.config.pasid_bits}-bit width, but request ${t.cause}${asked} did not ask beyond 0x${ctx.widthMax.toString(16)}`);
    }
  }
  if (range.kind === 'range') {
    const lowest = s.ids.findLowest(range.min, range.max);
    if (lowest !== p) {
      const was = lowest < 0 ? 'no id was free there' : `the lowest free id there was ${lowest}`;
      report(ctx, '7', t, `ALLOC handed out PASID ${p} for request ${t.cause}${asked}, but ${was}`);
    }
  } else if (range.kind === 'none') {
    report(ctx, '7', t, `ALLOC of PASID ${p} was caused by ${r ? `request ${r.seq} (${r.op}), but ${range.why}` : 'no request'}`);
  } else {
    ctx.unchecked += 1;
  }
}

/**
 * A FREE transition: it must name the PASID's owner (S2), and under v1 (invariant 5) a
 * FREE asked for by a PASID request must free an id of the requesting container's
 * vfio_mm. A FREE in a teardown is judged when its request ends (the auditor's `endRequest`).
 *
 * @example
 * checkFree(ctx, t); // before evolve(s, t): the owner is still recorded
 */
export function checkFree(ctx: AuditContext, t: TransitionEntryOf<'pasid'>): void {
  const { s, request: r } = ctx;
  const p = t.pasid;
  const owner = s.owner.get(p);
  if (owner !== undefined && owner !== t.vfio_mm) {
    report(ctx, 'S2', t, `FREE of PASID ${p} names vfio_mm #${String(t.vfio_mm)}, but the PASID is held by vfio_mm ${describeVfioMm(s, owner)}`);
  }
  if (s.config.profile !== 'v1' || !r) return;
  const free = opSpec(r.op)?.free;
  if (free === 'guest') {
    // QEMU walks the vm's containers with the FREE: each one frees only its own vfio_mm's ids.
    const vm = s.vms.get(String(r.req?.vm ?? r.vm));
    const mine = new Set((vm?.containers ?? []).map((c) => s.containers.get(c)?.vfio_mm).filter((m) => m !== null && m !== undefined));
    if (owner !== undefined && !mine.has(owner)) {
      report(ctx, '5', t, `request ${r.seq} (a guest FREE command of vm ${String(r.req?.vm ?? r.vm)}) freed PASID ${p}, held by vfio_mm ${describeVfioMm(s, owner)}, which none of its containers is charged to`);
    }
  } else if (free === 'own') {
    const container = typeof r.req?.container === 'string' ? r.req.container : '?';
    const mine = s.containers.get(container)?.vfio_mm ?? null;
    if (owner !== undefined && owner !== mine) {
      const by = mine === null ? 'which has no vfio_mm' : `charged to vfio_mm ${describeVfioMm(s, mine)}`;
      report(ctx, '5', t, `request ${r.seq} (${r.op} by ${r.vm ?? '?'} on container ${container}, ${by}) freed PASID ${p}, held by vfio_mm ${describeVfioMm(s, owner)}`);
    }
  } else if (free === 'none') {
    report(ctx, '5', t, `FREE of PASID ${p} was caused by request ${r.seq} (${r.op}), which frees no PASID`);
  }
}

/**
 * Invariant 4: at its release a vfio_mm holds nothing; and a release takes its last reference (S2).
 *
 * @example
 * checkRelease(ctx, t); // before evolve(s, t) forgets the vfio_mm
 */
export function checkRelease(ctx: AuditContext, t: TransitionEntryOf<'vfio_mm'>): void {
  const m = ctx.s.vfioMms.get(t.vfio_mm);
  if (!m) return;
  const left = [...m.pasids].filter((p) => ctx.s.owner.get(p) === m.vfio_mm).sort((a, b) => a - b);
  if (left.length > 0) {
    report(ctx, '4', t, `vfio_mm ${describeVfioMm(ctx.s, m.vfio_mm)} is released while ${left.length} of its PASIDs are still allocated: ${listIds(left)}`);
  }
  if (m.refs !== 1) report(ctx, 'S2', t, `vfio_mm ${describeVfioMm(ctx.s, m.vfio_mm)} is released while it has ${m.refs} references (the release is the last put)`);
}

/**
 * GET and PUT move the refcount by one; PUT never drops the last reference (RELEASE does) (S2).
 *
 * @example
 * checkRefs(ctx, t); // t.event is 'GET' or 'PUT'
 */
export function checkRefs(ctx: AuditContext, t: Extract<TransitionEntryOf<'vfio_mm'>, { event: 'GET' | 'PUT' }>): void {
  const m = ctx.s.vfioMms.get(t.vfio_mm);
  if (!m) return;
  const want = t.event === 'GET' ? m.refs + 1 : m.refs - 1;
  if (t.refs !== want || want < 1) {
    report(ctx, 'S2', t, `${t.event} of vfio_mm ${describeVfioMm(ctx.s, m.vfio_mm)} with ${m.refs} references records refs ${JSON.stringify(t.refs)}, not ${want}${want < 1 ? ' (the last put is a RELEASE)' : ''}`);
  }
}

/**
 * Invariant 2, after a change of what a vfio_mm holds or of its set's quota.
 *
 * @example
 * evolve(s, t); checkWithinQuota(ctx, t); // after an ALLOC or a QUOTA_ADJUST
 */
export function checkWithinQuota(ctx: AuditContext, t: TransitionEntryOf<'pasid' | 'vfio_mm'>): void {
  const m = ctx.s.vfioMms.get(t.vfio_mm);
  if (!m || m.pasids.size <= m.set_quota) return;
  report(ctx, '2', t, `vfio_mm ${describeVfioMm(ctx.s, m.vfio_mm)} holds ${m.pasids.size} PASIDs, above its set's quota of ${m.set_quota}`);
}

const named = (actor: unknown): boolean => typeof actor === 'string' && actor.trim() !== '';

/**
 * Invariant 8 on a transition: a module parameter SET names its actor.
 *
 * @example
 * checkParamActor(ctx, t); // t.machine === 'module_param'
 */
export function checkParamActor(ctx: AuditContext, t: TransitionEntry): void {
  if (t.event !== 'SET' || named(t.actor)) return;
  report(ctx, '8', t, `${String(t.name ?? 'module parameter')} set to ${JSON.stringify(t.value)} by request ${t.cause} names no actor`);
}

/**
 * Invariant 8 on a request: an accepted `set_pasid_quota` names its actor.
 *
 * @example
 * checkQuotaRequestActor(ctx, r); // any request; only set_pasid_quota with ret 0 is judged
 */
export function checkQuotaRequestActor(ctx: AuditContext, r: RequestEntry): void {
  if (r.op !== 'set_pasid_quota' || r.ret !== 0 || named(r.req?.actor)) return;
  report(ctx, '8', r, `set_pasid_quota to ${JSON.stringify(r.req?.value)} was accepted without an actor`);
}
