import { hash } from 'node:crypto';
import { IdAllocator } from '../model/allocator.js';
import type { ContainerState, DeviceState, GroupState, HostState, VfioMmState, VmState } from '../model/state.js';
import type { HostConfig } from '../model/types.js';

/**
 * The blob format tag, also recorded in the log's `snapshot` entries. Bump it when
 * `evolve` changes what a state means or HostState gains a field: snapshots written
 * by older code are then ignored (and rebuilt) instead of trusted.
 */
export const SNAPSHOT_FORMAT = 'pasid-ledger-snapshot/2';

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** The first 8 bytes of every blob. */
const MAGIC = Buffer.from('PLSNAP\u0000\u0002', 'latin1');

/**
 * SHA-256 of a snapshot blob, in hex: what a `snapshot` entry of the log records, so
 * that a blob is trusted only when the chained log vouches for exactly its bytes.
 *
 * @example
 * stateDigest(encodeState(state)); // 64 hex digits
 */
export function stateDigest(blob: Uint8Array): string {
  return hash('sha256', blob, 'hex');
}

/**
 * A host state as a snapshot blob, in a format defined here (no generic serialiser):
 * the 8-byte magic, a u32 LE length, a JSON header holding every field but the
 * PASIDs, then u32 LE arrays: the held PASIDs of each vfio_mm (in the header's order,
 * each in its Set's order), then the owner map as PASIDs then vfio_mms (in the Map's
 * order). Every Map and Set keeps its insertion order, so a restored state behaves
 * exactly as the one that was encoded (cascades free in that order), and the same
 * history always encodes to the same bytes. The allocator is not stored: it holds
 * exactly the owned PASIDs, and is rebuilt from them.
 *
 * @example
 * const blob = encodeState(state);
 * decodeState(blob, state.config, state.seq); // an equal, independent state
 */
export function encodeState(s: HostState): Buffer {
  const mms = [...s.vfioMms.values()];
  const header = {
    format: SNAPSHOT_FORMAT,
    config: s.config,
    seq: s.seq,
    at: s.at,
    pasidQuota: s.pasidQuota,
    capacityAvail: s.capacityAvail,
    lastVfioMm: s.lastVfioMm,
    vms: [...s.vms.values()],
    containers: [...s.containers.values()],
    groups: [...s.groups.values()],
    vfioMms: mms.map(({ pasids, ...m }) => ({ ...m, held: pasids.size })),
    liveByMm: [...s.liveByMm],
    mmGen: [...s.mmGen],
    owned: s.owner.size,
    devices: [...s.devices.values()].map((d) => ({ ...d, phys: hex(d.phys), vconfig: hex(d.vconfig), map: hex(d.map) })),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  let held = 0;
  for (const m of mms) held += m.pasids.size;
  const words = new Uint32Array(held + 2 * s.owner.size);
  let i = 0;
  for (const m of mms) for (const p of m.pasids) words[i++] = p;
  for (const p of s.owner.keys()) words[i++] = p;
  for (const id of s.owner.values()) words[i++] = id;
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return Buffer.concat([MAGIC, len, json, Buffer.from(words.buffer, words.byteOffset, words.byteLength)]);
}

/** Why a blob was refused (thrown inside the decoder, caught at its edge). */
class Refused extends Error {}

/**
 * The state a snapshot blob holds, or null when the blob is not one this code can
 * trust: another magic or format, another configuration, another seq than its row
 * says, a field missing, extra or of the wrong type or range, or a state that breaks
 * HostState's own invariants (a PASID held twice or by a vfio_mm the owner map does
 * not name, an owner naming no live vfio_mm, capacity not balancing the live quotas,
 * an mm's live vfio_mm that is not live). Never throws. It does not prove the state is
 * the log's: that is the job of the digest in the log's `snapshot` entry.
 *
 * @example
 * decodeState(Buffer.from('garbage'), config, 7); // null
 */
export function decodeState(blob: Uint8Array, config: HostConfig, seq: number): HostState | null {
  try {
    return decode(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength), config, seq);
  } catch (e) {
    if (e instanceof Refused || e instanceof SyntaxError || e instanceof RangeError) return null;
    throw e;
  }
}

