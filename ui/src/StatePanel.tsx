import type { StateAnswer } from './api';

const MAX_IDS = 96;

/** The host at the scrubber's moment: vms, containers, vfio_mms with their quota bars, PASIDs held, capacity left. */
export function StatePanel({ st, vm }: { st: StateAnswer | null; vm: string | undefined }) {
  if (!st) return <section class="panel state" aria-label="host state"><h2>Host</h2><p class="muted">loading…</p></section>;
  const v = st.view;
  const used = v.capacity - v.capacity_avail;
  return (
    <section class="panel state" aria-label="host state" data-seq={v.seq}>
      <h2>Host after seq {v.seq}{vm ? ` (${vm})` : ''}</h2>
      <p class="muted">{v.at ?? 'before the first entry'} · {v.profile} · pasid_quota {v.pasid_quota} · {st.pasids_held} PASIDs held · answered in {st.timing.ms} ms (from state {st.timing.from}, {st.timing.evolved} entries replayed)</p>
      <div class="bar-line">
        <label for="cap-meter">capacity left {v.capacity_avail.toLocaleString('en')} of {v.capacity.toLocaleString('en')}</label>
        <meter id="cap-meter" min={0} max={v.capacity} value={v.capacity_avail} low={v.capacity * 0.1} optimum={v.capacity}>{v.capacity_avail}</meter>
        <span class="muted">{used.toLocaleString('en')} promised to live vfio_mms</span>
      </div>
      <h3>vfio_mms</h3>
      {v.vfio_mms.length === 0 ? <p class="muted">none live</p> : (
        <ul class="mms">
          {v.vfio_mms.map((m) => (
            <li key={m.vfio_mm} data-vfio-mm={m.vfio_mm} data-mm={m.mm}>
              <div class="bar-line">
                <label for={`mm-${m.vfio_mm}`}>vfio_mm #{m.vfio_mm} (mm {m.mm}, gen {m.gen}, refs {m.refs}): {m.held} of {m.set_quota} held</label>
                <meter id={`mm-${m.vfio_mm}`} min={0} max={Math.max(1, m.set_quota)} value={m.held} high={m.set_quota * 0.9} optimum={0}>{m.held}</meter>
              </div>
              <div class="pasids" data-testid={`pasids-${m.mm}`}>PASIDs {m.pasids.length === 0 ? 'none' : m.pasids.slice(0, MAX_IDS).join(', ')}{m.pasids.length > MAX_IDS ? ` … ${m.pasids.length - MAX_IDS} more` : ''}</div>
            </li>
          ))}
        </ul>
      )}
      <h3>vms</h3>
      <table>
        <thead><tr><th scope="col">vm</th><th scope="col">mm</th><th scope="col">state</th><th scope="col">containers</th></tr></thead>
        <tbody>{v.vms.map((x) => <tr key={x.vm} data-vm={x.vm}><td>{x.vm}</td><td>{x.mm}</td><td>{x.state}</td><td>{x.containers.join(', ') || '-'}</td></tr>)}</tbody>
      </table>
      <h3>containers</h3>
      <table>
        <thead><tr><th scope="col">container</th><th scope="col">vm</th><th scope="col">state</th><th scope="col">IOMMU</th><th scope="col">groups</th><th scope="col">vfio_mm</th></tr></thead>
        <tbody>{v.containers.map((c) => <tr key={c.container}><td>{c.container}</td><td>{c.vm}</td><td>{c.state}</td><td>{c.iommu_type ?? '-'}</td><td>{c.groups.join(', ') || '-'}</td><td>{c.vfio_mm ?? '-'}</td></tr>)}</tbody>
      </table>
    </section>
  );
}
