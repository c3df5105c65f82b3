import type BetterSqlite3 from 'better-sqlite3';
import { configOfLog } from './model/config_entry.js';
import { types } from 'node:util';
import { CONFIG_KEYS, configConflicts, resolveConfig, type ConfigOptions } from './config.js';
import { decide } from './model/decide.js';
import { evolve } from './model/evolve.js';
import { quote, quoteKey } from './model/quote.js';
import { BatchRequestError, parseRequest, RequestError } from './model/request.js';
import type { HostState } from './model/state.js';
import type { ConfigEntry, Entry, HostConfig, Outcome, Request, RequestEntry } from './model/types.js';
import { viewState, type StateView } from './model/view.js';
import { canonicalJson } from './store/canonical.js';
import { discardCreated, filesBefore } from './store/created.js';
import { EntryLog, type LogHead } from './store/log.js';
import { migrateToLatest } from './store/migrate.js';
import { BusyError, ConfigMismatchError, isBusy, NotALogError, openDatabase, StoreError, type OpenOptions } from './store/open.js';
import { OPEN_OPTIONS, openOptionProblem } from './store/options.js';
import { SnapshotCache, SNAPSHOT_EVERY } from './snapshot/cache.js';
import { TOKEN_ROLES, TokenBook, type TokenEntry, type TokenRole } from './model/token.js';
import { tokenRows } from './store/token_rows.js';
import { createHash, randomBytes } from 'node:crypto';

/** `close()` writes a snapshot when more entries than this were evolved since the last one. */
const SNAPSHOT_ON_CLOSE = 10_000;

/** A request is read as plain data; a Proxy is refused before any of its traps runs. */
const PARSE = { isExotic: (o: object): boolean => types.isProxy(o) };

/** The ledger's own options (beside the configuration and open options): every one listed, or this does not compile. */
const OWN_OPTIONS: Record<Exclude<keyof LedgerOptions, keyof ConfigOptions | keyof OpenOptions>, true> = { clock: true, snapshotEvery: true, snapshotOnClose: true, onTreeProgress: true };
/** Every option `openLedger` knows: another name is a caller's typo, refused rather than ignored. */
const LEDGER_OPTIONS: readonly string[] = ['clock', ...CONFIG_KEYS, ...OPEN_OPTIONS, ...Object.keys(OWN_OPTIONS).filter((k) => k !== 'clock')];

/** How to open a ledger. Configuration options apply when the log is new and must match when it is not. */
export interface LedgerOptions extends ConfigOptions, OpenOptions {
  /** The clock stamped on every entry (`at`). Default: the system clock. */
  clock?: () => Date;
  /**
   * @internal for tests: take a snapshot while writing every this many entries
   * (default 100,000), and at close after more than `snapshotOnClose` (default 10,000).
   */
  snapshotEvery?: number;
  /** @internal see `snapshotEvery`. */
  snapshotOnClose?: number;
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
  private readonly snapshotEvery: number;
  private readonly snapshotOnClose: number;

  /** @internal use `openLedger`. */
  constructor(readonly log: EntryLog, readonly config: HostConfig, readonly label: string, clock: () => Date, opts: Pick<LedgerOptions, 'snapshotEvery' | 'snapshotOnClose'> = {}) {
    this.clock = clock;
    this.snapshotEvery = opts.snapshotEvery ?? SNAPSHOT_EVERY;
    this.snapshotOnClose = opts.snapshotOnClose ?? SNAPSHOT_ON_CLOSE;
    // Only a writer keeps snapshots: it deletes those it cannot trust and takes new ones.
    this.cache = new SnapshotCache(log, config, !log.db.readonly);
    this.st = this.cache.advance(this.cache.restore());
  }

  /** The better-sqlite3 handle, for the read side. */
  get db(): BetterSqlite3.Database {
    return this.log.db;
  }

  /** Whether `close()` has been called (or the handle was closed under the ledger). */
  get closed(): boolean {
    return !this.log.db.open;
  }

  /** @throws StoreError once the ledger is closed: its methods then have no file to work on. */
  private live(): void {
    if (!this.log.db.open) throw new StoreError(`ledger is closed (${this.label}): open it again with openLedger`);
  }

