/** The explorer's JSON API (relative URLs: the app works at / and under /ui/). */

export interface Row {
  seq: number; at: string; type: string; op: string | null; machine: string | null; event: string | null;
  from: string | null; to: string | null; vm: string | null; container: string | null; mm: string | null;
  pasid: number | null; cause: number | null; ret: number | null; reason: string | null; caused: number;
}
export interface Page { total: number; offset: number; rows: Row[] }
export interface Meta {
  head: number; first_at: string | null; last_at: string | null; config: Record<string, unknown>;
  vms: string[]; containers: string[]; mms: string[]; ops: string[]; reasons: string[]; state_every: number; startup_ms: number;
}
export interface VfioMm { vfio_mm: number; mm: string; gen: number; refs: number; quota: number; set_quota: number; held: number; pasids: number[] }
export interface StateView {
  seq: number; at: string | null; profile: string; pasid_quota: number; capacity: number; capacity_avail: number;
  vms: Array<{ vm: string; mm: string; state: string; containers: string[] }>;
  containers: Array<{ container: string; vm: string; state: string; iommu_type: string | null; groups: string[]; vfio_mm: number | null }>;
  vfio_mms: VfioMm[];
}
export interface StateAnswer { view: StateView; pasids_held: number; timing: { from: number; evolved: number; ms: number } }
export interface SeriesPoint { seq: number; at: string; held: number; held_max: number; quota: number }
export interface Charts {
  total: number; seq: number[]; at: string[]; held: Array<{ vm: string; points: SeriesPoint[] }>;
  capacity_avail: number[]; capacity_min: number[]; capacity: number; denials: Array<{ reason: string; counts: number[] }>;
}
export interface RequestExplanation {
  seq: number; at: string; op: string; vm: string | null; req: Record<string, unknown>; ret: number; errno: string | null;
  pasid: number | null; reason: string | null; facts: Record<string, unknown>;
  transitions: Array<{ seq: number; machine: string; event: string; from: string; to: string }>; summary: string; why: string;
}
export type Explanation =
  | { seq: number; type: 'config'; summary: string }
  | ({ type: 'request' } & RequestExplanation)
  | { seq: number; type: 'transition'; summary: string; cause: RequestExplanation | null };
export interface LogDiff {
  from: { seq: number; at: string | null }; to: { seq: number; at: string | null };
  pasids: { held: { from: number; to: number }; alloc_events: number; free_events: number; by_vfio_mm: Array<{ vfio_mm: number; mm: string; allocated: number[]; freed: number[] }> };
  vfio_mms: { created: Array<{ seq: number; vfio_mm: number; mm: string }>; released: Array<{ seq: number; vfio_mm: number; mm: string; freed: number }> };
  pasid_quota: { from: number; to: number; changes: Array<{ seq: number; old: number; value: number; actor: string }> };
  capacity_avail: { from: number; to: number };
  vms: { started: Array<{ seq: number; vm: string }>; ended: Array<{ seq: number; vm: string; how: string }> };
}

/** GETs one API path; throws with the server's message on an error status. */
export async function get<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const res = await fetch(`api/${path}${q.size ? `?${q}` : ''}`);
  const body = await res.json() as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}
