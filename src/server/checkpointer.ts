import { checkpointText } from '../replay/proofs.js';
import type { MerkleStore } from '../store/tree.js';
import { escapeControls } from '../text/escape.js';
import type { NoteSigner } from '../tlog/keys.js';

/** Entries between two checkpoints `serve --checkpoint-key` signs unless told otherwise. */
export const DEFAULT_CHECKPOINT_EVERY = 1000;

/** How `serve` signs checkpoints (`serve --checkpoint-key KEY ...`). */
export interface CheckpointOptions {
  /** The signed-note key (`keygen --name`). */
  signer: NoteSigner;
  /** The checkpoint's origin line (default: the key's name). */
  origin?: string;
  /** Sign after this many new entries (default `DEFAULT_CHECKPOINT_EVERY`). */
  every?: number;
  /** Also sign every this many seconds when the log grew (default: only by `every`). */
  intervalSeconds?: number;
  /**
   * Called with each new checkpoint (e.g. to write `--checkpoint-out`), one call at a
   * time: while one runs, only the newest checkpoint signed meanwhile is published next.
   * What it throws or rejects with is reported, never fatal.
   */
  publish?: (note: string, size: number) => void | Promise<void>;
  /** Where a signing or publishing failure goes (default: one line on stderr). */
  onError?: (e: Error) => void;
}

/** A signed checkpoint and the tree size it signs. */
export interface SignedCheckpoint {
  note: string;
  size: number;
}

/**
 * The server's checkpoint signer. It signs the stored tree's root (as `checkpoint --key`
 * signs it for that size: same body, same deterministic Ed25519 signature) through the
 * server's read-only connection: at start, after `every` new entries, every
 * `intervalSeconds` when the log grew, and at `close({ final: true })` when the log
 * grew since the last one. Signing runs after the commit, in its own turn
 * of the event loop (never inside a request), and a failure is reported, never thrown:
 * requests neither wait for it nor fail because of it.
 *
 * @example
 * const cp = new Checkpointer(new MerkleStore(ledger.db), { signer, every: 100 });
 * cp.start(); // signs the log as it is
 * cp.latest?.note; // 'example.com/log\n5000\n<root>\n\n— example.com/log <sig>\n'
 * await cp.close({ final: true }); // after the last commit: the final head signed and published
 */
export class Checkpointer {
  private last: SignedCheckpoint | null = null;
  /** The size last tried, signed or not: a failure is tried again once the log grew, not at every commit. */
  private tried = 0;
  private scheduled = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly every: number;
  /** The publication in flight, and the newest checkpoint waiting for it. */
  private publishing: Promise<void> | null = null;
  private waiting: SignedCheckpoint | null = null;

  constructor(private readonly tree: MerkleStore, private readonly opts: CheckpointOptions) {
    this.every = Math.max(1, opts.every ?? DEFAULT_CHECKPOINT_EVERY);
  }

  /** The latest signed checkpoint, or null (no key's signature yet: an empty log, or every signing failed). */
  get latest(): SignedCheckpoint | null {
    return this.last;
  }

  /**
   * Signs the log as it is now (when not empty), and starts the interval when one was
   * given. Resolves once that first checkpoint was published (or its failure reported).
   */
  async start(): Promise<void> {
    this.sign();
    const s = this.opts.intervalSeconds;
    if (s !== undefined && s > 0) {
      this.timer = setInterval(() => this.sign(), s * 1000);
      this.timer.unref();
    }
    while (this.publishing) await this.publishing;
  }

  /** After a successful commit: schedules a signature when `every` entries were added since the last one. */
  onCommit(): void {
    if (this.scheduled || this.closed) return;
    let size: number;
    try {
      size = this.tree.logSize();
    } catch (e) {
      return this.report(e);
    }
    if (size - this.tried < this.every) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sign();
    });
  }

  /**
   * Stops signing (the server is stopping; its connection is about to close) and waits
   * for the publication in flight. With `final` (after the server's last commit), it first
   * signs one last checkpoint of the log's final head when the head grew since the last
   * signed one, and publishes it (`--checkpoint-out`) before resolving; a failure is
   * reported like any other, never thrown.
   */
  async close(opts: { final?: boolean } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (opts.final && !this.closed) this.sign(true);
    this.closed = true;
    while (this.publishing) await this.publishing;
  }

  /**
   * Signs the current size when it differs from the last one tried (`final`: from the
   * last one signed, so that a size whose signing failed is tried once more); reports failures.
   */
  private sign(final = false): void {
    if (this.closed) return;
    let signed: SignedCheckpoint;
    try {
      const size = this.tree.logSize();
      if (size === 0 || size === (final ? this.last?.size : this.tried)) return;
      this.tried = size;
      const note = checkpointText(this.tree, this.opts.signer, { ...(this.opts.origin !== undefined ? { origin: this.opts.origin } : {}), size });
      signed = { note, size };
      this.last = signed;
    } catch (e) {
      return this.report(e);
    }
    this.publish(signed);
  }

  /** Hands a checkpoint to `publish`, one at a time, the newest first. */
  private publish(signed: SignedCheckpoint): void {
    const publish = this.opts.publish;
    if (!publish) return;
    if (this.publishing) {
      this.waiting = signed;
      return;
    }
    this.publishing = (async () => {
      // First yield, so that `this.publishing` is assigned before the loop can end (a publish may throw at once).
      await Promise.resolve();
      let next: SignedCheckpoint | null = signed;
      while (next) {
        try {
          await publish(next.note, next.size);
        } catch (e) {
          this.report(e);
        }
        next = this.waiting;
        this.waiting = null;
      }
      this.publishing = null;
    })();
  }

  private report(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.opts.onError) this.opts.onError(err);
    else process.stderr.write(`pasid-ledger: checkpoint: ${escapeControls(err.message)}\n`);
  }
}
