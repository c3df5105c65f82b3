import { explainText } from '../src/cli/explain.js';
import { openLogFile } from '../src/cli/open_log.js';
import { explain } from '../src/replay/explain.js';
import { jsonText } from '../src/text/escape.js';
import { runDemo } from '../src/cli/demo.js';
import { openLedger } from '../src/ledger.js';
import type { Profile } from '../src/model/types.js';
import { encodePasidRequestV1 } from '../src/uapi/pasid_request_v1.js';
import { encodePasidRequestV7 } from '../src/uapi/pasid_request_v7.js';
import { VFIO_IOMMU_FLAG_ALLOC_PASID, VFIO_IOMMU_FLAG_FREE_PASID, VFIO_IOMMU_PASID_ALLOC, VFIO_IOMMU_PASID_FREE } from '../src/uapi/vfio.js';
import { guestStory } from './guest_story.js';
import { setupVm, steppingClock, tmpDb } from './helpers.js';

/** Shared material of the explain golden suite (not a suite itself): logs built with a fixed clock. */

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The demo's story (`pasid-ledger demo`: v1, pasid_quota 8), logged with a stepping clock. */
async function demoLog(): Promise<string> {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock(), pasid_quota: 8 });
  runDemo(l);
  l.close();
  return path;
}

/** PASID requests through the raw struct and the named ops, the lifecycle's edges, under one profile. */
async function pasidLog(profile: Profile): Promise<string> {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock(), profile, pasid_quota: 3, capacity: 6 });
  setupVm(l, 'vm1', '0x1000', 'c1', 'g1');
  const v1 = profile === 'v1';
  const alloc = (min: number, max: number) => hexOf(v1
    ? encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_ALLOC, min, max })
    : encodePasidRequestV7({ flags: VFIO_IOMMU_FLAG_ALLOC_PASID, min, max }));
  const free = (min: number, max: number) => hexOf(v1
    ? encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_FREE, pasid: min })
    : encodePasidRequestV7({ flags: VFIO_IOMMU_FLAG_FREE_PASID, min, max }));
  l.request({ op: 'pasid_request', container: 'c1', hex: alloc(1, 0xfffff) });
  l.request({ op: 'pasid_request', container: 'c1', hex: alloc(10, 5) });
  l.request({ op: 'pasid_request', container: 'c1', hex: '0800000003000000' });
  l.request({ op: 'pasid_request', container: 'c1', hex: free(1, 1) });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 0, max: 4 });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 0x100000, max: 0x100010 });
  l.request({ op: 'pasid_free', container: 'c1', pasid: 77 });
  l.request({ op: 'pasid_free', container: 'nope', pasid: 1 });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  l.request({ op: 'set_pasid_quota', value: 1 });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  l.request({ op: 'set_pasid_quota', value: 5, actor: 'ops' });
  l.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
  setupVm(l, 'vm2', '0x2000', 'c2', 'g2');
  l.request({ op: 'pasid_alloc', container: 'c2', min: 1, max: 0xfffff });
  if (!v1) l.request({ op: 'pasid_free', container: 'c1', min: 0, max: 0xfffff });
  l.request({ op: 'container_open', vm: 'vm1', container: 'c1' });
  l.request({ op: 'container_open', vm: 'ghost', container: 'c9' });
  l.request({ op: 'group_attach', container: 'c1', group: 'g2' });
  l.request({ op: 'group_detach', container: 'c2', group: 'g2' });
  l.request({ op: 'set_iommu', container: 'c2', type: 'VFIO_TYPE1_NESTING_IOMMU' });
  l.request({ op: 'container_close', container: 'c2' });
  l.request({ op: 'set_iommu', container: 'c9', type: 'VFIO_TYPE1v2_IOMMU' });
  l.request({ op: 'vm_exit', vm: 'vm1' });
  l.request({ op: 'vm_crash', vm: 'vm2' });
  l.request({ op: 'vm_exit', vm: 'ghost' });
  l.close();
  return path;
}

/** The logs the explain golden suite explains, entry by entry, by name. */
export async function explainLogs(): Promise<Array<{ name: string; path: string }>> {
  const out: Array<{ name: string; path: string }> = [{ name: 'demo', path: await demoLog() }];
  for (const [p, x] of [['v1', 'hidden'], ['v7', 'exposed']] as const) {
    const g = await guestStory(p, x);
    g.ledger.close();
    out.push({ name: `guest_${p}_${x}`, path: g.path });
  }
  for (const p of ['v1', 'v7'] as const) out.push({ name: `pasid_${p}`, path: await pasidLog(p) });
  return out;
}

/** What `explain` prints for every seq of a log, as text and as `--json`. */
export async function explainAll(path: string): Promise<Array<{ seq: number; text: string; json: string }>> {
  const db = await openLogFile(path);
  try {
    const head = (db.prepare('SELECT max(seq) AS n FROM entries').get() as { n: number }).n;
    const out: Array<{ seq: number; text: string; json: string }> = [];
    for (let seq = 1; seq <= head; seq++) {
      const x = explain(db, seq);
      out.push({ seq, text: explainText(x) + '\n', json: jsonText(x, 2) + '\n' });
    }
    return out;
  } finally {
    db.close();
  }
}
