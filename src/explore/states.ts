import { evolve } from '../model/evolve.js';
import { cloneState, emptyState, type HostState } from '../model/state.js';
import type { Entry, HostConfig } from '../model/types.js';
import { deserialize, serialize } from 'node:v8';
import type { IdAllocator } from '../model/allocator.js';
import type { EntryLog } from '../store/log.js';

/** Entries between two in-memory states: a state anywhere is one decode and at most this many evolves. */
export const STATE_EVERY = 5_000;

/** What `StateIndex.at` did, for the API's timing line and the tests. */
export interface StateAtStats {
  /** The seq of the in-memory state it started from (0: the empty state). */
  from: number;
  /** Entries evolved after it. */
  evolved: number;
  /** Milliseconds spent. */
  ms: number;
}

/**
 * The host at any seq of a log, fast enough to scrub: states kept in memory every
 * `every` entries (compact: see `Kept`), built lazily the first time a seq past
 * them is asked for, then the recorded entries evolved from the nearest one below.
 * Never writes the log nor its snapshot table: an explorer is a reader.
 *
 * The log is append-only and every state kept is a pure function of the entries up to
 * its seq, so a kept state stays valid while the log grows.
 *
 * @example
 * const idx = new StateIndex(log, config);
 * viewState(idx.at(120_000)); // one restore and at most STATE_EVERY evolves
 */
export class StateIndex {
  private readonly kept: Kept[] = [];
  /** The last state the index evolved to, reused when the next ask is just after it (scrubbing forward). */
  private last: HostState | null = null;
  /** Called with each state the index passes while it builds (for charts computed in the same pass). */
  onBuild?: (s: HostState, e: Entry) => void;

  constructor(readonly log: EntryLog, readonly config: HostConfig, readonly every = STATE_EVERY) {}

  /** The seq up to which states are kept. */
  get builtTo(): number {
    return this.kept.length * this.every;
  }

  /**
   * Builds the kept states up to `seq` (or the head), one pass over the entries not yet
   * covered. Returns the number of entries read.
   */
  build(seq = Number.MAX_SAFE_INTEGER): number {
    const target = Math.floor(Math.min(seq, this.log.head().seq) / this.every) * this.every;
    if (target <= this.builtTo) return 0;
    const s = this.stateAtKept(this.kept.length);
    let read = 0;
    for (const row of this.log.range(s.seq, target)) {
      const e = JSON.parse(row.entry) as Entry;
      evolve(s, e);
      read++;
      this.onBuild?.(s, e);
      if (s.seq % this.every === 0) this.kept.push(keep(s));
    }
    return read;
  }

  /**
   * The host just after entry `seq` (0: before entry 1). The state is the index's own:
   * read it, do not evolve it; it is valid until the next call (use `copyAt` to keep one).
   * `seq` must be in the log (the caller checks it against the head).
   */
  at(seq: number, stats?: StateAtStats): HostState {
    const t0 = performance.now();
    this.build(seq);
    const k = Math.min(Math.floor(seq / this.every), this.kept.length);
    // Scrubbing forward from the previous answer costs less than a decode.
    const reuse = this.last !== null && this.last.seq <= seq && this.last.seq >= k * this.every;
    const s = reuse ? this.last! : this.stateAtKept(k);
    const from = s.seq;
    for (const row of this.log.range(s.seq, seq)) evolve(s, JSON.parse(row.entry) as Entry);
    this.last = s;
    if (stats) Object.assign(stats, { from, evolved: s.seq - from, ms: performance.now() - t0 });
    return s;
  }

  /** The host just after entry `seq`, a copy the caller owns (it may evolve it). */
  copyAt(seq: number): HostState {
    return cloneState(this.at(seq));
  }

  /** The kept state number k (k * every), restored: a fresh copy. */
  private stateAtKept(k: number): HostState {
    return k === 0 ? emptyState(this.config) : restore(this.kept[k - 1]!, this.config);
  }
}

/**
 * A state kept in memory, compact and quick to restore: the PASIDs (the bulk of a
 * state: one owner entry and one set member each) as typed arrays, the allocator as its
 * own copy (copied by typed arrays), everything else through V8's serialisation.
 */
interface Kept {
  rest: Buffer;
  ids: IdAllocator;
  ownerKeys: Uint32Array;
  ownerValues: Uint32Array;
  /** Per vfio_mm (in the state's order), its PASIDs. */
  pasids: Uint32Array[];
}

function keep(s: HostState): Kept {
  const ownerKeys = new Uint32Array(s.owner.size);
  const ownerValues = new Uint32Array(s.owner.size);
  let i = 0;
  for (const [k, v] of s.owner) {
    ownerKeys[i] = k;
    ownerValues[i++] = v;
  }
  const pasids: Uint32Array[] = [];
  const mms = new Map<number, unknown>();
  for (const [id, m] of s.vfioMms) {
    pasids.push(Uint32Array.from(m.pasids));
    mms.set(id, { ...m, pasids: null });
  }
  const { ids, owner: _o, vfioMms: _m, config: _c, ...rest } = s;
  return { rest: serialize({ ...rest, vfioMms: mms }), ids: ids.clone(), ownerKeys, ownerValues, pasids };
}

function restore(k: Kept, config: HostConfig): HostState {
  // Node's deserializer makes typed arrays views into the blob it reads (a device's
  // config space bytes): read a copy, or evolving the state would edit the kept one.
  const rest = deserialize(Buffer.from(k.rest)) as Omit<HostState, 'ids' | 'owner' | 'config'>;
  const owner = new Map<number, number>();
  for (let i = 0; i < k.ownerKeys.length; i++) owner.set(k.ownerKeys[i]!, k.ownerValues[i]!);
  let i = 0;
  for (const m of rest.vfioMms.values()) m.pasids = new Set(k.pasids[i++]);
  return { ...rest, config, owner, ids: k.ids.clone() };
}
