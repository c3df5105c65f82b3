import { CHART_GEOMETRY, chartVms, esc, heldChartSvg, PALETTE } from './chart_svg.js';
import { fmtDuration, fmtQuotas, fmtReasons } from './fmt.js';
import { QUIRK_KINDS, type QuirkKind } from './quirks.js';
import type { AuditReport } from './report.js';
import { createHash } from 'node:crypto';
import { escapeControls, jsonText } from '../text/escape.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;margin:2px 0}.verdict{display:inline-block;padding:6px 12px;border-radius:4px;font-weight:600;margin:10px 0}
.verdict.ok{background:#e3f4e3;color:#1b5e20}.verdict.broken{background:#fde2e2;color:#b71c1c}
table{border-collapse:collapse;background:#fff;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.broken td{background:#fff4f4}tr.holds td.res{color:#1b5e20}tr.broken td.res{color:#b71c1c;font-weight:600}
.chart-wrap{position:relative;display:inline-block;background:#fff;border:1px solid #ddd;padding:6px}
svg.chart{max-width:100%;height:auto;display:block}
#tip{position:absolute;pointer-events:none;background:rgba(255,255,255,.95);border:1px solid #bbb;padding:4px 8px;font-size:12px;display:none;white-space:nowrap}
.legend{margin:6px 0}.legend span{display:inline-block;margin-right:14px;cursor:pointer;user-select:none}.legend span.off{opacity:.35}
.legend i{display:inline-block;width:18px;height:0;border-top:3px solid;vertical-align:middle;margin-right:4px}
.legend i.q{border-top-style:dashed;border-top-width:2px}.muted{color:#777}code{font-size:12px}
`;

/** The page's script: hover read-out and legend toggles; it marks the page when it ran. */
const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('series-data').textContent);
  var svg = document.getElementById('held-chart');
  var tip = document.getElementById('tip');
  var cursor = document.getElementById('cursor');
  var g = data.geometry;
  function hide() { tip.style.display = 'none'; if (cursor) cursor.setAttribute('visibility', 'hidden'); }
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  document.querySelectorAll('.legend [data-vm]').forEach(function (el) {
    el.addEventListener('click', function () {
      var vm = el.getAttribute('data-vm');
      var off = el.classList.toggle('off');
      svg.querySelectorAll('g.series').forEach(function (s) { if (s.getAttribute('data-vm') === vm) s.style.display = off ? 'none' : ''; });
    });
  });
  if (svg) {
    svg.addEventListener('mousemove', function (ev) {
      var r = svg.getBoundingClientRect();
      var x = (ev.clientX - r.left) * g.width / r.width;
      var seq = (x - g.left) / (g.width - g.left - g.right) * data.lastSeq;
      if (!(seq >= 0 && seq <= data.lastSeq) || data.vms.length === 0) { hide(); return; }
      var rows = [], at = '';
      data.vms.forEach(function (v) {
        var p = null;
        for (var i = 0; i < v.points.length; i++) { if (v.points[i][0] >= seq) { p = v.points[i]; break; } }
        if (!p) p = v.points[v.points.length - 1];
        if (!p) return;
        at = p[1];
        rows.push('<b style="color:' + v.color + '">' + esc(v.vm) + '</b> held ' + p[3] + ' / quota ' + p[4]);
      });
      tip.innerHTML = 'seq ~' + Math.round(seq) + ' <span class="muted">' + esc(at) + '</span><br>' + rows.join('<br>');
      tip.style.display = 'block';
      tip.style.left = (ev.clientX - r.left + 14) + 'px';
      tip.style.top = (ev.clientY - r.top + 10) + 'px';
      if (cursor) { cursor.setAttribute('x1', x); cursor.setAttribute('x2', x); cursor.setAttribute('visibility', 'visible'); }
    });
    svg.addEventListener('mouseleave', hide);
  }
  document.body.setAttribute('data-chart', 'ready');
  document.body.setAttribute('data-series', String(svg ? svg.querySelectorAll('polyline.held').length : 0));
})();
`;

/**
 * The page's Content-Security-Policy: nothing may load from anywhere (default-src 'none'),
 * inline styles are allowed (the page's <style> and the legend's style attributes), and the
 * only script that may run is the page's own, named by its SHA-256. A name that slipped
 * through escaping still could not run a script, load an image or send a form.
 */
export const CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${createHash('sha256').update(SCRIPT, 'utf8').digest('base64')}'; base-uri 'none'; form-action 'none'`;

const td = (v: unknown, cls = ''): string => `<td${cls ? ` class="${cls}"` : ''}>${esc(v)}</td>`;
const num = (v: unknown): string => td(v, 'num');
const th = (...h: string[]): string => `<tr>${h.map((x) => `<th>${esc(x)}</th>`).join('')}</tr>`;

/** JSON for an inline `<script>`: `<` escaped so no text can close the element. */
function inlineJson(v: unknown): string {
  return jsonText(v).replace(/</g, '\\u003c');
}

/**
 * The audit as ONE self-contained HTML page: inline CSS, an inline SVG chart of PASIDs
 * held per vm with the quota lines (drawn on the server: it shows with scripts off), a
 * small inline script for hover read-outs, and the invariant, quirk, quota and per-vm
 * tables. No external URL of any kind: it opens offline.
 *
 * @example
 * writeFileSync('audit.html', formatHtml(report));
 */
export function formatHtml(r: AuditReport): string {
  const broken = r.invariants.filter((i) => !i.holds);
  const c = r.config;
  const drawn = chartVms(r.vms);
  const data = {
    lastSeq: r.head.seq,
    geometry: CHART_GEOMETRY,
    vms: drawn.map((v, i) => ({ vm: escapeControls(v.vm), color: PALETTE[i % PALETTE.length], points: v.series.map((p) => [p.seq, p.at, p.held, p.held_max, p.quota]) })),
  };
  const h: string[] = [];
  h.push('<!doctype html>', '<html lang="en">', '<head>', '<meta charset="utf-8">', `<meta http-equiv="Content-Security-Policy" content="${CSP}">`, '<meta name="viewport" content="width=device-width, initial-scale=1">');
  h.push(`<title>pasid-ledger audit: ${r.ok ? 'all invariants hold' : `${broken.length} invariant(s) broken`}</title>`);
  h.push(`<style>${CSS}</style>`, '</head>');
  h.push(`<body data-ok="${r.ok}">`);
  h.push('<h1>PASID ledger audit</h1>');
  h.push(`<p class="meta">entries 1..${r.head.seq} (${r.requests} requests, ${r.transitions} transitions), ${esc(r.first_at ?? '-')} .. ${esc(r.last_at ?? '-')}</p>`);
  h.push(`<p class="meta">profile ${esc(c.profile)}, pasid_bits ${c.pasid_bits}, capacity ${c.capacity}, pasid_quota ${c.pasid_quota} at load; chain head <code>${esc(r.head.chain)}</code></p>`);
  h.push(r.ok
    ? '<p class="verdict ok" id="verdict">Every invariant holds at every entry of the log.</p>'
    : `<p class="verdict broken" id="verdict">${broken.length} invariant(s) broken: ${broken.map((i) => `${esc(i.id)} ${esc(i.name)} (first at seq ${i.first!.seq})`).join(', ')}</p>`);

  h.push('<section id="chart-section"><h2>PASIDs held per vm over the log</h2>');
  h.push('<div class="legend">');
  drawn.forEach((v, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    h.push(`<span data-vm="${esc(v.vm)}" title="click to hide or show"><i style="border-color:${color}"></i>${esc(v.vm)} held <i class="q" style="border-color:${color}"></i>quota</span>`);
  });
  h.push('</div>');
  if (drawn.length < r.vms.length) h.push(`<p class="muted">The ${drawn.length} vms that held the most are drawn; all ${r.vms.length} are in the tables.</p>`);
  h.push(`<div class="chart-wrap">${heldChartSvg(r.vms, r.head.seq)}<div id="tip"></div></div>`);
  h.push('<p class="muted">Solid: PASIDs held by the vm\'s vfio_mms (the most held in each stretch of the log). Dashed: the sum of their sets\' quotas.</p></section>');

  h.push('<section id="invariants"><h2>Invariants (docs/kernel-behaviour.md section 8, and structural checks)</h2><table>');
  h.push(th('id', 'invariant', 'result', 'first seq', 'breaks', 'first break, or what must hold'));
  for (const i of r.invariants) {
    h.push(`<tr class="${i.holds ? 'holds' : 'broken'}" data-id="${esc(i.id)}">${td(i.id)}${td(i.name)}${td(i.holds ? 'holds' : 'BROKEN', 'res')}${num(i.first?.seq ?? '-')}${num(i.violations)}${td(i.first?.detail ?? i.statement)}</tr>`);
  }
  h.push('</table></section>');

  const q = r.quirks;
  const kinds = (Object.keys(q.counts) as QuirkKind[]).filter((k) => q.counts[k] > 0);
  h.push('<section id="quirks"><h2>Kernel quirks hit</h2>');
  if (kinds.length === 0) h.push('<p>None.</p>');
  else {
    h.push('<table>', th('quirk', 'times', 'what it means'));
    for (const k of kinds) h.push(`<tr>${td(k)}${num(q.counts[k])}${td(QUIRK_KINDS[k])}</tr>`);
    h.push('</table><table>', th('quirk', 'seq', 'request', 'at', 'detail'));
    for (const x of q.hits) h.push(`<tr data-kind="${esc(x.kind)}">${td(x.kind)}${num(x.seq)}${num(x.request)}${td(x.at)}${td(x.detail)}</tr>`);
    h.push('</table>');
    if (q.truncated) h.push('<p class="muted">Only the first hits are listed; the counts are complete.</p>');
  }
  h.push('</section>');

  h.push('<section id="quota"><h2>Quota report per vfio_mm</h2>');
  if (r.vfio_mms.length === 0) h.push('<p>No vfio_mm was created.</p>');
  else {
    h.push('<table>', th('vfio_mm', 'mm', 'gen', 'vm', 'created (seq)', 'released (seq)', 'quota over time', 'peak held', 'peak seq', 'time at quota', 'denied by reason', 'reclaimed at teardown'));
    for (const m of r.vfio_mms) {
      h.push(`<tr data-vfio-mm="${m.vfio_mm}">${td(`#${m.vfio_mm}`)}${td(m.mm)}${num(m.gen)}${td(m.vm ?? '-')}${num(m.created_seq)}${num(m.released_seq ?? '-')}${td(fmtQuotas(m.quota_changes))}${num(m.peak_held)}${num(m.peak_seq ?? '-')}${td(`${fmtDuration(m.at_quota_ms)}${m.at_quota_times ? ` (${m.at_quota_times}×)` : ''}`)}${td(fmtReasons(m.denied))}${num(m.reclaimed)}</tr>`);
    }
    h.push('</table>');
    h.push('<table>', th('vfio_mm', 'seq', 'at', 'quota', 'set quota'));
    for (const m of r.vfio_mms) for (const x of m.quota_changes) h.push(`<tr>${td(`#${m.vfio_mm}`)}${num(x.seq)}${td(x.at)}${num(x.quota)}${num(x.set_quota)}</tr>`);
    h.push('</table>');
  }
  h.push('</section>');

  h.push('<section id="vms"><h2>Per vm</h2>');
  if (r.vms.length === 0) h.push('<p>No vm.</p>');
  else {
    h.push('<table>', th('vm', 'mm', 'starts', 'requests', 'denials', 'denied by reason', 'peak held', 'peak seq', 'held at end', 'reclaimed', 'vfio_mms'));
    for (const v of r.vms) {
      h.push(`<tr data-vm="${esc(v.vm)}">${td(v.vm)}${td(v.mms.join(', '))}${num(v.starts)}${num(v.requests)}${num(v.denials)}${td(fmtReasons(v.denied))}${num(v.peak_held)}${num(v.peak_seq ?? '-')}${num(v.held_at_end)}${num(v.reclaimed)}${td(v.vfio_mms.map((x) => `#${x}`).join(' '))}</tr>`);
    }
    h.push('</table>');
  }
  h.push('</section>');
  h.push(...guestHtml(r));
  if (r.unchecked_allocs > 0) h.push(`<p class="muted">${r.unchecked_allocs} ALLOCs came from requests this audit cannot read a range from: their lowest-free order was not checked.</p>`);
  h.push(`<script type="application/json" id="series-data">${inlineJson(data)}</script>`);
  h.push(`<script>${SCRIPT}</script>`);
  h.push('</body>', '</html>');
  return h.join('\n') + '\n';
}

/** The guest view section: virtual commands per vm, config space per PCI function, GET_INFO, flags. */
function guestHtml(r: AuditReport): string[] {
  const g = r.guest;
  const h: string[] = ['<section id="guest"><h2>Guest view</h2>'];
  h.push('<h3>Virtual commands per vm</h3>');
  if (g.vcmd.length === 0) h.push('<p>No virtual command.</p>');
  else {
    h.push('<table id="guest-vcmd">', th('vm', 'VCMD writes', 'ALLOC ok (0)', 'ALLOC no PASID (2)', 'FREE ok (0)', 'FREE invalid (2)', 'undefined (1)', 'dropped: no PAS', 'dropped: in progress', 'refused', 'VCRSP reads'));
    for (const v of g.vcmd) {
      h.push(`<tr data-vm="${esc(v.vm)}">${td(v.vm)}${num(v.writes)}${num(v.alloc_success)}${num(v.alloc_no_pasid_available)}${num(v.free_success)}${num(v.free_invalid_pasid)}${num(v.undefined_command)}${num(v.dropped_no_pas)}${num(v.dropped_in_progress)}${num(v.refused)}${num(v.reads)}</tr>`);
    }
    h.push('</table>');
  }
  h.push(`<h3>Config space per PCI function (pasid_cap_exposure ${esc(r.config.pasid_cap_exposure)})</h3>`);
  if (g.devices.length === 0) h.push('<p>No PCI function.</p>');
  else {
    h.push('<table id="guest-devices">', th('bdf', 'group', 'PASID capability', 'reads', 'writes', 'writes dropped', 'dropped by reason', 'raw writes', 'enable dropped', 'hidden raw', 'refused'));
    for (const d of g.devices) {
      const cap = d.pasid_view === null ? '-' : `${d.pasid_view}${d.pasid_offset !== null ? ` @0x${d.pasid_offset.toString(16)}` : ''}`;
      h.push(`<tr data-bdf="${esc(d.bdf)}">${td(d.bdf)}${td(d.group ?? '-')}${td(cap)}${num(d.config_reads)}${num(d.config_writes)}${num(d.writes_dropped)}${td(fmtReasons(d.dropped_by_reason))}${num(d.raw_writes)}${num(d.pasid_enable_dropped)}${num(d.hidden_pasid_cap_raw_write)}${num(d.refused)}</tr>`);
    }
    h.push('</table>');
  }
  h.push(`<p id="guest-get-info">GET_INFO: ${g.get_info.requests} request(s); ${g.get_info.pasid_reqs_without_vfio_mm} claimed PASID requests for a container without a vfio_mm.</p>`);
  const flags = r.quirks.hits.filter((x) => x.kind === 'pasid_enable_dropped');
  if (flags.length > 0) h.push(`<p id="guest-flags">Guest tried to enable PASID on a read-only capability at seq ${flags.map((x) => `${x.seq}${x.bdf ? ` (${esc(x.bdf)})` : ''}`).join(', ')}.</p>`);
  h.push('</section>');
  return h;
}
