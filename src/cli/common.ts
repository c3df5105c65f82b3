import { InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { openLedger, type Ledger, type LedgerOptions } from '../ledger.js';
import { jsonText } from '../text/escape.js';

/** An error the CLI reports as one line and exit code 2 (bad input, unusable file). */
export class CliError extends Error {
  override name = 'CliError';
}

/** commander parser for a non-negative integer option. */
export function intArg(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) > max) throw new InvalidArgumentError(`${name} must be an integer in 0..${max}`);
    return Number(v);
  };
}

/** Options that configure a new log (and must match an existing one). */
export interface ConfigFlags {
  profile?: 'v1' | 'v7';
  pasidQuota?: number;
  capacity?: number;
  pasidBits?: number;
  pasidCapExposure?: 'hidden' | 'exposed';
}

export function configOptions(f: ConfigFlags): LedgerOptions {
  const o: LedgerOptions = {};
  if (f.profile !== undefined) o.profile = f.profile;
  if (f.pasidQuota !== undefined) o.pasid_quota = f.pasidQuota;
  if (f.capacity !== undefined) o.capacity = f.capacity;
  if (f.pasidBits !== undefined) o.pasid_bits = f.pasidBits;
  if (f.pasidCapExposure !== undefined) o.pasid_cap_exposure = f.pasidCapExposure;
  return o;
}

/**
 * Opens an existing log for a read command, read-only: a missing file is an error, not
 * a new log, and nothing is written (see `openLogFile`).
 *
 * @throws CliError for a missing file; StoreError for a file that holds no log.
 */
export async function openExisting(db: string): Promise<Ledger> {
  if (db !== ':memory:' && !existsSync(db)) throw new CliError(`${db}: no such file (create a log with "pasid-ledger run" or "pasid-ledger demo")`);
  return openLedger(db, { mustExist: true, readonly: true });
}

/** Prints a value as JSON on stdout (jsonText: bidi and C1 controls escaped too). */
export function printJson(v: unknown): void {
  process.stdout.write(jsonText(v, 2) + '\n');
}