  /**
   * Runs one request and returns what the caller sees. A request carrying an `id`
   * that was already recorded returns the recorded outcome (`replayed: true`) and
   * writes nothing.
   *
   * A request is plain data: own enumerable data fields of a plain object (no getters,
   * prototypes, class instances, Proxies or symbol keys), strings with a UTF-8 form.
   * It is copied once and the copy is checked and logged, so no request, however
   * built, can write an entry that does not read back.
   *
   * @throws RequestError for a malformed request (nothing is written); StoreError once
   * the ledger is closed; an IO error (nothing is written, the in-memory state is
   * rebuilt from the log).
   * @example
   * ledger.request({ op: 'pasid_alloc', container: 'c1', min: 1, max: 0xfffff });
   * // { seq: 12, ret: 0, pasid: 1, reason: null }
   */
  request(req: Request): Outcome {
    return this.requestUntrusted(req);
  }

  /**
   * `request` for a value nobody has typed: a parsed request-file line, an HTTP body,
   * anything from outside. Checked exactly as `request` checks (the types of `request`
   * are for the compiler; the checks run either way).
   *
   * @throws RequestError for anything that is not a well-formed request; nothing is written.
   * @example
   * ledger.requestUntrusted(JSON.parse(line));
   */
  requestUntrusted(value: unknown): Outcome {
    this.live();
    const parsed = parseRequest(value, PARSE);
    return this.write(() => this.run(parsed));
  }

  /**
   * Runs many requests in one transaction (one fsync): each is decided against the
   * state its predecessors left. All are recorded, or none.
   *
   * @throws BatchRequestError (a RequestError) naming the index of the first malformed
   * request, before anything is written; StoreError once the ledger is closed.
   */
  batch(reqs: readonly Request[]): Outcome[] {
    return this.batchUntrusted(reqs);
  }

