import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get, type Page, type Row } from './api';
import type { Filter } from './hash';

/** Row height in pixels (fixed: the list is windowed by arithmetic, not by measuring). */
const ROW = 24;
/** Browsers cap an element's height (Firefox near 17.9 M px): past this the scrollbar is scaled. */
const MAX_PX = 8_000_000;
const PAGE = 100;

interface Props {
  filter: Filter;
  selected: number | null;
  /** The scrubber's seq: the list shows where "now" is. */
  now: number | null;
  /** A seq to bring into view (changes when the scrubber or a link asks for it). */
  reveal: { seq: number; n: number } | null;
  onSelect(seq: number): void;
}

/**
 * Every entry of the log, windowed: only the rows in view are in the DOM, fetched a page
 * of 100 at a time from `api/entries` with the filter applied on the server. A million
 * rows scroll as smoothly as a hundred. Keyboard: arrows, Page Up/Down, Home/End move,
 * Enter opens the entry.
 */
export function Timeline({ filter, selected, now, reveal, onSelect }: Props) {
  const key = useMemo(() => JSON.stringify(filter), [filter]);
  const [total, setTotal] = useState<number | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(480);
  const [active, setActive] = useState(0);
  const [, setTick] = useState(0);
  const pages = useRef(new Map<number, Row[] | 'loading'>());
  const box = useRef<HTMLDivElement>(null);

  const fetchPage = (p: number, k: string) => {
    if (pages.current.has(p)) return;
    pages.current.set(p, 'loading');
    get<Page>('entries', { ...filter, offset: p * PAGE, limit: PAGE }).then((page) => {
      if (k !== keyRef.current) return;
      pages.current.set(p, page.rows);
      setTotal(page.total);
      setTick((t) => t + 1);
    }).catch(() => pages.current.delete(p));
  };
  const keyRef = useRef(key);

  useEffect(() => {
    keyRef.current = key;
    pages.current = new Map();
    setTotal(null);
    setActive(0);
    if (box.current) box.current.scrollTop = 0;
    setScrollTop(0);
    fetchPage(0, key);
  }, [key]);

  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const n = total ?? 0;
  const full = n * ROW;
  const spacer = Math.min(full, MAX_PX);
  const scaled = full > MAX_PX;
  const visible = Math.ceil(height / ROW) + 1;
  const first = scaled
    ? Math.floor((scrollTop / Math.max(1, spacer - height)) * Math.max(0, n - visible + 1))
    : Math.floor(scrollTop / ROW);
  const last = Math.min(n, first + visible + 4);
  const topOf = (i: number) => (scaled ? scrollTop + (i - first) * ROW : i * ROW);

  /** Scrolls so that row i is in view. */
  const scrollToIndex = (i: number) => {
    const el = box.current;
    if (!el) return;
    if (scaled) el.scrollTop = (i / Math.max(1, n - visible + 1)) * (spacer - height);
    else if (i * ROW < el.scrollTop) el.scrollTop = i * ROW;
    else if ((i + 1) * ROW > el.scrollTop + height) el.scrollTop = (i + 1) * ROW - height;
  };

  useEffect(() => {
    if (!reveal || total === null) return;
    get<{ offset: number }>('locate', { ...filter, seq: reveal.seq }).then(({ offset }) => {
      const i = Math.min(offset, Math.max(0, n - 1));
      setActive(i);
      const el = box.current;
      if (el && !scaled) el.scrollTop = Math.max(0, i * ROW - height / 2);
      else scrollToIndex(i);
    }).catch(() => undefined);
  }, [reveal?.n, total === null]);

  for (let p = Math.floor(first / PAGE); p <= Math.floor(Math.max(first, last - 1) / PAGE); p++) if (n > 0) fetchPage(p, key);
  const rowAt = (i: number): Row | undefined => {
    const page = pages.current.get(Math.floor(i / PAGE));
    return Array.isArray(page) ? page[i % PAGE] : undefined;
  };

  const onKey = (e: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: visible - 1, PageUp: -(visible - 1), Home: -Infinity, End: Infinity };
    if (e.key in moves) {
      e.preventDefault();
      const i = Math.max(0, Math.min(n - 1, active + moves[e.key]!));
      setActive(i);
      scrollToIndex(i);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      const r = rowAt(active);
      if (r) onSelect(r.seq);
    }
  };

  const rows = [];
  for (let i = first; i < last; i++) {
    const r = rowAt(i);
    const cls = r ? rowClass(r) : 'row';
    rows.push(
      <div
        role="option"
        id={`tl-row-${i}`}
        key={i}
        aria-selected={r !== undefined && r.seq === selected}
        aria-posinset={i + 1}
        aria-setsize={n}
        class={`${cls}${i === active ? ' active' : ''}${r && r.seq === selected ? ' selected' : ''}${r && now !== null && r.seq > now ? ' future' : ''}`}
        style={{ top: `${topOf(i)}px` }}
        data-seq={r?.seq}
        onClick={() => { setActive(i); if (r) onSelect(r.seq); }}
      >
        {r ? <RowText r={r} /> : <span class="muted">…</span>}
      </div>,
    );
  }

  return (
    <section class="timeline" aria-label="timeline">
      <div class="timeline-head">
        <h2>Timeline</h2>
        <span class="muted" aria-live="polite">{total === null ? 'loading…' : `${total.toLocaleString('en')} entries${filter.fold ? ' (transitions folded under their request)' : ''}`}</span>
      </div>
      <div
        ref={box}
        class="timeline-list"
        role="listbox"
        tabIndex={0}
        aria-label="log entries"
        aria-activedescendant={n > 0 ? `tl-row-${active}` : undefined}
        onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}
        onKeyDown={onKey}
      >
        <div role="none" class="timeline-spacer" style={{ height: `${spacer}px` }}>{rows}</div>
      </div>
    </section>
  );
}

function rowClass(r: Row): string {
  if (r.type === 'config') return 'row config';
  if (r.type === 'transition') return 'row transition';
  return r.ret !== null && r.ret < 0 ? 'row refused' : 'row ok';
}

function RowText({ r }: { r: Row }) {
  const time = r.at.slice(11, 23);
  if (r.type === 'config') return <><b class="seq">{r.seq}</b><span class="time">{time}</span><span class="kind">config</span><span>the host's configuration</span></>;
  if (r.type === 'transition') {
    return (
      <><b class="seq">{r.seq}</b><span class="time">{time}</span><span class="kind">↳ {r.machine}</span>
        <span>{r.event} {r.from} → {r.to}{r.pasid !== null ? ` pasid ${r.pasid}` : ''}{r.vm ? ` ${r.vm}` : ''}{r.container ? ` ${r.container}` : ''}</span></>
    );
  }
  const refused = r.ret !== null && r.ret < 0;
  return (
    <><b class="seq">{r.seq}</b><span class="time">{time}</span><span class="kind">{r.op}</span>
      <span>{r.vm ?? 'admin'}{r.container ? ` ${r.container}` : ''} → {refused ? <strong class="bad">refused {r.ret}{r.reason ? ` ${r.reason}` : ''}</strong> : <>ret {r.ret}{r.pasid !== null ? ` pasid ${r.pasid}` : ''}</>}</span>
      {r.caused > 0 ? <span class="badge" title={`${r.caused} transitions`}>+{r.caused}</span> : null}</>
  );
}
