import { encodePasidRequestV1 } from '../src/uapi/pasid_request_v1.js';
import { VFIO_IOMMU_PASID_ALLOC, VFIO_IOMMU_PASID_FREE } from '../src/uapi/vfio.js';
import { openLedger, type Ledger } from '../src/ledger.js';
import type { Outcome, Request } from '../src/model/types.js';
import type { StateView } from '../src/model/view.js';
import { steppingClock, tmpDb } from './helpers.js';
import Database from 'better-sqlite3';
import { readEntries } from './tamper.js';

/** The story's log: a ledger on a real file, the live view after each request, each request's outcome. */
export interface Story {
  path: string;
  ledger: Ledger;
  /** The view the ledger had right after each request (keyed by the last seq it wrote). */
  views: Map<number, StateView>;
  outcomes: Array<{ req: Request; out: Outcome }>;
}

const ALL = { min: 1, max: 0xfffff };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * A few hundred entries of a v1 host (pasid_quota 4, capacity 12) that go through
 * everything replay must reproduce: vms starting, exiting and crashing, a vfio_mm
 * shared by two containers, an fd handed to another vm, quota exhaustion, a quota
 * change (a lazy adjust that fails, one that succeeds), capacity exhaustion (a
 * container without vfio_mm), frees (own, another's, unallocated), the PASID 0
 * quirk, range exhaustion, raw PASID request structs, an mm token reused.
 */
export async function writeStory(path = tmpDb('story.db')): Promise<Story> {
  const ledger = await openLedger(path, { clock: steppingClock(), pasid_quota: 4, capacity: 12 });
  const views = new Map<number, StateView>();
  const outcomes: Story['outcomes'] = [];
  const go = (req: Request): Outcome => {
    const out = ledger.request(req);
    outcomes.push({ req, out });
    views.set(ledger.head().seq, ledger.view());
    return out;
  };
  const alloc = (container: string, extra: Partial<Request> = {}) => go({ op: 'pasid_alloc', container, ...ALL, ...extra } as Request);
  views.set(1, ledger.view());

  go({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
  go({ op: 'vm_start', vm: 'vm2', mm: '0x2000' });
  go({ op: 'vm_start', vm: 'vm3', mm: '0x3000' });
  go({ op: 'container_open', vm: 'vm9', container: 'cx' }); // no such vm
  go({ op: 'container_open', vm: 'vm1', container: 'c1' });
  go({ op: 'container_open', vm: 'vm1', container: 'c2' });
  go({ op: 'container_open', vm: 'vm2', container: 'c3' });
  go({ op: 'set_iommu', container: 'c1', type: 'VFIO_TYPE1_NESTING_IOMMU' }); // no groups
  go({ op: 'pasid_alloc', container: 'c1', ...ALL }); // no iommu
  go({ op: 'group_attach', container: 'c1', group: 'g1' });
  go({ op: 'group_attach', container: 'c2', group: 'g2' });
  go({ op: 'group_attach', container: 'c2', group: 'g1' }); // busy
  go({ op: 'group_attach', container: 'c3', group: 'g3' });
  for (const c of ['c1', 'c2', 'c3']) go({ op: 'set_iommu', container: c, type: 'VFIO_TYPE1_NESTING_IOMMU' });
  // vm1's two containers share one vfio_mm: 4 PASIDs in all, the fifth is quota_exhausted.
  for (let i = 0; i < 3; i++) alloc('c1');
  alloc('c2');
  alloc('c2');
  // vm2: PASID 0 quirk (min 0), then the ordinary ones.
  alloc('c3', { min: 0 });
  alloc('c3');
  alloc('c3');
  alloc('c3', { min: 1, max: 1 }); // range exhausted
  // frees: another's, unallocated, own.
  go({ op: 'pasid_free', container: 'c1', pasid: 5 });
  go({ op: 'pasid_free', container: 'c1', pasid: 999 });
  go({ op: 'pasid_free', container: 'c2', pasid: 2 });
  alloc('c1');
  // admin raises pasid_quota to 6; capacity_avail is 4, so vm1's lazy adjust fails (quirk).
  go({ op: 'set_pasid_quota', value: 6 }); // no actor
  go({ op: 'set_pasid_quota', value: 6, actor: 'admin' });
  alloc('c1');
  alloc('c1');
  // vm3 cannot get a vfio_mm (capacity): set iommu succeeds, ALLOC -EFAULT, FREE -EINVAL.
  go({ op: 'container_open', vm: 'vm3', container: 'c4' });
  go({ op: 'group_attach', container: 'c4', group: 'g4' });
  go({ op: 'set_iommu', container: 'c4', type: 'VFIO_TYPE1v2_IOMMU' });
  alloc('c4');
  go({ op: 'pasid_free', container: 'c4', pasid: 1 });
  // an mdev-only container has no IOMMU-backed domain.
  go({ op: 'container_open', vm: 'vm3', container: 'c6' });
  go({ op: 'group_attach', container: 'c6', group: 'm1', iommu_backed: false });
  go({ op: 'set_iommu', container: 'c6', type: 'VFIO_TYPE1_IOMMU' });
  alloc('c6');
  // vm2 crashes: its PASIDs, PASID 0 included, are reclaimed; capacity returns.
  go({ op: 'vm_crash', vm: 'vm2' });
  go({ op: 'pasid_alloc', container: 'c3', ...ALL }); // container closed
  // vm2 restarts with the same mm token: a new vfio_mm generation, quota 6.
  go({ op: 'vm_start', vm: 'vm2', mm: '0x2000' });
  go({ op: 'container_open', vm: 'vm2', container: 'c5' });
  go({ op: 'group_attach', container: 'c5', group: 'g5' });
  go({ op: 'set_iommu', container: 'c5', type: 'VFIO_TYPE1_NESTING_IOMMU' });
  // raw structs: ALLOC, FREE, a short buffer, both flags.
  go({ op: 'pasid_request', container: 'c5', hex: hex(encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_ALLOC, min: 1, max: 0xfffff })) });
  go({ op: 'pasid_request', container: 'c5', hex: hex(encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_ALLOC, min: 1, max: 0xfffff })) });
  go({ op: 'pasid_request', container: 'c5', hex: hex(encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_FREE, pasid: 5 })) });
  go({ op: 'pasid_request', container: 'c5', hex: '0800000001' });
  go({ op: 'pasid_request', container: 'c5', hex: hex(encodePasidRequestV1({ flags: 3 })) });
  // vm3 was handed c1's fd: its ALLOC is charged to vm1's vfio_mm.
  go({ op: 'pasid_alloc', container: 'c1', vm: 'vm3', ...ALL });
  // churn on vm2's account: allocate to quota, free some, again, a few rounds.
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 7; i++) alloc('c5');
    const held = ledger.view('vm2').vfio_mms[0]!.pasids;
    for (const p of held.filter((_, i) => i % 2 === round % 2)) go({ op: 'pasid_free', container: 'c5', pasid: p });
  }
  // admin lowers pasid_quota below what vm2 holds: the adjust fails with -EINVAL (quirk).
  go({ op: 'set_pasid_quota', value: 2, actor: 'admin' });
  alloc('c5');
  go({ op: 'set_pasid_quota', value: 6, actor: 'admin' });
  // vm1's second container loses its group: the vfio_mm loses a reference.
  go({ op: 'group_detach', container: 'c2', group: 'g2' });
  go({ op: 'group_detach', container: 'c2', group: 'g2' }); // not in it any more
  alloc('c2'); // no iommu now
  go({ op: 'vm_exit', vm: 'vm1' });
  go({ op: 'vm_exit', vm: 'vm1' }); // not running
  go({ op: 'container_close', container: 'c5' });
  go({ op: 'vm_exit', vm: 'vm2' });
  go({ op: 'vm_crash', vm: 'vm3' });
  return { path, ledger, views, outcomes };
}

/** The story written and its ledger closed, then read back: the story, its raw entries and an open handle. */
export interface ClosedStory {
  story: Story;
  entries: Array<Record<string, unknown>>;
  db: Database.Database;
}

/**
 * Writes the story, closes its ledger and opens the file again for the read side.
 *
 * @example
 * const { story, db, entries } = await closedStory(); ... db.close();
 */
export async function closedStory(): Promise<ClosedStory> {
  const story = await writeStory();
  story.ledger.close();
  return { story, entries: readEntries(story.path), db: new Database(story.path) };
}
