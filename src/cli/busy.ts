import { Option } from 'commander';
import { intArg } from './common.js';

/** The busy timeout the command runs with (ms): what a "database is busy" message reports. */
let waitedMs = 30_000;

/**
 * The `--busy-timeout MS` option of writing commands: how long to wait for another
 * process's write transaction before giving up with exit 2. Default 30000.
 *
 * @example
 * program.command('run').addOption(busyOption()).action((o) => openLedger(db, { busyTimeout: o.busyTimeout }));
 */
export function busyOption(): Option {
  const parse = intArg('--busy-timeout', 0x7fffffff);
  return new Option('--busy-timeout <ms>', 'how long to wait for another writer before giving up (exit 2)')
    .argParser((v: string) => (waitedMs = parse(v)))
    .default(30_000);
}

/**
 * The one-line message for SQLITE_BUSY: another process held the write lock for the
 * whole busy timeout.
 *
 * @example
 * busyMessage(); // 'database is busy (another writer holds it): gave up after 30000 ms (see --busy-timeout)'
 */
export function busyMessage(): string {
  return `database is busy (another writer holds it): gave up after ${waitedMs} ms (see --busy-timeout)`;
}
