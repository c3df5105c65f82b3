import type { Explanation, RequestExplanation } from './api';

/** An entry explained as `explain` does, with the entries it caused (each a link). */
export function ExplainPanel({ x, error, onGo }: { x: Explanation | null; error: string | null; onGo(seq: number): void }) {
  if (error) return <section class="panel explain" aria-label="explanation"><h2>Explanation</h2><p role="alert">{error}</p></section>;
  if (!x) return <section class="panel explain" aria-label="explanation"><h2>Explanation</h2><p class="muted">Click an entry (or press Enter on it) to read why.</p></section>;
  return (
    <section class="panel explain" aria-label="explanation" data-seq={x.seq}>
      <h2>Explanation of seq {x.seq}</h2>
      {x.type === 'config' ? <p>{x.summary}</p> : null}
      {x.type === 'request' ? <Request r={x} onGo={onGo} /> : null}
      {x.type === 'transition' ? (
        <>
          <p>{x.summary}</p>
          {x.cause ? <><h3>The request that caused it <button type="button" onClick={() => onGo(x.cause!.seq)}>open seq {x.cause.seq}</button></h3><Request r={x.cause} onGo={onGo} /></> : null}
        </>
      ) : null}
    </section>
  );
}

function Request({ r, onGo }: { r: RequestExplanation; onGo(seq: number): void }) {
  return (
    <div class="request">
      <p class="summary">{r.summary}</p>
      <p><b>why:</b> <span class="why">{r.why}</span></p>
      {r.reason ? <p><b>reason recorded:</b> <span class="reason">{r.reason}</span>{r.errno ? ` (${r.errno})` : ''}</p> : null}
      <details>
        <summary>facts just before it</summary>
        <pre>{JSON.stringify(r.facts, null, 2)}</pre>
      </details>
      <h3>Entries it caused ({r.transitions.length})</h3>
      {r.transitions.length === 0 ? <p class="muted">none: {r.ret < 0 ? 'a refused request changes nothing' : 'no transition'}</p> : (
        <ul class="caused">
          {r.transitions.slice(0, 200).map((t) => (
            <li key={t.seq}><button type="button" class="link" onClick={() => onGo(t.seq)}>seq {t.seq}</button> {t.machine} {t.event} {t.from} → {t.to}</li>
          ))}
          {r.transitions.length > 200 ? <li class="muted">… {r.transitions.length - 200} more</li> : null}
        </ul>
      )}
    </div>
  );
}
