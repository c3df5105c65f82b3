import { readFileSync } from 'node:fs';
import { escapeControls } from '../text/escape.js';
import { CliError } from './common.js';
import type { ShipFlags } from './ship.js';
import { reportRefused, reportShip, summary } from './ship_report.js';

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
  const { connectPg, kyselyPg, migratePg, redactUrl } = await import('../fleet/pg.js');
  const { shipFromServer } = await import('../fleet/ship_server.js');
  const { ShipRefused } = await import('../fleet/ship.js');
  const { ServerError } = await import('../client/connect.js');
  // --follow: SIGTERM stops cleanly (exit 0), also while the schema is being checked.
  const ac = new AbortController();
  const stop = () => ac.abort();
  if (o.follow) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  const k = kyselyPg(url);
  let c: Awaited<ReturnType<typeof connectPg>> | null = null;
  try {
    try {
      await migratePg(k);
    } catch (e) {
      if ((e as Error).name === 'FleetError') throw e;
      throw new CliError(`cannot use ${redactUrl(url)}: ${(e as Error).message}`);
    } finally {
      await k.destroy();
    }
    c = await connectPg(url);
    const r = await shipFromServer(c, {
      socket, token, host, batch: o.batch, follow: o.follow === true, signal: ac.signal,
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
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await c?.end();
  }
}
