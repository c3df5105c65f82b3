import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, type Charts, type Explanation, type LogDiff, type Meta, type StateAnswer } from './api';
import { ChartsPanel } from './ChartsPanel';
import { DiffPanel } from './DiffPanel';
import { ExplainPanel } from './ExplainPanel';
import { Filters } from './Filters';
import { formatHash, parseHash, type Filter, type ViewState } from './hash';
import { StatePanel } from './StatePanel';
import { Timeline } from './Timeline';
import './style.css';

function App() {
  const [view, setView] = useState<ViewState>(() => parseHash(location.hash));
  const [meta, setMeta] = useState<Meta | null>(null);
  const [charts, setCharts] = useState<Charts | null>(null);
  const [st, setSt] = useState<StateAnswer | null>(null);
  const [x, setX] = useState<Explanation | null>(null);
  const [xErr, setXErr] = useState<string | null>(null);
  const [d, setD] = useState<LogDiff | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [reveal, setReveal] = useState<{ seq: number; n: number } | null>(view.sel !== null ? { seq: view.sel, n: 0 } : null);
  const stateReq = useRef(0);

  // The URL follows the view (replaceState: scrubbing does not flood the history); a pasted URL sets it.
  useEffect(() => { const h = formatHash(view); if (h !== location.hash) history.replaceState(null, '', h); }, [view]);
  useEffect(() => {
    const on = () => setView(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  useEffect(() => {
    get<Meta>('meta').then((m) => { setMeta(m); setView((v) => (v.seq === null ? { ...v, seq: m.head } : v)); }).catch((e: Error) => setNote(e.message));
    // The server folds the charts in its start-up pass: ask again until they are there.
    let timer = 0;
    const poll = () => get<Charts | { building: true }>('charts').then((c) => {
      if ('building' in c) timer = window.setTimeout(poll, 1000);
      else setCharts(c);
    }).catch(() => undefined);
    void poll();
    return () => clearTimeout(timer);
  }, []);

  const seq = view.seq;
  useEffect(() => {
    if (seq === null) return;
    const n = ++stateReq.current;
    get<StateAnswer>('state', { seq, vm: view.filter.vm }).then((s) => { if (n === stateReq.current) setSt(s); }).catch((e: Error) => setNote(e.message));
  }, [seq, view.filter.vm]);
  useEffect(() => {
    setXErr(null);
    if (view.sel === null) { setX(null); return; }
    get<Explanation>('explain', { seq: view.sel }).then(setX).catch((e: Error) => { setX(null); setXErr(e.message); });
  }, [view.sel]);
  useEffect(() => {
    if (view.a === null || view.b === null) { setD(null); return; }
    const [from, to] = view.a <= view.b ? [view.a, view.b] : [view.b, view.a];
    get<LogDiff>('diff', { from, to }).then(setD).catch((e: Error) => setNote(e.message));
  }, [view.a, view.b]);

  const head = meta?.head ?? 1;
  const setSeq = (s: number) => setView((v) => ({ ...v, seq: Math.max(1, Math.min(head, s)) }));
  const open = (s: number) => { setView((v) => ({ ...v, sel: s, seq: s })); setReveal({ seq: s, n: Date.now() }); };
  const setFilter = (f: Filter) => setView((v) => ({ ...v, filter: f }));

  const evidence = async () => {
    const from = Math.min(view.a ?? 1, view.b ?? head);
    const to = Math.max(view.a ?? 1, view.b ?? head);
    const res = await fetch(`api/evidence?from=${from}&to=${to}`);
    if (!res.ok) {
      const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` })) as { error?: string };
      setNote(`download evidence (seq ${from}-${to}): ${body.error ?? res.status}`);
      return;
    }
    const blob = await res.blob();
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `evidence-${from}-${to}.json`;
    a.click();
    URL.revokeObjectURL(a.href);
  };

  return (
    <>
      <header>
        <h1>pasid-ledger incident explorer</h1>
        <span class="muted">{meta ? `${meta.head.toLocaleString('en')} entries · ${meta.first_at ?? ''} → ${meta.last_at ?? ''} · profile ${String(meta.config.profile)}` : 'loading…'}</span>
      </header>
      <main>
        <Filters meta={meta} filter={view.filter} onChange={setFilter} />
        <section class="scrubber" aria-label="scrubber">
          <label for="scrub">seq</label>
          <button type="button" onClick={() => seq !== null && setSeq(seq - 1)} aria-label="one entry earlier">◀</button>
          <input id="scrub" type="range" min={1} max={head} value={seq ?? head} onInput={(e) => setSeq(Number((e.currentTarget as HTMLInputElement).value))} />
          <button type="button" onClick={() => seq !== null && setSeq(seq + 1)} aria-label="one entry later">▶</button>
          <label for="seq-input" class="visually-hidden">go to seq</label>
          <input id="seq-input" type="number" min={1} max={head} value={seq ?? ''} onChange={(e) => setSeq(Number((e.currentTarget as HTMLInputElement).value))} />
          <label for="at-input">time</label>
          <input id="at-input" type="text" placeholder="2026-01-01T00:01:00Z" onKeyDown={(e) => {
            if (e.key !== 'Enter') return;
            const at = (e.currentTarget as HTMLInputElement).value;
            get<StateAnswer>('state', { at }).then((s) => setSeq(s.view.seq)).catch((err: Error) => setNote(err.message));
          }} />
          <button type="button" onClick={() => seq !== null && setReveal({ seq, n: Date.now() })}>show in timeline</button>
          <button type="button" onClick={() => setView((v) => ({ ...v, a: seq }))}>mark A{view.a !== null ? ` (${view.a})` : ''}</button>
          <button type="button" onClick={() => setView((v) => ({ ...v, b: seq }))}>mark B{view.b !== null ? ` (${view.b})` : ''}</button>
          <button type="button" onClick={() => void evidence()}>download evidence</button>
        </section>
        {note ? <p class="note" role="status">{note} <button type="button" onClick={() => setNote(null)}>dismiss</button></p> : null}
        <div class="columns">
          <Timeline filter={view.filter} selected={view.sel} now={seq} reveal={reveal} onSelect={open} />
          <div class="side">
            <ExplainPanel x={x} error={xErr} onGo={open} />
            <StatePanel st={st} vm={view.filter.vm} />
          </div>
        </div>
        <DiffPanel d={d} />
        <ChartsPanel charts={charts} now={seq} a={view.a} b={view.b} onPick={setSeq} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
