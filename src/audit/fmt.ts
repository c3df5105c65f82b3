/** Small formatters shared by the audit's text, csv and html renderings. */

/**
 * A duration in milliseconds as `1h 2m 3s` (`0s` for none, milliseconds below a second).
 *
 * @example
 * fmtDuration(3_723_000); // '1h 2m 3s'
 */
export function fmtDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let s = Math.round(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].filter(Boolean);
  return parts.join(' ') || '0s';
}

/**
 * Counts by reason as `quota_exhausted 3, not_owner 1` (largest first), `-` when none.
 *
 * @example
 * fmtReasons({ not_owner: 1, quota_exhausted: 3 }); // 'quota_exhausted 3, not_owner 1'
 */
export function fmtReasons(counts: Record<string, number>): string {
  const rows = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return rows.length ? rows.map(([k, n]) => `${k} ${n}`).join(', ') : '-';
}

/**
 * A vfio_mm's quota history as `4 → 6 (set 4)`: each change, with the set's limit where it differs.
 *
 * @example
 * fmtQuotas([{ quota: 4, set_quota: 4 }, { quota: 6, set_quota: 6 }]); // '4 → 6'
 */
export function fmtQuotas(changes: ReadonlyArray<{ quota: number; set_quota: number }>): string {
  return changes.map((c) => (c.quota === c.set_quota ? `${c.quota}` : `${c.quota} (set ${c.set_quota})`)).join(' → ');
}
