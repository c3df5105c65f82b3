import type pg from 'pg';
import { readFileSync } from 'node:fs';
import { escapeControls } from '../text/escape.js';
import { CliError } from './common.js';
import type { ShipFlags } from './ship.js';
import { reportRefused, reportShip, reportStopped, summary } from './ship_report.js';
import { openShipTarget, stopSignals } from './ship_stop.js';

/** The server token: --token-file, --token, then $PASID_LEDGER_TOKEN. */
function serverToken(o: ShipFlags): string {
  if (o.token !== undefined && o.tokenFile !== undefined) throw new CliError('give --token or --token-file, not both');
  let t = o.token;
  if (o.tokenFile !== undefined) {
    try {
      t = readFileSync(o.tokenFile, 'utf8').trim();
    } catch (e) {
      throw new CliError(`--token-file ${o.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  t ??= process.env.PASID_LEDGER_TOKEN;
  if (!t) throw new CliError('--from-server needs a token: --token-file FILE, --token SECRET or $PASID_LEDGER_TOKEN');
  return t;
}

/** `ship --from-server SOCKET`: the entries read from a running server's /v1/entries. */
export async function shipServer(o: ShipFlags, socket: string, url: string, host: string): Promise<void> {
  const token = serverToken(o);
  // --follow: SIGINT/SIGTERM stop cleanly (exit 0) from here on, also while connecting and migrating.
  const stop = o.follow ? stopSignals() : null;
  let c: pg.Client | null = null;
  try {
    const { shipFromServer } = await import('../fleet/ship_server.js');
    const { ShipRefused } = await import('../fleet/ship.js');
    const { ServerError } = await import('../client/connect.js');
    c = await openShipTarget(url, stop?.signal);
    if (c === null) return reportStopped(host, o);
    try {
      const r = await shipFromServer(c, {
        socket, token, host, batch: o.batch, follow: o.follow === true, ...(stop ? { signal: stop.signal } : {}),
        onShip: (x) => { if (o.follow && !o.json) process.stdout.write(escapeControls(summary(x)) + '\n'); },
        onRetry: (e, ms) => process.stderr.write(`pasid-ledger: ${escapeControls(socket)}: ${escapeControls(e.message)}; retrying in ${ms} ms\n`),
      });
      reportShip(r, o);
    } catch (e) {
      if (e instanceof ShipRefused) return reportRefused(e, o);
      if (e instanceof ServerError) throw new CliError(`${socket}: ${e.message}`);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET') throw new CliError(`${socket}: cannot read the server: ${(e as Error).message}`);
      throw e;
    }
  } finally {
    stop?.dispose();
    await c?.end();
  }
}
