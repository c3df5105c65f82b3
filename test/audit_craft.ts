/**
 * Crafting logs below the ledger for the audit tests: entries appended straight into
 * the table with a correct hash chain (EntryLog.append), as a buggy writer or a forger
 * with the file would, so that only the audit can tell.
 */
import { spawnSync } from 'node:child_process';
import { openLedger, type Ledger, type LedgerOptions } from '../src/ledger.js';
import type { AuditReport } from '../src/audit/report.js';
import { EntryLog } from '../src/store/log.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { openDatabase } from '../src/store/open.js';
import { CLI, steppingClock, tmpDb } from './helpers.js';

/** Appends hand-made entries after a log's head; `request` and `transition` return the seq each will get. */
export class Crafter {
  private readonly entries: Record<string, unknown>[] = [];
  private seq: number;
  private t: number;
  private lastRequest = 0;

  private constructor(private readonly log: EntryLog, head: number, lastAt: string) {
    this.seq = head;
    this.t = Date.parse(lastAt);
  }

  static async open(path: string): Promise<Crafter> {
    const db = openDatabase(path, { mustExist: true });
    await migrateToLatest(db, path);
    const log = new EntryLog(db);
    const head = log.head().seq;
    const last = JSON.parse(log.row(head)!.entry) as { at: string };
    return new Crafter(log, head, last.at);
  }

  /** A request entry: `op`, `req` (the request without op), `ret` and optional vm/pasid/reason. */
  request(op: string, req: Record<string, unknown>, out: { ret: number; vm?: string; pasid?: number; reason?: string }): number {
    this.t += 1000;
    const seq = ++this.seq;
    this.lastRequest = seq;
    this.entries.push({ seq, at: new Date(this.t).toISOString(), type: 'request', op, req: { op, ...req }, ...out });
    return seq;
  }

  /** A transition caused by the last crafted request unless `cause` is given. */
  transition(fields: Record<string, unknown>, cause = this.lastRequest): number {
    const seq = ++this.seq;
    this.entries.push({ seq, at: new Date(this.t).toISOString(), type: 'transition', cause, ...fields });
    return seq;
  }

  /** Writes everything crafted in one transaction and closes the file. */
  commit(): void {
    this.log.immediate(() => this.log.append(this.entries));
    this.log.db.close();
  }
}

/** A real ledger on a new file with a stepping clock; `build` issues requests, then the file is closed. */
export async function realLog(opts: LedgerOptions, build: (l: Ledger) => void): Promise<string> {
  const path = tmpDb();
  const l = await openLedger(path, { clock: steppingClock(), ...opts });
  try {
    build(l);
  } finally {
    l.close();
  }
  return path;
}

/** Runs the CLI; returns its status and output. */
export function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `audit --format json` through the CLI: the exit status and the parsed report. */
export function auditJson(path: string): { status: number | null; report: AuditReport; stderr: string } {
  const r = cli(['audit', '--db', path, '--format', 'json']);
  if (r.status !== 0 && r.status !== 1) throw new Error(`audit failed (${r.status}): ${r.stderr}`);
  return { status: r.status, report: JSON.parse(r.stdout) as AuditReport, stderr: r.stderr };
}

/** The invariant results as `{ id: first seq or null }`. */
export function firstBreaks(r: AuditReport): Record<string, number | null> {
  return Object.fromEntries(r.invariants.map((i) => [i.id, i.first?.seq ?? null]));
}
