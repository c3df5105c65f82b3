import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyState } from '../src/model/state.js';
import type { RequestEntry } from '../src/model/types.js';
import { requestFacts } from '../src/replay/explain/build.js';
import { requestOf } from '../src/replay/explain/recorded.js';
import { freshLedger, setupVm } from './helpers.js';

/** requestOf reads a log's request without trusting it; requestFacts dispatches it by op. */
const test = suite('explain_recorded');

const entry = (op: string, req: Record<string, unknown>): RequestEntry =>
  // A crafted log's entry: any op name, any fields (what requestOf must survive).
  ({ seq: 2, at: '2026-01-01T00:00:00.000Z', type: 'request', op, req: { op, ...req }, ret: 0 }) as RequestEntry;

test('a field of the wrong type reads as absent; the right ones are kept', () => {
  const r = requestOf(entry('pasid_alloc', { container: 'c1', min: '1', max: 5, vm: 7, extra: 'x' }));
  assert.equal(r, { op: 'pasid_alloc', container: 'c1', max: 5 });
  assert.equal(requestOf(entry('config_write', { bdf: '0000:3b:00.0', offset: 0x14e, size: 3, value: 1 })), { op: 'config_write', bdf: '0000:3b:00.0', offset: 0x14e, value: 1 });
});

test('an op the registry does not know reads as null, and gets the unknown_op facts', async () => {
  const l = await freshLedger();
  setupVm(l);
  const e = entry('later_op', { container: 'c1', vm: 'vm1' });
  assert.is(requestOf(e), null);
  const x = requestFacts(l.state, e);
  assert.is(x.kind, 'unknown_op');
  assert.equal(Object.keys(x.facts), ['caller', 'container', 'vfio_mm', 'pasid_quota', 'ask']);
  l.close();
});

test('every op gets its family of facts (the dispatch table)', () => {
  const s = emptyState({ profile: 'v1', pasid_bits: 20, capacity: 4, pasid_quota: 2, pasid_cap_exposure: 'hidden' });
  const kinds = Object.fromEntries((['vm_crash', 'container_open', 'group_detach', 'set_iommu', 'pasid_request', 'set_pasid_quota', 'get_info', 'vcmd_read', 'device_remove', 'config_read'] as const)
    .map((op) => [op, requestFacts(s, entry(op, {})).kind]));
  assert.equal(kinds, {
    vm_crash: 'vm_lifecycle', container_open: 'container_open', group_detach: 'group', set_iommu: 'set_iommu', pasid_request: 'pasid',
    set_pasid_quota: 'pasid_quota', get_info: 'get_info', vcmd_read: 'vcmd', device_remove: 'device', config_read: 'config_access',
  });
});

test.run();
