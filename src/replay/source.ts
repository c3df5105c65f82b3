import type BetterSqlite3 from 'better-sqlite3';
import { configOfLog } from '../model/config_entry.js';
import type { Ledger } from '../ledger.js';
import type { HostConfig } from '../model/types.js';
import { EntryLog } from '../store/log.js';
import { ReplayError } from './errors.js';
import { SnapshotCache } from '../snapshot/cache.js';

/** What the read side reads from: an open ledger, or a better-sqlite3 handle on a log file. */
export type ReplaySource = BetterSqlite3.Database | Ledger;

/** A log opened for reading: its rows, its configuration (entry 1) and a snapshot cache. */
export interface OpenedLog {
  db: BetterSqlite3.Database;
  log: EntryLog;
  config: HostConfig;
  cache: SnapshotCache;
}

/**
 * The log behind a source, with the configuration it was written with.
 *
 * @throws ReplayError when the file holds no log (no entry 1, or entry 1 is not a configuration).
 * @example
 * const { log, config } = openSource(ledger);
 */
export function openSource(src: ReplaySource): OpenedLog {
  const log = isLedger(src) ? src.log : new EntryLog(src);
  const config = isLedger(src) ? src.config : readLogConfig(log);
  return { db: log.db, log, config, cache: new SnapshotCache(log, config) };
}

function isLedger(src: ReplaySource): src is Ledger {
  return 'log' in src && (src as Ledger).log instanceof EntryLog;
}

/** The configuration entry 1 records. */
function readLogConfig(log: EntryLog): HostConfig {
  if (!log.row(1)) throw new ReplayError('the log is empty: no entry 1');
  const config = configOfLog(log);
  if (!config) throw new ReplayError('entry 1 is not the configuration');
  return config;
}
