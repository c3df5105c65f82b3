import { Worker } from 'node:worker_threads';
import type { GroupResult } from '../ledger.js';
import type { WireItem, WorkerReply, WorkerRequest } from './wire.js';

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
  item: WireItem;
  resolve: (r: GroupResult) => void;
  reject: (e: Error) => void;
}

type Distribute<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * Group commit on a writer thread. Items submitted while a commit is in flight queue
 * up; when it returns, the whole queue goes to the writer as the next group, decided
 * in arrival order and committed in one transaction (`Ledger.group`). The main thread
 * meanwhile goes on parsing and answering: parsing the next group overlaps the fsync
 * of this one. Every promise settles only after its commit returned, so a response is
 * never sent for an uncommitted request.
 *
 * @example
 * const c = await Committer.start('./host.db', {}, onCommit); await c.submit({ reqs: [req], by: 'tok-2' });
 */
export class Committer {
  private queue: Waiting[] = [];
  private scheduled = false;
  private inflight: Promise<void> | null = null;
  private nextId = 1;
  private readonly calls = new Map<number, { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;

  private constructor(private readonly worker: Worker, private readonly onCommit: (info: CommitInfo, items: WireItem[], results: GroupResult[] | null) => void) {
    worker.on('message', (r: WorkerReply) => {
      const c = this.calls.get(r.id);
      if (!c) return;
      this.calls.delete(r.id);
      if (r.ok) c.resolve(r);
      else c.reject(r.refused ? new RefusedError(r.error) : new CommitFailed(r.error));
    });
    const die = (e: Error) => {
      this.dead = new CommitFailed(`the writer thread stopped: ${e.message}`);
      for (const c of this.calls.values()) c.reject(this.dead);
      this.calls.clear();
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`exit ${code}`)));
  }

  /**
   * Starts the writer thread on `db` (creating the log with `options` when new) and
   * resolves once it holds the log.
   *
   * @throws the writer's error when it cannot open the log.
   */
  static start(db: string, options: Record<string, unknown>, onCommit: (info: CommitInfo, items: WireItem[], results: GroupResult[] | null) => void): Promise<Committer> {
    const worker = new Worker(new URL('./commit_worker.js', import.meta.url), { workerData: { db, options } });
    return new Promise((resolve, reject) => {
      const first = (r: WorkerReply) => {
        worker.off('message', first);
        worker.off('error', reject);
        if (r.ok) resolve(new Committer(worker, onCommit));
        else {
          void worker.terminate();
          reject(new Error(r.error));
        }
      };
      worker.on('message', first);
      worker.once('error', reject);
    });
  }

  /** Queues an item for the next group; resolves with its result, rejects with CommitFailed. */
  submit(item: WireItem): Promise<GroupResult> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled && !this.inflight) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** A grant, revocation or close on the writer thread, between groups. */
  async call(msg: Distribute<WorkerRequest>): Promise<WorkerReply & { ok: true }> {
    await this.drain();
    if (this.dead) throw this.dead;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  /** Resolves when nothing is queued or in flight (shutdown: what was accepted is committed). */
  async drain(): Promise<void> {
    while (this.inflight || this.queue.length > 0) {
      if (!this.inflight) this.flush();
      await this.inflight;
    }
  }

  /** Stops the writer thread after closing its log. */
  async close(): Promise<void> {
    await this.call({ kind: 'close' }).catch(() => {});
    await this.worker.terminate();
  }

  private flush(): void {
    this.scheduled = false;
    if (this.inflight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const items = batch.map((w) => w.item);
    const requests = items.reduce((n, it) => n + it.reqs.length, 0);
    const id = this.nextId++;
    this.inflight = new Promise<WorkerReply & { ok: true }>((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ id, kind: 'group', items } satisfies WorkerRequest);
    }).then((r) => {
      const results = r.results!;
      this.onCommit({ items: batch.length, requests, seconds: r.seconds ?? 0, ok: true }, items, results);
      batch.forEach((w, i) => w.resolve(results[i]!));
    }, (e: Error) => {
      this.onCommit({ items: batch.length, requests, seconds: 0, ok: false }, items, null);
      const err = e instanceof CommitFailed ? e : new CommitFailed(`the commit failed, nothing of it was written: ${e.message}`);
      for (const w of batch) w.reject(err);
    }).finally(() => {
      this.inflight = null;
      // What arrived meanwhile is the next group: send it at once.
      if (this.queue.length > 0) this.flush();
    });
  }
}

/** A writer-side refusal of bad input (an unknown token to revoke, a bad role). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}
