import type Table from 'cli-table3';
import { createRequire } from 'node:module';
import { fmtDuration, fmtQuotas, fmtReasons } from './fmt.js';
import { QUIRK_KINDS, type QuirkKind } from './quirks.js';
import type { AuditReport } from './report.js';
import { escapeControls, safeLines } from '../text/escape.js';

// cli-table3 is loaded on first use: keeps CLI start-up light.
const require = createRequire(import.meta.url);
const newTable = (o: Table.TableConstructorOptions): Table.Table => new (require('cli-table3') as typeof Table)(o);

const plain = { head: [] as string[], border: [] as string[] };

function table(head: string[], widths: Array<number | null>): Table.Table {
  return newTable({ head, style: plain, wordWrap: true, colWidths: widths as number[] });
}

/**
 * A table's lines, every cell escaped first (escapeControls): a name holding a newline
 * or an escape sequence stays inside its cell and cannot forge a row or a line.
 */
function tableLines(t: Table.Table): string[] {
  for (const row of t as unknown as unknown[][]) {
    for (let i = 0; i < row.length; i++) row[i] = escapeControls(String(row[i]));
  }
  return t.toString().split('\n');
}

/** Lines, or the lines of a table (already escaped cell by cell). */
type Out = Array<string | string[]>;

/**
 * The audit as readable text: a summary line, then the invariants, the quirks hit, the
 * quota report per vfio_mm and the per-vm summary, each a table (cli-table3).
 *
 * @example
 * process.stdout.write(formatText(auditLog(log)));
 */
export function formatText(r: AuditReport): string {
  const out: Out = [];
  const broken = r.invariants.filter((i) => !i.holds);
  const c = r.config;
  out.push(`audit of entries 1..${r.head.seq} (${r.requests} requests, ${r.transitions} transitions), ${r.first_at ?? '-'} .. ${r.last_at ?? '-'}`);
  out.push(`profile ${c.profile}, pasid_bits ${c.pasid_bits}, capacity ${c.capacity}, pasid_quota ${c.pasid_quota} at load`);
  const s4 = r.invariants.find((i) => i.id === 'S4');
  out.push(!r.chain_checked
    ? `chain head ${r.head.chain} NOT CHECKED (--no-verify: leaves and chain were not recomputed)`
    : s4 && !s4.holds
      ? `chain head ${r.head.chain} as stored: the chain does NOT check out (S4 broken at seq ${s4.first!.seq})`
      : `chain head ${r.head.chain} (recomputed from entry 1: every leaf and chain checked)`);
  out.push('');
  out.push(broken.length === 0 ? 'Invariants: all hold at every entry' : `Invariants: ${broken.length} BROKEN (${broken.map((i) => i.id).join(', ')})`);
  const inv = table(['id', 'invariant', 'result', 'first seq', 'breaks', 'first break, or what must hold'], [4, 24, 8, 11, 8, 60]);
  for (const i of r.invariants) {
    inv.push([i.id, i.name, i.holds ? 'holds' : 'BROKEN', i.first ? String(i.first.seq) : '-', String(i.violations), i.first ? i.first.detail : i.statement]);
  }
  out.push(tableLines(inv));
  out.push('');
  const q = r.quirks;
  const hit = (Object.keys(q.counts) as QuirkKind[]).filter((k) => q.counts[k] > 0);
  out.push(hit.length === 0 ? 'Kernel quirks: none hit' : `Kernel quirks hit: ${hit.map((k) => `${k} ${q.counts[k]}`).join(', ')}${q.truncated ? ' (first hits listed)' : ''}`);
  if (hit.length > 0) {
    const qt = table(['quirk', 'seq', 'request', 'detail'], [20, 8, 9, 70]);
    for (const h of q.hits) qt.push([h.kind, String(h.seq), String(h.request), h.detail]);
    out.push(tableLines(qt));
    for (const k of hit) out.push(`  ${k}: ${QUIRK_KINDS[k]}`);
  }
  out.push('');
  out.push(`Quota report per vfio_mm (${r.vfio_mms.length})`);
  if (r.vfio_mms.length > 0) {
    const mt = table(['vfio_mm', 'mm / gen', 'vm', 'lived (seq)', 'quota over time', 'peak held (seq)', 'time at quota', 'denied by reason', 'reclaimed'], [9, 14, 8, 12, 16, 12, 12, 26, 11]);
    for (const m of r.vfio_mms) {
      mt.push([
        `#${m.vfio_mm}`, `${m.mm} / ${m.gen}`, m.vm ?? '-', `${m.created_seq}..${m.released_seq ?? ''}`, fmtQuotas(m.quota_changes),
        `${m.peak_held}${m.peak_seq !== null ? ` (${m.peak_seq})` : ''}`, `${fmtDuration(m.at_quota_ms)}${m.at_quota_times ? ` (${m.at_quota_times}×)` : ''}`,
        fmtReasons(m.denied), String(m.reclaimed),
      ]);
    }
    out.push(tableLines(mt));
  }
  out.push('');
  out.push(`Per vm (${r.vms.length})`);
  if (r.vms.length > 0) {
    const vt = table(['vm', 'mm', 'requests', 'denials by reason', 'peak held (seq)', 'held at end', 'reclaimed'], [10, 14, 10, 34, 16, 8, 11]);
    for (const v of r.vms) {
      vt.push([v.vm, v.mms.join(', ') || '-', String(v.requests), v.denials ? `${v.denials}: ${fmtReasons(v.denied)}` : '0', `${v.peak_held}${v.peak_seq !== null ? ` (${v.peak_seq})` : ''}`, String(v.held_at_end), String(v.reclaimed)]);
    }
    out.push(tableLines(vt));
  }
  if (r.tokens.length > 0) {
    out.push('');
    out.push(`Server tokens (${r.tokens.length})`);
    const tt = table(['token', 'role', 'vm', 'granted', 'revoked', 'requests', 'denied', 'not valid at'], [10, 9, 12, 9, 9, 10, 8, 16]);
    for (const t of r.tokens) {
      tt.push([t.token, t.role, t.vm ?? '-', String(t.added || '-'), t.revoked === null ? '-' : String(t.revoked), String(t.requests), String(t.denied), t.unauthorized.length ? t.unauthorized.slice(0, 5).join(', ') : '-']);
    }
    out.push(tt.toString());
  }
  out.push('');
  out.push(...guestText(r));
  if (r.unchecked_allocs > 0) out.push('', `${r.unchecked_allocs} ALLOCs came from requests this audit cannot read a range from: their lowest-free order was not checked.`);
  out.push('');
  out.push(r.ok ? 'RESULT: every invariant holds' : `RESULT: ${broken.length} invariant(s) broken; first at seq ${Math.min(...broken.map((i) => i.first!.seq))}`);
  return safeLines(out.flat()) + '\n';
}

