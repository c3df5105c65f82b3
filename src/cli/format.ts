import { hex } from '../uapi/bytes.js';
import { errnoName } from '../uapi/errno.js';
import type { Entry, IommuInfoMeaning, Outcome } from '../model/types.js';
import type { StateView } from '../model/view.js';
import { escapeControls, jsonText, safeLines, showName } from '../text/escape.js';

/** A caller-chosen name (vm, container, group, mm token, bdf, actor) as printed: see showName. */
const n = showName;

/** `0`, or a negative errno with its name: `-14 (EFAULT)`. */
export function fmtRet(ret: number): string {
  return ret < 0 ? `${ret} (${errnoName(ret)})` : String(ret);
}

/** One outcome as a readable line. */
export function fmtOutcome(o: Outcome, op: string): string {
  const parts = [`seq ${o.seq}`, op, `ret ${fmtRet(o.ret)}`];
  if (o.pasid !== null) parts.push(`pasid ${o.pasid}`);
  if (o.reason !== null) parts.push(`reason ${o.reason}`);
  if (o.value !== undefined) parts.push(`value ${fmtHex(o.value)}`);
  if (o.info !== undefined) parts.push(fmtInfo(o.info));
  if (o.replayed) parts.push('(recorded earlier: request id seen)');
  return escapeControls(parts.join('  '));
}

/** A register or config value as hex: `0x100`. */
export const fmtHex = hex;

/** What a GET_INFO reply means, in one phrase. */
export function fmtInfo(i: IommuInfoMeaning): string {
  const caps = i.caps.map((c) => `${c.id}v${c.version}@${c.offset}`).join(',') || '-';
  const trunc = i.caps_truncated ? ` (caps did not fit: argsz needed ${i.argsz})` : '';
  return `pgsizes ${i.iova_pgsizes}  caps ${caps}${trunc}  nesting ${i.nesting ? 'yes' : 'no'}  pasid_reqs ${i.pasid_reqs ? 'yes' : 'no'}`;
}

/** The JSON line `run --json` prints for an outcome: the public shape, with `"replayed": true` for a retried request id. */
export function outcomeJson(o: Outcome): string {
  return jsonText({
    seq: o.seq, ret: o.ret, pasid: o.pasid, reason: o.reason,
    ...(o.hex !== undefined ? { hex: o.hex } : {}),
    ...(o.value !== undefined ? { value: o.value } : {}),
    ...(o.info !== undefined ? { info: o.info } : {}),
    ...(o.replayed ? { replayed: true } : {}),
  });
}

/** Ids as compact ranges: `1-5,7,9-10`. */
export function fmtIds(ids: readonly number[], max = 12): string {
  const runs: string[] = [];
  for (let i = 0; i < ids.length; ) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++;
    runs.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return runs.length > max ? `${runs.slice(0, max).join(',')},… (${runs.length} runs)` : runs.join(',') || '-';
}

