import { hash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ChainStep } from '../src/store/chain.js';
import { chainHash, GENESIS_CHAIN, leafHash } from '../src/store/hash.js';
import { mulberry32 } from './helpers.js';

const s = suite('chainHash (the reused buffer gives the old formula for every input)');

/** The chain as it was first written: one string and one buffer per call. */
const oldChainHash = (prev: string, leaf: string): string => hash('sha256', Buffer.from(prev + leaf, 'hex'), 'hex');

const rnd = mulberry32(0x5eed);
const hexDigits = (n: number, digits = '0123456789abcdefABCDEF'): string => {
  let out = '';
  for (let i = 0; i < n; i++) out += digits[Math.floor(rnd() * digits.length)];
  return out;
};

s('64 + 64 hex digits (lower, upper and mixed case): the same chain as the old formula', () => {
  for (let i = 0; i < 2000; i++) {
    const digits = i % 3 === 0 ? '0123456789abcdef' : i % 3 === 1 ? '0123456789ABCDEF' : undefined;
    const prev = hexDigits(64, digits);
    const leaf = hexDigits(64, digits);
    assert.is(chainHash(prev, leaf), oldChainHash(prev, leaf), `${prev} ${leaf}`);
  }
  // A real chain, step by step, as the writer and the checkers compute it.
  let chain = GENESIS_CHAIN;
  for (let i = 0; i < 50; i++) {
    const leaf = leafHash(`{"seq":${i + 1}}`);
    const next = chainHash(chain, leaf);
    assert.is(next, oldChainHash(chain, leaf));
    chain = next;
  }
});

/** Inputs that are not 64 + 64 hex digits; `Buffer.from(…, 'hex')` stops at the first bad pair. */
function malformed(): Array<[string, string]> {
  const h = hexDigits(64, '0123456789abcdef');
  const l = hexDigits(64, '0123456789abcdef');
  const at = (str: string, i: number, c: string): string => str.slice(0, i) + c + str.slice(i + 1);
  return [
    ['', ''], [h, ''], ['', l], ['', h + l],
    [h.slice(0, 63), l], [h, l.slice(0, 63)], [h.slice(0, 63), l + '0'], [h + '0', l.slice(0, 63)],
    [h.slice(0, 62), l], [h, l.slice(0, 62)], [h + 'ab', l], [h, l + 'ab'], [h, l + 'a'], [h, l + l],
    [h.slice(0, 62), l + 'cd'], [h + l, ''],
    [at(h, 0, 'g'), l], [at(h, 63, 'z'), l], [h, at(l, 0, 'x')], [h, at(l, 63, 'G')], [at(h, 31, ' '), l],
    [h, at(l, 40, '\u0000')], [at(h, 10, 'é'), l], [h, at(l, 5, '\u{1F600}').slice(0, 64)], [h, at(l, 2, '\ud800')],
    ['0x' + h.slice(2), l], [h, '0x' + l.slice(2)], [' '.repeat(64), l], [h, '-'.repeat(64)],
    ['zz'.repeat(32), 'zz'.repeat(32)], ['é'.repeat(64), 'é'.repeat(64)],
  ];
}

s('malformed inputs (odd lengths, wrong lengths, characters that are not hex): the same chain as the old formula', () => {
  for (let round = 0; round < 20; round++) {
    for (const [prev, leaf] of malformed()) {
      assert.is(chainHash(prev, leaf), oldChainHash(prev, leaf), JSON.stringify([prev, leaf]));
      // The reused buffer holds nothing over from a malformed call.
      const p = hexDigits(64);
      const q = hexDigits(64);
      assert.is(chainHash(p, q), oldChainHash(p, q));
      assert.is(chainHash(prev, leaf), oldChainHash(prev, leaf), JSON.stringify([prev, leaf]));
    }
  }
});

s('ChainStep checks with chainHash: a malformed stored chain before a row is followed as the old formula does', () => {
  const text = '{"seq":2}';
  const leaf = leafHash(text);
  for (const prev of [GENESIS_CHAIN, hexDigits(64), hexDigits(63), `${hexDigits(64)}0`, `g${hexDigits(63)}`]) {
    const step = new ChainStep(prev);
    assert.is(step.checkText(text, leaf, oldChainHash(prev, leaf)), null, prev);
    const bad = new ChainStep(prev).checkText(text, leaf, GENESIS_CHAIN);
    assert.equal(bad, { what: 'chain', leaf, chain: oldChainHash(prev, leaf) });
  }
});

s.run();
