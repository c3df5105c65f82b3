/**
 * A child process of the serve bench: one library writer on the shared file. It sets
 * up its own vm, says "ready", waits for "go" on stdin, then alloc/frees `n` requests
 * one transaction each and prints {start, end, n} (epoch ms, high resolution).
 * node direct_worker.js DB INDEX N
 */
import { openLedger } from '../src/ledger.js';

const [db, index, count] = process.argv.slice(2);
const i = Number(index);
const n = Number(count);
const l = await openLedger(db!);
const vm = `d${i}`;
const c = `dc${i}`;
l.batch([
  { op: 'vm_start', vm, mm: `0x${(i + 1).toString(16)}d000` },
  { op: 'container_open', vm, container: c },
  { op: 'group_attach', container: c, group: `dg${i}` },
  { op: 'set_iommu', container: c, type: 'VFIO_TYPE1_NESTING_IOMMU' },
]);
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
const now = () => performance.timeOrigin + performance.now();
const start = now();
let held: number | null = null;
for (let k = 0; k < n; k++) {
  if (held === null) held = l.request({ op: 'pasid_alloc', container: c, min: 1, max: 0xfffff }).pasid;
  else {
    l.request({ op: 'pasid_free', container: c, pasid: held });
    held = null;
  }
}
const end = now();
l.close();
process.stdout.write(JSON.stringify({ start, end, n }) + '\n');
process.stdin.destroy();
