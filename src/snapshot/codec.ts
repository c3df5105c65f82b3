import { deserialize, serialize } from 'node:v8';
import { IdAllocator } from '../model/allocator.js';
import { emptyState, type HostState } from '../model/state.js';
import type { HostConfig } from '../model/types.js';

/**
 * The blob format tag. Bump it when `evolve` changes what a state means, so that
 * snapshots written by older code are ignored (and rebuilt) instead of trusted.
 */
export const SNAPSHOT_FORMAT = 'pasid-ledger-snapshot/1';

/**
 * A host state as a snapshot blob. Generic over HostState's fields: the allocator
 * (a class) is stored as its ascending ids (a Uint32Array), every other field goes
 * through V8's structured serialisation, which keeps Maps, Sets, arrays and plain
 * objects. A field added to HostState later round-trips without a change here, as
 * long as it is plain data (a class instance would come back as a plain object).
 *
 * @example
 * const blob = encodeState(state);
 * decodeState(blob, state.config, state.seq); // an equal, independent state
 */
export function encodeState(s: HostState): Buffer {
  const { ids, ...rest } = s;
  const state: Record<string, unknown> = { ...rest, ids: Uint32Array.from(ids.toArray()) };
  // V8 deserialises a large Map slowly (about 0.5 µs an entry); a Map of u32 to u32
  // (the PASID owners: one entry per PASID held) goes as two Uint32Arrays instead.
  const packed: string[] = [];
  for (const [k, v] of Object.entries(state)) {
    const pair = v instanceof Map ? packU32Map(v) : null;
    if (pair) {
      state[k] = pair;
      packed.push(k);
    }
  }
  return serialize({ format: SNAPSHOT_FORMAT, packed, state });
}

/** A Map whose keys and values are all u32, as [keys, values]; null for any other Map. */
function packU32Map(m: Map<unknown, unknown>): [Uint32Array, Uint32Array] | null {
  if (m.size < 1024) return null;
  const keys = new Uint32Array(m.size);
  const values = new Uint32Array(m.size);
  let i = 0;
  for (const [k, v] of m) {
    if (typeof k !== 'number' || typeof v !== 'number' || k >>> 0 !== k || v >>> 0 !== v) return null;
    keys[i] = k;
    values[i++] = v;
  }
  return [keys, values];
}

function unpackU32Map(v: unknown): Map<number, number> | null {
  if (!Array.isArray(v) || v.length !== 2 || !(v[0] instanceof Uint32Array) || !(v[1] instanceof Uint32Array) || v[0].length !== v[1].length) return null;
  const [keys, values] = v as [Uint32Array, Uint32Array];
  const m = new Map<number, number>();
  for (let i = 0; i < keys.length; i++) m.set(keys[i]!, values[i]!);
  return m;
}

/**
 * The state a snapshot blob holds, or null when the blob is not one this code can
 * trust: not decodable, another format, another configuration, another seq than its
 * row says, or a shape that differs from today's HostState (a field missing or of
 * another kind: written by older code). Never throws.
 *
 * @example
 * decodeState(Buffer.from('garbage'), config, 7); // null
 */
export function decodeState(blob: Uint8Array, config: HostConfig, seq: number): HostState | null {
  let decoded: unknown;
  try {
    decoded = deserialize(blob);
  } catch {
    return null;
  }
  if (!isObject(decoded) || decoded.format !== SNAPSHOT_FORMAT || !isObject(decoded.state)) return null;
  const st = decoded.state;
  if (!Array.isArray(decoded.packed)) return null;
  for (const k of decoded.packed) {
    const m = typeof k === 'string' ? unpackU32Map(st[k]) : null;
    if (!m) return null;
    st[k] = m;
  }
  if (st.seq !== seq || !(st.ids instanceof Uint32Array) || !sameConfig(st.config, config)) return null;
  const template = emptyState(config) as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(template)) {
    if (k === 'ids') continue;
    if (!(k in st) || !sameKind(v, st[k])) return null;
  }
  let ids: IdAllocator;
  try {
    ids = IdAllocator.fromIds(st.ids);
  } catch {
    return null;
  }
  return { ...st, config, ids } as unknown as HostState;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Same kind of value as the empty state's field; a null there (e.g. `at`) admits any value. */
function sameKind(template: unknown, v: unknown): boolean {
  if (template === null) return true;
  if (template instanceof Map) return v instanceof Map;
  if (template instanceof Set) return v instanceof Set;
  if (Array.isArray(template)) return Array.isArray(v);
  return typeof template === typeof v && v !== null;
}

function sameConfig(a: unknown, b: HostConfig): boolean {
  if (!isObject(a)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k] !== (b as unknown as Record<string, unknown>)[k]) return false;
  return true;
}
