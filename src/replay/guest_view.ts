import type { HostState } from '../model/state.js';
import { supportsPasidRequests } from '../model/state.js';
import type { IommuInfoMeaning, RequestEntry, TransitionEntry, TransitionEntryOf } from '../model/types.js';
import { hex } from '../uapi/bytes.js';
import { errnoName } from '../uapi/errno.js';
import { VFIO_IOMMU_PASID_REQS, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, VFIO_IOMMU_TYPE1_INFO_CAP_NESTING } from '../uapi/iommu_info.js';
import { decodePciExtCapHeader, PCI_CFG_SPACE_SIZE, PCI_PASID_CTRL_ENABLE, PCI_PASID_CTRL_EXEC, PCI_PASID_CTRL_PRIV } from '../uapi/pci_pasid_cap.js';
import { decodeVcmd } from '../uapi/vtd_vcmd.js';
import { vcrspFacts, type VcrspFacts } from '../model/guest_vocab.js';
import { configAccessFacts, containerFacts, deviceFacts, viommuFacts, type ConfigAccessFacts } from './facts.js';

/**
 * What a guest (or QEMU on its behalf) did and saw, for the entries of docs/kernel-behaviour.md
 * sections 6 and 7 and for GET_INFO: the decoded register or config-space values, the
 * walk QEMU made over the vm's containers, and sentences saying it. `explain` shows it
 * beside the host facts.
 */

/** The exact words for a write of PASID Enable to an exposed (read-only) capability. */
export const ENABLE_DROPPED_SENTENCE = 'the guest tried to enable PASID on a read-only capability: the write was dropped and reported as success';

/** A VCRSP value decoded: status in bits 2:1 (named after the command that left it), the result from bit 8. */

/** A guest's VCMD write: what it wrote, the walk, what it reads back. */
export interface VcmdWriteView {
  kind: 'vcmd_write';
  wrote: { value: number; hex: string; cmd: number; command: 'ALLOC' | 'FREE' | 'undefined'; operand: number | null };
  /** The vIOMMU registers just before the write. */
  viommu: ReturnType<typeof viommuFacts>;
  /** Why QEMU dropped the write (`dropped_no_pas`, `dropped_in_progress`), or null. */
  dropped: string | null;
  /** The vm's containers in open order, whether QEMU asks them for PASIDs, and whether it did. */
  walk: Array<{ container: string; state: string; iommu_type: string | null; takes_pasid_requests: boolean; tried: boolean }>;
  /** Each container QEMU asked, with what the host answered (from `VCMD_DONE`). */
  tries: Array<{ container: string; ret: number; errno: string | null; reason: string | null; pasid: number | null }>;
  saw: VcrspFacts | null;
  said: string[];
}

/** A guest's VCRSP read, decoded, and the write that left the value. */
export interface VcmdReadView {
  kind: 'vcmd_read';
  saw: VcrspFacts | null;
  /** The vcmd_write whose response the guest reads, or null (none since the vm started: VCRSP is at reset). */
  left_by: number | null;
  said: string[];
}

/** A guest's config-space access. */
export interface ConfigAccessView {
  kind: 'config_read' | 'config_write';
  bdf: string;
  offset: number;
  size: number;
  device: ReturnType<typeof deviceFacts>;
  access: ConfigAccessFacts | null;
  /** What the guest wrote (config_write), with the PASID control bits when it covers that register. */
  wrote: { value: number; hex: string; pasid_ctrl?: { enable: boolean; exec: boolean; priv: boolean } } | null;
  /** What the guest read (config_read), decoded where it is a capability header. */
  saw: { value: number; hex: string; header?: { id: number; version: number; next: number } } | null;
  /** A write none or part of whose bytes reached the hardware: the recorded reason, else null. */
  dropped: string | null;
  /** Raw writes that reached the hardware (`device CONFIG_WRITE`), and the PASID control register after them. */
  raw: Array<{ offset: number; hex: string }>;
  pasid_ctrl_after: number | null;
  said: string[];
}

/** A GET_INFO reply, decoded. */
export interface GetInfoView {
  kind: 'get_info';
  info: IommuInfoMeaning | null;
  caps: Array<{ id: number; name: string; version: number; offset: number; next: number; nesting_capabilities?: number; nesting_flags?: string[] }>;
  said: string[];
}

export type GuestView = VcmdWriteView | VcmdReadView | ConfigAccessView | GetInfoView;

/** Where `guestView` reads what it cannot find in the state: the last virtual command of a vm. */
export interface GuestLookups {
  /** The last `viommu VCMD_DONE` of a vm before `seq`, if it is after the vm's last start. */
  lastVcmdDone(vm: string, seq: number): Extract<TransitionEntryOf<'viommu'>, { event: 'VCMD_DONE' }> | null;
}