/** The state as a few readable lines. */
export function fmtState(v: StateView): string {
  const out: string[] = [];
  out.push(`seq ${v.seq}${v.at ? ` at ${v.at}` : ''}  profile ${v.profile}  pasid_quota ${v.pasid_quota}  capacity_avail ${v.capacity_avail}/${v.capacity}`);
  out.push(`vms (${v.vms.length}):`);
  for (const x of v.vms) out.push(`  ${n(x.vm)}  mm ${n(x.mm)}  ${x.state}  containers ${x.containers.map(n).join(',') || '-'}`);
  out.push(`containers (${v.containers.length}):`);
  for (const c of v.containers) {
    out.push(`  ${n(c.container)}  vm ${n(c.vm)}  ${c.state}${c.iommu_type ? ` ${c.iommu_type}` : ''}  groups ${c.groups.map(n).join(',') || '-'}  vfio_mm ${c.vfio_mm ?? '-'}`);
  }
  out.push(`vfio_mms (${v.vfio_mms.length}):`);
  for (const m of v.vfio_mms) {
    const q = m.quota === m.set_quota ? `${m.quota}` : `${m.quota} (set limit ${m.set_quota})`;
    out.push(`  #${m.vfio_mm}  mm ${n(m.mm)} gen ${m.gen}  refs ${m.refs}  quota ${q}  held ${m.held}  pasids ${fmtIds(m.pasids)}`);
  }
  if (v.viommus.length > 0) {
    out.push(`viommus (${v.viommus.length}):`);
    for (const x of v.viommus) out.push(`  ${n(x.vm)}  vccap ${fmtHex(x.vccap)}  vcrsp ${fmtHex(x.vcrsp)}  ${x.state}`);
  }
  if (v.devices.length > 0) {
    out.push(`devices (${v.devices.length}):`);
    for (const d of v.devices) {
      const where = d.pasid_offset === null ? '' : `@${fmtHex(d.pasid_offset)} ctrl ${fmtHex(d.pasid_ctrl ?? 0)}`;
      const ecaps = d.guest_ecaps.map((e) => `${fmtHex(e.id)}@${fmtHex(e.offset)}`).join(',') || '-';
      out.push(`  ${n(d.bdf)}  group ${n(d.group)}${d.is_vf ? '  vf' : ''}  ${d.state}  pasid ${d.pasid_view}${where}  guest ecaps ${ecaps}`);
    }
  }
  return safeLines(out);
}

/** A field of an entry for a one-line display: names shown with showName; long values (a config-space image) are cut. */
function fmtField(v: unknown): string {
  const text = typeof v === 'string' ? n(v) : escapeControls(JSON.stringify(v) ?? String(v));
  return text.length > 96 ? `${text.slice(0, 80)}… (${text.length} chars)` : text;
}

/**
 * One entry as a readable line. Every caller-chosen string in it is shown with showName
 * and the line is escaped as a whole: it holds no control or bidi character, so a name
 * holding a newline cannot forge a line.
 */
export function fmtEntry(e: Entry): string {
  return escapeControls(entryLine(e));
}

function entryLine(e: Entry): string {
  const head = `${String(e.seq).padStart(6)}  ${e.at}  `;
  if (e.type === 'config') {
    return `${head}config  profile ${e.profile}  pasid_bits ${e.pasid_bits}  capacity ${e.capacity}  pasid_quota ${e.pasid_quota}  pasid_cap_exposure ${e.pasid_cap_exposure}`;
  }
  if (e.type === 'request') {
    const { op: _op, ...args } = e.req;
    const argText = Object.entries(args).map(([k, v]) => `${k}=${fmtField(v)}`).join(' ');
    const tail = [`ret ${fmtRet(e.ret)}`];
    if (e.pasid !== undefined) tail.push(`pasid ${e.pasid}`);
    if (e.reason !== undefined) tail.push(`reason ${e.reason}`);
    if (e.value !== undefined) tail.push(`value ${fmtHex(e.value)}`);
    if (e.by !== undefined) tail.push(`token ${n(e.by)}`);
    return `${head}request ${e.op}${e.vm ? ` by ${n(e.vm)}` : ''}  ${argText}  → ${tail.join('  ')}`;
  }
  if (e.type === 'snapshot') return `${head}snapshot of the host after seq ${e.of_seq}  ${e.format}  digest ${e.digest}`;
  if (e.type === 'token') {
    return e.action === 'add'
      ? `${head}token add ${n(e.token)}  role ${e.role}${e.vm !== undefined ? `  vm ${n(e.vm)}` : ''}`
      : `${head}token revoke ${n(e.token)}`;
  }
  const { seq: _s, at: _a, type: _t, cause, machine, event, from, to, ...rest } = e;
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${fmtField(v)}`).join(' ');
  return `${head}  ${machine} ${event} ${from}→${to}  ${fields}  (cause ${cause})`;
}
