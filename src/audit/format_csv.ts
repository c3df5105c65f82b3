import { fmtReasons } from './fmt.js';
import type { AuditReport } from './report.js';
import { escapeControls } from '../text/escape.js';

/**
 * The CSV layout, section by section. Every row starts with its section's name, and each
 * section opens with a header row whose first cell is `section`: a spreadsheet can load
 * the whole file and filter on column A to get one table. Sections are separated by an
 * empty line. Values follow RFC 4180 (quoted when they hold a comma or a quote).
 *
 * Hostile names (see {@link csvCell}): control and bidi characters in a text cell are
 * written as visible escapes (`\n`, `\e`, `\u202e`), so a cell never spans lines; a text
 * cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` and quoted, so a
 * spreadsheet shows it as text instead of running it as a formula (OWASP CSV injection).
 */
export const CSV_SECTIONS = Object.freeze({
  summary: ['key', 'value'],
  invariant: ['id', 'name', 'holds', 'violations', 'first_seq', 'first_at', 'detail'],
  quirk: ['kind', 'seq', 'request', 'at', 'vm', 'mm', 'vfio_mm', 'pasid', 'detail', 'bdf'],
  vfio_mm: [
    'vfio_mm', 'mm', 'gen', 'vm', 'created_seq', 'created_at', 'released_seq', 'released_at', 'quota', 'set_quota',
    'peak_held', 'peak_seq', 'peak_at', 'at_quota_ms', 'at_quota_times', 'allocs', 'frees', 'denied', 'denied_by_reason', 'reclaimed', 'held_at_end',
  ],
  quota_change: ['vfio_mm', 'mm', 'gen', 'seq', 'at', 'quota', 'set_quota'],
  vm: ['vm', 'mms', 'starts', 'requests', 'denials', 'denied_by_reason', 'peak_held', 'peak_seq', 'peak_at', 'held_at_end', 'reclaimed', 'vfio_mms'],
  denial: ['scope', 'key', 'reason', 'count'],
  held: ['vm', 'seq', 'at', 'held', 'held_max', 'quota'],
  guest_vcmd: [
    'vm', 'writes', 'reads', 'alloc_success', 'alloc_no_pasid_available', 'free_success', 'free_invalid_pasid', 'undefined_command',
    'dropped_no_pas', 'dropped_in_progress', 'refused',
  ],
  guest_device: [
    'bdf', 'group', 'is_vf', 'pasid_view', 'pasid_offset', 'adds', 'removes', 'config_reads', 'config_writes', 'refused',
    'writes_dropped', 'dropped_by_reason', 'raw_writes', 'pasid_enable_dropped', 'hidden_pasid_cap_raw_write',
  ],
} as const);

/** One line of `--help` per section: what `audit --format csv` writes. */
export const CSV_HELP = [
  'CSV: one file, one section per table; every row starts with its section name and each',
  'section opens with a header row whose first cell is "section" (filter column A in a spreadsheet):',
  ...Object.entries(CSV_SECTIONS).map(([k, cols]) => `  ${k}: ${cols.join(',')}`),
  '  (quota and set_quota of a vfio_mm are the last values; quota_change lists each change;',
  '   at_quota_ms is the time held == the set\'s quota; held is PASIDs held per vm over the log)',
  '  (guest_vcmd: one row per vm, its VCMD writes by command and the VCRSP status the guest read',
  '   back (ALLOC/FREE success = status 0, no_pasid_available / invalid_pasid = status 2,',
  '   undefined_command = status 1), writes QEMU dropped, refused = the vm was not running;',
  '   guest_device: one row per PCI function, pasid_view/pasid_offset from its last add,',
  '   writes_dropped = config writes vfio-pci dropped and reported as success, by reason,',
  '   pasid_enable_dropped = tries to enable PASID on a read-only capability, raw_writes = writes',
  '   that reached the hardware; summary adds get_info_requests and',
  '   get_info_pasid_reqs_without_vfio_mm; a quirk row names its bdf for a config-space quirk)',
].join('\n');

