/**
 * A child process of the bench: builds, in memory through decide and evolve, a host
 * whose `vms` vms each hold `per` PASIDs, then prints its resident memory as JSON.
 * Run alone so nothing else the bench did is counted: node --expose-gc memory_child.js VMS PER
 */
import { resolveConfig } from '../src/config.js';
import { emptyState } from '../src/model/state.js';
import type { HostConfig } from '../src/model/types.js';
import { applyInMemory } from './model_run.js';
import { gc, timeIt } from './stats.js';
import { ALL } from './workload.js';

const vms = Number(process.argv[2]);
const per = Number(process.argv[3]);
gc();
const baseline = process.memoryUsage().rss;
const s = emptyState(resolveConfig({ pasid_quota: per }) as HostConfig);
const at = new Date().toISOString();
let failed = 0;
const seconds = timeIt(() => {
  for (let i = 0; i < vms; i++) {
    const vm = `vm${i}`;
    const container = `c${i}`;
    applyInMemory(s, { op: 'vm_start', vm, mm: `0x${(i + 1).toString(16)}000` }, at);
    applyInMemory(s, { op: 'container_open', vm, container }, at);
    applyInMemory(s, { op: 'group_attach', container, group: `g${i}` }, at);
    applyInMemory(s, { op: 'set_iommu', container, type: 'VFIO_TYPE1_NESTING_IOMMU' }, at);
    for (let k = 0; k < per; k++) if (applyInMemory(s, { op: 'pasid_alloc', container, ...ALL }, at).ret !== 0) failed++;
  }
});
gc();
const m = process.memoryUsage();
process.stdout.write(JSON.stringify({
  vms, per, held: s.owner.size, failed, capacity_avail: s.capacityAvail, seconds,
  rss: m.rss, heap_used: m.heapUsed, baseline_rss: baseline,
}) + '\n');