/** The guest view: virtual commands per vm, config space per PCI function, GET_INFO, and the guest flags. */
function guestText(r: AuditReport): Out {
  const g = r.guest;
  const out: Out = [];
  if (g.vcmd.length === 0 && g.devices.length === 0 && g.get_info.requests === 0) return ['Guest view: no virtual command, config access or GET_INFO in the log'];
  out.push(`Guest view: virtual commands per vm (${g.vcmd.length}); VCMD writes by the VCRSP status the guest read back`);
  if (g.vcmd.length > 0) {
    const vt = table(['vm', 'writes', 'ALLOC ok (0)', 'ALLOC no PASID (2)', 'FREE ok (0)', 'FREE invalid (2)', 'undefined (1)', 'dropped: no PAS', 'dropped: in progress', 'refused', 'VCRSP reads'], [10, 8, 8, 10, 8, 10, 11, 10, 12, 9, 8]);
    for (const v of g.vcmd) {
      vt.push([v.vm, v.writes, v.alloc_success, v.alloc_no_pasid_available, v.free_success, v.free_invalid_pasid, v.undefined_command, v.dropped_no_pas, v.dropped_in_progress, v.refused, v.reads].map(String));
    }
    out.push(tableLines(vt));
  }
  out.push(`Guest view: config space per PCI function (${g.devices.length}), pasid_cap_exposure ${r.config.pasid_cap_exposure}`);
  if (g.devices.length > 0) {
    const dt = table(['bdf', 'group', 'PASID cap', 'reads', 'writes', 'writes dropped (by reason)', 'raw writes', 'enable dropped', 'hidden raw', 'refused'], [15, 8, 14, 7, 8, 28, 9, 9, 8, 9]);
    for (const d of g.devices) {
      const cap = d.pasid_view === null ? '-' : `${d.pasid_view}${d.pasid_offset !== null ? ` @0x${d.pasid_offset.toString(16)}` : ''}`;
      dt.push([d.bdf, d.group ?? '-', cap, String(d.config_reads), String(d.config_writes), d.writes_dropped ? `${d.writes_dropped}: ${fmtReasons(d.dropped_by_reason)}` : '0', String(d.raw_writes), String(d.pasid_enable_dropped), String(d.hidden_pasid_cap_raw_write), String(d.refused)]);
    }
    out.push(tableLines(dt));
  }
  out.push(`GET_INFO: ${g.get_info.requests} request(s); ${g.get_info.pasid_reqs_without_vfio_mm} claimed PASID requests for a container without a vfio_mm`);
  const flags = r.quirks.hits.filter((h) => h.kind === 'pasid_enable_dropped');
  if (flags.length > 0) out.push(`Flag: guest tried to enable PASID on a read-only capability at seq ${flags.map((h) => `${h.seq}${h.bdf ? ` (${h.bdf})` : ''}`).join(', ')}`);
  return out;
}