  /**
   * `batch` for values nobody has typed (see `requestUntrusted`).
   *
   * @throws BatchRequestError naming the index of the first malformed request; nothing is written.
   */
  batchUntrusted(values: readonly unknown[]): Outcome[] {
    this.live();
    if (!Array.isArray(values) || types.isProxy(values)) throw new RequestError('a batch must be a plain array of requests');
    const parsed = values.map((r, i) => {
      try {
        return parseRequest(r, PARSE);
      } catch (e) {
        throw e instanceof RequestError ? new BatchRequestError(i, e.message) : e;
      }
    });
    return this.write(() => parsed.map((r, i) => {
      try {
        return this.run(r);
      } catch (e) {
        throw e instanceof RequestError ? new BatchRequestError(i, e.message) : e;
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
    this.live();
    const out = this.request({ op: 'pasid_request', container, hex: Buffer.from(buf).toString('hex'), ...opts });
    if (out.hex !== undefined) buf.set(Buffer.from(out.hex, 'hex').subarray(0, buf.length));
    return out;
  }

  /** The host as it is now (after catching up with other writers). Do not mutate it. */
  get state(): HostState {
    this.live();
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
    this.live();
    return this.log.head();
  }

  /**
   * Closes the file. The ledger is unusable afterwards. When the handle can write and
   * more than 10,000 entries were evolved since the last snapshot, one is taken first
   * (a `snapshot` entry appended to the log, and the blob it vouches for), so that the
   * next open catches up from here instead of from the start of the log.
   */
  close(): void {
    if (this.log.db.open && !this.log.db.readonly && this.st.seq - this.cache.lastSeq > this.snapshotOnClose) {
      try {
        this.catchUp();
        this.takeSnapshot();
      } catch (e) {
        if (!(e instanceof Error && e.name === 'SqliteError')) throw e;
      }
    }
    this.log.db.close();
  }

  /** A snapshot of the state now (best effort), evolved in as the log's newest entry. */
  private takeSnapshot(): void {
    const e = this.cache.take(this.st, this.clock().toISOString());
    if (e) evolve(this.st, e);
  }

  /** Evolves in the entries other processes appended since this one last looked. */
  private catchUp(): void {
    this.st = this.cache.advance(this.st);
  }

  private write<T>(fn: () => T): T {
    try {
      const out = this.log.immediate(() => {
        // The head is read once per transaction (the appends follow it): when it is where
        // this ledger left it, nobody else wrote and there is nothing to catch up with.
        if (this.log.headInTx().seq !== this.st.seq) this.catchUp();
        return fn();
      });
      // A writer that is killed never reaches close(): keep a snapshot every SNAPSHOT_EVERY
      // entries as it goes, so a reopen after a crash catches up from near the end.
      // A failed one (a busy or full file, another writer ahead) is not retried before the next SNAPSHOT_EVERY.
      if (this.st.seq - Math.max(this.cache.lastSeq, this.snapshotTried) >= this.snapshotEvery) {
        this.snapshotTried = this.st.seq;
        this.takeSnapshot();
      }
      return out;
    } catch (e) {
      // The transaction rolled back; what was evolved in memory meanwhile is undone by rebuilding.
      this.st = this.cache.advance(this.cache.restore());
      throw isBusy(e) && !(e instanceof BusyError) ? new BusyError(this.label, e) : e;
    }
  }

  /**
   * Why `request()` would refuse a request for its id, or null: the id was recorded
   * for a different request. A caller can so check many requests before running any
   * (`pasid-ledger run` does, to apply a file all or nothing). Takes what `request()`
   * takes; a malformed request throws `RequestError`.
   *
   * @example
   * ledger.idConflict({ op: 'vm_exit', vm: 'vm2', id: 'qemu-42' }); // 'request id "qemu-42" was used by ...' or null
   */
  idConflict(req: unknown): string | null {
    this.live();
    const r = parseRequest(req, PARSE);
    const { id, ...asked } = r;
    return id === undefined ? null : (this.prior(id, asked)?.conflict ?? null);
  }

  /** The request entry recorded under `req`'s id, and the refusal when it asked something else. */
  private prior(id: string, asked: object): { recorded: RequestEntry; conflict: string | null } | undefined {
    const row = this.log.byRequestId(id);
    if (!row) return undefined;
    const recorded = JSON.parse(row.entry) as RequestEntry;
    // A retry must ask the same thing: an id reused for another request is the caller's bug.
    const same = canonicalJson(recorded.req) === canonicalJson(asked);
    return { recorded, conflict: same ? null : `request id ${quote(id)} was used by a different request (seq ${recorded.seq})` };
  }

  /**
   * Runs many callers' requests in ONE transaction (one fsync): group commit. Each item
   * is one caller's requests (one or a batch), decided in item order against the state
   * its predecessors left. An item is refused whole, writing nothing, when a request is
   * malformed, when `admit` (checked at its turn, against the state then) says why not,
   * or when a request id was used by a different request; the other items run. `by`
   * (a server token id) is recorded on every request entry of the item.
   *
   * @throws only for an IO error: then nothing is written for any item and the
   * in-memory state is rebuilt from the log.
   * @example
   * ledger.group([{ reqs: [{ op: 'vm_start', vm: 'vm1', mm: '0x1' }], by: 'tok-2' }]);
   * // [{ ok: true, outcomes: [{ seq: 3, ret: 0, pasid: null, reason: null }] }]
   */
  group(items: readonly GroupItem[]): GroupResult[] {
    this.live();
    const parsed = items.map((it): Request[] | GroupResult => {
      try {
        return it.reqs.map((r) => parseRequest(r, PARSE));
      } catch (e) {
        if (e instanceof RequestError) return { ok: false, refused: 'invalid', message: e.message };
        throw e;
      }
    });
    return this.write(() => items.map((it, i): GroupResult => {
      const reqs = parsed[i]!;
      if (!Array.isArray(reqs)) return reqs;
      const conflict = idConflict(this.log, reqs);
      if (conflict) return { ok: false, refused: 'invalid', message: conflict };
      const why = it.admit?.(this.st, reqs);
      if (why) return { ok: false, refused: 'forbidden', message: why };
      const outcomes: Outcome[] = [];
      for (const r of reqs) {
        try {
          outcomes.push(this.run(r, it.by));
        } catch (e) {
          // Refused before its first append: nothing of this item is written, the others run.
          // After one, the item cannot be undone alone: the whole group fails.
          if (e instanceof RequestError && outcomes.length === 0) return { ok: false, refused: 'invalid', message: e.message };
          throw e;
        }
      }
      return { ok: true, outcomes };
    }));
  }

  /**
   * Grants a server token (a `token` entry: its id, role, vm and the SHA-256 of the
   * secret) and returns the secret, which is nowhere else: show it once.
   *
   * @example
   * ledger.grantToken('vmm', 'vm1'); // { token: 'tok-7', secret: 'plt_...' }
   */
  grantToken(role: TokenRole, vm?: string): { token: string; secret: string } {
    this.live();
    if (!TOKEN_ROLES.includes(role)) throw new RequestError(`role must be one of ${TOKEN_ROLES.join(', ')}`);
    if ((role === 'vmm') !== (vm !== undefined)) throw new RequestError(role === 'vmm' ? 'a vmm token needs a vm' : `an ${role} token names no vm`);
    if (vm !== undefined && (vm.length === 0 || vm.length > 256)) throw new RequestError('vm must be 1..256 characters');
    const secret = `plt_${randomBytes(32).toString('base64url')}`;
    const token = this.write(() => {
      const seq = this.st.seq + 1;
      const e: TokenEntry = { seq, at: this.clock().toISOString(), type: 'token', action: 'add', token: `tok-${seq}`, role, ...(vm !== undefined ? { vm } : {}), sha256: tokenSha256(secret) };
      this.log.append([e as unknown as Record<string, unknown>]);
      evolve(this.st, e);
      return e.token;
    });
    return { token, secret };
  }

  /**
   * Revokes a server token (a `token` entry); requests presenting it are refused from then on.
   *
   * @throws RequestError for a token id that was never granted or is already revoked (nothing written).
   */
  revokeToken(token: string): number {
    this.live();
    return this.write(() => {
      const book = new TokenBook();
      for (const row of tokenRows(this.log.db, 0, this.st.seq)) book.apply(JSON.parse(row.entry) as Record<string, unknown>);
      const t = book.get(token);
      if (!t) throw new RequestError(`no token ${JSON.stringify(token)} was granted`);
      if (t.revoked !== null) throw new RequestError(`token ${token} was already revoked at seq ${t.revoked}`);
      const e: TokenEntry = { seq: this.st.seq + 1, at: this.clock().toISOString(), type: 'token', action: 'revoke', token };
      this.log.append([e as unknown as Record<string, unknown>]);
      evolve(this.st, e);
      return e.seq;
    });
  }

  private run(req: Request, by?: string): Outcome {
    const { id, ...asked } = req;
    if (id !== undefined) {
      const prior = this.prior(id, asked);
      if (prior) {
        if (prior.conflict) throw new RequestError(`${prior.conflict}; nothing was written`);
        return { ...outcomeOf(prior.recorded), replayed: true };
      }
    }
    const d = decide(this.st, req);
    const at = this.clock().toISOString();
    const seq = this.st.seq + 1;
    // Fields set one by one, not spread from temporary objects: the stored text sorts its keys anyway.
    const entry: RequestEntry = { seq, at, type: 'request', op: req.op, req: asked, ret: d.ret };
    if (d.vm !== undefined) entry.vm = d.vm;
    if (id !== undefined) entry.id = id;
    if (d.pasid !== undefined) entry.pasid = d.pasid;
    if (d.reason !== undefined) entry.reason = d.reason;
    if (d.hex !== undefined) entry.hex = d.hex;
    if (d.info !== undefined) entry.info = d.info;
    if (d.value !== undefined) entry.value = d.value;
    if (by !== undefined) entry.by = by;
    const entries: Entry[] = [entry];
    d.transitions.forEach((t, i) => entries.push({ seq: seq + 1 + i, at, type: 'transition', cause: seq, ...t }));
    this.log.append(entries as unknown as Record<string, unknown>[]);
    for (const e of entries) evolve(this.st, e);
    return outcomeOf(entry);
  }
}

/** One caller's requests in a group commit (`Ledger.group`). */
export interface GroupItem {
  /** One request, or a batch: all run or none. */
  reqs: readonly unknown[];
  /** The server token id recorded as `by` on each request entry. */
  by?: string;
  /** Why the caller may not make these requests against the host as it is at their turn, or null. */
  admit?: (s: HostState, reqs: readonly Request[]) => string | null;
}

/** What became of one group item: its outcomes, or why it was refused (nothing written for it). */
export type GroupResult =
  | { ok: true; outcomes: Outcome[] }
  | { ok: false; refused: 'invalid' | 'forbidden'; message: string };

/** The hex SHA-256 of a bearer token's secret: what the log keeps. */
export function tokenSha256(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/**
 * Why a batch's request ids cannot all run: an id recorded for a different request,
 * or one id used for two different requests within the batch. Null when they can.
 */
function idConflict(log: EntryLog, reqs: readonly Request[]): string | null {
  const seen = new Map<string, string>();
  for (const [i, r] of reqs.entries()) {
    if (r.id === undefined) continue;
    const { id, ...asked } = r;
    const text = canonicalJson(asked);
    const before = seen.get(id);
    if (before !== undefined && before !== text) return `request ${i}: request id ${quote(id)} is used by two different requests of this batch; nothing was written`;
    seen.set(id, text);
    const prior = log.byRequestId(id);
    if (prior && canonicalJson((JSON.parse(prior.entry) as RequestEntry).req) !== text) {
      return `request ${i}: request id ${quote(id)} was used by a different request (seq ${prior.seq}); nothing was written`;
    }
  }
  return null;
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
 * @throws StoreError for an unknown option (a typo such as `pasidQuota` is refused,
 * not ignored) or a value out of range, when the file cannot be opened, was written
 * by a newer schema, or its configuration differs from the options. A failed open of
 * a path that did not exist leaves no file behind (no database, `-wal` or `-shm`);
 * a file that existed before is never removed.
 * @example
 * const ledger = await openLedger('./pasid-ledger.db', { pasid_quota: 1000 });
 * ledger.request({ op: 'vm_start', vm: 'vm1', mm: '0x1000' });
 */
export async function openLedger(path: string, opts: LedgerOptions = {}): Promise<Ledger> {
  const problem = optionsProblem(opts);
  if (problem) throw new StoreError(problem);
  const wanted = resolveConfig(opts);
  if (typeof wanted === 'string') throw new StoreError(wanted);
  const before = filesBefore(path);
  let db: BetterSqlite3.Database | undefined;
  try {
    db = openDatabase(path, opts);
    await migrateToLatest(db, path);
    const log = new EntryLog(db);
    // A log from before the Merkle tree gets its tree here, in resumable chunks.
    if (!db.readonly) log.tree.catchUp(opts.onTreeProgress);
    const clock = opts.clock ?? (() => new Date());
    const config = readOrWriteConfig(log, wanted, opts, clock, path);
    return new Ledger(log, config, path, clock, opts);
  } catch (e) {
    discardCreated(path, before, db);
    throw e;
  }
}

/** An unknown option name or a mistyped open option, as a message; null when all are fine. */
function optionsProblem(opts: LedgerOptions): string | null {
  if (typeof opts !== 'object' || opts === null) return 'openLedger options must be an object';
  const unknown = Object.keys(opts).find((k) => !LEDGER_OPTIONS.includes(k));
  if (unknown !== undefined) return `openLedger: unknown option "${quoteKey(unknown)}"; the options are ${LEDGER_OPTIONS.join(', ')}`;
  if (opts.clock !== undefined && typeof opts.clock !== 'function') return 'openLedger: clock must be a function returning a Date';
  const why = openOptionProblem(opts);
  return why ? `openLedger: ${why}` : null;
}

/** The log's configuration: entry 1, written now if the log is empty. */
export function readConfig(log: EntryLog): HostConfig | null {
  return configOfLog(log);
}

function readOrWriteConfig(log: EntryLog, wanted: HostConfig, opts: ConfigOptions, clock: () => Date, path: string): HostConfig {
  const existing = readConfig(log);
  if (existing) return checked(existing, opts, path);
  if (log.db.readonly) throw new NotALogError(path, `${path} holds no log`);
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
  if (conflicts.length > 0) throw new ConfigMismatchError(path, conflicts, `${path} was created with another configuration: ${conflicts.join('; ')}`);
  return recorded;
}
