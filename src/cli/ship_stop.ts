import type pg from 'pg';
import { CliError } from './common.js';

/** The stop of a following shipper: aborted by the first SIGINT or SIGTERM. */
export interface StopSignals {
  signal: AbortSignal;
  /** Removes the handlers (a signal after this takes its default action again). */
  dispose(): void;
}

/**
 * Installs SIGINT and SIGTERM handlers that abort `signal`; install it before anything
 * slow (connecting, migrating) so that a signal then stops the command cleanly (exit 0)
 * instead of killing it.
 *
 * @example
 * const stop = stopSignals();
 * try { await work(stop.signal); } finally { stop.dispose(); }
 */
export function stopSignals(): StopSignals {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

/**
 * The fleet store for `ship`: the schema brought up to date, then the client that ships
 * (`openFleet`); `null` when `signal` aborted first (every connection it opened is
 * closed). A database that cannot be used is a CliError naming it (password redacted).
 *
 * @example
 * const c = await openShipTarget(url, stop.signal);
 * if (c === null) return reportStopped(host, o);
 */
export async function openShipTarget(url: string, signal?: AbortSignal): Promise<pg.Client | null> {
  const { openFleet } = await import('../fleet/open_fleet.js');
  const { redactUrl } = await import('../fleet/pg.js');
  try {
    return await openFleet(url, signal ?? new AbortController().signal);
  } catch (e) {
    if ((e as Error).name === 'FleetError') throw e;
    throw new CliError(`cannot use ${redactUrl(url)}: ${(e as Error).message}`);
  }
}
