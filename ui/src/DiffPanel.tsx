import type { LogDiff } from './api';

/** What changed between the two marked moments (as `diff`). */
export function DiffPanel({ d }: { d: LogDiff | null }) {
  if (!d) return <section class="panel diff" aria-label="diff"><h2>Diff</h2><p class="muted">Mark two moments (A and B) to see what changed between them.</p></section>;
  return (
    <section class="panel diff" aria-label="diff">
      <h2>Diff: seq {d.from.seq} → {d.to.seq}</h2>
      <ul>
        <li>PASIDs held {d.pasids.held.from} → {d.pasids.held.to} ({d.pasids.alloc_events} ALLOC, {d.pasids.free_events} FREE in between)</li>
        <li>capacity left {d.capacity_avail.from} → {d.capacity_avail.to}; pasid_quota {d.pasid_quota.from} → {d.pasid_quota.to}</li>
        {d.vms.started.map((v) => <li key={`s${v.seq}`}>seq {v.seq}: {v.vm} started</li>)}
        {d.vms.ended.map((v) => <li key={`e${v.seq}`}>seq {v.seq}: {v.vm} {v.how}</li>)}
        {d.vfio_mms.created.map((m) => <li key={`c${m.seq}`}>seq {m.seq}: vfio_mm #{m.vfio_mm} (mm {m.mm}) created</li>)}
        {d.vfio_mms.released.map((m) => <li key={`r${m.seq}`}>seq {m.seq}: vfio_mm #{m.vfio_mm} (mm {m.mm}) released, {m.freed} PASIDs freed</li>)}
        {d.pasid_quota.changes.map((c) => <li key={`q${c.seq}`}>seq {c.seq}: pasid_quota {c.old} → {c.value} by {c.actor}</li>)}
        {d.pasids.by_vfio_mm.map((m) => <li key={`m${m.vfio_mm}`}>vfio_mm #{m.vfio_mm} (mm {m.mm}): +{m.allocated.length} −{m.freed.length}</li>)}
      </ul>
    </section>
  );
}
