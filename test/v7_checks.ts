import * as assert from 'uvu/assert';
import type { Ledger } from '../src/ledger.js';
import type { Entry, Outcome, TransitionEntry } from '../src/model/types.js';
import type { AnyTransition } from './support/entries.js';
import { mulberry32 } from './helpers.js';

/** Shared checks for the v7 / vIOMMU / PCI capability suites (not a suite itself). */

/** The entries a request wrote: its request entry and the transitions it caused. */
export function entriesOf(l: Ledger, out: Outcome): Entry[] {
  return [...l.log.range(out.seq - 1, l.head().seq)].map((r) => JSON.parse(r.entry) as Entry);
}

/** The transitions a request caused, in order. */
export function transitionsOf(l: Ledger, out: Outcome): AnyTransition[] {
  return entriesOf(l, out).filter((e): e is AnyTransition => e.type === 'transition');
}

/** `machine event` of each transition a request caused: a compact picture of its effect. */
export function effects(l: Ledger, out: Outcome): string[] {
  return transitionsOf(l, out).map((t) => `${t.machine} ${t.event}${t.pasid !== undefined && t.machine === 'pasid' ? ` ${String(t.pasid)}` : ''}`);
}

/**
 * A request is whole in the log: right after the head seen before it sits its request
 * entry with the outcome the caller got, then only transitions caused by it, up to the head.
 */
export function assertWhole(l: Ledger, before: number, out: Outcome): void {
  assert.is(out.seq, before + 1, 'the request entry follows the previous head');
  const es = entriesOf(l, out);
  const req = es[0]!;
  assert.is(req.type, 'request');
  if (req.type === 'request') assert.is(req.ret, out.ret);
  for (const e of es.slice(1)) {
    assert.is(e.type, 'transition');
    assert.is((e as TransitionEntry).cause, out.seq);
  }
}

/** The shared seeded PRNG, under the name these suites use. */
export const prng = mulberry32;

/**
 * Every entry after `before` belongs to a whole request: each transition is caused by
 * the request entry before it, and the request entries carry the outcomes the caller got.
 */
export function assertWholeBatch(l: Ledger, before: number, outs: readonly Outcome[]): void {
  let current = -1;
  let i = 0;
  for (const row of l.log.range(before, l.head().seq)) {
    const e = JSON.parse(row.entry) as Entry;
    if (e.type === 'request') {
      const out = outs[i++]!;
      assert.is(e.seq, out.seq);
      assert.is(e.ret, out.ret);
      current = e.seq;
    } else {
      assert.is(e.type, 'transition');
      assert.is((e as TransitionEntry).cause, current);
    }
  }
  assert.is(i, outs.length, 'one request entry per outcome');
}

/** Random bytes: `len` of them, each uniform, or drawn from `words` as little-endian u32s. */
export function randomBytes(rnd: () => number, len: number, words?: readonly number[]): Buffer {
  const b = Buffer.alloc(len);
  if (words && rnd() < 0.6) {
    for (let off = 0; off < len; off += 4) {
      const w = words[Math.floor(rnd() * words.length)]!;
      for (let j = 0; j < 4 && off + j < len; j++) b[off + j] = (w >>> (8 * j)) & 0xff;
    }
  } else {
    for (let i = 0; i < len; i++) b[i] = Math.floor(rnd() * 256);
  }
  return b;
}