/** Why `decodeState` would refuse a blob, or null when it decodes. For `verify`'s messages. */
export function whyUndecodable(blob: Uint8Array, config: HostConfig, seq: number): string | null {
  try {
    decode(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength), config, seq);
    return null;
  } catch (e) {
    if (e instanceof Refused || e instanceof SyntaxError || e instanceof RangeError) return e.message;
    throw e;
  }
}

function decode(b: Buffer, config: HostConfig, seq: number): HostState {
  if (b.length < 12 || !b.subarray(0, 8).equals(MAGIC)) refuse('not a snapshot blob of this format (magic)');
  const jsonLen = b.readUInt32LE(8);
  if (12 + jsonLen > b.length) refuse('truncated header');
  const h = obj(JSON.parse(b.toString('utf8', 12, 12 + jsonLen)), 'header');
  exactKeys(h, ['format', 'config', 'seq', 'at', 'pasidQuota', 'capacityAvail', 'lastVfioMm', 'vms', 'containers', 'groups', 'vfioMms', 'liveByMm', 'mmGen', 'owned', 'devices'], 'header');
  if (h.format !== SNAPSHOT_FORMAT) refuse(`format ${JSON.stringify(h.format)}`);
  if (!sameConfig(h.config, config)) refuse('another configuration');
  if (h.seq !== seq) refuse(`it says seq ${JSON.stringify(h.seq)}, stored at ${seq}`);
  const at = str(h.at, 'at');
  const pasidQuota = int(h.pasidQuota, 'pasidQuota', 0, 0xffffffff);
  const capacityAvail = int(h.capacityAvail, 'capacityAvail', 0, config.capacity);
  const lastVfioMm = int(h.lastVfioMm, 'lastVfioMm', 0, Number.MAX_SAFE_INTEGER);
  const owned = int(h.owned, 'owned', 0, 0xffffffff);

  const vms = keyed(arr(h.vms, 'vms'), 'vm', vmOf);
  const containers = keyed(arr(h.containers, 'containers'), 'container', containerOf);
  const groups = keyed(arr(h.groups, 'groups'), 'group', groupOf);
  const devices = keyed(arr(h.devices, 'devices'), 'bdf', deviceOf);
  const mmHeads = arr(h.vfioMms, 'vfioMms').map(vfioMmOf);
  const liveByMm = pairs(h.liveByMm, 'liveByMm', (v) => int(v, 'liveByMm value', 1, lastVfioMm));
  const mmGen = pairs(h.mmGen, 'mmGen', (v) => int(v, 'mmGen value', 1, Number.MAX_SAFE_INTEGER));

  // The PASID words: each vfio_mm's holdings, then the owner map's keys and values.
  let held = 0;
  for (const m of mmHeads) held += m.held;
  const words = held + 2 * owned;
  const body = 12 + jsonLen;
  if (b.length !== body + 4 * words) refuse(`${b.length - body} bytes of PASIDs, expected ${4 * words}`);
  // One aligned copy, read as native u32s: the words are little-endian, as every platform Node runs on here.
  if (!LITTLE_ENDIAN) refuse('a big-endian host cannot read this format');
  const w32 = new Uint32Array(words);
  new Uint8Array(w32.buffer).set(b.subarray(body));

  const owner = new Map<number, number>();
  for (let i = 0; i < owned; i++) {
    const p = w32[held + i]!;
    if (owner.has(p)) refuse(`PASID ${p} owned twice`);
    owner.set(p, w32[held + owned + i]!);
  }
  const vfioMms = new Map<number, VfioMmState>();
  let w = 0;
  let quotas = 0;
  for (const { held: n, ...m } of mmHeads) {
    if (vfioMms.has(m.vfio_mm)) refuse(`vfio_mm ${m.vfio_mm} twice`);
    if (m.vfio_mm > lastVfioMm) refuse(`vfio_mm ${m.vfio_mm} after the last one created (${lastVfioMm})`);
    const pasids = new Set<number>();
    for (let i = 0; i < n; i++) {
      const p = w32[w++]!;
      // Holdings and owner agree, which (with the counts below) makes them one bijection.
      if (owner.get(p) !== m.vfio_mm) refuse(`vfio_mm ${m.vfio_mm} holds PASID ${p}, which the owner map gives to ${String(owner.get(p) ?? 'nobody')}`);
      pasids.add(p);
    }
    if (pasids.size !== n) refuse(`vfio_mm ${m.vfio_mm} lists a PASID twice`);
    quotas += m.set_quota;
    vfioMms.set(m.vfio_mm, { ...m, pasids });
  }
  if (held !== owned) refuse(`${owned} PASIDs owned, ${held} held by live vfio_mms`);
  if (capacityAvail + quotas !== config.capacity) refuse(`capacity_avail ${capacityAvail} + live quotas ${quotas} is not the capacity ${config.capacity}`);
  for (const [mm, id] of liveByMm) if (vfioMms.get(id)?.mm !== mm) refuse(`the live vfio_mm of mm ${mm} is ${id}, which is not live with that mm`);
  for (const c of containers.values()) {
    if (!vms.has(c.vm)) refuse(`container ${c.container} of unknown vm ${c.vm}`);
    for (const g of c.groups) if (groups.get(g)?.container !== c.container) refuse(`container ${c.container} lists group ${g}, which is not attached to it`);
  }
  for (const v of vms.values()) for (const c of v.containers) if (!containers.has(c)) refuse(`vm ${v.vm} lists unknown container ${c}`);
  const ids = IdAllocator.fromIds(owner.keys());
  return {
    config, seq, at, pasidQuota, capacityAvail, vms, containers, groups, vfioMms,
    liveByMm, mmGen, lastVfioMm, ids, owner, devices,
  };
}