const DROPPED_WHY: Record<string, string> = {
  pasid_enable_dropped: ENABLE_DROPPED_SENTENCE,
  pasid_cap_read_only: 'the guest wrote the exposed PASID capability, which is read-only to it: the write was dropped and reported as success',
  read_only_capability: 'the guest wrote an extended capability vfio-pci passes read-only: the write was dropped and reported as success',
  standard_space_not_modelled: 'the write is in the standard config space, which this model does not virtualise: dropped, reported as success',
};


function sawText(v: VcrspFacts | null): string {
  if (!v) return 'a VCRSP value that does not decode';
  return `VCRSP ${v.hex}: ${v.in_progress ? 'in progress, ' : ''}status ${v.status} (${v.status_name})${v.pasid !== null ? `, PASID ${v.pasid}` : ''}`;
}

/**
 * The guest's side of a request, from the host just before it and the transitions it
 * caused; null for a request that is not a guest access or GET_INFO.
 *
 * @example
 * guestView(before, entry, transitions, lookups)?.said;
 * // ['the guest wrote VCMD 0x1: ALLOC', 'QEMU asked c1: ret 1 (PASID 1)', 'the guest reads VCRSP 0x100: status 0 (success), PASID 1']
 */
export function guestView(s: HostState, e: RequestEntry, ts: readonly TransitionEntry[], look: GuestLookups): GuestView | null {
  switch (e.op) {
    case 'vcmd_write': return vcmdWriteView(s, e, ts);
    case 'vcmd_read': return vcmdReadView(e, look);
    case 'config_read':
    case 'config_write': return configView(s, e, ts);
    case 'get_info': return getInfoView(s, e);
    default: return null;
  }
}

function vcmdWriteView(s: HostState, e: RequestEntry, ts: readonly TransitionEntry[]): VcmdWriteView {
  const value = typeof e.req.value === 'number' ? e.req.value : NaN;
  const d = decodeVcmd(value);
  const cmd = d?.cmd ?? -1;
  const command = d?.op === 'alloc' ? 'ALLOC' : d?.op === 'free' ? 'FREE' : 'undefined';
  const wrote = { value, hex: Number.isFinite(value) ? hex(value) : String(value), cmd, command, operand: d?.op === 'free' ? d.pasid : null } as const;
  const vm = typeof e.req.vm === 'string' ? e.req.vm : e.vm;
  const done = ts.find((t) => t.machine === 'viommu' && t.event === 'VCMD_DONE');
  const rawTries = Array.isArray(done?.tries) ? (done!.tries as Array<{ container: string; ret: number; reason?: string; pasid?: number }>) : [];
  const tries = rawTries.map((t) => ({ container: t.container, ret: t.ret, errno: t.ret < 0 ? errnoName(t.ret) : null, reason: t.reason ?? null, pasid: t.pasid ?? null }));
  const tried = new Set(tries.map((t) => t.container));
  const v = vm === undefined ? undefined : s.vms.get(vm);
  const walk = (v?.containers ?? []).map((id) => {
    const c = s.containers.get(id);
    return { container: id, state: c?.state ?? 'unknown', iommu_type: c?.iommu_type ?? null, takes_pasid_requests: c ? supportsPasidRequests(c) : false, tried: tried.has(id) };
  });
  const dropped = e.reason === 'dropped_no_pas' || e.reason === 'dropped_in_progress' ? e.reason : null;
  const saw = typeof e.value === 'number' ? vcrspFacts(e.value, dropped ? null : cmd) : null;
  const viommu = viommuFacts(s, vm);
  const said: string[] = [];
  said.push(`the guest wrote VCMD ${wrote.hex}: ${command === 'ALLOC' ? 'ALLOC' : command === 'FREE' ? `FREE of PASID ${wrote.operand}` : `command ${cmd}, neither ALLOC (1) nor FREE (2)`}`);
  if (e.ret < 0) {
    said.push(`vm ${vm ?? '?'} is not running (${e.reason ?? errnoName(e.ret)}): there is no vIOMMU to write to`);
    return { kind: 'vcmd_write', wrote, viommu, dropped, walk, tries, saw, said };
  }
  if (dropped === 'dropped_no_pas') said.push(`VCCAP ${hex(viommu?.vccap ?? 0)} lacks PAS (bit 0): QEMU dropped the write`);
  else if (dropped === 'dropped_in_progress') said.push('a command was in progress (VCRSP.IP set): QEMU dropped the write');
  else if (command !== 'undefined') {
    if (tries.length === 0) said.push(`vm ${vm ?? '?'} has no container that takes PASID requests (NESTING, IOMMU set): QEMU asked none`);
    else said.push(`QEMU asked ${tries.map((t) => `${t.container} (${t.ret < 0 ? `${t.ret} ${t.errno ?? ''}${t.reason ? ` ${t.reason}` : ''}` : `ret ${t.ret}${t.pasid !== null ? `, PASID ${t.pasid}` : ''}${t.reason ? `, ${t.reason}` : ''}`})`).join(', then ')}`);
    const skipped = walk.filter((w) => !w.tried);
    if (skipped.length > 0) {
      said.push(`not asked: ${skipped.map((w) => `${w.container} (${!w.takes_pasid_requests ? (w.state !== 'iommu_set' ? w.state : `${w.iommu_type ?? 'no IOMMU'}, not NESTING`) : 'an earlier container succeeded'})`).join(', ')}`);
    }
  }
  said.push(dropped ? `the guest still reads ${sawText(saw)}, what the previous command left` : `the guest reads ${sawText(saw)}`);
  return { kind: 'vcmd_write', wrote, viommu, dropped, walk, tries, saw, said };
}