/**
 * One CSV cell. Typed numbers and booleans are written as they are: the report's numbers
 * come from the log's arithmetic, never from a caller, and `-14` (an errno) must stay a
 * number a spreadsheet can sum. Text cells are where caller-chosen names land: their
 * control and bidi characters become visible escapes (escapeControls), and one whose first
 * character a spreadsheet would read as the start of a formula (`=`, `+`, `-`, `@`, tab,
 * CR) is neutralised with a leading `'` and quoted (OWASP). The lone `-` the report writes
 * for "none" is left alone: it is not a formula. Never throws.
 *
 * @example
 * csvCell(-14);                      // '-14'
 * csvCell("=cmd|' /C calc'!A0");     // `"'=cmd|' /C calc'!A0"`
 * csvCell('a,b');                    // '"a,b"'
 */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  const raw = String(v);
  const formula = raw !== '-' && /^[=+\-@\t\r]/.test(raw);
  const s = (formula ? `'` : '') + escapeControls(raw);
  return formula || /[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const cell = csvCell;

/**
 * The audit as CSV (see {@link CSV_SECTIONS}).
 *
 * @example
 * writeFileSync('audit.csv', formatCsv(report));
 */
export function formatCsv(r: AuditReport): string {
  const lines: string[] = [];
  const section = (name: keyof typeof CSV_SECTIONS, rows: unknown[][]): void => {
    if (lines.length) lines.push('');
    lines.push(['section', ...CSV_SECTIONS[name]].map(cell).join(','));
    for (const row of rows) lines.push([name, ...row].map(cell).join(','));
  };
  const c = r.config;
  section('summary', [
    ['ok', r.ok], ['entries', r.entries], ['head_seq', r.head.seq], ['head_chain', r.head.chain], ['chain_checked', r.chain_checked], ['requests', r.requests], ['transitions', r.transitions],
    ['first_at', r.first_at], ['last_at', r.last_at], ['profile', c.profile], ['pasid_bits', c.pasid_bits], ['capacity', c.capacity],
    ['pasid_quota', c.pasid_quota], ['unchecked_allocs', r.unchecked_allocs], ['pasid_cap_exposure', c.pasid_cap_exposure],
    ['get_info_requests', r.guest.get_info.requests], ['get_info_pasid_reqs_without_vfio_mm', r.guest.get_info.pasid_reqs_without_vfio_mm],
  ]);
  section('invariant', r.invariants.map((i) => [i.id, i.name, i.holds, i.violations, i.first?.seq, i.first?.at, i.first?.detail ?? i.statement]));
  section('quirk', r.quirks.hits.map((h) => [h.kind, h.seq, h.request, h.at, h.vm, h.mm, h.vfio_mm, h.pasid, h.detail, h.bdf]));
  section('vfio_mm', r.vfio_mms.map((m) => {
    const last = m.quota_changes[m.quota_changes.length - 1];
    return [
      m.vfio_mm, m.mm, m.gen, m.vm, m.created_seq, m.created_at, m.released_seq, m.released_at, last?.quota, last?.set_quota,
      m.peak_held, m.peak_seq, m.peak_at, m.at_quota_ms, m.at_quota_times, m.allocs, m.frees, m.denied_total, fmtReasons(m.denied), m.reclaimed, m.held_at_end,
    ];
  }));
  section('quota_change', r.vfio_mms.flatMap((m) => m.quota_changes.map((q) => [m.vfio_mm, m.mm, m.gen, q.seq, q.at, q.quota, q.set_quota])));
  section('vm', r.vms.map((v) => [
    v.vm, v.mms.join(' '), v.starts, v.requests, v.denials, fmtReasons(v.denied), v.peak_held, v.peak_seq, v.peak_at, v.held_at_end, v.reclaimed, v.vfio_mms.join(' '),
  ]));
  section('denial', [
    ...r.vms.flatMap((v) => Object.entries(v.denied).map(([k, n]) => ['vm', v.vm, k, n])),
    ...r.vfio_mms.flatMap((m) => Object.entries(m.denied).map(([k, n]) => ['vfio_mm', m.vfio_mm, k, n])),
  ]);
  section('held', r.vms.flatMap((v) => v.series.map((p) => [v.vm, p.seq, p.at, p.held, p.held_max, p.quota])));
  section('guest_vcmd', r.guest.vcmd.map((v) => [
    v.vm, v.writes, v.reads, v.alloc_success, v.alloc_no_pasid_available, v.free_success, v.free_invalid_pasid, v.undefined_command,
    v.dropped_no_pas, v.dropped_in_progress, v.refused,
  ]));
  section('guest_device', r.guest.devices.map((d) => [
    d.bdf, d.group, d.is_vf, d.pasid_view, d.pasid_offset, d.adds, d.removes, d.config_reads, d.config_writes, d.refused,
    d.writes_dropped, fmtReasons(d.dropped_by_reason), d.raw_writes, d.pasid_enable_dropped, d.hidden_pasid_cap_raw_write,
  ]));
  return lines.join('\n') + '\n';
}
