/** A stopping loop's pass did not end in the time it is given. */
export class PassTimedOut extends Error {
  override name = 'PassTimedOut';
  constructor(readonly ms: number) {
    super(`PostgreSQL did not answer within ${ms / 1000} s`);
  }
}

/** Options of {@link ShipLoop}. */
export interface ShipLoopOptions {
  /**
   * One pass: ships what the source holds and PostgreSQL does not (a pass with nothing
   * to ship calls in: seen_at). Returns the source's head it shipped up to.
   */
  pass: () => Promise<number>;
  /** The source's head now: read every `pollMs` while nothing woke the loop; a head other than the last pass's is due. */
  head: () => number;
  /** Whether the source can still be read (default: always); a closed source is not polled and gets no final pass. */
  open?: () => boolean;
  /** Stops the loop: no new pass starts, the pass in flight finishes (then the final pass, with `final`). */
  signal: AbortSignal;
  /** How long the loop idles before it looks at `head` again (a `wake()` ends the wait). */
  pollMs: number;
  /** An idle source is passed anyway this often (the pass calls in). Default 60 s. */
  callInMs?: number;
  /**
   * A failed pass is told to `onError(e, retryMs)` and tried again after `retryMs`
   * (`firstMs` doubling to `maxMs`; a good pass starts over at `firstMs`), never failing
   * the loop. Without `retry`, the first error ends the loop: `run()` rejects with it.
   */
  retry?: { firstMs: number; maxMs: number; onError: (e: Error, retryMs: number) => void | Promise<void> };
  /**
   * When `signal` aborts: the pass in flight is awaited at most `waitMs`, then one more
   * pass ships what came in meanwhile, up to `tries` times (pausing 0.5 s, 1 s, …
   * between), each given `waitMs` (else it fails with {@link PassTimedOut}); each failure
   * is told to `onError(e, last)`. Without `final`, the loop ends after the pass in flight.
   */
  final?: { tries: number; waitMs: number; onError: (e: Error, last: boolean) => void | Promise<void> };
  /** The loop's idle and backoff timers do not hold the process open (a server's loop: the server does). */
  unref?: boolean;
}

/** An idle source is passed this often by default: one call-in (seen_at) a minute. */
const CALL_IN_MS = 60_000;

/** `p`'s value, or undefined once `ms` passed (p goes on, unawaited). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => { t = setTimeout(() => r(undefined), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/**
 * The one loop around a shipper's pass (`shipLog` for `ship --db --follow` and
 * `serve --ship-to`): a pass at once, then one whenever it is woken (`wake()`, say after
 * a commit) or the source's head moved (looked at every `pollMs`), and one per
 * `callInMs` while idle. It owns the backoff on error (`retry`) and the pass on the way
 * out (`final`); `signal` stops it.
 *
 * @example
 * const ac = new AbortController();
 * const loop = new ShipLoop({ pass: async () => (await shipLog(db, c, { host })).local, head: () => log.head().seq, signal: ac.signal, pollMs: 1000 });
 * const done = loop.run(); // after a commit: loop.wake()
 * ac.abort();
 * await done;
 */
export class ShipLoop {
  /** A pass is due without looking at the head: at the start, after `wake()`, after a failed pass. */
  private due = true;
  /** Ends the idle wait in progress (set while the loop idles). */
  private nudge: (() => void) | null = null;

  constructor(private readonly o: ShipLoopOptions) {}

  /** A pass is due: starts it soon, or after the pass in flight (never waits; a loop in backoff keeps its backoff). */
  wake(): void {
    this.due = true;
    this.nudge?.();
  }

  /**
   * Passes until `signal` aborts, then the final pass (with `final`).
   * @throws the first failed pass's error, without `retry`.
   */
  async run(): Promise<void> {
    const loop = this.follow();
    const final = this.o.final;
    if (!final) return loop;
    loop.catch(() => {}); // awaited below; not an unhandled rejection while it is not
    const { signal } = this.o;
    await Promise.race([loop, new Promise<void>((r) => {
      if (signal.aborted) r();
      else signal.addEventListener('abort', () => r(), { once: true });
    })]);
    // A PostgreSQL that stopped answering does not hold the way out for ever.
    await within(loop, final.waitMs);
    for (let i = 1; i <= final.tries && (this.o.open?.() ?? true); i++) {
      try {
        if (!(await within(this.o.pass().then(() => true), final.waitMs))) throw new PassTimedOut(final.waitMs);
        break;
      } catch (e) {
        await final.onError(e as Error, i === final.tries);
        if (i < final.tries) await new Promise((r) => setTimeout(r, 500 * i));
      }
    }
  }

  private async follow(): Promise<void> {
    const { signal, retry } = this.o;
    const callInMs = this.o.callInMs ?? CALL_IN_MS;
    let backoff = retry?.firstMs ?? 0;
    let shipped = -1;
    let lastPass = 0;
    while (!signal.aborted) {
      try {
        if (!this.due) {
          const moved = (this.o.open?.() ?? true) && (this.o.head() !== shipped || Date.now() - lastPass >= callInMs);
          if (!moved) {
            await this.wait(this.o.pollMs, true);
            continue;
          }
        }
        this.due = false;
        shipped = await this.o.pass();
        lastPass = Date.now();
        if (retry) backoff = retry.firstMs;
      } catch (e) {
        if (!retry) throw e;
        await retry.onError(e as Error, backoff);
        this.due = true;
        const wait = backoff;
        backoff = Math.min(backoff * 2, retry.maxMs);
        await this.wait(wait, false);
        continue;
      }
      if (!this.due) await this.wait(this.o.pollMs, true);
    }
  }

  /** Waits `ms`, less when `signal` aborts, and (`wakeable`) when a pass is due. */
  private wait(ms: number, wakeable: boolean): Promise<void> {
    const { signal } = this.o;
    if (signal.aborted || (wakeable && this.due)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        if (this.nudge === done) this.nudge = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      if (this.o.unref) t.unref();
      signal.addEventListener('abort', done, { once: true });
      if (wakeable) this.nudge = done;
    });
  }
}
