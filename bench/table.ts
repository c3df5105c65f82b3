import Table from 'cli-table3';
import type { MachineInfo } from './machine.js';
import type { BenchRow, Target } from './row.js';
import type { BenchReport } from './run.js';

/**
 * A figure with thousands separators and sensible precision.
 *
 * @example
 * fmtNum(33413.2); // '33,413'
 */
export function fmtNum(v: number | null, unit = ''): string {
  if (v === null) return '-';
  if (unit === 's') return v.toFixed(3);
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(v >= 10 ? 1 : 2);
}

function fmtTarget(t: Target, unit: string): string {
  switch (t.kind) {
    case 'ratio': return `>= ${t.min} x ceiling`;
    case 'min': return `>= ${fmtNum(t.value)} ${unit}`;
    case 'max': return `${unit === 's' ? '<' : '<='} ${fmtNum(t.value)} ${unit}`;
    case 'none': return '-';
  }
}

function verdict(r: BenchRow): string {
  if (r.value === null) return 'TODO';
  if (r.pass === null) return '-';
  return r.pass ? 'met' : 'MISSED';
}

/**
 * One line describing the machine.
 *
 * @example
 * fmtMachine(report.machine); // 'AMD EPYC, 2 cores, 23.5 GB, Linux ..., node v20.20.2, SQLite 3.53.2'
 */
export function fmtMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memory_gb} GB, ${m.os}, node ${m.node}, SQLite ${m.sqlite}`;
}

/**
 * The bench report as a text table (cli-table3), the machine line and the notes.
 *
 * @example
 * process.stdout.write(renderReport(await runBench({ quick: true })));
 */
export function renderReport(rep: BenchReport): string {
  const t = new Table({ head: ['figure', 'value', 'unit', 'ceiling (raw)', 'ratio', 'target', 'result'], style: { head: [], border: [] } });
  for (const r of rep.rows) {
    t.push([r.figure, fmtNum(r.value, r.unit), r.unit, fmtNum(r.ceiling, r.unit), r.ratio === null ? '-' : r.ratio.toFixed(2), fmtTarget(r.target, r.unit), verdict(r)]);
  }
  const lines = [
    `machine: ${fmtMachine(rep.machine)}`,
    `run: ${rep.started}, ${rep.seconds.toFixed(0)} s${rep.quick ? ' (--quick: small sizes, the figures mean little)' : ''}`,
    t.toString(),
    ...rep.rows.filter((r) => r.note).map((r) => `- ${r.figure}: ${r.note}`),
    ...rep.notes.map((n) => `- ${n}`),
  ];
  return lines.join('\n') + '\n';
}

/**
 * The bench report as a Markdown table (for docs/bench.md).
 *
 * @example
 * renderMarkdown(report).split('\n')[0]; // '| figure | value | unit | ceiling (raw) | ratio | target | result |'
 */
export function renderMarkdown(rep: BenchReport): string {
  const out = ['| figure | value | unit | ceiling (raw) | ratio | target | result |', '|---|---:|---|---:|---:|---|---|'];
  for (const r of rep.rows) {
    out.push(`| ${r.figure} | ${fmtNum(r.value, r.unit)} | ${r.unit} | ${fmtNum(r.ceiling, r.unit)} | ${r.ratio === null ? '-' : r.ratio.toFixed(2)} | ${fmtTarget(r.target, r.unit)} | ${verdict(r)} |`);
  }
  return out.join('\n') + '\n';
}
