import type { VmReport } from './vm_report.js';
import { escapeControls } from '../text/escape.js';

/**
 * HTML/SVG text escaping for the report (attribute-safe): `& < > " '` as character
 * references, and control and bidi characters as visible escapes first (escapeControls),
 * so that a name cannot reorder or break the page's text, nor the terminal it is printed to.
 *
 * @example
 * esc('<vm "1">'); // '&#60;vm &#34;1&#34;&#62;'
 * esc('vm\u202e1'); // 'vm\\u202e1'
 */
export function esc(v: unknown): string {
  return escapeControls(String(v ?? '')).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Distinct, print-safe line colours; the nth vm takes the nth (cycling). */
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#393b79', '#637939'];

/** At most this many vms are drawn (the ones that held the most); the tables list them all. */
export const MAX_CHART_VMS = 12;

/** Layout of the chart, in SVG user units. */
const W = 960;
const H = 380;
const M = { left: 60, right: 20, top: 20, bottom: 56 };

/** A round step for an axis from 0 to `max` in about `n` ticks. */
function niceStep(max: number, n: number): number {
  const raw = Math.max(1, max) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return Math.max(1, nice * mag);
}

/**
 * The vms the chart draws: those that held the most, up to {@link MAX_CHART_VMS}, in report order.
 *
 * @example
 * chartVms(report.vms).length; // <= 12
 */
export function chartVms(vms: readonly VmReport[]): VmReport[] {
  if (vms.length <= MAX_CHART_VMS) return [...vms];
  const keep = new Set([...vms].sort((a, b) => b.peak_held - a.peak_held).slice(0, MAX_CHART_VMS).map((v) => v.vm));
  return vms.filter((v) => keep.has(v.vm));
}

/**
 * The chart of PASIDs held per vm over the log, with each vm's quota as a dashed line of
 * the same colour, as an inline SVG drawn here (no script needed to see it). The x axis
 * is the log position (seq), labelled with the entries' times; a vm's line is a step
 * function of the most it held in each stretch of the log.
 *
 * @example
 * const svg = heldChartSvg(report.vms, report.head.seq);
 * svg.startsWith('<svg'); // true
 */
export function heldChartSvg(vms: readonly VmReport[], lastSeq: number): string {
  const drawn = chartVms(vms);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  let ymax = 1;
  for (const v of drawn) for (const p of v.series) ymax = Math.max(ymax, p.held_max, p.quota);
  const ystep = niceStep(ymax, 5);
  const ytop = Math.ceil((ymax * 1.05) / ystep) * ystep;
  const xs = (seq: number) => M.left + (pw * seq) / Math.max(1, lastSeq);
  const ys = (v: number) => M.top + ph - (ph * v) / ytop;
  const f = (n: number) => n.toFixed(1);
  const parts: string[] = [];
  parts.push(`<svg id="held-chart" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="PASIDs held per vm over the log, with quotas">`);
  parts.push(`<rect class="plot" x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="#fff" stroke="#ccc"/>`);
  for (let v = 0; v <= ytop; v += ystep) {
    const y = f(ys(v));
    parts.push(`<line class="grid" x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    parts.push(`<text class="ytick" x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11">${v}</text>`);
  }
  // x ticks at about six seqs, each labelled with the seq and the time of that bucket.
  const any = drawn[0]?.series ?? [];
  const tickN = Math.min(6, any.length);
  for (let k = 0; k < tickN; k++) {
    const p = any[Math.round((k * (any.length - 1)) / Math.max(1, tickN - 1))]!;
    const x = f(xs(p.seq));
    // The outermost labels hang inwards so they stay inside the picture.
    const anchor = tickN > 1 && k === 0 ? 'start' : tickN > 1 && k === tickN - 1 ? 'end' : 'middle';
    parts.push(`<line class="xtick" x1="${x}" x2="${x}" y1="${M.top + ph}" y2="${M.top + ph + 4}" stroke="#999"/>`);
    parts.push(`<text class="xlabel" x="${x}" y="${M.top + ph + 16}" text-anchor="${anchor}" font-size="11">${p.seq}</text>`);
    parts.push(`<text class="xtime" x="${x}" y="${M.top + ph + 30}" text-anchor="${anchor}" font-size="10" fill="#666">${esc(p.at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''))}</text>`);
  }
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 6}" text-anchor="middle" font-size="11" fill="#444">log position (seq) and time</text>`);
  parts.push(`<text x="14" y="${M.top + ph / 2}" transform="rotate(-90 14 ${M.top + ph / 2})" text-anchor="middle" font-size="11" fill="#444">PASIDs</text>`);
  drawn.forEach((v, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const held: string[] = [`${f(xs(0))},${f(ys(0))}`];
    const quota: string[] = [`${f(xs(0))},${f(ys(0))}`];
    let prev = 0;
    for (const p of v.series) {
      held.push(`${f(xs(prev))},${f(ys(p.held_max))}`, `${f(xs(p.seq))},${f(ys(p.held_max))}`);
      quota.push(`${f(xs(prev))},${f(ys(p.quota))}`, `${f(xs(p.seq))},${f(ys(p.quota))}`);
      prev = p.seq;
    }
    parts.push(`<g class="series" data-vm="${esc(v.vm)}">`);
    parts.push(`<polyline class="quota" data-vm="${esc(v.vm)}" points="${quota.join(' ')}" fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 4" opacity="0.8"><title>${esc(v.vm)} quota</title></polyline>`);
    parts.push(`<polyline class="held" data-vm="${esc(v.vm)}" points="${held.join(' ')}" fill="none" stroke="${color}" stroke-width="2.2"><title>${esc(v.vm)}: PASIDs held (peak ${v.peak_held})</title></polyline>`);
    parts.push('</g>');
  });
  parts.push(`<line id="cursor" x1="0" x2="0" y1="${M.top}" y2="${M.top + ph}" stroke="#888" stroke-dasharray="2 2" visibility="hidden"/>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** The chart's geometry, for the page's script to map a pointer to a seq. */
export const CHART_GEOMETRY = Object.freeze({ width: W, height: H, ...M });
