import type { Meta } from './api';
import type { Filter, FilterKey } from './hash';

/** The timeline's filters; each change is applied on the server and lands in the URL. */
export function Filters({ meta, filter, onChange }: { meta: Meta | null; filter: Filter; onChange(f: Filter): void }) {
  const set = (k: FilterKey, v: string) => {
    const f = { ...filter };
    if (v === '') delete f[k];
    else f[k] = v;
    onChange(f);
  };
  const pick = (k: FilterKey, label: string, values: string[]) => (
    <label>{label}
      <select name={k} value={filter[k] ?? ''} onChange={(e) => set(k, (e.currentTarget as HTMLSelectElement).value)}>
        <option value="">any</option>
        {values.map((v) => <option key={v} value={v}>{v}</option>)}
      </select>
    </label>
  );
  const text = (k: FilterKey, label: string, placeholder: string) => (
    <label>{label}
      <input name={k} type="text" placeholder={placeholder} value={filter[k] ?? ''} onChange={(e) => set(k, (e.currentTarget as HTMLInputElement).value.trim())} />
    </label>
  );
  return (
    <form class="filters" aria-label="filters" onSubmit={(e) => e.preventDefault()}>
      {pick('vm', 'vm', meta?.vms ?? [])}
      {pick('container', 'container', meta?.containers ?? [])}
      {pick('mm', 'mm', meta?.mms ?? [])}
      {pick('op', 'op', meta?.ops ?? [])}
      {pick('outcome', 'outcome', ['ok', 'refused'])}
      {pick('reason', 'reason', meta?.reasons ?? [])}
      {text('pasid', 'PASID', 'e.g. 5')}
      {text('since', 'since', 'ISO time')}
      {text('until', 'until', 'ISO time')}
      {text('q', 'search names', 'vm, container, mm, op')}
      <label class="check"><input name="fold" type="checkbox" checked={filter.fold === '1'} onChange={(e) => set('fold', (e.currentTarget as HTMLInputElement).checked ? '1' : '')} /> fold transitions</label>
      <button type="button" onClick={() => onChange({})}>clear</button>
    </form>
  );
}
