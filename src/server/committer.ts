import type { GroupItem, GroupResult, Ledger } from '../ledger.js';

/** A group commit that failed (an IO error): nothing in it was written. */
export class CommitFailed extends Error {
  override name = 'CommitFailed';
}

/** What one commit did, for metrics and followers. */
export interface CommitInfo {
  items: number;
  requests: number;
  seconds: number;
  ok: boolean;
}

interface Waiting {
  item: GroupItem;
  resolve: (r: GroupResult) => void;
  reject: (e: Error) => void;
}

/**
 * Group commit over a synchronous ledger. Items submitted while the event loop is busy
 * (a commit in flight blocks it: better-sqlite3 is synchronous) queue up; one
 * `setImmediate` later the whole queue is decided in arrival order and committed in one
 * transaction (`Ledger.group`). Every promise settles only after that commit returned,
 * so a response is never sent for an uncommitted request.
 *
 * @example
 * const c = new Committer(ledger); await c.submit({ reqs: [req], by: 'tok-2' });
 */
export class Committer {
  private queue: Waiting[] = [];
  private scheduled = false;

  constructor(private readonly ledger: Ledger, private readonly onCommit: (info: CommitInfo, items: GroupItem[], results: GroupResult[] | null) => void = () => {}) {}

  /** Queues an item for the next group; resolves with its result, rejects with CommitFailed. */
  submit(item: GroupItem): Promise<GroupResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Items waiting for the next commit. */
  get pending(): number {
    return this.queue.length;
  }

  /** Commits everything queued now (also called on shutdown). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const t0 = process.hrtime.bigint();
    let results: GroupResult[];
    try {
      results = this.ledger.group(batch.map((w) => w.item));
    } catch (e) {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      this.onCommit({ items: batch.length, requests: count(batch), seconds, ok: false }, batch.map((w) => w.item), null);
      const err = new CommitFailed(`the commit failed, nothing of it was written: ${(e as Error).message}`);
      for (const w of batch) w.reject(err);
      return;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    this.onCommit({ items: batch.length, requests: count(batch), seconds, ok: true }, batch.map((w) => w.item), results);
    batch.forEach((w, i) => w.resolve(results[i]!));
  }
}

const count = (batch: Waiting[]) => batch.reduce((n, w) => n + w.item.reqs.length, 0);
