import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Charts } from './api';

const COLOURS = ['#1f5fa8', '#b3261e', '#2e7d32', '#8e44ad', '#b45f06', '#00796b', '#5d4037', '#c2185b'];

interface Props { charts: Charts | null; now: number | null; a: number | null; b: number | null; onPick(seq: number): void }

/** PASIDs held per vm, capacity left and denials by reason over the log; a click scrubs there. */
export function ChartsPanel({ charts, now, a, b, onPick }: Props) {
  if (!charts) return <section class="panel charts" aria-label="charts"><h2>Charts</h2><p class="muted">loading…</p></section>;
  const x = charts.seq;
  const vms = charts.held.slice(0, 24);
  return (
    <section class="panel charts" aria-label="charts">
      <h2>Charts</h2>
      <p class="muted">x: seq. Click a chart to scrub there. The line marks the scrubber; A and B the marked moments.</p>
      <Plot title="PASIDs held per vm (most in each bucket)" x={x} series={vms.map((v) => ({ label: v.vm, data: v.points.map((p) => p.held_max) }))} marks={{ now, a, b }} onPick={onPick} />
      <Plot title="capacity left (capacity_avail)" x={x} series={[{ label: 'capacity_avail', data: charts.capacity_avail }]} marks={{ now, a, b }} onPick={onPick} />
      <Plot title="denials by reason (per bucket)" x={x} series={charts.denials.map((d) => ({ label: d.reason, data: d.counts }))} marks={{ now, a, b }} onPick={onPick} bars />
      {charts.held.length > vms.length ? <p class="muted">{charts.held.length - vms.length} more vms not drawn: filter the timeline by vm to see one.</p> : null}
    </section>
  );
}

interface PlotProps {
  title: string;
  x: number[];
  series: Array<{ label: string; data: number[] }>;
  marks: { now: number | null; a: number | null; b: number | null };
  onPick(seq: number): void;
  bars?: boolean;
}

function Plot({ title, x, series, marks, onPick, bars }: PlotProps) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const marksRef = useRef(marks);
  marksRef.current = marks;
  const pickRef = useRef(onPick);
  pickRef.current = onPick;

  useEffect(() => {
    if (!el.current) return;
    const width = Math.max(300, el.current.clientWidth || 600);
    const opts: uPlot.Options = {
      width, height: 160,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false } },
      axes: [{ label: 'seq' }, {}],
      series: [
        { label: 'seq' },
        ...series.map((s, i) => ({
          label: s.label, stroke: COLOURS[i % COLOURS.length], width: 1.5,
          ...(bars ? { paths: uPlot.paths.bars!({ size: [0.9, 8] }), fill: COLOURS[i % COLOURS.length] } : {}),
        })),
      ],
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          const m = marksRef.current;
          for (const [seq, colour] of [[m.now, '#111'], [m.a, '#1f5fa8'], [m.b, '#b3261e']] as const) {
            if (seq === null) continue;
            const px = u.valToPos(seq, 'x', true);
            ctx.save();
            ctx.strokeStyle = colour;
            ctx.lineWidth = 2;
            ctx.beginPath();
            ctx.moveTo(px, u.bbox.top);
            ctx.lineTo(px, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.restore();
          }
        }],
        ready: [(u) => {
          u.over.addEventListener('click', () => {
            const i = u.cursor.idx;
            if (i !== null && i !== undefined) pickRef.current(x[i]!);
          });
        }],
      },
    };
    const data: uPlot.AlignedData = [x, ...series.map((s) => s.data)];
    plot.current = new uPlot(opts, data, el.current);
    return () => { plot.current?.destroy(); plot.current = null; };
  }, [x, series.length]);

  useEffect(() => { plot.current?.redraw(false); }, [marks.now, marks.a, marks.b]);

  return (
    <figure class="plot">
      <figcaption>{title}</figcaption>
      {series.length === 0 ? <p class="muted">nothing to draw</p> : <div ref={el} role="img" aria-label={`${title}: ${series.map((s) => s.label).join(', ')}`} />}
    </figure>
  );
}
