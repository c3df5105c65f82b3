/** The view in the URL's fragment (#seq=1234&vm=vm2&sel=57): paste it into a ticket, open it, land on the same view. */

export const FILTER_KEYS = ['vm', 'container', 'mm', 'pasid', 'op', 'outcome', 'reason', 'since', 'until', 'q', 'fold'] as const;
export type FilterKey = typeof FILTER_KEYS[number];
export type Filter = Partial<Record<FilterKey, string>>;

export interface ViewState {
  /** The scrubber: the host just after this seq. */
  seq: number | null;
  /** The entry whose explanation is open. */
  sel: number | null;
  /** The two marked moments, for the diff. */
  a: number | null;
  b: number | null;
  filter: Filter;
}

const num = (v: string | null): number | null => (v !== null && /^\d+$/.test(v) ? Number(v) : null);

export function parseHash(hash: string): ViewState {
  const p = new URLSearchParams(hash.replace(/^#/, ''));
  const filter: Filter = {};
  for (const k of FILTER_KEYS) {
    const v = p.get(k);
    if (v !== null && v !== '') filter[k] = v;
  }
  return { seq: num(p.get('seq')), sel: num(p.get('sel')), a: num(p.get('a')), b: num(p.get('b')), filter };
}

export function formatHash(v: ViewState): string {
  const p = new URLSearchParams();
  if (v.seq !== null) p.set('seq', String(v.seq));
  for (const k of FILTER_KEYS) if (v.filter[k]) p.set(k, v.filter[k]!);
  if (v.sel !== null) p.set('sel', String(v.sel));
  if (v.a !== null) p.set('a', String(v.a));
  if (v.b !== null) p.set('b', String(v.b));
  return `#${p}`;
}
