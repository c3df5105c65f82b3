import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { entryDifference, firstDifference, NOT_DRAFT, NOT_OUTCOME, stripped } from '../src/model/outcome_diff.js';

const s = suite('outcome_diff: the in-place comparison says what the copying one says');

/** The rule as `replay --verify` and S6 wrote it before: copy without the dropped fields, then compare. */
function reference(recorded: object, drop: ReadonlySet<string>, decided: object, skip?: string) {
  const d = skip === undefined ? (decided as Record<string, unknown>) : stripped(decided, new Set([skip]));
  return firstDifference(stripped(recorded, drop), d);
}

const request = { seq: 12, at: '2026-01-01T00:00:00.000Z', type: 'request', op: 'pasid_alloc', req: { op: 'pasid_alloc', container: 'c1', min: 1, max: 9 }, ret: 0, pasid: 3, vm: 'vm1', id: 'q-1', by: 'tok-2' };
const decision = { ret: 0, pasid: 3, vm: 'vm1', transitions: [{ machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 3, vfio_mm: 1 }] };
const transition = { seq: 13, at: '2026-01-01T00:00:00.000Z', type: 'transition', cause: 12, machine: 'pasid', event: 'ALLOC', from: 'free', to: 'allocated', pasid: 3, vfio_mm: 1 };
const draft = decision.transitions[0]!;

const cases: Array<[string, object, ReadonlySet<string>, object, string | undefined]> = [
  ['same outcome', request, NOT_OUTCOME, decision, 'transitions'],
  ['another ret', { ...request, ret: -28 }, NOT_OUTCOME, decision, 'transitions'],
  ['another pasid and reason (first in sorted order wins)', { ...request, pasid: 4, reason: 'x' }, NOT_OUTCOME, decision, 'transitions'],
  ['a field only decided', request, NOT_OUTCOME, { ...decision, hex: '00ff' }, 'transitions'],
  ['a field only recorded', { ...request, info: { a: 1 } }, NOT_OUTCOME, decision, 'transitions'],
  ['a recorded field holding undefined is absent', { ...request, hex: undefined }, NOT_OUTCOME, decision, 'transitions'],
  ['a decided field holding undefined is absent', request, NOT_OUTCOME, { ...decision, hex: undefined }, 'transitions'],
  ['nested objects equal in another key order', { ...request, info: { b: [1, { c: 2 }], a: 1 } }, NOT_OUTCOME, { ...decision, info: { a: 1, b: [1, { c: 2 }] } }, 'transitions'],
  ['nested objects differing deep down', { ...request, info: { a: 1, b: [1, { c: 2 }] } }, NOT_OUTCOME, { ...decision, info: { a: 1, b: [1, { c: 3 }] } }, 'transitions'],
  ['nested undefined is absent', { ...request, info: { a: 1 } }, NOT_OUTCOME, { ...decision, info: { a: 1, b: undefined } }, 'transitions'],
  ['an array against an object', { ...request, info: [1] }, NOT_OUTCOME, { ...decision, info: { 0: 1 } }, 'transitions'],
  ['a recorded "transitions" field (a forged entry)', { ...request, transitions: [] }, NOT_OUTCOME, decision, 'transitions'],
  ['a decided field among the dropped ones', request, NOT_OUTCOME, { ...decision, op: 'pasid_alloc' }, 'transitions'],
  ['null against absent', { ...request, reason: null }, NOT_OUTCOME, decision, 'transitions'],
  ['a field named like an Object.prototype member', { ...request, toString: 1 }, NOT_OUTCOME, decision, 'transitions'],
  ['same transition', transition, NOT_DRAFT, draft, undefined],
  ['another transition field', { ...transition, to: 'free' }, NOT_DRAFT, draft, undefined],
  ['a transition field missing', { ...transition, vfio_mm: undefined }, NOT_DRAFT, draft, undefined],
  ['an extra transition field', { ...transition, quota: 5 }, NOT_DRAFT, draft, undefined],
];

for (const [name, recorded, drop, decided, skip] of cases) {
  s(name, () => {
    assert.equal(entryDifference(recorded, drop, decided, skip), reference(recorded, drop, decided, skip));
  });
}

s('the cases include both answers', () => {
  const answers = cases.map(([, r, d, x, k]) => entryDifference(r, d, x, k) === null);
  assert.ok(answers.includes(true) && answers.includes(false));
  assert.equal(entryDifference({ ...request, pasid: 4, reason: 'x' }, NOT_OUTCOME, decision, 'transitions'), { field: 'pasid', recorded: 4, decided: 3 });
});

s('entries parsed from JSON text, as the log gives them', () => {
  const text = JSON.stringify({ ...request, ret: -22, reason: 'EINVAL' });
  assert.equal(entryDifference(JSON.parse(text) as object, NOT_OUTCOME, decision, 'transitions'), { field: 'reason', recorded: 'EINVAL', decided: null });
});

s.run();