function vcmdReadView(e: RequestEntry, look: GuestLookups): VcmdReadView {
  const vm = typeof e.req.vm === 'string' ? e.req.vm : e.vm;
  if (e.ret < 0 || typeof e.value !== 'number') {
    return { kind: 'vcmd_read', saw: null, left_by: null, said: [`vm ${vm ?? '?'} is not running (${e.reason ?? errnoName(e.ret)}): there is no vIOMMU to read`] };
  }
  const done = vm === undefined ? null : look.lastVcmdDone(vm, e.seq);
  const saw = vcrspFacts(e.value, done ? done.cmd : null);
  const said = [`the guest read ${sawText(saw)}`, done ? `left by the vcmd_write at seq ${done.cause} (command ${String(done.cmd)})` : 'no command since the vm started: VCRSP is at its reset value'];
  return { kind: 'vcmd_read', saw, left_by: done?.cause ?? null, said };
}

function ctrlBits(v: number): { enable: boolean; exec: boolean; priv: boolean } {
  return { enable: (v & PCI_PASID_CTRL_ENABLE) !== 0, exec: (v & PCI_PASID_CTRL_EXEC) !== 0, priv: (v & PCI_PASID_CTRL_PRIV) !== 0 };
}

function configView(s: HostState, e: RequestEntry, ts: readonly TransitionEntry[]): ConfigAccessView {
  const bdf = String(e.req.bdf);
  const offset = Number(e.req.offset);
  const size = Number(e.req.size);
  const write = e.op === 'config_write';
  const device = deviceFacts(s, bdf);
  const access = configAccessFacts(s, bdf, offset, size, write ? 'write' : 'read');
  const said: string[] = [];
  const where = access
    ? access.pasid_cap === 'absent' ? 'the function has no PASID capability'
      : access.pasid_cap === 'elsewhere' ? `outside the PASID capability (at ${hex(device!.pasid_offset!)}, ${device!.pasid_view})`
        : `in the ${access.pasid_cap} PASID capability at ${hex(device!.pasid_offset!)} (${access.pasid_registers.join(', ')} register${access.pasid_registers.length > 1 ? 's' : ''})`
    : '';
  const view: ConfigAccessView = {
    kind: e.op as 'config_read' | 'config_write', bdf, offset, size, device, access, wrote: null, saw: null, dropped: null, raw: [], pasid_ctrl_after: null, said,
  };
  if (write) {
    const value = Number(e.req.value);
    view.wrote = { value, hex: hex(value) };
    if (device?.pasid_offset != null) {
      const ctrl = device.pasid_offset + 6;
      // The control register's bits as this write sets them (only the bytes it covers).
      if (ctrl >= offset && ctrl < offset + size) view.wrote.pasid_ctrl = ctrlBits(Math.floor(value / 256 ** (ctrl - offset)) & 0xffff);
    }
  }
  said.push(`the guest ${write ? `wrote ${view.wrote!.hex} to` : 'read'} ${size} byte${size > 1 ? 's' : ''} at ${hex(offset)} of ${bdf}${where ? `, ${where}` : ''}`);
  if (e.ret < 0) {
    const why = e.reason === 'no_device_fd'
      ? `its group ${device?.group ?? '?'} is in no container with its IOMMU set: QEMU has no device fd`
      : e.reason === 'no_such_device' ? 'no such function is bound to vfio-pci'
        : e.reason === 'past_config_size' ? `the access ends past the function's ${device?.cfg_size ?? '?'}-byte config space` : e.reason ?? '';
    said.push(`refused: ${e.ret} ${errnoName(e.ret)} (${why})`);
    return view;
  }
  if (!write && typeof e.value === 'number') {
    view.saw = { value: e.value, hex: hex(e.value) };
    const headerAt = size === 4 && offset >= PCI_CFG_SPACE_SIZE && (offset === PCI_CFG_SPACE_SIZE || offset === device?.pasid_offset || access?.chunks[0]?.handling.startsWith('the header'));
    if (headerAt) view.saw.header = decodePciExtCapHeader(e.value) ?? undefined;
    const h = view.saw.header;
    said.push(`the guest saw ${view.saw.hex}${h ? `: capability id ${hex(h.id)} version ${h.version}, next ${hex(h.next)}` : ''} (${[...new Set(access?.chunks.map((c) => c.handling))].join('; ')})`);
    return view;
  }
  const cw = ts.find((t) => t.machine === 'device' && t.event === 'CONFIG_WRITE');
  if (cw) {
    view.raw = Array.isArray(cw.raw) ? (cw.raw as Array<{ offset: number; hex: string }>) : [];
    view.pasid_ctrl_after = typeof cw.pasid_ctrl === 'number' ? cw.pasid_ctrl : null;
  }
  if (e.reason !== undefined && e.reason in DROPPED_WHY) {
    view.dropped = e.reason;
    said.push(DROPPED_WHY[e.reason]!);
  } else if (e.reason === 'hidden_pasid_cap_raw_write') {
    said.push(`the PASID capability is hidden, so its bytes are unclaimed: vfio-pci wrote them raw to the hardware (a mainline quirk)${view.pasid_ctrl_after !== null ? `; the hardware's PASID control is now ${hex(view.pasid_ctrl_after)}${view.pasid_ctrl_after & PCI_PASID_CTRL_ENABLE ? ' (enabled)' : ''}` : ''}`);
  } else if (view.raw.length > 0) {
    said.push('written raw to the hardware (no capability claims those bytes)');
  }
  if (view.raw.length > 0 && view.raw.reduce((n, w) => n + w.hex.length / 2, 0) < size && view.dropped === null) view.dropped = 'partly_dropped';
  said.push('the guest saw the write succeed (ret 0)');
  return view;
}

function getInfoView(s: HostState, e: RequestEntry): GetInfoView {
  const info = e.info ?? null;
  const said: string[] = [];
  const caps = (info?.caps ?? []).map((c) => {
    const name = c.id === VFIO_IOMMU_TYPE1_INFO_CAP_NESTING ? 'VFIO_IOMMU_TYPE1_INFO_CAP_NESTING' : c.id === VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE ? 'VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE' : `cap ${c.id}`;
    const out: GetInfoView['caps'][number] = { id: c.id, name, version: c.version, offset: c.offset, next: c.next };
    if (c.nesting_capabilities !== undefined) {
      out.nesting_capabilities = c.nesting_capabilities;
      out.nesting_flags = c.nesting_capabilities & VFIO_IOMMU_PASID_REQS ? ['VFIO_IOMMU_PASID_REQS'] : [];
    }
    return out;
  });
  if (e.ret < 0 || !info) {
    said.push(`refused: ${e.ret} ${errnoName(e.ret)}${e.reason ? ` (${e.reason})` : ''}`);
    return { kind: 'get_info', info, caps, said };
  }
  const flags = [info.flags & 1 ? 'PGSIZES' : '', info.flags & 2 ? 'CAPS' : ''].filter(Boolean).join('|') || '0';
  said.push(`GET_INFO reply: argsz ${info.argsz}, flags ${flags}, iova_pgsizes ${info.iova_pgsizes}`);
  if (info.caps_truncated) said.push(`a capability chain exists but did not fit: the caller must retry with argsz ${info.argsz}`);
  for (const c of caps) {
    said.push(`capability ${c.id} (${c.name}) version ${c.version} at offset ${c.offset}, next ${c.next}${c.nesting_capabilities !== undefined ? `, nesting_capabilities ${hex(c.nesting_capabilities)}${c.nesting_flags!.length ? ` (${c.nesting_flags!.join(', ')})` : ''}` : ''}`);
  }
  if (caps.length === 0 && !info.caps_truncated) {
    said.push(s.config.profile === 'v7' ? 'no capability chain: v7 reports nesting through iommu_nesting_info (cap id 3), not encoded here' : 'no capability chain: only a NESTING container reports the nesting capability');
  }
  const c = containerFacts(s, typeof e.req.container === 'string' ? e.req.container : undefined);
  said.push(`PASID requests: ${info.pasid_reqs ? 'supported' : 'not supported'}, as the reply says`);
  if (e.reason === 'pasid_reqs_without_vfio_mm') {
    said.push(`the reply claims VFIO_IOMMU_PASID_REQS, but container ${c?.container ?? '?'} has no vfio_mm: its ALLOCs fail -EFAULT (a quirk: the kernel decides by the IOMMU type alone)`);
  }
  return { kind: 'get_info', info, caps, said };
}