function refuse(why: string): never {
  throw new Refused(why);
}

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) refuse(`${what} is not an object`);
  return v as Obj;
}

function exactKeys(o: Obj, keys: readonly string[], what: string): void {
  const have = Object.keys(o);
  if (have.length !== keys.length || !keys.every((k) => Object.hasOwn(o, k))) refuse(`${what} has fields ${have.join(',')}, expected ${keys.join(',')}`);
}

function arr(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) refuse(`${what} is not an array`);
  return v;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') refuse(`${what} is not a string`);
  return v;
}

function int(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) refuse(`${what} ${JSON.stringify(v)} is not an integer in ${min}..${max}`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') refuse(`${what} is not a boolean`);
  return v;
}

function oneOf<T extends string>(v: unknown, what: string, allowed: readonly T[]): T {
  if (!allowed.includes(v as T)) refuse(`${what} ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  return v as T;
}

function strArr(v: unknown, what: string): string[] {
  const a = arr(v, what).map((x) => str(x, what));
  if (new Set(a).size !== a.length) refuse(`${what} lists a name twice`);
  return a;
}

function bytes(v: unknown, what: string, len: number): Uint8Array {
  const s = str(v, what);
  if (s.length !== 2 * len || !/^[0-9a-f]*$/.test(s)) refuse(`${what} is not ${len} bytes of hex`);
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

/** Objects into a Map by their own name field, refusing a name twice. */
function keyed<K extends string, T extends Record<K, string>>(items: unknown[], key: K, of: (v: unknown) => T): Map<string, T> {
  const m = new Map<string, T>();
  for (const item of items) {
    const t = of(item);
    if (m.has(t[key])) refuse(`${key} ${t[key]} twice`);
    m.set(t[key], t);
  }
  return m;
}

/** `[string, number]` pairs into a Map. */
function pairs(v: unknown, what: string, value: (v: unknown) => number): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of arr(v, what)) {
    const [k, x] = arr(p, what);
    if (arr(p, what).length !== 2 || m.has(str(k, what))) refuse(`${what} entry is not a new [name, number] pair`);
    m.set(k as string, value(x));
  }
  return m;
}

function vmOf(v: unknown): VmState {
  const o = obj(v, 'vm');
  exactKeys(o, ['vm', 'mm', 'state', 'containers', 'vccap', 'vcrsp', 'viommu'], 'vm');
  return {
    vm: str(o.vm, 'vm'), mm: str(o.mm, 'vm mm'), state: oneOf(o.state, 'vm state', ['running', 'exited', 'crashed'] as const),
    containers: strArr(o.containers, 'vm containers'), vccap: int(o.vccap, 'vccap', 0, 0xffffffff),
    vcrsp: int(o.vcrsp, 'vcrsp', 0, 0xffffffff), viommu: oneOf(o.viommu, 'viommu', ['ready', 'in_progress'] as const),
  };
}

function containerOf(v: unknown): ContainerState {
  const o = obj(v, 'container');
  exactKeys(o, ['container', 'vm', 'state', 'iommu_type', 'groups', 'vfio_mm'], 'container');
  return {
    container: str(o.container, 'container'), vm: str(o.vm, 'container vm'),
    state: oneOf(o.state, 'container state', ['unset', 'iommu_set', 'closed'] as const),
    iommu_type: o.iommu_type === null ? null : str(o.iommu_type, 'iommu_type'), groups: strArr(o.groups, 'container groups'),
    vfio_mm: o.vfio_mm === null ? null : int(o.vfio_mm, 'container vfio_mm', 1, Number.MAX_SAFE_INTEGER),
  };
}

function groupOf(v: unknown): GroupState {
  const o = obj(v, 'group');
  exactKeys(o, ['group', 'iommu_backed', 'noiommu', 'container'], 'group');
  return {
    group: str(o.group, 'group'), iommu_backed: bool(o.iommu_backed, 'iommu_backed'), noiommu: bool(o.noiommu, 'noiommu'),
    container: o.container === null ? null : str(o.container, 'group container'),
  };
}

function vfioMmOf(v: unknown): Omit<VfioMmState, 'pasids'> & { held: number } {
  const o = obj(v, 'vfio_mm');
  exactKeys(o, ['vfio_mm', 'mm', 'gen', 'refs', 'quota', 'set_quota', 'held'], 'vfio_mm');
  return {
    vfio_mm: int(o.vfio_mm, 'vfio_mm', 1, Number.MAX_SAFE_INTEGER), mm: str(o.mm, 'vfio_mm mm'),
    gen: int(o.gen, 'gen', 1, Number.MAX_SAFE_INTEGER), refs: int(o.refs, 'refs', 0, Number.MAX_SAFE_INTEGER),
    quota: int(o.quota, 'quota', 0, 0xffffffff), set_quota: int(o.set_quota, 'set_quota', 0, 0xffffffff),
    held: int(o.held, 'held', 0, 0xffffffff),
  };
}

function deviceOf(v: unknown): DeviceState {
  const o = obj(v, 'device');
  exactKeys(o, ['bdf', 'group', 'is_vf', 'state', 'cfgSize', 'phys', 'vconfig', 'map', 'pasidOffset', 'pasidShown'], 'device');
  const cfgSize = oneOf(String(o.cfgSize), 'cfgSize', ['256', '4096'] as const) === '256' ? 256 : 4096;
  if (o.cfgSize !== cfgSize) refuse('cfgSize is not a number');
  return {
    bdf: str(o.bdf, 'bdf'), group: str(o.group, 'device group'), is_vf: bool(o.is_vf, 'is_vf'),
    state: oneOf(o.state, 'device state', ['present', 'removed'] as const), cfgSize,
    phys: bytes(o.phys, 'phys', cfgSize), vconfig: bytes(o.vconfig, 'vconfig', cfgSize), map: bytes(o.map, 'map', cfgSize),
    pasidOffset: o.pasidOffset === null ? null : int(o.pasidOffset, 'pasidOffset', 0, cfgSize - 1),
    pasidShown: bool(o.pasidShown, 'pasidShown'),
  };
}

function sameConfig(a: unknown, b: HostConfig): boolean {
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return false;
  const o = a as Obj;
  const keys = new Set([...Object.keys(o), ...Object.keys(b)]);
  for (const k of keys) if (o[k] !== (b as unknown as Obj)[k]) return false;
  return true;
}

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
