import type { Ledger } from '../ledger.js';

/** How often followers look for entries another process wrote (the server's own commits wake them at once). */
const POLL_MS = 200;

/**
 * The `GET /v1/entries?follow=1` streams: woken after every commit of the server, and
 * polled while any exists, so entries another writer appended reach them too.
 */
export class Followers {
  private readonly live = new Map<() => void, () => void>();
  private timer: NodeJS.Timeout | null = null;
  private lastHead = 0;

  constructor(private readonly ledger: Ledger) {}

  /** Registers a stream: `wake` sends what is new, `end` closes it on shutdown. Returns the unregister function. */
  add(wake: () => void, end: () => void): () => void {
    this.live.set(wake, end);
    if (!this.timer) {
      this.timer = setInterval(() => {
        const head = this.ledger.head().seq;
        if (head !== this.lastHead) this.wake();
      }, POLL_MS);
      this.timer.unref();
    }
    return () => {
      this.live.delete(wake);
      if (this.live.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  wake(): void {
    if (this.live.size === 0) return;
    this.lastHead = this.ledger.head().seq;
    for (const w of this.live.keys()) w();
  }

  /** Ends every stream (shutdown). */
  endAll(): void {
    for (const end of this.live.values()) end();
    this.live.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
