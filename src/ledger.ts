import type BetterSqlite3 from 'better-sqlite3';
import { configConflicts, resolveConfig, type ConfigOptions } from './config.js';
import { decide } from './model/decide.js';
import { evolve } from './model/evolve.js';
import { parseRequest, RequestError } from './model/request.js';
import type { HostState } from './model/state.js';
import type { ConfigEntry, Entry, HostConfig, Outcome, Request, RequestEntry } from './model/types.js';
import { viewState, type StateView } from './model/view.js';
import { canonicalJson } from './store/canonical.js';
import { EntryLog, type LogHead } from './store/log.js';
import { migrateToLatest } from './store/migrate.js';
import { openDatabase, StoreError, type OpenOptions } from './store/open.js';
import { SnapshotCache, SNAPSHOT_EVERY } from './snapshot/cache.js';

/** `close()` writes a snapshot when more entries than this were evolved since the last one. */
const SNAPSHOT_ON_CLOSE = 10_000;

/** How to open a ledger. Configuration options apply when the log is new and must match when it is not. */
export interface LedgerOptions extends ConfigOptions, OpenOptions {
  /** The clock stamped on every entry (`at`). Default: the system clock. */
  clock?: () => Date;
  /** Progress while the Merkle tree of a log from an older version is built on open (leaves built, total). */
  onTreeProgress?: (built: number, total: number) => void;
}

/**
 * The PASID authority: the only place where IO meets the model. Each request runs
 * as: in one `BEGIN IMMEDIATE` transaction, catch up with entries other processes
 * wrote, decide, append the request and its transitions; commit; evolve.
 * Outcomes are values (a negative errno), never exceptions.
 */
export class Ledger {
  private st: HostState;
  /** Snapshots of the replayed host: where the initial catch-up starts. A cache, never the truth. */
  private readonly cache: SnapshotCache;
  /** The seq at which this ledger last tried to save a snapshot while writing. */
  private snapshotTried = 0;
  private readonly clock: () => Date;

  /** @internal use `openLedger`. */
  constructor(readonly log: EntryLog, readonly config: HostConfig, readonly label: string, clock: () => Date) {
    this.clock = clock;
    this.cache = new SnapshotCache(log, config);
    this.st = this.cache.advance(this.cache.restore());
  }

  /** The better-sqlite3 handle, for the read side. */
  get db(): BetterSqlite3.Database {
    return this.log.db;
  }

  /**
   * Runs one request and returns what the caller sees. A request carrying an `id`
   * that was already recorded returns the recorded outcome (`replayed: true`) and
   * writes nothing.
   *
   * @throws RequestError for a malformed request (nothing is written); an IO error
   * (nothing is written, the in-memory state is rebuilt from the log).
   * @example
   * ledger.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
   * // { seq: 12, ret: 0, pasid: 1, reason: null }
   */
  request(req: Request | unknown): Outcome {
    const parsed = parseRequest(req);
    return this.write(() => this.run(parsed));
  }

  /**
   * Runs many requests in one transaction (one fsync): each is decided against the
   * state its predecessors left. All are recorded, or none.
   *
   * @throws RequestError naming the index of the first malformed request, before anything is written.
   */
  batch(reqs: readonly (Request | unknown)[]): Outcome[] {
    const parsed = reqs.map((r, i) => {
      try {
        return parseRequest(r);
      } catch (e) {
        (e as Error).message = `request ${i}: ${(e as Error).message}`;
        throw e;
      }
    });
    return this.write(() => parsed.map((r, i) => {
      try {
        return this.run(r);
      } catch (e) {
        if (e instanceof RequestError) e.message = `request ${i}: ${e.message}`;
        throw e;
      }
    }));
  }

  /**
   * A raw `VFIO_IOMMU_PASID_REQUEST` on a container: the struct's bytes as the caller
   * filled them. As the ioctl does, a successful ALLOC writes the PASID into the
   * buffer's `result` field.
   *
   * @example
   * const buf = encodePasidRequestV1({ flags: VFIO_IOMMU_PASID_ALLOC, min: 1, max: 0xfffff });
   * ledger.pasidRequest('c1', buf); // { ret: 0, pasid: 1, ... }, and buf now holds result = 1
   */
  pasidRequest(container: string, buf: Uint8Array, opts: { vm?: string; id?: string } = {}): Outcome {
    const out = this.request({ op: 'pasid_request', container, hex: Buffer.from(buf).toString('hex'), ...opts });
    if (out.hex !== undefined) buf.set(Buffer.from(out.hex, 'hex').subarray(0, buf.length));
    return out;
  }

  /** The host as it is now (after catching up with other writers). Do not mutate it. */
  get state(): HostState {
    this.catchUp();
    return this.st;
  }

  /** The host as plain data; `vm` narrows it to one vm. */
  view(vm?: string): StateView {
    return viewState(this.state, vm);
  }

  /** Who holds a PASID: its vfio_mm and mm token, or null when it is free. */
  pasidOwner(pasid: number): { vfio_mm: number; mm: string } | null {
    const s = this.state;
    const id = s.owner.get(pasid);
    if (id === undefined) return null;
    return { vfio_mm: id, mm: s.vfioMms.get(id)?.mm ?? '?' };
  }

  /** PASIDs the host can still reserve for new vfio_mms. */
  get capacityAvail(): number {
    return this.state.capacityAvail;
  }

  /** The last entry of the log. */
  head(): LogHead {
    return this.log.head();
  }

  /**
   * Closes the file. The ledger is unusable afterwards. When more than 10,000 entries
   * were evolved since the last snapshot, one is written first, so that the next open
   * catches up from here instead of from the start of the log.
   */
  close(): void {
    if (this.log.db.open && this.st.seq - this.cache.lastSeq > SNAPSHOT_ON_CLOSE) this.cache.save(this.st);
    this.log.db.close();
  }

  /** Evolves in the entries other processes appended since this one last looked. */
  private catchUp(): void {
    this.st = this.cache.advance(this.st);
  }

  private write<T>(fn: () => T): T {
    try {
      const out = this.log.immediate(() => {
        this.catchUp();
        return fn();
      });
      // A writer that is killed never reaches close(): keep a snapshot every SNAPSHOT_EVERY
      // entries as it goes, so a reopen after a crash catches up from near the end.
      // A failed save (a busy or full file) is not retried before the next SNAPSHOT_EVERY.
      if (this.st.seq - Math.max(this.cache.lastSeq, this.snapshotTried) >= SNAPSHOT_EVERY) {
        this.snapshotTried = this.st.seq;
        this.cache.save(this.st);
      }
      return out;
    } catch (e) {
      // The transaction rolled back; what was evolved in memory meanwhile is undone by rebuilding.
      this.st = this.cache.advance(this.cache.restore());
      throw e;
    }
  }

  private run(req: Request): Outcome {
    const { id, ...asked } = req;
    if (id !== undefined) {
      const prior = this.log.byRequestId(id);
      if (prior) {
        const recorded = JSON.parse(prior.entry) as RequestEntry;
        // A retry must ask the same thing: an id reused for another request is the caller's bug.
        if (canonicalJson(recorded.req) !== canonicalJson(asked)) {
          throw new RequestError(`request id ${JSON.stringify(id)} was used by a different request (seq ${recorded.seq}); nothing was written`);
        }
        return { ...outcomeOf(recorded), replayed: true };
      }
    }
    const d = decide(this.st, req);
    const at = this.clock().toISOString();
    const seq = this.st.seq + 1;
    const entry: RequestEntry = {
      seq, at, type: 'request', op: req.op, req: asked, ret: d.ret,
      ...(d.vm !== undefined ? { vm: d.vm } : {}),
      ...(id !== undefined ? { id } : {}),
      ...(d.pasid !== undefined ? { pasid: d.pasid } : {}),
      ...(d.reason !== undefined ? { reason: d.reason } : {}),
      ...(d.hex !== undefined ? { hex: d.hex } : {}),
      ...(d.info !== undefined ? { info: d.info } : {}),
      ...(d.value !== undefined ? { value: d.value } : {}),
    };
    const entries: Entry[] = [entry];
    d.transitions.forEach((t, i) => entries.push({ seq: seq + 1 + i, at, type: 'transition', cause: seq, ...t }));
    this.log.append(entries as unknown as Record<string, unknown>[]);
    for (const e of entries) evolve(this.st, e);
    return outcomeOf(entry);
  }
}

/** The outcome a request entry records. */
export function outcomeOf(e: RequestEntry): Outcome {
  const o: Outcome = { seq: e.seq, ret: e.ret, pasid: e.pasid ?? null, reason: e.reason ?? null };
  if (e.hex !== undefined) o.hex = e.hex;
  if (e.info !== undefined) o.info = e.info;
  if (e.value !== undefined) o.value = e.value;
  return o;
}

/**
 * Opens (or creates) a ledger on a SQLite file, or `:memory:`. A new log records its
 * configuration as entry 1; an existing one is replayed under its own, and options
 * that differ from it are refused.
 *
 * @throws StoreError when the file cannot be opened, was written by a newer schema,
 * or its configuration differs from the options.
 * @example
 * const ledger = await openLedger('./pasid-ledger.db', { pasid_quota: 1000 });
 * ledger.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
 */
export async function openLedger(path: string, opts: LedgerOptions = {}): Promise<Ledger> {
  const wanted = resolveConfig(opts);
  if (typeof wanted === 'string') throw new StoreError(wanted);
  const db = openDatabase(path, opts);
  try {
    await migrateToLatest(db, path);
    const log = new EntryLog(db);
    // A log from before the Merkle tree gets its tree here, in resumable chunks.
    if (!db.readonly) log.tree.catchUp(opts.onTreeProgress);
    const clock = opts.clock ?? (() => new Date());
    const config = readOrWriteConfig(log, wanted, opts, clock, path);
    return new Ledger(log, config, path, clock);
  } catch (e) {
    db.close();
    throw e;
  }
}

/** The log's configuration: entry 1, written now if the log is empty. */
export function readConfig(log: EntryLog): HostConfig | null {
  const row = log.row(1);
  if (!row) return null;
  const e = JSON.parse(row.entry) as ConfigEntry;
  const { profile, pasid_bits, capacity, pasid_quota, pasid_cap_exposure } = e;
  return { profile, pasid_bits, capacity, pasid_quota, pasid_cap_exposure };
}

function readOrWriteConfig(log: EntryLog, wanted: HostConfig, opts: ConfigOptions, clock: () => Date, path: string): HostConfig {
  const existing = readConfig(log);
  if (existing) return checked(existing, opts, path);
  if (log.db.readonly) throw new StoreError(`${path} holds no log`);
  return log.immediate(() => {
    const raced = readConfig(log);
    if (raced) return checked(raced, opts, path);
    const entry: ConfigEntry = { seq: 1, at: clock().toISOString(), type: 'config', format: 1, ...wanted };
    log.append([entry as unknown as Record<string, unknown>]);
    return wanted;
  });
}

function checked(recorded: HostConfig, opts: ConfigOptions, path: string): HostConfig {
  const conflicts = configConflicts(recorded, opts);
  if (conflicts.length > 0) throw new StoreError(`${path} was created with another configuration: ${conflicts.join('; ')}`);
  return recorded;
}
